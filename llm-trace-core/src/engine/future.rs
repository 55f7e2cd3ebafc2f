//! A traced async client call: the call's future, polled under the call's span, which
//! starts at the first poll and ends when the future completes or is dropped.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;

use super::call::{CallStart, Phase};
use super::poll::in_context;
use crate::provider::TracedCall;

/// Ends a call span once: with the outcome, or as cancelled when dropped unfinished. A
/// call that never started (its future was never polled) records nothing.
pub(crate) struct CallGuard<C> {
    pub(crate) phase: Phase,
    kind: PhantomData<fn() -> C>,
}

impl<C> CallGuard<C> {
    pub(crate) fn new(phase: Phase) -> Self {
        CallGuard {
            phase,
            kind: PhantomData,
        }
    }
}

impl<C> Drop for CallGuard<C> {
    fn drop(&mut self) {
        if let Some(started) = self.phase.take_started() {
            started.cancel(Vec::new());
        }
    }
}

pin_project! {
    /// A traced async client call: `.await` it as the client's own future.
    #[must_use = "futures do nothing unless polled"]
    pub struct TracedFuture<C, Fut> {
        #[pin]
        inner: Fut,
        call: CallGuard<C>,
    }
}

impl<C, Fut> std::fmt::Debug for TracedFuture<C, Fut> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TracedFuture")
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
        let cx = this
            .call
            .phase
            .start()
            .and_then(|started| started.context());
        let poll = in_context(cx, || this.inner.poll(task));
        if let Poll::Ready(result) = &poll {
            if let Some(started) = this.call.phase.take_started() {
                started.finish::<C>(result);
            }
        }
        poll
    }
}

impl<C, Fut> TracedFuture<C, Fut> {
    /// The call's future `inner`, traced from its first poll as `start` was prepared.
    pub(crate) fn new(start: CallStart, inner: Fut) -> Self {
        TracedFuture {
            inner,
            call: CallGuard::new(start.into_phase()),
        }
    }
}
