//! The one way llm-trace runs user code under a span: attach the span's context for the
//! duration of one poll (or one call), never across an `.await`.

use opentelemetry::Context;

/// Runs `work` with `cx` as the current context, if there is one.
#[inline]
pub(crate) fn in_context<R>(cx: Option<&Context>, work: impl FnOnce() -> R) -> R {
    match cx {
        Some(cx) => {
            let _guard = cx.clone().attach();
            work()
        }
        None => work(),
    }
}
