//! The INTERNAL span of an annotated function.
//!
//! Sync functions hold a [`FnScope`] for their whole body: the span's context is current
//! while the body runs and the span ends when the scope drops (on return or unwind).
//! Async functions wrap their body in a [`FnFuture`], which makes the span's context
//! current on every poll and never holds a context guard across `.await`, so the
//! function's future stays `Send` when its body's is.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, ContextGuard, KeyValue};
use pin_project_lite::pin_project;

use super::attribution::{Entered, FnUsage};
use super::context_attributes::{with_attributes, ContextAttributes};
use super::parent::{Parent, Registration};
use super::poll::in_context;
use super::state;
use super::tracer::{suppress, SpanStart, Suppression};
use crate::semconv;

/// Static facts about an annotated function, built by the macro at compile time.
#[derive(Debug)]
pub struct FnMeta {
    /// The span name: the function's name, or the attribute's `name = "..."`.
    pub span_name: &'static str,
    /// `code.function.name`: `module::path::function`.
    pub function: &'static str,
    /// `code.file.path`.
    pub file: &'static str,
    /// `code.line.number`.
    pub line: u32,
    /// Whether the body hands work to other threads or tasks (`move` closures and
    /// `async move` blocks with client calls, `spawn` arguments): then the function's
    /// context is registered for them while it runs.
    pub hands_off: bool,
    /// `#[llm_trace(budget_usd = ..)]`: the most one invocation's calls may cost, USD,
    /// before an alert.
    pub budget_usd: Option<f64>,
}

/// The `fields(...)` of a function: built only when its span records.
pub type Fields<'a> = &'a dyn Fn() -> Vec<Option<KeyValue>>;

/// An annotated function's span, started; ended exactly once by whatever holds it.
#[derive(Debug, Default)]
pub struct FnSpan {
    end: SpanEnd,
}

/// Starts the function's span under the current context. Its `fields(...)` are set on the
/// span and carried by its context to the spans started under it, with the context's own
/// attributes.
#[inline]
pub fn start(meta: &'static FnMeta, fields: Fields<'_>) -> FnSpan {
    if state::quiet() {
        return FnSpan::default();
    }
    start_registered(meta, fields)
}

fn start_registered(meta: &'static FnMeta, fields: Fields<'_>) -> FnSpan {
    let (cx, dropped) = match start_context(meta, fields) {
        SpanStart::Recording(cx) => (Some(cx), false),
        SpanStart::Dropped(cx) => (Some(cx), true),
        SpanStart::None => (None, false),
    };
    let registration = cx
        .as_ref()
        .filter(|_| meta.hands_off)
        .and_then(Registration::new);
    let usage = FnUsage::start(meta, fields, cx.as_ref());
    FnSpan {
        end: SpanEnd {
            cx,
            registration,
            dropped,
            usage,
        },
    }
}

fn start_context(meta: &'static FnMeta, fields: Fields<'_>) -> SpanStart {
    state::with(|state| {
        Context::map_current(|parent| {
            if !state.tracer.may_record(parent) {
                return SpanStart::None;
            }
            let mut cx = match state.tracer.start(
                Cow::Borrowed(meta.span_name),
                |builder| builder.with_kind(SpanKind::Internal),
                parent,
            ) {
                SpanStart::Recording(cx) => cx,
                other => return other,
            };
            if cx.span().is_recording() {
                let fields: Vec<KeyValue> = fields().into_iter().flatten().collect();
                if !fields.is_empty() {
                    cx = with_attributes(&cx, fields);
                }
                let code = [
                    KeyValue::new(semconv::CODE_FUNCTION_NAME, meta.function),
                    KeyValue::new(semconv::CODE_FILE_PATH, meta.file),
                    KeyValue::new(semconv::CODE_LINE_NUMBER, i64::from(meta.line)),
                ];
                let inherited = ContextAttributes::of(&cx).map(|a| a.iter().cloned());
                cx.span()
                    .set_attributes(code.into_iter().chain(inherited.into_iter().flatten()));
            }
            SpanStart::Recording(cx)
        })
    })
}

/// Ends the span held by a context exactly once; on drop if nobody did before.
#[derive(Debug, Default)]
struct SpanEnd {
    /// The context carrying the span, recording or dropped.
    cx: Option<Context>,
    /// Keeps the context findable by work handed off, until the span ends.
    registration: Option<Registration>,
    /// The sampler dropped the span: nothing of llm-trace records while the function runs
    /// (its calls are not traced; their metrics are still recorded). The dropped span is
    /// still current, so the application's own spans under it are dropped alike.
    dropped: bool,
    /// What the calls under the function are attributed to, and their totals.
    usage: FnUsage,
}

impl SpanEnd {
    #[inline]
    fn end(&mut self, cancelled: bool) {
        if self.cx.is_some() || self.usage.has_frame() {
            self.end_span(cancelled);
        }
    }

    fn end_span(&mut self, cancelled: bool) {
        drop(self.registration.take());
        let span = self.cx.as_ref().map(|cx| cx.span());
        self.usage.close(span.as_ref());
        if let Some(cx) = self.cx.take() {
            let span = cx.span();
            if std::thread::panicking() {
                span.set_status(Status::error("panicked"));
            } else if cancelled && span.is_recording() {
                span.set_attribute(KeyValue::new(semconv::LLM_TRACE_CANCELLED, true));
            }
            span.end();
        }
    }
}

impl Drop for SpanEnd {
    #[inline]
    fn drop(&mut self) {
        self.end(true);
    }
}

/// What a running sync function holds on its thread: its span's context, or the mark
/// that its span was dropped.
#[derive(Debug)]
enum Guard {
    None,
    // Held for what dropping it does.
    Context(#[allow(dead_code)] ContextGuard),
    Dropped(
        #[allow(dead_code)] ContextGuard,
        #[allow(dead_code)] Suppression,
    ),
}

/// The span of a running sync function: current until dropped, then ended.
#[must_use = "the function span ends when the scope is dropped"]
pub struct FnScope {
    // Field order matters: the guard is dropped (context detached) after the span ended.
    end: SpanEnd,
    _usage: Option<Entered>,
    _guard: Guard,
}

impl std::fmt::Debug for FnScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnScope").field("end", &self.end).finish()
    }
}

impl FnScope {
    /// Starts the function's span and makes it current.
    #[inline]
    pub fn enter(meta: &'static FnMeta, fields: Fields<'_>) -> FnScope {
        if state::quiet() {
            return FnScope {
                end: SpanEnd::default(),
                _usage: None,
                _guard: Guard::None,
            };
        }
        FnScope::start(meta, fields)
    }

    fn start(meta: &'static FnMeta, fields: Fields<'_>) -> FnScope {
        let span = start_registered(meta, fields);
        let guard = match &span.end.cx {
            Some(cx) if span.end.dropped => Guard::Dropped(cx.clone().attach(), suppress()),
            Some(cx) => Guard::Context(cx.clone().attach()),
            None => Guard::None,
        };
        let usage = span.end.usage.enter();
        FnScope {
            end: span.end,
            _usage: usage,
            _guard: guard,
        }
    }

    /// Whether a span was started, recording or dropped, or the invocation has a frame of
    /// its own (a budget): else the scope does nothing a returned future needs.
    pub fn is_traced(&self) -> bool {
        self.end.cx.is_some() || self.end.usage.has_frame()
    }

    /// The function's span, for work the body hands off.
    pub fn parent(&self) -> Parent {
        let parent = self.end.cx.as_ref().map_or(Parent::NONE, Parent::of);
        parent.with_link(self.end.usage.link())
    }

    /// For a function that returns a future: detaches the span from the thread and hands
    /// it to the future, which ends it when it completes (or is dropped).
    pub fn into_future<F: Future>(mut self, future: F) -> FnFuture<F> {
        // The future runs on whatever thread polls it: it marks a dropped span itself.
        FnFuture::new(
            FnSpan {
                end: std::mem::take(&mut self.end),
            },
            future,
        )
    }
}

impl Drop for FnScope {
    #[inline]
    fn drop(&mut self) {
        self.end.end(false);
    }
}

pin_project! {
    /// The body of an annotated async function, run under the function's span.
    #[must_use = "futures do nothing unless polled"]
    pub struct FnFuture<F> {
        #[pin]
        inner: F,
        end: SpanEnd,
    }
}

impl<F> std::fmt::Debug for FnFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnFuture").field("end", &self.end).finish()
    }
}

impl<F: Future> FnFuture<F> {
    /// Runs `inner` under the function's span (if it was traced).
    pub fn new(span: FnSpan, inner: F) -> Self {
        FnFuture {
            inner,
            end: span.end,
        }
    }
}

impl<F: Future> Future for FnFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _suppressed = this.end.dropped.then(suppress);
        let usage = &this.end.usage;
        let poll = in_context(this.end.cx.as_ref(), || {
            let _usage = usage.enter();
            this.inner.poll(task)
        });
        if poll.is_ready() {
            this.end.end(false);
        }
        poll
    }
}
