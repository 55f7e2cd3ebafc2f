//! `#[llm_trace(err)]`: a function that returns `Err` ends its span with status ERROR and
//! an `error.type`, as the spans of failed client calls do.
//!
//! The generated code takes the function's result (or its future's output) as it is and
//! asks, at compile time, which classifier fits the error's type — the same autoref
//! dispatch as the call probe:
//! - the provider's, when the error is a traced call's error type (mistralai-client's
//!   `ApiError` gives `429`, `503`, `_OTHER` and the call's status description);
//! - else the error's type name (`std::any::type_name`, e.g. `std::io::error::Error`),
//!   a low-cardinality class as the semantic conventions ask.
//!
//! The error's `Display` or `Debug` text is never recorded: errors such as `ApiError`
//! quote response bodies, which can echo prompts. Nothing is classified unless the result
//! is an `Err` and the span records.

use crate::provider::TracedCall;
use std::borrow::Cow;

/// The result of a function under `#[llm_trace(err)]`: implemented for `Result` only.
#[diagnostic::on_unimplemented(
    message = "`#[llm_trace(err)]` needs a function that returns a `Result`, not `{Self}`",
    label = "`err` marks the span ERROR when this returns `Err`: this type is not a `Result`",
    note = "remove `err` from `#[llm_trace(..)]`, or return a `Result`"
)]
pub trait FnResult {
    /// The error type.
    type Error;

    /// The error, if the result is one.
    fn fn_error(&self) -> Option<&Self::Error>;
}

impl<T, E> FnResult for Result<T, E> {
    type Error = E;

    #[inline]
    fn fn_error(&self) -> Option<&E> {
        self.as_ref().err()
    }
}

/// What the span of a function that returned `Err` records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnError {
    /// `error.type`.
    pub error_type: Cow<'static, str>,
    /// The span status description: from the type or a fixed vocabulary, never the
    /// error's text.
    pub description: Cow<'static, str>,
}

impl FnError {
    /// The error's type name (`std::any::type_name`), as `error.type` and description.
    pub fn type_name<E>() -> FnError {
        let name = std::any::type_name::<E>();
        FnError {
            error_type: Cow::Borrowed(name),
            description: Cow::Borrowed(name),
        }
    }

    /// The `error.type` and description the traced call `C` gives `error`.
    pub fn of_call<C: TracedCall>(error: &C::Error) -> FnError {
        FnError {
            error_type: C::error_type(error),
            description: C::error_description(error),
        }
    }
}

/// A function's error, to pick its classification by autoref: a provider implements its
/// kind trait for `ErrorOf<'_, TheClientError>`; the fallback, [`AnyError`], is
/// implemented for `&ErrorOf<'_, E>`.
///
/// ```
/// # use std::borrow::Cow;
/// # use llm_trace_core::opentelemetry::KeyValue;
/// # use llm_trace_core::provider::*;
/// # pub struct EchoError;
/// # pub enum Echo {}
/// # impl Provider for Echo { const NAME: &'static str = "echo"; }
/// # pub enum EchoChat {}
/// # impl TracedCall for EchoChat {
/// #     type Provider = Echo;
/// #     type Args = ();
/// #     type Response = ();
/// #     type Error = EchoError;
/// #     const OPERATION: Operation = Operation::Chat;
/// #     fn request_info(_: &()) -> RequestInfo {
/// #         RequestInfo { model: Cow::Borrowed("m"), span_name: Cow::Borrowed("chat m") }
/// #     }
/// #     fn request_attributes(_: &(), _: &mut Vec<KeyValue>) {}
/// #     fn response_info(_: &()) -> ResponseInfo { ResponseInfo::default() }
/// #     fn error_type(_: &EchoError) -> Cow<'static, str> { Cow::Borrowed("_OTHER") }
/// #     fn error_description(_: &EchoError) -> Cow<'static, str> { Cow::Borrowed("echo failed") }
/// # }
/// use llm_trace_core::__private::{AnyError as _, ErrorOf, FnError};
///
/// /// A provider's kind trait, exported (as `_`) in its `kinds` module.
/// pub trait EchoErrorKind {
///     fn __llm_trace_fn_error(&self) -> FnError;
/// }
/// impl EchoErrorKind for ErrorOf<'_, EchoError> {
///     fn __llm_trace_fn_error(&self) -> FnError {
///         FnError::of_call::<EchoChat>(self.0)
///     }
/// }
///
/// // What `#[llm_trace(err)]` generates, with the kinds in scope:
/// assert_eq!((&ErrorOf(&EchoError)).__llm_trace_fn_error().error_type, "_OTHER");
/// assert_eq!((&ErrorOf(&std::fmt::Error)).__llm_trace_fn_error().error_type, "core::fmt::Error");
/// ```
pub struct ErrorOf<'a, E>(pub &'a E);

/// The fallback kind: any error is classified by its type name.
pub trait AnyError {
    /// The error's type name.
    fn __llm_trace_fn_error(&self) -> FnError;
}

impl<E> AnyError for &ErrorOf<'_, E> {
    #[inline]
    fn __llm_trace_fn_error(&self) -> FnError {
        FnError::type_name::<E>()
    }
}

/// What a function's span checks in its output before it ends.
pub trait Outcome<O> {
    /// The error to record for `output`; `records` says whether the span records (asked
    /// only for an error).
    fn check(&self, output: &O, records: impl FnOnce() -> bool) -> Option<FnError>;
}

/// Checks nothing: functions without `err`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCheck;

impl<O> Outcome<O> for NoCheck {
    #[inline(always)]
    fn check(&self, _: &O, _: impl FnOnce() -> bool) -> Option<FnError> {
        None
    }
}

/// Checks an output of type `O` for an `Err` of type `E` and classifies it with `C`:
/// functions with `err`. The `Result` requirement is met once, where the check is built:
/// a function that does not return a `Result` is one compile error, at its return type.
pub struct ErrCheck<C, O, E> {
    classify: C,
    error_of: fn(&O) -> Option<&E>,
}

/// The check of an output `O` that is a `Result`.
pub type ErrChecked<C, O> = ErrCheck<C, O, <O as FnResult>::Error>;

impl<C, O: FnResult> ErrCheck<C, O, O::Error> {
    /// Classifies the errors of `O` with `classify`.
    #[inline(always)]
    pub fn new(classify: C) -> Self {
        ErrCheck {
            classify,
            error_of: O::fn_error,
        }
    }
}

impl<C, O, E> std::fmt::Debug for ErrCheck<C, O, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrCheck")
    }
}

impl<O, E, C> Outcome<O> for ErrCheck<C, O, E>
where
    C: Fn(&E) -> FnError,
{
    #[inline]
    fn check(&self, output: &O, records: impl FnOnce() -> bool) -> Option<FnError> {
        let error = (self.error_of)(output)?;
        records().then(|| (self.classify)(error))
    }
}

/// Runs a sync function's body, once: the closure the generated code wraps a body in
/// under `err` is made `FnOnce` by this signature, so it may move out of what it
/// captured and return borrows of it, as the function's own body may.
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_names_the_type_and_checks_only_errors_of_recording_spans() {
        let check: ErrCheck<_, Result<u8, std::io::Error>, _> =
            ErrCheck::new(|error: &std::io::Error| (&ErrorOf(error)).__llm_trace_fn_error());
        let failed: Result<u8, std::io::Error> = Err(std::io::Error::other("secret body"));
        let expected = FnError {
            error_type: Cow::Borrowed("std::io::error::Error"),
            description: Cow::Borrowed("std::io::error::Error"),
        };
        assert_eq!(check.check(&failed, || true), Some(expected));
        assert_eq!(check.check(&failed, || false), None);
        let asked = std::cell::Cell::new(false);
        let ok: Result<u8, std::io::Error> = Ok(1);
        assert_eq!(check.check(&ok, || asked.replace(true)), None);
        assert!(
            !asked.get(),
            "an Ok result does not ask whether the span records"
        );
        assert_eq!(NoCheck.check(&failed, || unreachable!()), None);
    }
}
