//! The CLIENT span of one traced client call: started right before the request is sent,
//! filled from the response or error, ended exactly once.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Array, Context, ContextGuard, KeyValue, StringValue, Value};
use pin_project_lite::pin_project;

use crate::pricing;
use crate::provider::{Provider, ResponseInfo, TracedCall};
use crate::semconv;
use crate::server::ServerAddress;
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

struct Pending {
    span_name: Cow<'static, str>,
    model: Cow<'static, str>,
    default_port: u16,
    attributes: Vec<KeyValue>,
    parent: Context,
}

/// A started call span.
struct Started {
    cx: Context,
    model: Cow<'static, str>,
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

    /// Prepares the span of a call of kind `C` from its arguments; allocation-free unless
    /// the span may record.
    pub(crate) fn prepare<C: TracedCall>(args: &C::Args, attach: bool) -> Self {
        if !Context::map_current(tracer::may_record) {
            return CallStart::disabled();
        }
        let parent = Context::current();
        let info = C::request_info(args);
        let mut attributes = Vec::with_capacity(16);
        attributes.push(KeyValue::new(
            semconv::GEN_AI_OPERATION_NAME,
            C::OPERATION.as_str(),
        ));
        attributes.push(KeyValue::new(
            semconv::GEN_AI_PROVIDER_NAME,
            <C::Provider as Provider>::NAME,
        ));
        attributes.push(KeyValue::new(
            semconv::GEN_AI_REQUEST_MODEL,
            cow_value(info.model.clone()),
        ));
        C::request_attributes(args, &mut attributes);
        CallStart {
            state: StartState::Pending(Pending {
                span_name: info.span_name,
                model: info.model,
                default_port: <C::Provider as Provider>::DEFAULT_PORT,
                attributes,
                parent,
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
        let mut pending = pending;
        if let Some(address) = endpoint.and_then(|e| ServerAddress::parse(e, pending.default_port))
        {
            pending
                .attributes
                .push(KeyValue::new(semconv::SERVER_ADDRESS, address.host));
            pending
                .attributes
                .push(KeyValue::new(semconv::SERVER_PORT, i64::from(address.port)));
        }
        self.state = match pending.start() {
            Some(started) => {
                if self.attach {
                    self.guard = Some(started.cx.clone().attach());
                }
                StartState::Started(started)
            }
            None => StartState::Disabled,
        };
    }

    /// The started span, starting it now if the endpoint was never reported.
    fn into_started(mut self) -> Option<Started> {
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

impl Pending {
    fn start(self) -> Option<Started> {
        let attributes = self.attributes;
        let span = tracer::start_span(
            self.span_name,
            |builder| {
                builder
                    .with_kind(SpanKind::Client)
                    .with_attributes(attributes)
            },
            &self.parent,
        )?;
        Some(Started {
            cx: self.parent.with_span(span),
            model: self.model,
        })
    }
}

fn cow_value(value: Cow<'static, str>) -> Value {
    Value::String(match value {
        Cow::Borrowed(s) => StringValue::from(s),
        Cow::Owned(s) => StringValue::from(s),
    })
}

impl Started {
    /// Fills the span from the call's outcome and ends it.
    fn finish<C: TracedCall>(self, result: &Result<C::Response, C::Error>) {
        let span = self.cx.span();
        if span.is_recording() {
            match result {
                Ok(response) => {
                    let info = C::response_info(response);
                    span.set_attributes(response_attributes::<C>(info, &self.model));
                }
                Err(error) => {
                    span.set_attribute(KeyValue::new(
                        semconv::ERROR_TYPE,
                        cow_value(C::error_type(error)),
                    ));
                    span.set_status(Status::error(C::error_description(error)));
                }
            }
        }
        span.end();
    }

    /// Ends the span of a call abandoned before it finished.
    fn cancel(self) {
        let span = self.cx.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new(semconv::LLM_TRACE_CANCELLED, true));
        }
        span.end();
    }
}

fn response_attributes<C: TracedCall>(info: ResponseInfo, request_model: &str) -> Vec<KeyValue> {
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
            .map(|reason| match reason {
                Cow::Borrowed(s) => StringValue::from(s),
                Cow::Owned(s) => StringValue::from(s),
            })
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
        if let Some(cost) = pricing::cost_usd(
            C::OPERATION,
            request_model,
            usage.input_tokens,
            usage.output_tokens.unwrap_or(0),
        ) {
            attributes.push(KeyValue::new(semconv::GEN_AI_USAGE_COST, cost));
        }
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
    let mut start = CallStart::prepare::<C>(&args, true);
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
    let mut start = CallStart::prepare::<C>(&args, false);
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
            started.cancel();
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
        let poll = match &this.state.started {
            Some(started) => {
                let _guard = started.cx.clone().attach();
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
