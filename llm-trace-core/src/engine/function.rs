//! The INTERNAL span of an annotated function.
//!
//! Sync functions hold a [`FnScope`] for their whole body: the span's context is current
//! while the body runs and the span ends when the scope drops (on return or unwind).
//! Async functions wrap their body in a [`FnFuture`], which makes the span's context
//! current on every poll and never holds a context guard across `.await`, so the
//! function's future stays `Send` when its body's is.
//!
//! With the `tracing` feature the function's span is also a `tracing` span, entered the
//! same way (see [`tracing_span`]).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, ContextGuard, KeyValue};
use pin_project_lite::pin_project;

use super::attribution::{Entered, FnUsage};
use super::context_attributes::{with_attributes, ContextAttributes};
use super::fn_error::{ErrCheck, ErrChecked, FnError, FnResult, NoCheck, Outcome};
use super::parent::{Parent, Registration};
use super::poll::in_context;
use super::response::cow_value;
use super::state;
use super::tracer::{suppress, SpanStart, Suppression};
use crate::semconv;
#[cfg(feature = "tracing")]
pub use tracing_span::callsite_span;
#[cfg(feature = "tracing")]
pub(crate) use tracing_span::HandoffSpan;
use tracing_span::{EnteredFnTracing, FnTracing};

mod tracing_span;

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

impl FnMeta {
    /// The fields generated code leaves out when they have these values (`..DEFAULT`):
    /// fewer tokens for rustc in every annotated function.
    pub const DEFAULT: FnMeta = FnMeta {
        span_name: "",
        function: "",
        file: "",
        line: 0,
        hands_off: false,
        budget_usd: None,
    };
}

/// Room for a recorded function span's attributes when llm-trace builds them: `code.*`,
/// a few inherited ones, the roll-up's `llm_trace.total.*`, the outcome.
const FN_SPAN_ATTRIBUTES: usize = 16;

/// The `fields(...)` of a function, if it has any: built only when its span records.
pub type Fields<'a> = Option<&'a dyn Fn() -> Vec<Option<KeyValue>>>;

/// An annotated function's span, started; ended exactly once by whatever holds it.
#[derive(Debug, Default)]
pub struct FnSpan {
    end: SpanEnd,
    tracing: FnTracing,
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

/// [`start`], with `span` the function's `tracing` span (feature `tracing`): when a
/// subscriber takes it, it is entered while the function runs and bridged with the
/// OpenTelemetry span (see the `tracing_span` module).
#[cfg(feature = "tracing")]
#[inline]
pub fn start_spanned(meta: &'static FnMeta, fields: Fields<'_>, span: tracing::Span) -> FnSpan {
    if span.is_disabled() {
        return start(meta, fields);
    }
    tracing_span::start(meta, fields, span)
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
            #[cfg(feature = "tracing")]
            adopted: false,
            usage,
        },
        tracing: FnTracing::default(),
    }
}

fn start_context(meta: &'static FnMeta, fields: Fields<'_>) -> SpanStart {
    state::with(|state| {
        Context::map_current(|parent| {
            if !state.tracer.may_record(parent) {
                return SpanStart::None;
            }
            let code = || {
                [
                    KeyValue::new(semconv::CODE_FUNCTION_NAME, meta.function),
                    KeyValue::new(semconv::CODE_FILE_PATH, meta.file),
                    KeyValue::new(semconv::CODE_LINE_NUMBER, i64::from(meta.line)),
                ]
            };
            let mut code_set = false;
            let mut cx = match state.tracer.start(
                Cow::Borrowed(meta.span_name),
                |builder, sampled| {
                    let builder = builder.with_kind(SpanKind::Internal);
                    if !sampled {
                        return builder;
                    }
                    // A span that will record: its attributes go in one vector sized for
                    // those it gets later (inherited, the roll-up, the outcome).
                    code_set = true;
                    let mut attributes = Vec::with_capacity(FN_SPAN_ATTRIBUTES);
                    attributes.extend(code());
                    builder.with_attributes(attributes)
                },
                parent,
            ) {
                SpanStart::Recording(cx) => cx,
                other => return other,
            };
            if cx.span().is_recording() {
                if let Some(fields) = fields {
                    let fields: Vec<KeyValue> = fields().into_iter().flatten().collect();
                    if !fields.is_empty() {
                        cx = with_attributes(&cx, fields);
                    }
                }
                let code = (!code_set).then(code);
                let inherited = ContextAttributes::of(&cx).map(|a| a.iter().cloned());
                cx.span().set_attributes(
                    code.into_iter()
                        .flatten()
                        .chain(inherited.into_iter().flatten()),
                );
                if state.openinference {
                    cx.span().set_attribute(KeyValue::new(
                        semconv::OPENINFERENCE_SPAN_KIND,
                        semconv::OPENINFERENCE_SPAN_KIND_CHAIN,
                    ));
                }
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
    /// The span is a tracing-opentelemetry layer's, adopted: the layer ends it when the
    /// function's `tracing` span closes.
    #[cfg(feature = "tracing")]
    adopted: bool,
    /// What the calls under the function are attributed to, and their totals.
    usage: FnUsage,
}

impl SpanEnd {
    /// Whether the span records.
    fn records(&self) -> bool {
        self.cx.as_ref().is_some_and(|cx| cx.span().is_recording())
    }

    /// Marks the span failed (`#[llm_trace(err)]`), before it ends.
    #[cold]
    fn fail(&self, error: FnError) {
        if let Some(cx) = &self.cx {
            let span = cx.span();
            span.set_attribute(KeyValue::new(
                semconv::ERROR_TYPE,
                cow_value(error.error_type),
            ));
            span.set_status(Status::error(error.description));
        }
    }

    /// Records what `check` finds in the function's `output`.
    #[inline]
    fn check<O>(&self, output: &O, check: &impl Outcome<O>) {
        if let Some(error) = check.check(output, || self.records()) {
            self.fail(error);
        }
    }

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
            if self.dropped {
                // A dropped span's context holds no span: there is nothing to end.
                return;
            }
            let span = cx.span();
            if std::thread::panicking() {
                span.set_status(Status::error("panicked"));
            } else if cancelled && span.is_recording() {
                span.set_attribute(KeyValue::new(semconv::LLM_TRACE_CANCELLED, true));
            }
            #[cfg(feature = "tracing")]
            if self.adopted {
                return;
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
    /// `None` when nothing was started (no provider installed): then dropping the scope is
    /// one check, inlined.
    active: Option<ActiveScope>,
}

/// What a [`FnScope`] holds when something was started.
struct ActiveScope {
    // Field order matters: the guard is dropped (context detached) after the span ended,
    // and the `tracing` span exited and closed last.
    end: SpanEnd,
    _usage: Option<Entered>,
    _guard: Guard,
    tracing: EnteredFnTracing,
}

impl std::fmt::Debug for FnScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnScope")
            .field("end", &self.active.as_ref().map(|active| &active.end))
            .finish()
    }
}

impl FnScope {
    /// Starts the function's span and makes it current.
    #[inline]
    pub fn enter(meta: &'static FnMeta, fields: Fields<'_>) -> FnScope {
        if state::quiet() {
            return FnScope { active: None };
        }
        FnScope::start(meta, fields)
    }

    /// [`FnScope::enter`], with `span` the function's `tracing` span (see
    /// [`start_spanned`]).
    #[cfg(feature = "tracing")]
    #[inline]
    pub fn enter_spanned(
        meta: &'static FnMeta,
        fields: Fields<'_>,
        span: tracing::Span,
    ) -> FnScope {
        if span.is_disabled() {
            return FnScope::enter(meta, fields);
        }
        FnScope::entered(tracing_span::start(meta, fields, span))
    }

    fn start(meta: &'static FnMeta, fields: Fields<'_>) -> FnScope {
        FnScope::entered(start_registered(meta, fields))
    }

    /// Makes `span` current on this thread: its `tracing` span entered first, then its
    /// context attached.
    fn entered(span: FnSpan) -> FnScope {
        let tracing = span.tracing.entered();
        let guard = match &span.end.cx {
            Some(cx) if span.end.dropped => Guard::Dropped(cx.clone().attach(), suppress()),
            Some(cx) => Guard::Context(cx.clone().attach()),
            None => Guard::None,
        };
        let usage = span.end.usage.enter();
        FnScope {
            active: Some(ActiveScope {
                end: span.end,
                _usage: usage,
                _guard: guard,
                tracing,
            }),
        }
    }

    /// Whether a span was started, recording or dropped, a `tracing` span, or the
    /// invocation has a frame of its own (a budget): else the scope does nothing a returned
    /// future needs.
    pub fn is_traced(&self) -> bool {
        self.active.as_ref().is_some_and(|active| {
            active.end.cx.is_some() || active.tracing.is_some() || active.end.usage.has_frame()
        })
    }

    /// The function's span, for work the body hands off.
    pub fn parent(&self) -> Parent {
        let Some(active) = &self.active else {
            return Parent::NONE;
        };
        let parent = active.end.cx.as_ref().map_or(Parent::NONE, Parent::of);
        parent.with_link(active.end.usage.link())
    }

    /// For a function that returns a future: detaches the span from the thread and hands
    /// it to the future, which ends it when it completes (or is dropped).
    pub fn into_future<F: Future>(mut self, future: F) -> FnFuture<F> {
        FnFuture::new(self.detach(), future)
    }

    /// The span, detached from the thread, for a future to carry: it runs on whatever
    /// thread polls it, and marks a dropped span itself.
    fn detach(&mut self) -> FnSpan {
        self.active
            .as_mut()
            .map_or_else(FnSpan::default, ActiveScope::detach)
    }

    /// `#[llm_trace(err)]`: marks the span ERROR, with what `classify` says of the error,
    /// when the function's `result` is an `Err` (the span ends when the scope drops).
    #[inline]
    pub fn check<R, C>(&self, result: &R, classify: C)
    where
        R: FnResult,
        C: Fn(&R::Error) -> FnError,
    {
        if let Some(active) = &self.active {
            active
                .end
                .check(result, &ErrCheck::<C, R, R::Error>::new(classify));
        }
    }

    /// `#[llm_trace(err)]` on a function that returns a future: as [`FnScope::into_future`],
    /// and the span is marked ERROR when the future resolves to an `Err`.
    pub fn into_future_checked<F, C>(
        mut self,
        future: F,
        classify: C,
    ) -> FnFuture<F, ErrChecked<C, F::Output>>
    where
        F: Future,
        F::Output: FnResult,
        C: Fn(&<F::Output as FnResult>::Error) -> FnError,
    {
        FnFuture::checked(self.detach(), future, classify)
    }
}

impl Drop for ActiveScope {
    fn drop(&mut self) {
        self.end.end(false);
    }
}

impl ActiveScope {
    /// [`FnScope::detach`]: the scope's state left in the reverse order of entering.
    fn detach(&mut self) -> FnSpan {
        self._usage = None;
        self._guard = Guard::None;
        let tracing = std::mem::take(&mut self.tracing).exit();
        FnSpan {
            end: std::mem::take(&mut self.end),
            tracing,
        }
    }
}

pin_project! {
    /// The body of an annotated async function, run under the function's span; `C`
    /// checks its output before the span ends (`#[llm_trace(err)]`).
    #[must_use = "futures do nothing unless polled"]
    pub struct FnFuture<F, C = NoCheck> {
        #[pin]
        inner: F,
        end: SpanEnd,
        check: C,
        tracing: FnTracing,
    }
}

impl<F, C> std::fmt::Debug for FnFuture<F, C> {
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
            check: NoCheck,
            tracing: span.tracing,
        }
    }
}

impl<F> FnFuture<F> {
    /// `#[llm_trace(err)]`: runs `inner` under the function's span, and marks the span
    /// ERROR, with what `classify` says of the error, when `inner` resolves to an `Err`.
    pub fn checked<C>(span: FnSpan, inner: F, classify: C) -> FnFuture<F, ErrChecked<C, F::Output>>
    where
        F: Future,
        F::Output: FnResult,
        C: Fn(&<F::Output as FnResult>::Error) -> FnError,
    {
        FnFuture {
            inner,
            end: span.end,
            check: ErrCheck::new(classify),
            tracing: span.tracing,
        }
    }
}

impl<F: Future, C: Outcome<F::Output>> Future for FnFuture<F, C> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let poll = {
            let _entered = this.tracing.enter();
            let _suppressed = this.end.dropped.then(suppress);
            let usage = &this.end.usage;
            in_context(this.end.cx.as_ref(), || {
                let _usage = usage.enter();
                this.inner.poll(task)
            })
        };
        if let Poll::Ready(output) = &poll {
            this.end.check(output, this.check);
            this.end.end(false);
            this.tracing.close();
        }
        poll
    }
}
