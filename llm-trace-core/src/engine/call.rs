//! The CLIENT span of one traced client call: prepared from the arguments, started right
//! before the request goes out, filled from the response or error, ended exactly once;
//! and the call's metrics.
//!
//! A sync call starts when the generated code reports the client's endpoint
//! ([`CallStart::begin`]), right before the client method runs. An async or streamed call
//! starts at its future's first poll — the moment the request is sent — so a future
//! dropped unpolled makes no span and records nothing.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, ContextGuard, KeyValue};

use super::accounting::{Accounting, Settled};
use super::attribution;
use super::capture::CallContent;
use super::context_attributes::ContextAttributes;
use super::ledger::Contribution;
use super::metrics::{CallMetrics, Instruments};
use super::response::{cow_value, response_attributes};
use super::server::server_attributes;
use super::state::{self, State};
use crate::content::Message;
use crate::pricing::usd_of_units;
use crate::provider::{Operation, Provider, ResponseInfo, TracedCall};
use crate::semconv;

/// When a call's span starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Timing {
    /// At [`CallStart::begin`], made current until the call returns (sync calls).
    #[default]
    Now,
    /// At the first poll of the call's future.
    FirstPoll,
}

/// The start of a call's span, handed to the call by generated code.
#[derive(Default)]
pub struct CallStart {
    phase: Phase,
    timing: Timing,
    /// The span made current for a sync call, detached when the call returns.
    guard: Option<ContextGuard>,
}

impl std::fmt::Debug for CallStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let phase = match &self.phase {
            Phase::Idle => "idle",
            Phase::Pending(_) => "pending",
            Phase::Started(_) => "started",
        };
        f.debug_struct("CallStart").field("phase", &phase).finish()
    }
}

/// Where a call is in its life.
#[derive(Default)]
pub(crate) enum Phase {
    /// Nothing is traced: no tracer, sampled-out parent, or not a traced call.
    #[default]
    Idle,
    /// Prepared, not started.
    Pending(Pending),
    /// Started: the span is open, the clock runs.
    Started(Started),
}

/// A call about to start: what its span and metrics need.
pub(crate) struct Pending {
    state: Arc<State>,
    span: Option<PendingSpan>,
    instruments: Option<Arc<Instruments>>,
    operation: Operation,
    provider: &'static str,
    model: Cow<'static, str>,
    default_port: u16,
    /// Host and port of the client's endpoint, once reported.
    server: Option<(Arc<str>, u16)>,
    /// `code.function.name` of the nearest annotated function.
    function: Option<&'static str>,
    /// Where the call's usage is counted.
    accounting: Option<Accounting>,
}

struct PendingSpan {
    name: Cow<'static, str>,
    attributes: Vec<KeyValue>,
    parent: Context,
    /// Boxed: content capture is opt-in, and a call's state moves several times.
    content: Option<Box<CallContent>>,
}

impl CallStart {
    /// A start that traces nothing (calls that are not recognised as LLM calls).
    #[inline]
    pub fn disabled() -> Self {
        CallStart::default()
    }

    /// Prepares the span and metrics of a call of kind `C` from its arguments, reading the
    /// state once; allocation-free when neither can record.
    pub(crate) fn prepare<C: TracedCall>(args: &C::Args, timing: Timing, stream: bool) -> Self {
        if state::quiet() {
            return CallStart {
                phase: Phase::Idle,
                timing,
                guard: None,
            };
        }
        let phase = state::with(|state| {
            let span_may_record = Context::map_current(|parent| state.tracer.may_record(parent));
            let instruments = state.metrics.instruments(&state.tracer);
            let attribution = attribution::current();
            let function = attribution.meta.map(|meta| meta.function);
            let accounting = Accounting::prepare(state, attribution, instruments.is_some());
            if !span_may_record && instruments.is_none() && accounting.is_none() {
                return Phase::Idle;
            }
            let mut pending = Pending::new::<C>(state, args, span_may_record, instruments, stream);
            pending.function = function;
            pending.accounting = accounting;
            Phase::Pending(pending)
        });
        CallStart {
            phase,
            timing,
            guard: None,
        }
    }

    /// Records the client's endpoint (`server.address`, `server.port`) and, for a sync
    /// call, starts the span and makes it current.
    ///
    /// Generated code calls this right before the client method; `None` means the
    /// endpoint is not known.
    #[inline]
    pub fn begin(&mut self, endpoint: Option<&str>) {
        if let Phase::Pending(_) = self.phase {
            self.begin_pending(endpoint);
        }
    }

    fn begin_pending(&mut self, endpoint: Option<&str>) {
        let Phase::Pending(pending) = &mut self.phase else {
            return;
        };
        if pending.span.is_some() || pending.instruments.is_some() {
            pending.server = endpoint.and_then(|e| server_attributes(e, pending.default_port));
        }
        if self.timing == Timing::Now {
            if let Phase::Pending(pending) = std::mem::take(&mut self.phase) {
                let started = pending.start();
                self.guard = started.cx.clone().map(Context::attach);
                self.phase = Phase::Started(started);
            }
        }
    }

    /// Ends a sync call (started by [`CallStart::begin`]) with its result: the span is
    /// detached from the thread, then filled and ended.
    pub(crate) fn end_sync<C: TracedCall>(self, result: &Result<C::Response, C::Error>) {
        if let Phase::Idle = self.phase {
            return;
        }
        if let Some(started) = self.into_phase().take_started() {
            started.finish::<C>(result);
        }
    }

    /// Where the call is, the span detached from the thread.
    pub(crate) fn into_phase(mut self) -> Phase {
        drop(self.guard.take());
        std::mem::take(&mut self.phase)
    }
}

impl Phase {
    /// The started call, starting it now if it was only prepared.
    pub(crate) fn start(&mut self) -> Option<&Started> {
        if let Phase::Pending(_) = self {
            if let Phase::Pending(pending) = std::mem::take(self) {
                *self = Phase::Started(pending.start());
            }
        }
        match self {
            Phase::Started(started) => Some(started),
            _ => None,
        }
    }

    /// The started call, if it started, leaving nothing behind.
    pub(crate) fn take_started(&mut self) -> Option<Started> {
        match std::mem::take(self) {
            Phase::Started(started) => Some(started),
            _ => None,
        }
    }
}

/// The attributes a call's span and metrics both start with: operation, provider, model.
fn base_attributes(
    operation: Operation,
    provider: &'static str,
    model: Cow<'static, str>,
) -> [KeyValue; 3] {
    [
        KeyValue::new(semconv::GEN_AI_OPERATION_NAME, operation.as_str()),
        KeyValue::new(semconv::GEN_AI_PROVIDER_NAME, provider),
        KeyValue::new(semconv::GEN_AI_REQUEST_MODEL, cow_value(model)),
    ]
}

impl Pending {
    fn new<C: TracedCall>(
        state: &Arc<State>,
        args: &C::Args,
        span_may_record: bool,
        instruments: Option<Arc<Instruments>>,
        stream: bool,
    ) -> Self {
        let info = C::request_info(args);
        let provider = <C::Provider as Provider>::NAME;
        let span = span_may_record.then(|| {
            let parent = Context::current();
            let mut attributes = Vec::with_capacity(16);
            attributes.extend(base_attributes(C::OPERATION, provider, info.model.clone()));
            C::request_attributes(args, &mut attributes);
            if stream {
                attributes.push(KeyValue::new(semconv::GEN_AI_REQUEST_STREAM, true));
            }
            if let Some(inherited) = ContextAttributes::of(&parent) {
                attributes.extend(inherited.iter().cloned());
            }
            let content = CallContent::prepare::<C>(state, args).map(Box::new);
            if let Some(content) = &content {
                attributes.extend(content.start_attributes());
            }
            PendingSpan {
                name: info.span_name,
                attributes,
                parent,
                content,
            }
        });
        Pending {
            state: Arc::clone(state),
            span,
            instruments,
            operation: C::OPERATION,
            provider,
            model: info.model,
            default_port: <C::Provider as Provider>::DEFAULT_PORT,
            server: None,
            function: None,
            accounting: None,
        }
    }

    fn start(self) -> Started {
        let server = self.server.clone().map(|(host, port)| {
            [
                KeyValue::new(semconv::SERVER_ADDRESS, host),
                KeyValue::new(semconv::SERVER_PORT, i64::from(port)),
            ]
        });
        let (cx, content) = match self.span {
            Some(pending) => {
                let mut attributes = pending.attributes;
                attributes.extend(server.iter().flatten().cloned());
                let span = self
                    .state
                    .tracer
                    .start(
                        pending.name,
                        |builder| {
                            builder
                                .with_kind(SpanKind::Client)
                                .with_attributes(attributes)
                        },
                        &pending.parent,
                    )
                    .context();
                // Content goes only where a span went.
                let content = pending.content.filter(|_| span.is_some());
                (span, content)
            }
            None => (None, None),
        };
        let metrics = self.instruments.map(|instruments| {
            CallMetrics::new(
                instruments,
                self.operation,
                self.provider,
                self.model.clone(),
                self.server.clone(),
                self.function,
            )
        });
        Started {
            state: self.state,
            cx,
            content,
            metrics,
            operation: self.operation,
            model: self.model,
            accounting: self.accounting,
            at: Instant::now(),
        }
    }
}

/// A started call: its span's context (if traced), its metrics (if on), its model and
/// start time.
pub(crate) struct Started {
    state: Arc<State>,
    cx: Option<Context>,
    content: Option<Box<CallContent>>,
    metrics: Option<CallMetrics>,
    operation: Operation,
    model: Cow<'static, str>,
    /// Where the call's usage is counted.
    accounting: Option<Accounting>,
    /// When the call started (the span's start), for durations and time to first chunk.
    pub(crate) at: Instant,
}

impl Started {
    /// The span's context, to make current while the call runs.
    pub(crate) fn context(&self) -> Option<&Context> {
        self.cx.as_ref()
    }

    /// Whether the span records (is sampled).
    pub(crate) fn span_recording(&self) -> bool {
        self.cx.as_ref().is_some_and(|cx| cx.span().is_recording())
    }

    /// Whether the call's content is captured.
    pub(crate) fn captures_content(&self) -> bool {
        self.content.is_some()
    }

    /// Whether anything (span, metrics, usage) wants what the response says.
    pub(crate) fn is_observed(&self) -> bool {
        self.metrics.is_some() || self.span_recording() || self.accounting.is_some()
    }

    /// The call's metrics, when on.
    pub(crate) fn metrics(&self) -> Option<&CallMetrics> {
        self.metrics.as_ref()
    }

    /// Fills the span from the call's outcome and ends it.
    pub(crate) fn finish<C: TracedCall>(self, result: &Result<C::Response, C::Error>) {
        match result {
            Ok(response) => {
                let info = if self.metrics.is_some() || self.span_recording() {
                    C::response_info(response)
                } else if self.accounting.is_some() {
                    // Only usage is counted: the provider reads just the token counts.
                    ResponseInfo {
                        usage: C::usage(response),
                        ..ResponseInfo::default()
                    }
                } else {
                    ResponseInfo::default()
                };
                let output = if self.captures_content() {
                    C::output_content(response)
                } else {
                    Vec::new()
                };
                self.end_ok(info, Vec::new(), &output);
            }
            Err(error) => self.end_err::<C>(error, Vec::new()),
        }
    }

    /// Ends a successful call with what its response said, plus `extra` span attributes
    /// and, when content is captured, the `output` messages.
    pub(crate) fn end_ok(mut self, info: ResponseInfo, extra: Vec<KeyValue>, output: &[Message]) {
        let duration = self.at.elapsed();
        let recording = self.span_recording();
        let units = match info.usage {
            Some(usage) if recording || self.metrics.is_some() || self.accounting.is_some() => {
                self.state.pricing.cost_units(
                    self.operation,
                    &self.model,
                    usage.input_tokens,
                    usage.output_tokens.unwrap_or(0),
                )
            }
            _ => None,
        };
        // In USD for the span and the metrics only: usage adds the exact units.
        let cost = units
            .filter(|_| recording || self.metrics.is_some())
            .map(usd_of_units);
        let settled = self.settle(Contribution {
            usage: info.usage.map(|u| (u.input_tokens, u.output_tokens)),
            cost: units,
            latency: Some(duration),
            ..Contribution::default()
        });
        if let Some(metrics) = &self.metrics {
            let usage = info
                .usage
                .map(|usage| (usage.input_tokens, usage.output_tokens));
            metrics.record_end(duration, info.model.clone(), None, usage, cost);
        }
        if let Some(cx) = &self.cx {
            let span = cx.span();
            if recording {
                let mut attributes = response_attributes(info, cost, self.state.openlit_compat);
                attributes.extend(extra);
                attributes.extend(late_attribute(&settled));
                span.set_attributes(attributes);
                if let Some(content) = self.content {
                    (*content).finish(&span, output);
                }
            }
            span.end();
        }
        fire(settled, self.metrics.as_ref());
    }

    /// Counts the call's usage (once), if anything counts it.
    fn settle(&mut self, call: Contribution) -> Option<Settled> {
        let accounting = self.accounting.take()?;
        Some(accounting.settle(&self.model, call))
    }

    /// Ends a failed call: status ERROR, `error.type`, plus `extra` span attributes.
    pub(crate) fn end_err<C: TracedCall>(mut self, error: &C::Error, extra: Vec<KeyValue>) {
        let duration = self.at.elapsed();
        let settled = self.settle(Contribution {
            error: true,
            latency: Some(duration),
            ..Contribution::default()
        });
        let error_type = C::error_type(error);
        if let Some(metrics) = &self.metrics {
            metrics.record_end(duration, None, Some(error_type.clone()), None, None);
        }
        let error_type = KeyValue::new(semconv::ERROR_TYPE, cow_value(error_type));
        if let Some(cx) = &self.cx {
            let span = cx.span();
            if span.is_recording() {
                span.set_attribute(error_type);
                span.set_attributes(extra);
                span.set_attributes(late_attribute(&settled));
                span.set_status(Status::error(C::error_description(error)));
                if let Some(content) = self.content {
                    (*content).finish(&span, &[]);
                }
            }
            span.end();
        }
        fire(settled, self.metrics.as_ref());
    }

    /// Ends the span of a call abandoned before it finished, with `extra` attributes.
    /// Abandoned calls record no duration or token metrics.
    pub(crate) fn cancel(mut self, extra: Vec<KeyValue>) {
        let settled = self.settle(Contribution {
            cancelled: true,
            ..Contribution::default()
        });
        if let Some(cx) = &self.cx {
            let span = cx.span();
            if span.is_recording() {
                span.set_attribute(KeyValue::new(semconv::LLM_TRACE_CANCELLED, true));
                span.set_attributes(extra);
                span.set_attributes(late_attribute(&settled));
                if let Some(content) = self.content {
                    (*content).finish(&span, &[]);
                }
            }
            span.end();
        }
        fire(settled, self.metrics.as_ref());
    }
}

/// `llm_trace.late = true` when the call ended after a function it ran under returned.
fn late_attribute(settled: &Option<Settled>) -> Option<KeyValue> {
    settled
        .as_ref()
        .filter(|settled| settled.late)
        .map(|_| KeyValue::new(semconv::LLM_TRACE_LATE, true))
}

/// Acts on the budgets the call made fire, once its span ended.
fn fire(settled: Option<Settled>, metrics: Option<&CallMetrics>) {
    if let Some(settled) = settled {
        settled.fire(metrics);
    }
}
