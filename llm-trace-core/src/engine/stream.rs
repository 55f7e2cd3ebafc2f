//! The CLIENT span of a streamed call: it starts as the request is sent and lives exactly
//! as long as the stream.
//!
//! [`trace_stream`] wraps the call's future; its output is the client's stream wrapped
//! in a `TracedStream` (same items, `Unpin` and `Send` when the client's stream is),
//! which ends the span exactly once:
//! - at the stream's end (`None`), with id, model, finish reasons, usage and cost taken
//!   from the chunks — or `llm_trace.usage.missing = true` when usage never arrived;
//! - at the first error item, with status ERROR and `error.type` (the item is passed on);
//! - when dropped early, marked `llm_trace.cancelled = true` with what was seen so far.
//!
//! The span starts at the first poll of the call's future (when the request is sent); a
//! future dropped unpolled records nothing. If the call fails before a stream exists (say
//! a 503), the span ends in ERROR at once.
//! Per chunk, an observed stream (recording span, metrics or usage on) does a few field reads
//! and no allocation after the first chunk; an unobserved one only polls the client's
//! stream. Memory stays O(1): chunk contents are not kept.
//!
//! Metrics: `gen_ai.client.operation.time_to_first_chunk` at the first content chunk;
//! at the end, `gen_ai.client.operation.time_per_output_chunk` (the mean time between
//! content chunks after the first), duration, token usage and cost.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

pub use futures_core::Stream;
use opentelemetry::KeyValue;
use pin_project_lite::pin_project;

use super::call::{CallStart, Started};
use super::poll::in_context;
use super::response::cow_value;
use crate::content::{Message, Part};
use crate::provider::{ResponseInfo, TracedCall, TracedStreamCall};
use crate::semconv;

/// The client's error type of a streamed call.
type ErrorOf<S> = <<S as TracedStreamCall>::Call as TracedCall>::Error;

/// What an observed stream has seen so far.
struct Seen {
    info: ResponseInfo,
    chunks: u64,
    content_chunks: u64,
    first_content: Option<Instant>,
}

impl Seen {
    fn attributes(&self, started: &Started) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(3);
        if let Some(first) = self.first_content {
            let seconds = first.saturating_duration_since(started.at).as_secs_f64();
            attributes.push(KeyValue::new(
                semconv::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                seconds,
            ));
        }
        attributes.push(KeyValue::new(
            semconv::LLM_TRACE_STREAM_CHUNKS,
            i64::try_from(self.chunks).unwrap_or(i64::MAX),
        ));
        attributes
    }
}

/// A started stream call and what the stream showed so far.
pub(crate) struct Active<S: TracedStreamCall> {
    started: Started,
    /// `None` when neither the span records nor metrics are on: nothing is observed.
    seen: Option<Seen>,
    /// The answer so far, only when content is captured.
    text: Option<String>,
    kind: PhantomData<fn() -> S>,
}

impl<S: TracedStreamCall> Active<S> {
    pub(crate) fn new(started: Started) -> Self {
        let seen = started.is_observed().then(|| Seen {
            info: ResponseInfo::default(),
            chunks: 0,
            content_chunks: 0,
            first_content: None,
        });
        let text = started.captures_content().then(String::new);
        Active {
            started,
            seen,
            text,
            kind: PhantomData,
        }
    }

    pub(crate) fn observe(&mut self, item: &S::Item) {
        if let Some(text) = &mut self.text {
            S::append_text(item, text);
        }
        let Some(seen) = &mut self.seen else {
            return;
        };
        let count = S::observe(item, &mut seen.info);
        seen.chunks += count.chunks;
        seen.content_chunks += count.content;
        if count.content > 0 && seen.first_content.is_none() {
            let now = Instant::now();
            seen.first_content = Some(now);
            if let Some(metrics) = self.started.metrics() {
                let seconds = now.saturating_duration_since(self.started.at);
                metrics.record_time_to_first_chunk(seconds.as_secs_f64());
            }
        }
    }

    pub(crate) fn end(self) {
        let Some(seen) = self.seen else {
            self.started
                .end_ok(ResponseInfo::default(), Vec::new(), &[]);
            return;
        };
        if let (Some(metrics), Some(first)) = (self.started.metrics(), seen.first_content) {
            if seen.content_chunks > 1 {
                let after_first = first.elapsed().as_secs_f64();
                let response_model = seen.info.model.clone();
                metrics.record_time_per_output_chunk(
                    after_first / (seen.content_chunks - 1) as f64,
                    response_model,
                );
            }
        }
        // The span's own attributes, only when it records (a stream may be observed for its
        // metrics or usage alone).
        let mut extra = Vec::new();
        if self.started.span_recording() {
            extra = seen.attributes(&self.started);
            if seen.info.usage.is_none() {
                extra.push(KeyValue::new(semconv::LLM_TRACE_USAGE_MISSING, true));
            }
        }
        let output: Vec<Message> = match self.text {
            Some(text) => vec![Message {
                role: "assistant".into(),
                parts: if text.is_empty() {
                    Vec::new()
                } else {
                    vec![Part::Text(text)]
                },
                finish_reason: seen.info.finish_reasons.first().cloned(),
            }],
            None => Vec::new(),
        };
        self.started.end_ok(seen.info, extra, &output);
    }

    pub(crate) fn fail(self, error: &ErrorOf<S>) {
        let extra = self.partial_attributes();
        self.started.end_err::<S::Call>(error, extra);
    }

    pub(crate) fn cancel(self) {
        let extra = self.partial_attributes();
        self.started.cancel(extra);
    }

    /// What was seen before an error or a drop: no usage (it never arrived), but the
    /// response id and model, time to first chunk and chunk count.
    fn partial_attributes(&self) -> Vec<KeyValue> {
        let Some(seen) = self.seen.as_ref().filter(|_| self.started.span_recording()) else {
            return Vec::new();
        };
        let mut attributes = seen.attributes(&self.started);
        if let Some(id) = &seen.info.id {
            attributes.push(KeyValue::new(semconv::GEN_AI_RESPONSE_ID, id.clone()));
        }
        if let Some(model) = &seen.info.model {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_RESPONSE_MODEL,
                cow_value(model.clone()),
            ));
        }
        attributes
    }
}

/// Ends the span once; as cancelled if dropped while still active.
struct StreamState<S: TracedStreamCall> {
    active: Option<Active<S>>,
}

impl<S: TracedStreamCall> Drop for StreamState<S> {
    fn drop(&mut self) {
        if let Some(active) = self.active.take() {
            active.cancel();
        }
    }
}

pin_project! {
    /// A client's stream, traced: same items, ends its call's span exactly once.
    #[must_use = "streams do nothing unless polled"]
    pub struct TracedStream<S: TracedStreamCall, St> {
        #[pin]
        inner: St,
        state: StreamState<S>,
    }
}

impl<S: TracedStreamCall, St> std::fmt::Debug for TracedStream<S, St> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedStream")
            .field("active", &self.state.active.is_some())
            .finish()
    }
}

impl<S, St> Stream for TracedStream<S, St>
where
    S: TracedStreamCall,
    St: Stream<Item = Result<S::Item, ErrorOf<S>>>,
{
    type Item = St::Item;

    fn poll_next(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Option<St::Item>> {
        let this = self.project();
        let Some(active) = this.state.active.as_mut() else {
            return this.inner.poll_next(task);
        };
        let poll = in_context(active.started.context(), || this.inner.poll_next(task));
        match &poll {
            Poll::Pending => {}
            Poll::Ready(Some(Ok(item))) => active.observe(item),
            Poll::Ready(Some(Err(error))) => {
                if let Some(active) = this.state.active.take() {
                    active.fail(error);
                }
            }
            Poll::Ready(None) => {
                if let Some(active) = this.state.active.take() {
                    active.end();
                }
            }
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The future of a streamed call (`chat_stream(..)`), traced from its first poll:
    /// `.await` it as the client's own future.
    #[must_use = "futures do nothing unless polled"]
    pub struct TracedStreamFuture<S: TracedStreamCall, Fut> {
        #[pin]
        inner: Fut,
        call: super::future::CallGuard<S>,
    }
}

impl<S: TracedStreamCall, Fut> std::fmt::Debug for TracedStreamFuture<S, Fut> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TracedStreamFuture")
    }
}

impl<S, Fut, St> Future for TracedStreamFuture<S, Fut>
where
    S: TracedStreamCall,
    Fut: Future<Output = Result<St, ErrorOf<S>>>,
    St: Stream<Item = Result<S::Item, ErrorOf<S>>>,
{
    type Output = Result<TracedStream<S, St>, ErrorOf<S>>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let cx = this.call.phase.start().and_then(Started::context);
        match in_context(cx, || this.inner.poll(task)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(inner)) => Poll::Ready(Ok(TracedStream {
                inner,
                state: StreamState {
                    active: this.call.phase.take_started().map(Active::new),
                },
            })),
            Poll::Ready(Err(error)) => {
                if let Some(started) = this.call.phase.take_started() {
                    Active::<S>::new(started).fail(&error);
                }
                Poll::Ready(Err(error))
            }
        }
    }
}

impl<S: TracedStreamCall, Fut> TracedStreamFuture<S, Fut> {
    /// The call's future `inner`, traced from its first poll as `start` was prepared.
    pub(crate) fn new(start: CallStart, inner: Fut) -> Self {
        TracedStreamFuture {
            inner,
            call: super::future::CallGuard::new(start.into_phase()),
        }
    }
}
