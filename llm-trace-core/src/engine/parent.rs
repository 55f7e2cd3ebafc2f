//! The annotated function's span, handed to work the function sends elsewhere: `move`
//! closures and `async move` blocks written in its body (run by `spawn_blocking`, a
//! thread, a task), and futures it passes to `spawn`.
//!
//! Such work carries a [`Parent`] — `Copy`, `Send`, `'static`, so it changes no trait of
//! the closure that captures it — and makes the function's context current while it runs
//! on a thread where no span is current. The function's full context (with its
//! `fields(...)` and `Scope` attributes) is found in a registry while the function runs;
//! afterwards the parent span's ids alone still link the work to the right trace. It also
//! carries the function's attribution (its `FnMeta` and frame), so the work's calls count
//! toward the function's usage and roll-up. With the `tracing` feature, the registered
//! context also carries the function's `tracing` span, entered where the work runs, so its
//! events land on the function's span.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{OnceLock, RwLock};
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, ContextGuard};
use pin_project_lite::pin_project;

use super::attribution::{Entered, Link};
#[cfg(feature = "tracing")]
use super::function::HandoffSpan;
use super::sync;

/// The span work was written under, by its ids; `NONE` when nothing was traced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent {
    ids: Option<(TraceId, SpanId, TraceFlags)>,
    link: Link,
}

impl Parent {
    /// No parent: nothing is attached.
    pub const NONE: Parent = Parent {
        ids: None,
        link: Link::NONE,
    };

    /// The span current on this thread, if any, and the annotated function running here.
    pub fn current() -> Parent {
        Context::map_current(Parent::of).with_link(Link::current())
    }

    /// The same parent, carrying the attribution `link`.
    pub(crate) fn with_link(self, link: Link) -> Parent {
        Parent { link, ..self }
    }

    /// The span `cx` carries.
    pub(crate) fn of(cx: &Context) -> Parent {
        let span = cx.span();
        let context = span.span_context();
        Parent {
            ids: context
                .is_valid()
                .then(|| (context.trace_id(), context.span_id(), context.trace_flags())),
            link: Link::NONE,
        }
    }

    /// The context to run under: `None` when a span is current already (the work runs
    /// where it was written, or its runner attached a context itself) or there is no
    /// parent; else the function's registered context, or one with only its span.
    fn context(self) -> Option<Context> {
        let (trace_id, span_id, flags) = self.ids?;
        if Context::map_current(|cx| cx.span().span_context().is_valid()) {
            return None;
        }
        if let Some(cx) = sync::read(registry()).get(&span_id) {
            return Some(cx.clone());
        }
        let context = SpanContext::new(trace_id, span_id, flags, false, TraceState::default());
        Some(Context::new().with_remote_span_context(context))
    }

    /// Makes the parent's context current until the guard drops (see [`Parent::context`]).
    pub fn enter(self) -> ParentGuard {
        let cx = self.context();
        // The function's `tracing` span first: its layer may make its own context current,
        // which the function's (with its attributes) then covers.
        #[cfg(feature = "tracing")]
        let tracing = cx
            .as_ref()
            .and_then(|cx| cx.get::<HandoffSpan>())
            .map(|span| span.0.clone().entered());
        let guard = cx.map(Context::attach);
        ParentGuard {
            _usage: self.link.enter(),
            _guard: guard,
            #[cfg(feature = "tracing")]
            _tracing: tracing,
        }
    }

    /// `future`, polled under the parent's context when nothing else is current.
    pub fn wrap<F: Future>(self, future: F) -> WithParent<F> {
        WithParent {
            inner: future,
            parent: self,
        }
    }
}

/// Keeps a [`Parent`]'s context current; detaches it when dropped.
#[derive(Debug)]
#[must_use = "the parent's context is current only while the guard lives"]
pub struct ParentGuard {
    // Field order matters: dropped in the reverse order of entering — the attribution,
    // then the context, then the `tracing` span.
    _usage: Option<Entered>,
    _guard: Option<ContextGuard>,
    #[cfg(feature = "tracing")]
    _tracing: Option<tracing::span::EnteredSpan>,
}

pin_project! {
    /// A future polled under its [`Parent`]'s context.
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct WithParent<F> {
        #[pin]
        inner: F,
        parent: Parent,
    }
}

impl<F: Future> Future for WithParent<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = this.parent.enter();
        this.inner.poll(task)
    }
}

fn registry() -> &'static RwLock<HashMap<SpanId, Context>> {
    static REGISTRY: OnceLock<RwLock<HashMap<SpanId, Context>>> = OnceLock::new();
    REGISTRY.get_or_init(RwLock::default)
}

/// Keeps a running function's context findable by its span id; forgets it when dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    span_id: SpanId,
}

impl Registration {
    /// Registers `cx` (a recording span's context).
    pub(crate) fn new(cx: &Context) -> Option<Registration> {
        let span_id = cx.span().span_context().span_id();
        if span_id == SpanId::INVALID {
            return None;
        }
        sync::write(registry()).insert(span_id, cx.clone());
        Some(Registration { span_id })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        sync::write(registry()).remove(&self.span_id);
    }
}

/// Wraps a value handed to `spawn`: a future runs under the parent's context, anything
/// else (a closure, say) is passed on unchanged.
#[derive(Debug)]
pub struct Handoff<T>(pub T);

/// Handoff of a future: wrapped.
#[derive(Debug)]
pub struct WrapFuture;

impl WrapFuture {
    /// The future, under `parent`.
    #[inline]
    pub fn handoff<F: Future>(self, handoff: Handoff<F>, parent: Parent) -> WithParent<F> {
        parent.wrap(handoff.0)
    }
}

/// Handoff of anything else: passed on unchanged.
#[derive(Debug)]
pub struct PassOn;

impl PassOn {
    /// The value, unchanged.
    #[inline(always)]
    pub fn handoff<T>(self, handoff: Handoff<T>, _parent: Parent) -> T {
        handoff.0
    }
}

/// The kind of a handoff whose value is a future.
pub trait FutureHandoff {
    /// The handoff's kind.
    #[inline(always)]
    fn __llm_trace_handoff(&self) -> WrapFuture {
        WrapFuture
    }
}

impl<F: Future> FutureHandoff for Handoff<F> {}

/// The kind of any other handoff (reached by autoref).
pub trait OtherHandoff {
    /// The handoff's kind.
    #[inline(always)]
    fn __llm_trace_handoff(&self) -> PassOn {
        PassOn
    }
}

impl<T> OtherHandoff for &Handoff<T> {}
