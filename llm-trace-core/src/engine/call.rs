//! The CLIENT span of one traced client call: prepared from the arguments, started right
//! before the request goes out, filled from the response or error, ended exactly once;
//! and the call's metrics.
//!
//! A sync call starts when the generated code reports the client's endpoint
//! ([`CallStart::begin`]), right before the client method runs. An async or streamed call
//! starts at its future's first poll — the moment the request is sent — so a future
//! dropped unpolled makes no span and records nothing.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, ContextGuard, KeyValue};

use super::accounting::{Accounting, Settled};
use super::attribution;
use super::capture::CallContent;
use super::context_attributes::ContextAttributes;
use super::ledger::Contribution;
use super::metrics::CallMetrics;
use super::recent::{self, Wanted};
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
        let phase = match (&self.phase.call, self.phase.started) {
            (None, _) => "idle",
            (Some(_), false) => "pending",
            (Some(_), true) => "started",
        };
        f.debug_struct("CallStart").field("phase", &phase).finish()
    }
}

/// Where a call is in its life: nothing traced (no tracer, sampled-out parent, not a
/// traced call), prepared, or started (the span is open, the clock runs).
///
/// A call is prepared and started in place, and a sync call also ends in place: the call's
/// state, a few hundred bytes, is not moved around on the way.
#[derive(Default)]
pub(crate) struct Phase {
    call: Option<Started>,
    started: bool,
}

/// The span of a call that may record: boxed, as only recorded calls have one.
struct CallSpan {
    /// What starting it takes; taken when it starts.
    pending: Option<PendingSpan>,
    /// The started span's context, when it records.
    cx: Option<Context>,
    content: Option<CallContent>,
}

struct PendingSpan {
    name: Cow<'static, str>,
    attributes: Vec<KeyValue>,
    parent: Context,
    /// Host and port of the client's endpoint, once reported.
    server: Option<(Arc<str>, u16)>,
}

impl CallStart {
    /// A start that traces nothing (calls that are not recognised as LLM calls).
    #[inline]
    pub fn disabled() -> Self {
        CallStart::default()
    }

    /// Prepares the span and metrics of a call of kind `C` from its arguments, reading the
    /// state once; allocation-free when neither can record.
    ///
    /// With no provider installed this is a few loads, inlined at the call.
    #[inline]
    pub(crate) fn prepare<C: TracedCall>(args: &C::Args, timing: Timing, stream: bool) -> Self {
        if state::quiet() {
            return CallStart {
                phase: Phase::default(),
                timing,
                guard: None,
            };
        }
        Self::prepare_observed::<C>(args, timing, stream)
    }

    /// [`CallStart::prepare`] once a provider may be installed.
    #[inline(never)]
    fn prepare_observed<C: TracedCall>(args: &C::Args, timing: Timing, stream: bool) -> Self {
        // Each return builds the value in place: a call's state is not small.
        let idle = || CallStart {
            phase: Phase::default(),
            timing,
            guard: None,
        };
        let Some(state) = state::with(|state| Some(Arc::clone(state))) else {
            return idle();
        };
        let span_may_record = Context::map_current(|parent| state.tracer.may_record(parent));
        let instruments = state.metrics.instruments(&state.tracer);
        let attribution = attribution::current();
        let function = attribution.meta.map(|meta| meta.function);
        let accounting = Accounting::prepare(&state, attribution, instruments.is_some());
        if !span_may_record && instruments.is_none() && accounting.is_none() {
            return idle();
        }
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
            let content = CallContent::prepare::<C>(&state, args);
            if let Some(content) = &content {
                attributes.extend(content.start_attributes());
            }
            Box::new(CallSpan {
                pending: Some(PendingSpan {
                    name: info.span_name,
                    attributes,
                    parent,
                    server: None,
                }),
                cx: None,
                content,
            })
        });
        let metrics = instruments.map(|instruments| {
            CallMetrics::new(
                instruments,
                C::OPERATION,
                provider,
                info.model.clone(),
                None,
                function,
            )
        });
        CallStart {
            phase: Phase {
                call: Some(Started {
                    state,
                    operation: C::OPERATION,
                    default_port: <C::Provider as Provider>::DEFAULT_PORT,
                    model: info.model,
                    span,
                    metrics,
                    accounting,
                    at: not_started(),
                }),
                started: false,
            },
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
        if self.phase.call.is_some() && !self.phase.started {
            self.begin_pending(endpoint);
        }
    }

    fn begin_pending(&mut self, endpoint: Option<&str>) {
        let Some(call) = &mut self.phase.call else {
            return;
        };
        call.set_endpoint(endpoint);
        if self.timing == Timing::Now {
            if let Some(cx) = self.phase.start().and_then(Started::context) {
                self.guard = Some(cx.clone().attach());
            }
        }
    }

    /// Ends a sync call (started by [`CallStart::begin`]) with its result: the span is
    /// detached from the thread, then filled and ended.
    /// The call ends in place: its state is not moved out first.
    #[inline]
    pub(crate) fn end_sync<C: TracedCall>(&mut self, result: &Result<C::Response, C::Error>) {
        if self.phase.call.is_some() {
            self.end_observed::<C>(result);
        }
    }

    #[inline(never)]
    fn end_observed<C: TracedCall>(&mut self, result: &Result<C::Response, C::Error>) {
        drop(self.guard.take());
        if let (Some(started), true) = (&mut self.phase.call, self.phase.started) {
            started.finish_here::<C>(result);
        }
    }

    /// Where the call is, the span detached from the thread.
    pub(crate) fn into_phase(mut self) -> Phase {
        drop(self.guard.take());
        std::mem::take(&mut self.phase)
    }
}

/// The start time of a call not started yet: any instant, overwritten when it starts.
fn not_started() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl Phase {
    /// The started call, starting it now if it was only prepared.
    pub(crate) fn start(&mut self) -> Option<&Started> {
        let call = self.call.as_mut()?;
        if !self.started {
            self.started = true;
            call.start();
        }
        Some(call)
    }

    /// The started call, if it started, leaving nothing behind.
    pub(crate) fn take_started(&mut self) -> Option<Started> {
        if !std::mem::take(&mut self.started) {
            return None;
        }
        self.call.take()
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

/// A call: its span (if it may record), its metrics (if on), where its usage is counted,
/// its model and start time. Prepared first, then started (see [`Phase`]).
pub(crate) struct Started {
    state: Arc<State>,
    operation: Operation,
    default_port: u16,
    model: Cow<'static, str>,
    span: Option<Box<CallSpan>>,
    metrics: Option<CallMetrics>,
    /// Where the call's usage is counted.
    accounting: Option<Accounting>,
    /// When the call started (the span's start), for durations and time to first chunk.
    pub(crate) at: Instant,
}

impl Started {
    /// Takes the client's endpoint (`server.address`, `server.port`) for the span and the
    /// metrics, before the call starts.
    fn set_endpoint(&mut self, endpoint: Option<&str>) {
        if self.span.is_none() && self.metrics.is_none() {
            return;
        }
        let server = endpoint.and_then(|e| server_attributes(e, self.default_port));
        if let Some(pending) = self.span.as_mut().and_then(|span| span.pending.as_mut()) {
            pending.server.clone_from(&server);
        }
        if let Some(metrics) = &mut self.metrics {
            metrics.set_server(server);
        }
    }

    /// Starts the span (when it may record) and the clock.
    fn start(&mut self) {
        if let Some(span) = &mut self.span {
            span.start(&self.state);
        }
        self.at = Instant::now();
    }

    /// The span's context, to make current while the call runs.
    pub(crate) fn context(&self) -> Option<&Context> {
        self.span.as_ref()?.cx.as_ref()
    }

    /// Whether the span records (is sampled).
    pub(crate) fn span_recording(&self) -> bool {
        self.context().is_some_and(|cx| cx.span().is_recording())
    }

    /// Whether the call's content is captured.
    pub(crate) fn captures_content(&self) -> bool {
        self.span
            .as_ref()
            .is_some_and(|span| span.content.is_some())
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
    pub(crate) fn finish<C: TracedCall>(mut self, result: &Result<C::Response, C::Error>) {
        self.finish_here::<C>(result);
    }

    /// [`Started::finish`], in place: the call is spent afterwards.
    fn finish_here<C: TracedCall>(&mut self, result: &Result<C::Response, C::Error>) {
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
                self.end_ok_here(info, Vec::new(), &output);
            }
            Err(error) => self.end_err_here::<C>(error, Vec::new()),
        }
    }

    /// Ends a successful call with what its response said, plus `extra` span attributes
    /// and, when content is captured, the `output` messages.
    pub(crate) fn end_ok(mut self, info: ResponseInfo, extra: Vec<KeyValue>, output: &[Message]) {
        self.end_ok_here(info, extra, output);
    }

    fn end_ok_here(&mut self, info: ResponseInfo, extra: Vec<KeyValue>, output: &[Message]) {
        let duration = self.at.elapsed();
        let recording = self.span_recording();
        let priced = info
            .usage
            .filter(|_| recording || self.metrics.is_some() || self.accounting.is_some())
            .map(|usage| (usage.input_tokens, usage.output_tokens.unwrap_or(0)));
        let (units, settled) = self.settle(
            priced,
            Contribution {
                usage: info.usage.map(|u| (u.input_tokens, u.output_tokens)),
                latency: Some(duration),
                ..Contribution::default()
            },
        );
        // In USD for the span and the metrics only: usage adds the exact units.
        let cost = units
            .filter(|_| recording || self.metrics.is_some())
            .map(usd);
        if let Some(metrics) = &self.metrics {
            let usage = info
                .usage
                .map(|usage| (usage.input_tokens, usage.output_tokens));
            metrics.record_end(duration, info.model.clone(), None, usage, cost);
        }
        if let Some(span) = self.span.take() {
            let CallSpan { cx, content, .. } = *span;
            if let Some(cx) = cx {
                let span = cx.span();
                if recording {
                    let mut attributes = response_attributes(info, cost, self.state.openlit_compat);
                    attributes.extend(extra);
                    attributes.extend(late_attribute(&settled));
                    span.set_attributes(attributes);
                    if let Some(content) = content {
                        content.finish(&span, output);
                    }
                }
                span.end();
            }
        }
        fire(settled, self.metrics.as_ref());
    }

    /// Prices the call when `priced` has its (input, output) tokens, and counts its usage
    /// (once), if anything counts it: its cost in 10⁻¹⁵ USD, and what settled. The price
    /// and the usage entry are the ones this thread found last for the call's function and
    /// model (see [`recent`]).
    fn settle(
        &mut self,
        priced: Option<(u64, u64)>,
        mut call: Contribution,
    ) -> (Option<u128>, Option<Settled>) {
        let mut accounting = self.accounting.take();
        let wanted = Wanted {
            price: priced.is_some(),
            pair: accounting.as_ref().is_some_and(Accounting::counted),
        };
        let function = accounting.as_ref().and_then(Accounting::function);
        let (state, model) = (&self.state, &self.model);
        let mut outcome = (None, None);
        recent::with(state, self.operation, function, model, wanted, |found| {
            let units = found
                .price
                .zip(priced)
                .map(|(price, (input, output))| price.cost_units(input, output));
            call.cost = units;
            let settled = accounting.take().and_then(|accounting| {
                match accounting.count_plain(state, model, &call, found.pair) {
                    Ok(()) => None,
                    Err(accounting) => Some(accounting.settle(state, model, call, found.pair)),
                }
            });
            outcome = (units, settled);
        });
        outcome
    }

    /// Ends a failed call: status ERROR, `error.type`, plus `extra` span attributes.
    pub(crate) fn end_err<C: TracedCall>(mut self, error: &C::Error, extra: Vec<KeyValue>) {
        self.end_err_here::<C>(error, extra);
    }

    fn end_err_here<C: TracedCall>(&mut self, error: &C::Error, extra: Vec<KeyValue>) {
        let duration = self.at.elapsed();
        let (_, settled) = self.settle(
            None,
            Contribution {
                error: true,
                latency: Some(duration),
                ..Contribution::default()
            },
        );
        if self.metrics.is_none() && self.span.is_none() {
            fire(settled, None);
            return;
        }
        let error_type = C::error_type(error);
        if let Some(metrics) = &self.metrics {
            metrics.record_end(duration, None, Some(error_type.clone()), None, None);
        }
        let error_type = KeyValue::new(semconv::ERROR_TYPE, cow_value(error_type));
        if let Some(span) = self.span.take() {
            let CallSpan { cx, content, .. } = *span;
            if let Some(cx) = cx {
                let span = cx.span();
                if span.is_recording() {
                    span.set_attribute(error_type);
                    span.set_attributes(extra);
                    span.set_attributes(late_attribute(&settled));
                    span.set_status(Status::error(C::error_description(error)));
                    if let Some(content) = content {
                        content.finish(&span, &[]);
                    }
                }
                span.end();
            }
        }
        fire(settled, self.metrics.as_ref());
    }

    /// Ends the span of a call abandoned before it finished, with `extra` attributes.
    /// Abandoned calls record no duration or token metrics.
    pub(crate) fn cancel(mut self, extra: Vec<KeyValue>) {
        let (_, settled) = self.settle(
            None,
            Contribution {
                cancelled: true,
                ..Contribution::default()
            },
        );
        if let Some(span) = self.span.take() {
            let CallSpan { cx, content, .. } = *span;
            if let Some(cx) = cx {
                let span = cx.span();
                if span.is_recording() {
                    span.set_attribute(KeyValue::new(semconv::LLM_TRACE_CANCELLED, true));
                    span.set_attributes(extra);
                    span.set_attributes(late_attribute(&settled));
                    if let Some(content) = content {
                        content.finish(&span, &[]);
                    }
                }
                span.end();
            }
        }
        fire(settled, self.metrics.as_ref());
    }
}

impl CallSpan {
    /// Starts the span under its parent, with its attributes and the endpoint's.
    fn start(&mut self, state: &State) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let mut attributes = pending.attributes;
        if let Some((host, port)) = pending.server {
            attributes.push(KeyValue::new(semconv::SERVER_ADDRESS, host));
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
        self.cx = state
            .tracer
            .start(
                pending.name,
                |builder, _| {
                    builder
                        .with_kind(SpanKind::Client)
                        .with_attributes(attributes)
                },
                &pending.parent,
            )
            .context();
        // Content goes only where a span went.
        if self.cx.is_none() {
            self.content = None;
        }
    }
}

/// [`usd_of_units`], out of line: inlined, its `u128` to `f64` conversion (a library call)
/// is done on every call, needed or not.
#[inline(never)]
fn usd(units: u128) -> f64 {
    usd_of_units(units)
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
