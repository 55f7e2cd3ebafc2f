//! `#[llm_trace(err)]` on a function returning mistralai-client's `ApiError`: its span gets
//! the same `error.type` (`429`, `503`, `_OTHER`) and status description as the span of
//! the failed call, never the error's message (it quotes the response body).

use llm_trace_core::__private::{ErrorOf, FnError};
use mistralai_client::v1::error::ApiError;

use crate::calls::Chat;

/// The classification of `ApiError`s, picked over the type-name fallback by autoref.
#[doc(hidden)]
pub trait __LlmTraceMistralErrorKind {
    /// The error's `error.type` and description, as the traced calls give them.
    fn __llm_trace_fn_error(&self) -> FnError;
}

impl __LlmTraceMistralErrorKind for ErrorOf<'_, ApiError> {
    #[inline]
    fn __llm_trace_fn_error(&self) -> FnError {
        FnError::of_call::<Chat>(self.0)
    }
}

#[cfg(test)]
mod tests {
    use llm_trace_core::__private::AnyError as _;

    use super::__LlmTraceMistralErrorKind as _;
    use super::*;

    #[test]
    // Written as `#[llm_trace(err)]` generates it: the borrow picks the fallback for
    // other errors.
    #[allow(clippy::needless_borrow)]
    fn api_errors_are_classified_as_their_calls() {
        let error = ApiError {
            message: "429 Too Many Requests: {\"prompt\":\"secret\"}".into(),
        };
        assert_eq!(
            (&ErrorOf(&error)).__llm_trace_fn_error(),
            FnError {
                error_type: "429".into(),
                description: "Mistral API answered HTTP 429".into(),
            }
        );
        let other = std::fmt::Error;
        assert_eq!(
            (&ErrorOf(&other)).__llm_trace_fn_error().error_type,
            "core::fmt::Error"
        );
    }
}
