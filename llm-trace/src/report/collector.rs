//! What the report is made of, gathered from finished spans as they end.
//!
//! [`Collector::record`] runs on the thread that ends a span, under one short lock: it
//! reads the span's attributes once, adds the call to bounded tables (per model, per
//! function, per error type, per time bucket) and, for the waterfalls, to its open trace.
//! Strings are interned, so a steady stream of calls to the same models allocates
//! little. Every table is capped; what a cap folds away goes to an `(other)` row and is
//! counted.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

use llm_trace_core::semconv;

use super::hash::{FastMap, FastSet};
use super::latency::Histogram;
use super::model::{
    rfc3339, unix_nanos, Amounts, ErrorRow, FunctionRow, LimitsView, ModelRow, Overflow, Sums,
    Totals, Usage, NO_FUNCTION, OTHER,
};
use super::timeline::Timeline;
use super::traces::{Credit, Kind, Link, OpenTrace, SpanRecord, TopTraces};

/// The instrumentation scope of llm-trace's spans.
const SCOPE: &str = "llm-trace";

/// The caps that bound the collector's memory.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    /// Distinct (operation, model) rows.
    pub(crate) models: usize,
    /// Distinct functions.
    pub(crate) functions: usize,
    /// Distinct `error.type` values.
    pub(crate) error_types: usize,
    /// Time buckets.
    pub(crate) time_buckets: usize,
    /// Traces kept of each kind (most expensive, slowest).
    pub(crate) top_traces: usize,
    /// Spans drawn per trace.
    pub(crate) spans_per_trace: usize,
    /// Traces open (waiting for their root span and for late streams) at once.
    pub(crate) open_traces: usize,
    /// Parent links kept per open trace, for calls that end after their function.
    pub(crate) links_per_trace: usize,
    /// How long a trace stays open after its root span ended, for streams that end
    /// after the function that made them (measured on the spans' end times).
    pub(crate) grace: Duration,
    /// Distinct interned strings.
    pub(crate) strings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            models: 32,
            functions: 64,
            error_types: 16,
            time_buckets: 60,
            top_traces: 3,
            spans_per_trace: 100,
            open_traces: 256,
            links_per_trace: 1024,
            grace: Duration::from_secs(30),
            strings: 4096,
        }
    }
}

/// Interned strings: one allocation per distinct string, up to a cap.
#[derive(Debug)]
struct Interner {
    strings: FastSet<Arc<str>>,
    cap: usize,
}

impl Interner {
    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(found) = self.strings.get(text) {
            return Arc::clone(found);
        }
        let string: Arc<str> = Arc::from(text);
        if self.strings.len() < self.cap {
            self.strings.insert(Arc::clone(&string));
        }
        string
    }
}

/// A map of at most `cap` keys; further keys share the `other` value.
#[derive(Debug)]
struct Capped<K, V> {
    map: FastMap<K, V>,
    other: Option<V>,
    cap: usize,
}

impl<K: Hash + Eq, V: Default> Capped<K, V> {
    fn new(cap: usize) -> Self {
        Capped {
            map: FastMap::default(),
            other: None,
            cap,
        }
    }

    /// The value of `key`, and whether it is the shared `other` one.
    fn get(&mut self, key: K) -> (&mut V, bool) {
        if self.map.len() < self.cap || self.map.contains_key(&key) {
            (self.map.entry(key).or_default(), false)
        } else {
            (self.other.get_or_insert_with(V::default), true)
        }
    }
}

#[derive(Debug, Default)]
struct ModelStats {
    sums: Sums,
    latency: Histogram,
}

#[derive(Debug, Default)]
struct FunctionStats {
    invocations: u64,
    failed: u64,
    sums: Sums,
}

/// The attributes the report reads, found in one pass.
#[derive(Default)]
struct Facts<'a> {
    operation: Option<&'a str>,
    request_model: Option<&'a str>,
    response_model: Option<&'a str>,
    function: Option<&'a str>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cost: Option<f64>,
    error_type: Option<&'a str>,
}

impl<'a> Facts<'a> {
    fn of(span: &'a SpanData) -> Self {
        let mut facts = Facts::default();
        for kv in &span.attributes {
            let text = || match &kv.value {
                Value::String(text) => Some(text.as_str()),
                _ => None,
            };
            let count = || match kv.value {
                Value::I64(count) => u64::try_from(count).ok(),
                _ => None,
            };
            match kv.key.as_str() {
                semconv::GEN_AI_OPERATION_NAME => facts.operation = text(),
                semconv::GEN_AI_REQUEST_MODEL => facts.request_model = text(),
                semconv::GEN_AI_RESPONSE_MODEL => facts.response_model = text(),
                semconv::CODE_FUNCTION_NAME => facts.function = text(),
                semconv::GEN_AI_USAGE_INPUT_TOKENS => facts.input_tokens = count(),
                semconv::GEN_AI_USAGE_OUTPUT_TOKENS => facts.output_tokens = count(),
                semconv::GEN_AI_USAGE_COST => {
                    facts.cost = match kv.value {
                        Value::F64(cost) => Some(cost),
                        _ => None,
                    }
                }
                semconv::ERROR_TYPE => facts.error_type = text(),
                _ => {}
            }
        }
        facts
    }
}

/// A cost in USD as exact femto-dollars, rounded to the nearest: the price table's
/// costs are whole femto-dollars, so this recovers them exactly (below $9 a call, where
/// an `f64` still holds every integer of them).
pub(crate) fn femto(cost: f64) -> Option<u128> {
    (cost.is_finite() && cost >= 0.0).then(|| (cost * 1e15).round() as u128)
}

/// Where the report's numbers accumulate.
#[derive(Debug)]
pub(crate) struct Collector {
    limits: Limits,
    started_ns: u64,
    strings: Interner,
    totals: Sums,
    traces: u64,
    invocations: u64,
    models: Capped<(Arc<str>, Arc<str>), ModelStats>,
    functions: Capped<Arc<str>, FunctionStats>,
    outside: Sums,
    errors: Capped<Arc<str>, u64>,
    timeline: Timeline,
    open: FastMap<TraceId, OpenTrace>,
    /// Open traces by first sight.
    opened: BTreeMap<u64, TraceId>,
    /// Open traces whose root ended, by (root end, first sight).
    rooted: BTreeMap<(u64, u64), TraceId>,
    next_seq: u64,
    top: TopTraces,
    overflow: Overflow,
}

/// What the report says about itself.
#[derive(Clone, Debug)]
pub(crate) struct Meta {
    pub(crate) service: Option<String>,
    pub(crate) sampler: String,
}

impl Collector {
    pub(crate) fn new(limits: Limits, started: std::time::SystemTime) -> Self {
        let started_ns = unix_nanos(started);
        Collector {
            strings: Interner {
                strings: FastSet::default(),
                cap: limits.strings,
            },
            totals: Sums::default(),
            traces: 0,
            invocations: 0,
            models: Capped::new(limits.models),
            functions: Capped::new(limits.functions),
            outside: Sums::default(),
            errors: Capped::new(limits.error_types),
            timeline: Timeline::new(started_ns, limits.time_buckets),
            open: FastMap::default(),
            opened: BTreeMap::new(),
            rooted: BTreeMap::new(),
            next_seq: 0,
            top: TopTraces::new(limits.top_traces, limits.spans_per_trace),
            overflow: Overflow::default(),
            started_ns,
            limits,
        }
    }

    /// Whether a span of another instrumentation could matter: only while traces are
    /// open (it may sit between a call and its function).
    pub(crate) fn is_idle(&self) -> bool {
        self.open.is_empty()
    }

    /// Takes in one finished, sampled span.
    pub(crate) fn record(&mut self, span: &SpanData) {
        let now = unix_nanos(span.end_time);
        self.close_expired(now);
        let trace_id = span.span_context.trace_id();
        let ours = span.instrumentation_scope.name() == SCOPE;
        if !ours && !self.open.contains_key(&trace_id) {
            return;
        }
        let top = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
        let parent = if top {
            SpanId::INVALID
        } else {
            span.parent_span_id
        };
        let span_id = span.span_context.span_id();
        let start = unix_nanos(span.start_time);
        let failed = matches!(span.status, Status::Error { .. });
        let facts = if ours {
            Facts::of(span)
        } else {
            Facts::default()
        };
        self.open_trace(trace_id);

        let credit = match (&span.span_kind, facts.operation, facts.function) {
            (SpanKind::Client, Some(operation), _) if ours => {
                let (sums, record) = self.count_call(span, &facts, operation, start, now, failed);
                let cap = self.limits.spans_per_trace;
                match self.open.get_mut(&trace_id) {
                    Some(trace) => {
                        trace.summary.sums.add(&sums);
                        trace.summary.add_span(record, cap);
                        trace.credit_call(parent, sums)
                    }
                    None => Credit::Nothing,
                }
            }
            (SpanKind::Internal, _, Some(function)) if ours => {
                let function = self.strings.get(function);
                let (stats, _) = self.functions.get(Arc::clone(&function));
                stats.invocations += 1;
                stats.failed += u64::from(failed);
                self.invocations += 1;
                let record = SpanRecord {
                    span_id,
                    parent,
                    drawn_parent: None,
                    name: self.strings.get(&span.name),
                    kind: Kind::Function,
                    start_ns: start,
                    end_ns: now,
                    operation: None,
                    model: None,
                    input_tokens: None,
                    output_tokens: None,
                    cost_femto: None,
                    error_type: failed
                        .then(|| self.strings.get(facts.error_type.unwrap_or("error"))),
                };
                let (spans_cap, links_cap) =
                    (self.limits.spans_per_trace, self.limits.links_per_trace);
                match self.open.get_mut(&trace_id) {
                    Some(trace) => {
                        trace.summary.add_span(record, spans_cap);
                        let link = Link {
                            function: Some(function),
                            parent,
                        };
                        trace.span_ended(span_id, link, links_cap)
                    }
                    None => Credit::Nothing,
                }
            }
            _ => {
                let cap = self.limits.links_per_trace;
                match self.open.get_mut(&trace_id) {
                    Some(trace) => trace.span_ended(
                        span_id,
                        Link {
                            function: None,
                            parent,
                        },
                        cap,
                    ),
                    None => Credit::Nothing,
                }
            }
        };
        self.credit(credit);
        if top {
            if let Some(trace) = self.open.get_mut(&trace_id) {
                if trace.root_end.is_none() {
                    trace.root_end = Some(now);
                    self.rooted.insert((now, trace.seq), trace_id);
                }
            }
            self.close_expired(now);
        }
    }

    /// Adds a call to the totals, its model, its error type and its time bucket; returns
    /// its sums and its record for the waterfall.
    fn count_call(
        &mut self,
        span: &SpanData,
        facts: &Facts<'_>,
        operation: &str,
        start: u64,
        end: u64,
        failed: bool,
    ) -> (Sums, SpanRecord) {
        let cost = facts.cost.and_then(femto);
        let sums = Sums {
            calls: 1,
            errors: u64::from(failed),
            input_tokens: facts.input_tokens.unwrap_or(0),
            output_tokens: facts.output_tokens.unwrap_or(0),
            cost_femto: cost.unwrap_or(0),
            unpriced: u64::from(!failed && cost.is_none()),
        };
        self.totals.add(&sums);
        let operation = self.strings.get(operation);
        let model = self.strings.get(
            facts
                .request_model
                .or(facts.response_model)
                .unwrap_or("(unknown)"),
        );
        let (stats, other) = self
            .models
            .get((Arc::clone(&operation), Arc::clone(&model)));
        stats.sums.add(&sums);
        stats.latency.record(end.saturating_sub(start));
        if other {
            self.overflow.model_calls += 1;
        }
        let error_type = failed.then(|| {
            self.strings
                .get(facts.error_type.unwrap_or(semconv::ERROR_TYPE_OTHER))
        });
        if let Some(error_type) = &error_type {
            let (count, other) = self.errors.get(Arc::clone(error_type));
            *count += 1;
            if other {
                self.overflow.error_calls += 1;
            }
        }
        self.timeline.add(end, &sums);
        let record = SpanRecord {
            span_id: span.span_context.span_id(),
            parent: span.parent_span_id,
            drawn_parent: None,
            name: self.strings.get(&span.name),
            kind: Kind::Call,
            start_ns: start,
            end_ns: end,
            operation: Some(operation),
            model: Some(model),
            input_tokens: facts.input_tokens,
            output_tokens: facts.output_tokens,
            cost_femto: cost,
            error_type,
        };
        (sums, record)
    }

    fn credit(&mut self, credit: Credit) {
        match credit {
            Credit::Nothing => {}
            Credit::Function(function, sums) => {
                let (stats, other) = self.functions.get(function);
                stats.sums.add(&sums);
                if other {
                    self.overflow.function_calls += sums.calls;
                }
            }
            Credit::Outside(sums) => self.outside.add(&sums),
        }
    }

    /// Makes sure `trace_id` is open, summarising the oldest open trace when too many are.
    fn open_trace(&mut self, trace_id: TraceId) {
        if self.open.contains_key(&trace_id) {
            return;
        }
        while self.open.len() >= self.limits.open_traces.max(1) {
            let Some((_, oldest)) = self.opened.first_key_value() else {
                break;
            };
            let oldest = *oldest;
            self.close(oldest, true);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.open.insert(trace_id, OpenTrace::new(trace_id, seq));
        self.opened.insert(seq, trace_id);
        self.traces += 1;
    }

    /// Summarises the traces whose root ended more than the grace before `now`.
    fn close_expired(&mut self, now: u64) {
        while let Some((&(root_end, _), &trace_id)) = self.rooted.first_key_value() {
            if now.saturating_sub(root_end) < self.limits.grace.as_nanos() as u64 {
                break;
            }
            self.close(trace_id, false);
        }
    }

    /// Summarises an open trace: the calls still waiting for their function count as
    /// outside any, and the trace is offered to the top lists.
    fn close(&mut self, trace_id: TraceId, early: bool) {
        let Some(trace) = self.open.remove(&trace_id) else {
            return;
        };
        self.opened.remove(&trace.seq);
        if let Some(root_end) = trace.root_end {
            self.rooted.remove(&(root_end, trace.seq));
        } else if early {
            self.overflow.traces_closed_early += 1;
        }
        let (unattributed, summary) = trace.close();
        self.overflow.calls_unattributed += unattributed.calls;
        self.outside.add(&unattributed);
        self.top.offer(summary);
    }

    /// Summarises every open trace and returns the report.
    pub(crate) fn finish(&mut self, meta: &Meta, ended: std::time::SystemTime) -> Usage {
        while let Some((_, &trace_id)) = self.opened.first_key_value() {
            self.close(trace_id, false);
        }
        let (by_cost, by_duration) = self.top.views();
        Usage {
            format: "llm-trace usage report",
            version: 1,
            generated_by: concat!("llm-trace ", env!("CARGO_PKG_VERSION")).to_owned(),
            service: meta.service.clone(),
            started_at: rfc3339(self.started_ns),
            ended_at: rfc3339(unix_nanos(ended)),
            covers: "the llm-trace spans this process recorded (sampled); calls the sampler dropped are not counted".to_owned(),
            sampler: meta.sampler.clone(),
            totals: Totals {
                amounts: Amounts::from(&self.totals),
                unpriced_calls: self.totals.unpriced,
                traces: self.traces,
                function_invocations: self.invocations,
            },
            by_model: self.model_rows(),
            by_function: self.function_rows(),
            errors: self.error_rows(),
            timeline: self.timeline.view(),
            top_traces: super::model::TopTraces {
                by_cost,
                by_duration,
            },
            overflow: self.overflow.clone(),
            limits: LimitsView {
                models: self.limits.models,
                functions: self.limits.functions,
                error_types: self.limits.error_types,
                time_buckets: self.limits.time_buckets,
                top_traces: self.limits.top_traces,
                spans_per_trace: self.limits.spans_per_trace,
                open_traces: self.limits.open_traces,
            },
        }
    }

    fn model_rows(&self) -> Vec<ModelRow> {
        let row = |operation: &str, model: &str, stats: &ModelStats| ModelRow {
            operation: operation.to_owned(),
            model: model.to_owned(),
            amounts: Amounts::from(&stats.sums),
            unpriced_calls: stats.sums.unpriced,
            latency: stats.latency.view(),
        };
        let mut rows: Vec<(&ModelStats, ModelRow)> = self
            .models
            .map
            .iter()
            .map(|((operation, model), stats)| (stats, row(operation, model, stats)))
            .collect();
        rows.sort_by(|(a, ra), (b, rb)| {
            b.sums
                .cost_femto
                .cmp(&a.sums.cost_femto)
                .then(b.sums.calls.cmp(&a.sums.calls))
                .then_with(|| (&ra.operation, &ra.model).cmp(&(&rb.operation, &rb.model)))
        });
        let mut rows: Vec<ModelRow> = rows.into_iter().map(|(_, row)| row).collect();
        rows.extend(self.models.other.as_ref().map(|s| row(OTHER, OTHER, s)));
        rows
    }

    fn function_rows(&self) -> Vec<FunctionRow> {
        let row = |function: &str, stats: &FunctionStats| FunctionRow {
            function: function.to_owned(),
            invocations: stats.invocations,
            failed_invocations: stats.failed,
            amounts: Amounts::from(&stats.sums),
        };
        let mut entries: Vec<(&Arc<str>, &FunctionStats)> = self.functions.map.iter().collect();
        entries.sort_by(|(na, a), (nb, b)| {
            b.sums
                .cost_femto
                .cmp(&a.sums.cost_femto)
                .then(b.sums.calls.cmp(&a.sums.calls))
                .then(b.invocations.cmp(&a.invocations))
                .then_with(|| na.cmp(nb))
        });
        let mut rows: Vec<FunctionRow> = entries
            .into_iter()
            .map(|(name, stats)| row(name, stats))
            .collect();
        rows.extend(self.functions.other.as_ref().map(|s| row(OTHER, s)));
        if self.outside.calls > 0 {
            rows.push(row(
                NO_FUNCTION,
                &FunctionStats {
                    sums: self.outside,
                    ..FunctionStats::default()
                },
            ));
        }
        rows
    }

    fn error_rows(&self) -> Vec<ErrorRow> {
        let mut rows: Vec<ErrorRow> = self
            .errors
            .map
            .iter()
            .map(|(error_type, &count)| ErrorRow {
                error_type: error_type.to_string(),
                count,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.error_type.cmp(&b.error_type))
        });
        rows.extend(self.errors.other.map(|count| ErrorRow {
            error_type: OTHER.to_owned(),
            count,
        }));
        rows
    }
}

#[cfg(test)]
mod tests;
