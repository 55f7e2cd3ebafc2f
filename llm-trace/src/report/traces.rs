//! The report's traces: each is open while its spans arrive, then summarised; the most
//! expensive and the slowest are kept, with their spans, for the waterfalls.
//!
//! Spans end children first, so a call ends before the annotated function it belongs to.
//! A call is credited to its function as soon as the nearest function span above it has
//! ended: until then its sums wait under the id of the nearest ancestor that has not
//! ended yet, and move up each time that ancestor ends. A stream that ends after its
//! function returned finds the function's span already ended and is credited at once.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::trace::{SpanId, TraceId};

use super::hash::{FastMap, FastSet};
use super::model::{millis, rfc3339, usd, Amounts, SpanView, Sums, TraceView};

/// The most ancestors walked to find a call's function (a guard, not a real limit).
const MAX_DEPTH: usize = 256;

/// What an ended span says about the spans under it.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    /// `code.function.name`, when it is an annotated function's span.
    pub(crate) function: Option<Arc<str>>,
    /// Its parent, [`SpanId::INVALID`] at the top of the trace.
    pub(crate) parent: SpanId,
}

/// Calls credited by an ended span.
#[derive(Debug)]
pub(crate) enum Credit {
    /// Nothing to credit.
    Nothing,
    /// To this function.
    Function(Arc<str>, Sums),
    /// To no function: there is none above the calls.
    Outside(Sums),
}

/// Whether a span is an annotated function's or a call's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Function,
    Call,
}

/// One span to draw.
#[derive(Clone, Debug)]
pub(crate) struct SpanRecord {
    pub(crate) span_id: SpanId,
    pub(crate) parent: SpanId,
    /// The nearest ancestor that is drawn, set when the trace is summarised.
    pub(crate) drawn_parent: Option<SpanId>,
    pub(crate) name: Arc<str>,
    pub(crate) kind: Kind,
    pub(crate) start_ns: u64,
    pub(crate) end_ns: u64,
    pub(crate) operation: Option<Arc<str>>,
    pub(crate) model: Option<Arc<str>>,
    pub(crate) input_tokens: Option<u64>,
    pub(crate) output_tokens: Option<u64>,
    pub(crate) cost_femto: Option<u128>,
    pub(crate) error_type: Option<Arc<str>>,
}

/// A trace whose spans are still arriving.
#[derive(Debug)]
pub(crate) struct OpenTrace {
    /// When it was first seen, in order: the oldest is summarised first when too many
    /// are open.
    pub(crate) seq: u64,
    /// When its root span ended.
    pub(crate) root_end: Option<u64>,
    pub(crate) summary: Summary,
    links: FastMap<SpanId, Link>,
    /// Calls waiting for the span (not ended yet) nearest above them.
    waiting: FastMap<SpanId, Sums>,
}

/// What is known of a trace once summarised.
#[derive(Clone, Debug)]
pub(crate) struct Summary {
    pub(crate) trace_id: TraceId,
    pub(crate) start_ns: u64,
    pub(crate) end_ns: u64,
    pub(crate) sums: Sums,
    pub(crate) spans: Vec<SpanRecord>,
    pub(crate) not_drawn: u64,
}

impl Summary {
    fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// Counts a drawn span (or one past the cap) and its time.
    pub(crate) fn add_span(&mut self, record: SpanRecord, cap: usize) {
        self.start_ns = self.start_ns.min(record.start_ns);
        self.end_ns = self.end_ns.max(record.end_ns);
        if self.spans.len() < cap {
            self.spans.push(record);
        } else {
            self.not_drawn += 1;
        }
    }
}

impl OpenTrace {
    pub(crate) fn new(trace_id: TraceId, seq: u64) -> Self {
        OpenTrace {
            seq,
            root_end: None,
            summary: Summary {
                trace_id,
                start_ns: u64::MAX,
                end_ns: 0,
                sums: Sums::default(),
                spans: Vec::new(),
                not_drawn: 0,
            },
            links: FastMap::default(),
            waiting: FastMap::default(),
        }
    }

    /// Credits a call's `sums` to the nearest function above `parent`, or makes them
    /// wait for the nearest ancestor that has not ended.
    pub(crate) fn credit_call(&mut self, parent: SpanId, sums: Sums) -> Credit {
        let mut at = parent;
        for _ in 0..MAX_DEPTH {
            if at == SpanId::INVALID {
                return Credit::Outside(sums);
            }
            match self.links.get(&at) {
                Some(Link {
                    function: Some(function),
                    ..
                }) => return Credit::Function(Arc::clone(function), sums),
                Some(link) => at = link.parent,
                None => {
                    self.waiting.entry(at).or_default().add(&sums);
                    return Credit::Nothing;
                }
            }
        }
        Credit::Outside(sums)
    }

    /// A span of the trace ended (any span, llm-trace's or not): the calls waiting for
    /// it move on. Its link is kept (up to `cap` links) for calls that end later.
    pub(crate) fn span_ended(&mut self, span_id: SpanId, link: Link, cap: usize) -> Credit {
        let credit = match self.waiting.remove(&span_id) {
            None => Credit::Nothing,
            Some(sums) => match &link.function {
                Some(function) => Credit::Function(Arc::clone(function), sums),
                None => self.credit_call(link.parent, sums),
            },
        };
        if self.links.len() < cap {
            self.links.insert(span_id, link);
        }
        credit
    }

    /// Summarises the trace: the calls still waiting (their function never ended), and
    /// the trace with each drawn span's nearest drawn ancestor.
    pub(crate) fn close(self) -> (Sums, Summary) {
        let mut unattributed = Sums::default();
        for sums in self.waiting.values() {
            unattributed.add(sums);
        }
        let mut summary = self.summary;
        let drawn: FastSet<SpanId> = summary.spans.iter().map(|s| s.span_id).collect();
        for record in &mut summary.spans {
            let mut at = record.parent;
            for _ in 0..MAX_DEPTH {
                if at == SpanId::INVALID {
                    break;
                }
                if drawn.contains(&at) {
                    record.drawn_parent = Some(at);
                    break;
                }
                match self.links.get(&at) {
                    Some(link) => at = link.parent,
                    None => break,
                }
            }
        }
        (unattributed, summary)
    }
}

/// The most expensive and the slowest traces, `n` of each.
#[derive(Debug)]
pub(crate) struct TopTraces {
    n: usize,
    spans_per_trace: usize,
    kept: FastMap<TraceId, Summary>,
    by_cost: Vec<TraceId>,
    by_duration: Vec<TraceId>,
}

impl TopTraces {
    pub(crate) fn new(n: usize, spans_per_trace: usize) -> Self {
        TopTraces {
            n,
            spans_per_trace,
            kept: FastMap::default(),
            by_cost: Vec::new(),
            by_duration: Vec::new(),
        }
    }

    /// Considers a summarised trace. A part of a trace already kept (spans that ended
    /// after it was summarised) joins it.
    pub(crate) fn offer(&mut self, summary: Summary) {
        if summary.spans.is_empty() && summary.not_drawn == 0 {
            return;
        }
        let trace_id = summary.trace_id;
        if !self.kept.contains_key(&trace_id) && !self.would_keep(&summary) {
            return;
        }
        match self.kept.get_mut(&trace_id) {
            Some(kept) => merge(kept, summary, self.spans_per_trace),
            None => {
                self.kept.insert(trace_id, summary);
            }
        }
        let kept = &self.kept;
        let cost = |id: &TraceId| cost_key(&kept[id]);
        let duration = |id: &TraceId| duration_key(&kept[id]);
        if kept[&trace_id].sums.cost_femto > 0 && !self.by_cost.contains(&trace_id) {
            self.by_cost.push(trace_id);
        }
        if !self.by_duration.contains(&trace_id) {
            self.by_duration.push(trace_id);
        }
        self.by_cost.sort_by_key(cost);
        self.by_cost.truncate(self.n);
        self.by_duration.sort_by_key(duration);
        self.by_duration.truncate(self.n);
        let (by_cost, by_duration) = (&self.by_cost, &self.by_duration);
        self.kept
            .retain(|id, _| by_cost.contains(id) || by_duration.contains(id));
    }

    /// Whether a trace not kept yet would enter a list: most do not, and cost nothing.
    fn would_keep(&self, summary: &Summary) -> bool {
        let enters = |list: &[TraceId], key: &dyn Fn(&Summary) -> TraceKey| {
            list.len() < self.n || list.iter().any(|id| key(summary) < key(&self.kept[id]))
        };
        (summary.sums.cost_femto > 0 && enters(&self.by_cost, &cost_key))
            || enters(&self.by_duration, &duration_key)
    }

    pub(crate) fn views(&self) -> (Vec<TraceView>, Vec<TraceView>) {
        let view = |ids: &[TraceId]| ids.iter().map(|id| view(&self.kept[id])).collect();
        (view(&self.by_cost), view(&self.by_duration))
    }
}

/// Where a trace ranks in a list: the smallest key first.
type TraceKey = (u128, u64, [u8; 16]);

/// The order of the most expensive traces: smallest first (highest cost, then earliest).
fn cost_key(trace: &Summary) -> TraceKey {
    (
        u128::MAX - trace.sums.cost_femto,
        trace.start_ns,
        trace.trace_id.to_bytes(),
    )
}

/// The order of the slowest traces: smallest first (longest, then earliest).
fn duration_key(trace: &Summary) -> TraceKey {
    (
        u128::from(u64::MAX - trace.duration_ns()),
        trace.start_ns,
        trace.trace_id.to_bytes(),
    )
}

/// Adds the spans of a later part of a trace to the trace.
fn merge(kept: &mut Summary, part: Summary, cap: usize) {
    kept.sums.add(&part.sums);
    kept.not_drawn += part.not_drawn;
    let drawn: FastSet<SpanId> = kept.spans.iter().map(|s| s.span_id).collect();
    for mut record in part.spans {
        if record.drawn_parent.is_none() && drawn.contains(&record.parent) {
            record.drawn_parent = Some(record.parent);
        }
        kept.add_span(record, cap);
    }
    kept.start_ns = kept.start_ns.min(part.start_ns);
    kept.end_ns = kept.end_ns.max(part.end_ns);
}

/// A kept trace as the report shows it: spans depth first, siblings by start.
fn view(trace: &Summary) -> TraceView {
    let mut children: HashMap<Option<SpanId>, Vec<usize>> = HashMap::new();
    for (index, record) in trace.spans.iter().enumerate() {
        children.entry(record.drawn_parent).or_default().push(index);
    }
    for list in children.values_mut() {
        list.sort_by_key(|&i| (trace.spans[i].start_ns, trace.spans[i].end_ns));
    }
    let mut spans = Vec::with_capacity(trace.spans.len());
    let mut stack: Vec<(usize, u32)> = children
        .get(&None)
        .map(|tops| tops.iter().rev().map(|&i| (i, 0)).collect())
        .unwrap_or_default();
    while let Some((index, depth)) = stack.pop() {
        let record = &trace.spans[index];
        spans.push(span_view(record, depth, trace.start_ns));
        if let Some(kids) = children.get(&Some(record.span_id)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    TraceView {
        trace_id: trace.trace_id.to_string(),
        start: rfc3339(trace.start_ns),
        duration_ms: millis(trace.duration_ns()),
        amounts: Amounts::from(&trace.sums),
        spans_not_drawn: trace.not_drawn,
        spans,
    }
}

fn span_view(record: &SpanRecord, depth: u32, trace_start: u64) -> SpanView {
    SpanView {
        span_id: record.span_id.to_string(),
        parent_span_id: record.drawn_parent.map(|id| id.to_string()),
        name: record.name.to_string(),
        kind: match record.kind {
            Kind::Function => "function",
            Kind::Call => "call",
        },
        depth,
        start_offset_ms: millis(record.start_ns.saturating_sub(trace_start)),
        duration_ms: millis(record.end_ns.saturating_sub(record.start_ns)),
        operation: record.operation.as_deref().map(str::to_owned),
        model: record.model.as_deref().map(str::to_owned),
        input_tokens: record.input_tokens,
        output_tokens: record.output_tokens,
        cost_usd: record.cost_femto.map(usd),
        cost_femto_usd: record.cost_femto.map(|c| c.to_string()),
        error_type: record.error_type.as_deref().map(str::to_owned),
    }
}
