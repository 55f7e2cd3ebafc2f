//! The CLIENT span of one traced client call: started right before the request is sent,
//! filled from the response or error, ended exactly once; and the call's metrics.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Array, Context, ContextGuard, KeyValue, StringValue, Value};
use pin_project_lite::pin_project;

use crate::content::{self as content_mod, CaptureMode, ContentPolicy, Message};
use crate::metrics::{self, CallMetrics, Instruments};
use crate::pricing;
use crate::provider::{Operation, Provider, ResponseInfo, TracedCall};
use crate::semconv;
use crate::server::server_attributes;
use crate::tracer;

/// The start of a call's span, handed to the call by generated code.
///
/// The macro's generated closure calls [`CallStart::server`] with the client's endpoint
/// right before the request is made; that is when the span starts.
#[derive(Default)]
pub struct CallStart {
    state: StartState,
    /// Make the span current on this thread once started (sync calls).
    attach: bool,
    /// The span made current for a sync call, detached when the call returns.
    guard: Option<ContextGuard>,
}

#[derive(Default)]
enum StartState {
    /// Nothing is traced: no tracer, sampled-out parent, or not a traced call.
    #[default]
    Disabled,
    Pending(Pending),
    Started(Started),
}

/// A call about to start: what its span and metrics need.
struct Pending {
    /// The span to start, when it may record.
    span: Option<PendingSpan>,
    /// The instruments, when metrics are on.
    instruments: Option<Arc<Instruments>>,
    operation: Operation,
    provider: &'static str,
    model: Cow<'static, str>,
    default_port: u16,
}

struct PendingSpan {
    name: Cow<'static, str>,
    attributes: Vec<KeyValue>,
    parent: Context,
    content: Option<CallContent>,
}

/// The content side of a call when capture is on and the span records.
pub(crate) struct CallContent {
    mode: CaptureMode,
    policy: Arc<ContentPolicy>,
    /// The rendered input; `None` once the redaction hook failed: then nothing of this
    /// call's content is recorded.
    input: Option<Vec<KeyValue>>,
}

impl CallContent {
    fn prepare<C: TracedCall>(args: &C::Args) -> Option<CallContent> {
        let mode = content_mod::capture_mode();
        if mode == CaptureMode::NoContent {
            return None;
        }
        let policy = content_mod::content_policy();
        let input = policy.render_input(&C::input_content(args)).ok();
        Some(CallContent {
            mode,
            policy,
            input,
        })
    }

    /// Attributes for the span's start: the input when content goes on spans.
    fn start_attributes(&self) -> Vec<KeyValue> {
        match &self.input {
            None => vec![KeyValue::new(content_mod::REDACTION_FAILED, true)],
            Some(input) if self.mode.on_spans() => input.clone(),
            Some(_) => Vec::new(),
        }
    }

    /// Records the output (on the span and/or in the details event) as the call ends.
    fn finish(self, span: &opentelemetry::trace::SpanRef<'_>, output: &[Message]) {
        let Some(input) = self.input else {
            return;
        };
        let output = match self.policy.render_output(output) {
            Ok(output) => output,
            Err(_) => {
                span.set_attribute(KeyValue::new(content_mod::REDACTION_FAILED, true));
                return;
            }
        };
        if self.mode.on_spans() {
            span.set_attributes(output.iter().cloned());
        }
        if self.mode.in_events() {
            let mut attributes = input;
            attributes.extend(output);
            span.add_event(content_mod::OPERATION_DETAILS_EVENT, attributes);
        }
    }
}

/// A started call: its span (if traced), its metrics (if on), its model and start time.
pub(crate) struct Started {
    span: Option<Context>,
    content: Option<CallContent>,
    metrics: Option<CallMetrics>,
    operation: Operation,
    model: Cow<'static, str>,
    /// When the call started (the span's start), for durations and time to first chunk.
    pub(crate) at: Instant,
}

impl std::fmt::Debug for CallStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            StartState::Disabled => "disabled",
            StartState::Pending(_) => "pending",
            StartState::Started(_) => "started",
        };
        f.debug_struct("CallStart").field("state", &state).finish()
    }
}

impl CallStart {
    /// A start that traces nothing (calls that are not recognised as LLM calls).
    pub fn disabled() -> Self {
        CallStart::default()
    }

    /// Prepares the span and metrics of a call of kind `C` from its arguments;
    /// allocation-free when neither can record.
    pub(crate) fn prepare<C: TracedCall>(args: &C::Args, attach: bool, stream: bool) -> Self {
        let source = tracer::source_state();
        let span_may_record = Context::map_current(|parent| tracer::may_record(parent, source));
        let instruments = metrics::instruments(source);
        if !span_may_record && instruments.is_none() {
            return CallStart::disabled();
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
            if let Some(inherited) = parent.get::<crate::attributes::ContextAttributes>() {
                attributes.extend(inherited.0.iter().cloned());
            }
            let content = CallContent::prepare::<C>(args);
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
        CallStart {
            state: StartState::Pending(Pending {
                span,
                instruments,
                operation: C::OPERATION,
                provider,
                model: info.model,
                default_port: <C::Provider as Provider>::DEFAULT_PORT,
            }),
            attach,
            guard: None,
        }
    }

    /// Records the client's endpoint (`server.address`, `server.port`) and starts the span.
    ///
    /// Generated code calls this right before the client method; `None` means the endpoint
    /// is not known (a receiver type llm-trace cannot see through).
    pub fn server(&mut self, endpoint: Option<&str>) {
        let pending = match std::mem::take(&mut self.state) {
            StartState::Pending(pending) => pending,
            other => {
                self.state = other;
                return;
            }
        };
        self.state = match pending.start(endpoint) {
            Some(started) => {
                if self.attach {
                    self.guard = started.span.clone().map(Context::attach);
                }
                StartState::Started(started)
            }
            None => StartState::Disabled,
        };
    }

    /// The started call, starting it now if the endpoint was never reported.
    pub(crate) fn into_started(mut self) -> Option<Started> {
        if matches!(self.state, StartState::Pending(_)) {
            self.server(None);
        }
        // Detach the sync call's span: the call has returned.
        drop(self.guard.take());
        match std::mem::take(&mut self.state) {
            StartState::Started(started) => Some(started),
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
    fn start(self, endpoint: Option<&str>) -> Option<Started> {
        let server = endpoint
            .and_then(|e| server_attributes(e, self.default_port))
            .map(|(host, port)| {
                [
                    KeyValue::new(semconv::SERVER_ADDRESS, host),
                    KeyValue::new(semconv::SERVER_PORT, i64::from(port)),
                ]
            });
        let (span, content) = match self.span {
            Some(pending) => {
                let mut attributes = pending.attributes;
                attributes.extend(server.iter().flatten().cloned());
                let span = tracer::start_span(
                    pending.name,
                    |builder| {
                        builder
                            .with_kind(SpanKind::Client)
                            .with_attributes(attributes)
                    },
                    &pending.parent,
                )
                .map(|span| pending.parent.with_span(span));
                // Content goes only where a span went.
                let content = pending.content.filter(|_| span.is_some());
                (span, content)
            }
            None => (None, None),
        };
        let metrics = self.instruments.map(|instruments| {
            let mut attributes = Vec::with_capacity(5);
            attributes.extend(base_attributes(
                self.operation,
                self.provider,
                self.model.clone(),
            ));
            attributes.extend(server.into_iter().flatten());
            CallMetrics::new(instruments, attributes)
        });
        if span.is_none() && metrics.is_none() {
            return None;
        }
        Some(Started {
            span,
            content,
            metrics,
            operation: self.operation,
            model: self.model,
            at: Instant::now(),
        })
    }
}

pub(crate) fn cow_value(value: Cow<'static, str>) -> Value {
    Value::String(match value {
        Cow::Borrowed(s) => StringValue::from(s),
        Cow::Owned(s) => StringValue::from(s),
    })
}

impl Started {
    /// The span's context, to make current while the call runs.
    pub(crate) fn context(&self) -> Option<&Context> {
        self.span.as_ref()
    }

    /// Whether the span records (is sampled).
    fn span_recording(&self) -> bool {
        self.span
            .as_ref()
            .is_some_and(|cx| cx.span().is_recording())
    }

    /// Whether the call's content is captured.
    pub(crate) fn captures_content(&self) -> bool {
        self.content.is_some()
    }

    /// Whether anything (span or metrics) wants what the response says.
    pub(crate) fn is_observed(&self) -> bool {
        self.metrics.is_some() || self.span_recording()
    }

    /// The call's metrics, when on.
    pub(crate) fn metrics(&self) -> Option<&CallMetrics> {
        self.metrics.as_ref()
    }

    /// Fills the span from the call's outcome and ends it.
    fn finish<C: TracedCall>(self, result: &Result<C::Response, C::Error>) {
        match result {
            Ok(response) => {
                let info = if self.is_observed() {
                    C::response_info(response)
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
    pub(crate) fn end_ok(self, info: ResponseInfo, extra: Vec<KeyValue>, output: &[Message]) {
        let duration = self.at.elapsed();
        let recording = self.span_recording();
        let cost = match info.usage {
            Some(usage) if recording || self.metrics.is_some() => pricing::cost_usd(
                self.operation,
                &self.model,
                usage.input_tokens,
                usage.output_tokens.unwrap_or(0),
            ),
            _ => None,
        };
        if let Some(metrics) = &self.metrics {
            let response_model = info
                .model
                .clone()
                .map(|model| KeyValue::new(semconv::GEN_AI_RESPONSE_MODEL, cow_value(model)));
            let usage = info
                .usage
                .map(|usage| (usage.input_tokens, usage.output_tokens));
            metrics.record_end(duration, response_model, None, usage, cost);
        }
        if let Some(cx) = &self.span {
            let span = cx.span();
            if recording {
                let mut attributes = response_attributes(info, cost);
                attributes.extend(extra);
                span.set_attributes(attributes);
                if let Some(content) = self.content {
                    content.finish(&span, output);
                }
            }
            span.end();
        }
    }

    /// Ends a failed call: status ERROR, `error.type`, plus `extra` span attributes.
    pub(crate) fn end_err<C: TracedCall>(self, error: &C::Error, extra: Vec<KeyValue>) {
        let duration = self.at.elapsed();
        let error_type = KeyValue::new(semconv::ERROR_TYPE, cow_value(C::error_type(error)));
        if let Some(metrics) = &self.metrics {
            metrics.record_end(duration, None, Some(error_type.clone()), None, None);
        }
        if let Some(cx) = &self.span {
            let span = cx.span();
            if span.is_recording() {
                span.set_attribute(error_type);
                span.set_attributes(extra);
                span.set_status(Status::error(C::error_description(error)));
                if let Some(content) = self.content {
                    content.finish(&span, &[]);
                }
            }
            span.end();
        }
    }

    /// Ends the span of a call abandoned before it finished, with `extra` attributes.
    /// Abandoned calls record no duration or token metrics.
    pub(crate) fn cancel(self, extra: Vec<KeyValue>) {
        if let Some(cx) = &self.span {
            let span = cx.span();
            if span.is_recording() {
                span.set_attribute(KeyValue::new(semconv::LLM_TRACE_CANCELLED, true));
                span.set_attributes(extra);
                if let Some(content) = self.content {
                    content.finish(&span, &[]);
                }
            }
            span.end();
        }
    }
}

/// The span attributes a successful response gives.
pub(crate) fn response_attributes(info: ResponseInfo, cost: Option<f64>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(8);
    if let Some(id) = info.id {
        attributes.push(KeyValue::new(semconv::GEN_AI_RESPONSE_ID, id));
    }
    if let Some(model) = info.model {
        attributes.push(KeyValue::new(
            semconv::GEN_AI_RESPONSE_MODEL,
            cow_value(model),
        ));
    }
    if !info.finish_reasons.is_empty() {
        let reasons: Vec<StringValue> = info
            .finish_reasons
            .into_iter()
            .map(StringValue::from)
            .collect();
        attributes.push(KeyValue::new(
            semconv::GEN_AI_RESPONSE_FINISH_REASONS,
            Value::Array(Array::String(reasons)),
        ));
    }
    if let Some(dimensions) = info.embedding_dimensions {
        attributes.push(KeyValue::new(
            semconv::GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
            dimensions,
        ));
    }
    if let Some(usage) = info.usage {
        attributes.push(KeyValue::new(
            semconv::GEN_AI_USAGE_INPUT_TOKENS,
            saturating_i64(usage.input_tokens),
        ));
        if let Some(output) = usage.output_tokens {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_USAGE_OUTPUT_TOKENS,
                saturating_i64(output),
            ));
        }
    }
    if let Some(cost) = cost {
        attributes.push(KeyValue::new(semconv::GEN_AI_USAGE_COST, cost));
    }
    attributes
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Traces one synchronous call of kind `C`: `call` receives the arguments and the
/// [`CallStart`] to report the endpoint to.
pub fn trace_sync<C, F>(args: C::Args, call: F) -> Result<C::Response, C::Error>
where
    C: TracedCall,
    F: FnOnce(C::Args, &mut CallStart) -> Result<C::Response, C::Error>,
{
    let mut start = CallStart::prepare::<C>(&args, true, false);
    let result = call(args, &mut start);
    if let Some(started) = start.into_started() {
        started.finish::<C>(&result);
    }
    result
}

/// Traces one asynchronous call of kind `C`: the span starts now, before the returned
/// future is first polled, and ends when the future completes or is dropped.
pub fn trace_async<C, F, Fut>(args: C::Args, call: F) -> TracedFuture<C, Fut>
where
    C: TracedCall,
    F: FnOnce(C::Args, &mut CallStart) -> Fut,
    Fut: Future<Output = Result<C::Response, C::Error>>,
{
    let mut start = CallStart::prepare::<C>(&args, false, false);
    let inner = call(args, &mut start);
    TracedFuture {
        inner,
        state: CallState {
            started: start.into_started(),
            kind: PhantomData,
        },
    }
}

/// Ends a call span once: with the outcome, or as cancelled when dropped unfinished.
struct CallState<C> {
    started: Option<Started>,
    kind: PhantomData<fn() -> C>,
}

impl<C> Drop for CallState<C> {
    fn drop(&mut self) {
        if let Some(started) = self.started.take() {
            started.cancel(Vec::new());
        }
    }
}

pin_project! {
    /// A traced async client call: polls the call's future under the call's span.
    #[must_use = "futures do nothing unless polled"]
    pub struct TracedFuture<C, Fut> {
        #[pin]
        inner: Fut,
        state: CallState<C>,
    }
}

impl<C, Fut> std::fmt::Debug for TracedFuture<C, Fut> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedFuture")
            .field("traced", &self.state.started.is_some())
            .finish()
    }
}

impl<C, Fut> Future for TracedFuture<C, Fut>
where
    C: TracedCall,
    Fut: Future<Output = Result<C::Response, C::Error>>,
{
    type Output = Fut::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let poll = match this.state.started.as_ref().and_then(Started::context) {
            Some(cx) => {
                let _guard = cx.clone().attach();
                this.inner.poll(task)
            }
            None => this.inner.poll(task),
        };
        if let Poll::Ready(result) = &poll {
            if let Some(started) = this.state.started.take() {
                started.finish::<C>(result);
            }
        }
        poll
    }
}
