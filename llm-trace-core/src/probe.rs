//! Recognising traced calls by type, at compile time, with autoref specialization.
//!
//! `#[llm_trace]` rewrites a candidate method call `recv.chat(a, b, c)` into (simplified):
//!
//! ```text
//! match probe((a, b, c), |(a, b, c), start| {
//!     start.server((&&&&EndpointProbe(&recv)).__llm_trace_endpoint());
//!     recv.chat(a, b, c)
//! }) {
//!     p => (&p).__llm_trace_kind().call(p),
//! }
//! ```
//!
//! [`Probe`] carries the argument tuple type `A` and the call's result type `R`. A provider
//! declares, with [`declare_calls!`](crate::declare_calls), kind traits implemented on
//! `Probe<its args, F, its result>`; method resolution picks such an impl (by value) before
//! the [`UntracedCall`] fallback (on `&Probe`, reached only by autoref). A user type with
//! its own `chat` method matches no declaration and runs untouched, with no span and no cost.
//! In generic code whose argument or result types are type parameters, no declaration
//! can match either: such calls are not traced (use `llm_trace::traced!` there).
//!
//! The endpoint probe works the same way on the receiver, through up to two `Deref`s
//! (`&Client`, `Arc<Client>`, `&Arc<Client>`, `Box<Client>`, ...).

use std::marker::PhantomData;

use crate::call::CallStart;

/// A candidate call: its arguments, and the closure that performs it.
pub struct Probe<A, F, R> {
    /// The call's arguments, evaluated in order before the span starts.
    pub args: A,
    /// Performs the call: receives the arguments and the span start to report to.
    pub call: F,
    result: PhantomData<fn() -> R>,
}

impl<A, F, R> std::fmt::Debug for Probe<A, F, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

/// Builds a [`Probe`]; the closure's parameter types are inferred from `args`.
#[inline(always)]
pub fn probe<A, F, R>(args: A, call: F) -> Probe<A, F, R>
where
    F: FnOnce(A, &mut CallStart) -> R,
{
    Probe {
        args,
        call,
        result: PhantomData,
    }
}

/// The kind of a call no provider recognises: it runs as written.
#[derive(Clone, Copy, Debug)]
pub struct Untraced;

impl Untraced {
    /// Runs the call with nothing traced.
    #[inline(always)]
    pub fn call<A, F, R>(self, probe: Probe<A, F, R>) -> R
    where
        F: FnOnce(A, &mut CallStart) -> R,
    {
        (probe.call)(probe.args, &mut CallStart::disabled())
    }
}

/// The fallback kind: any call no provider declared. Reached by autoref, so it only
/// applies when no provider's kind trait does.
pub trait UntracedCall {
    /// The call's kind.
    #[inline(always)]
    fn __llm_trace_kind(&self) -> Untraced {
        Untraced
    }
}

impl<A, F, R> UntracedCall for &Probe<A, F, R> {}

/// The kind `llm_trace::traced!` falls back to: a compile error naming the problem.
#[derive(Clone, Copy, Debug)]
pub struct NotATracedCall;

/// Implemented for no type: its error message explains a misplaced `traced!`.
#[diagnostic::on_unimplemented(
    message = "`traced!` was given a call that no llm-trace provider recognises",
    label = "not a traced client call",
    note = "`traced!` takes one call of a supported client method, e.g. mistralai-client's `chat`, `chat_async`, `embeddings` or `embeddings_async`, with concrete (not generic) argument and result types",
    note = "is the provider's feature (e.g. `mistral`) enabled on `llm-trace`?"
)]
pub trait TracedCallExpected {}

impl NotATracedCall {
    /// Never compiles: reports the misplaced `traced!`.
    pub fn call<A, F, R>(self, probe: Probe<A, F, R>) -> R
    where
        F: FnOnce(A, &mut CallStart) -> R,
        Probe<A, F, R>: TracedCallExpected,
    {
        (probe.call)(probe.args, &mut CallStart::disabled())
    }
}

/// The fallback kind of `traced!` (see [`NotATracedCall`]).
pub trait ForcedCall {
    /// The call's kind.
    fn __llm_trace_forced_kind(&self) -> NotATracedCall {
        NotATracedCall
    }
}

impl<A, F, R> ForcedCall for &Probe<A, F, R> {}

/// Wraps a receiver so its endpoint can be read when its type is a known client.
#[derive(Debug)]
pub struct EndpointProbe<'a, T: ?Sized>(pub &'a T);

/// The fallback endpoint: unknown.
pub trait NoEndpoint {
    /// The endpoint URL of the receiver's client, if known.
    #[inline(always)]
    fn __llm_trace_endpoint(&self) -> Option<&str> {
        None
    }
}

impl<T: ?Sized> NoEndpoint for EndpointProbe<'_, T> {}

/// The kind of a recognised synchronous call of kind `C`.
pub struct SyncCall<C>(PhantomData<fn() -> C>);

/// The kind of a recognised asynchronous call of kind `C`.
pub struct AsyncCall<C>(PhantomData<fn() -> C>);

/// The kind of a recognised streamed call of kind `S`.
pub struct StreamCall<S>(PhantomData<fn() -> S>);

impl<S> StreamCall<S> {
    /// The kind (used by [`declare_calls!`](crate::declare_calls)).
    #[inline(always)]
    pub const fn new() -> Self {
        StreamCall(PhantomData)
    }
}

impl<S> Default for StreamCall<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> std::fmt::Debug for StreamCall<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamCall<{}>", std::any::type_name::<S>())
    }
}

impl<S: crate::stream::TracedStreamCall> StreamCall<S> {
    /// Returns the call's future, traced; its stream ends the span.
    #[inline]
    #[allow(clippy::type_complexity)]
    pub fn call<F, Fut>(
        self,
        probe: Probe<<S::Call as crate::provider::TracedCall>::Args, F, Fut>,
    ) -> crate::stream::TracedStreamFuture<S, Fut>
    where
        F: FnOnce(<S::Call as crate::provider::TracedCall>::Args, &mut CallStart) -> Fut,
    {
        crate::stream::trace_stream::<S, F, Fut>(probe.args, probe.call)
    }
}

impl<C> SyncCall<C> {
    /// The kind (used by [`declare_calls!`](crate::declare_calls)).
    #[inline(always)]
    pub const fn new() -> Self {
        SyncCall(PhantomData)
    }
}

impl<C> AsyncCall<C> {
    /// The kind (used by [`declare_calls!`](crate::declare_calls)).
    #[inline(always)]
    pub const fn new() -> Self {
        AsyncCall(PhantomData)
    }
}

impl<C> Default for SyncCall<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> Default for AsyncCall<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> std::fmt::Debug for SyncCall<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SyncCall<{}>", std::any::type_name::<C>())
    }
}

impl<C> std::fmt::Debug for AsyncCall<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AsyncCall<{}>", std::any::type_name::<C>())
    }
}

impl<C: crate::provider::TracedCall> SyncCall<C> {
    /// Runs the call under a CLIENT span.
    #[inline]
    pub fn call<F>(
        self,
        probe: Probe<C::Args, F, Result<C::Response, C::Error>>,
    ) -> Result<C::Response, C::Error>
    where
        F: FnOnce(C::Args, &mut CallStart) -> Result<C::Response, C::Error>,
    {
        crate::call::trace_sync::<C, F>(probe.args, probe.call)
    }
}

impl<C: crate::provider::TracedCall> AsyncCall<C> {
    /// Returns the call's future, traced under a CLIENT span.
    #[inline]
    pub fn call<F, Fut>(self, probe: Probe<C::Args, F, Fut>) -> crate::call::TracedFuture<C, Fut>
    where
        F: FnOnce(C::Args, &mut CallStart) -> Fut,
        Fut: std::future::Future<Output = Result<C::Response, C::Error>>,
    {
        crate::call::trace_async::<C, F, Fut>(probe.args, probe.call)
    }
}

/// Declares the calls a provider traces: for each [`TracedCall`](crate::provider::TracedCall)
/// type, a sync and/or an async flavour, and for each
/// [`TracedStreamCall`](crate::stream::TracedStreamCall) a `stream` flavour, each as a
/// kind trait implemented on the matching [`Probe`]. The provider's `kinds` module must re-export the traits, which the facade
/// brings into scope of the generated code.
///
/// A complete provider for a (tiny) client, as a provider crate would write it:
///
/// ```
/// use std::borrow::Cow;
/// use llm_trace_core::opentelemetry::KeyValue;
/// use llm_trace_core::call::CallStart;
/// use llm_trace_core::probe::{probe, EndpointProbe};
/// use llm_trace_core::provider::*;
///
/// pub struct EchoClient { pub endpoint: String }
/// pub struct EchoError;
/// impl EchoClient {
///     pub fn chat(&self, model: &'static str, prompt: String, _: Option<()>) -> Result<String, EchoError> {
///         Ok(format!("{model}: {prompt}"))
///     }
/// }
///
/// pub enum Echo {}
/// impl Provider for Echo { const NAME: &'static str = "echo"; }
///
/// pub enum EchoChat {}
/// impl TracedCall for EchoChat {
///     type Provider = Echo;
///     type Args = (&'static str, String, Option<()>);
///     type Response = String;
///     type Error = EchoError;
///     const OPERATION: Operation = Operation::Chat;
///     fn request_info((model, _, _): &Self::Args) -> RequestInfo {
///         RequestInfo { model: Cow::Borrowed(model), span_name: Cow::Owned(format!("chat {model}")) }
///     }
///     fn request_attributes(_: &Self::Args, _: &mut Vec<KeyValue>) {}
///     fn response_info(_: &String) -> ResponseInfo { ResponseInfo::default() }
///     fn error_type(_: &EchoError) -> Cow<'static, str> { Cow::Borrowed("_OTHER") }
///     fn error_description(_: &EchoError) -> Cow<'static, str> { Cow::Borrowed("echo failed") }
/// }
///
/// llm_trace_core::declare_calls! {
///     /// `EchoClient::chat`.
///     sync EchoChatKind => EchoChat;
/// }
/// llm_trace_core::declare_client! {
///     EchoClient => |client| client.endpoint.as_str();
///     traits EchoEndpoint, EchoEndpointDeref, EchoEndpointDeref2;
/// }
///
/// // What `#[llm_trace]` generates for `client.chat("echo-1", prompt, None)`, with the
/// // kinds in scope (the facade re-exports every provider's):
/// use llm_trace_core::probe::{NoEndpoint as _, UntracedCall as _};
/// let client = std::sync::Arc::new(EchoClient { endpoint: "https://echo.example/v1".into() });
/// let answer = match probe(("echo-1", "hi".to_string(), None), |(m, p, o), start: &mut CallStart| {
///     start.server((&&&&EndpointProbe(&client)).__llm_trace_endpoint());
///     client.chat(m, p, o)
/// }) {
///     p => (&p).__llm_trace_kind().call(p),
/// };
/// assert_eq!(answer.ok().as_deref(), Some("echo-1: hi"));
/// ```
#[macro_export]
macro_rules! declare_calls {
    () => {};
    ($(#[$meta:meta])* sync $kind:ident => $call:ty; $($rest:tt)*) => {
        $(#[$meta])*
        #[doc(hidden)]
        pub trait $kind {
            /// The call's kind.
            #[inline(always)]
            fn __llm_trace_kind(&self) -> $crate::probe::SyncCall<$call> {
                $crate::probe::SyncCall::new()
            }
            /// The call's kind, for `traced!`.
            #[inline(always)]
            fn __llm_trace_forced_kind(&self) -> $crate::probe::SyncCall<$call> {
                $crate::probe::SyncCall::new()
            }
        }
        impl<F> $kind for $crate::probe::Probe<
            <$call as $crate::provider::TracedCall>::Args,
            F,
            ::core::result::Result<
                <$call as $crate::provider::TracedCall>::Response,
                <$call as $crate::provider::TracedCall>::Error,
            >,
        > {}
        $crate::declare_calls! { $($rest)* }
    };
    ($(#[$meta:meta])* stream $kind:ident => $call:ty; $($rest:tt)*) => {
        $crate::__declare_stream_call! { $(#[$meta])* $kind => $call }
        $crate::declare_calls! { $($rest)* }
    };
    ($(#[$meta:meta])* async $kind:ident => $call:ty; $($rest:tt)*) => {
        $(#[$meta])*
        #[doc(hidden)]
        pub trait $kind {
            /// The call's kind.
            #[inline(always)]
            fn __llm_trace_kind(&self) -> $crate::probe::AsyncCall<$call> {
                $crate::probe::AsyncCall::new()
            }
            /// The call's kind, for `traced!`.
            #[inline(always)]
            fn __llm_trace_forced_kind(&self) -> $crate::probe::AsyncCall<$call> {
                $crate::probe::AsyncCall::new()
            }
        }
        impl<F, Fut> $kind for $crate::probe::Probe<
            <$call as $crate::provider::TracedCall>::Args,
            F,
            Fut,
        >
        where
            Fut: ::core::future::Future<Output = ::core::result::Result<
                <$call as $crate::provider::TracedCall>::Response,
                <$call as $crate::provider::TracedCall>::Error,
            >>,
        {}
        $crate::declare_calls! { $($rest)* }
    };
}

/// The `stream` arm of [`declare_calls!`](crate::declare_calls): the future's output is
/// `Result<St, Error>` with `St` a stream of `Result<Item, Error>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_stream_call {
    ($(#[$meta:meta])* $kind:ident => $call:ty) => {
        $(#[$meta])*
        #[doc(hidden)]
        pub trait $kind {
            /// The call's kind.
            #[inline(always)]
            fn __llm_trace_kind(&self) -> $crate::probe::StreamCall<$call> {
                $crate::probe::StreamCall::new()
            }
            /// The call's kind, for `traced!`.
            #[inline(always)]
            fn __llm_trace_forced_kind(&self) -> $crate::probe::StreamCall<$call> {
                $crate::probe::StreamCall::new()
            }
        }
        impl<F, Fut, St> $kind for $crate::probe::Probe<
            <<$call as $crate::stream::TracedStreamCall>::Call as $crate::provider::TracedCall>::Args,
            F,
            Fut,
        >
        where
            Fut: ::core::future::Future<Output = ::core::result::Result<
                St,
                <<$call as $crate::stream::TracedStreamCall>::Call as $crate::provider::TracedCall>::Error,
            >>,
            St: $crate::stream::Stream<Item = ::core::result::Result<
                <$call as $crate::stream::TracedStreamCall>::Item,
                <<$call as $crate::stream::TracedStreamCall>::Call as $crate::provider::TracedCall>::Error,
            >>,
        {}
    };
}

/// Declares a client type whose endpoint URL gives `server.address` and `server.port`:
/// three traits reading it through zero, one or two `Deref`s of the receiver.
///
/// See [`declare_calls!`](crate::declare_calls) for a complete provider using it.
#[macro_export]
macro_rules! declare_client {
    ($client:ty => |$c:ident| $endpoint:expr; traits $exact:ident, $deref1:ident, $deref2:ident;) => {
        #[doc(hidden)]
        pub trait $exact {
            /// The client's endpoint URL.
            fn __llm_trace_endpoint(&self) -> ::core::option::Option<&str>;
        }
        impl $exact for &&&$crate::probe::EndpointProbe<'_, $client> {
            #[inline(always)]
            fn __llm_trace_endpoint(&self) -> ::core::option::Option<&str> {
                let $c: &$client = self.0;
                ::core::option::Option::Some($endpoint)
            }
        }
        #[doc(hidden)]
        pub trait $deref1 {
            /// The client's endpoint URL.
            fn __llm_trace_endpoint(&self) -> ::core::option::Option<&str>;
        }
        impl<T> $deref1 for &&$crate::probe::EndpointProbe<'_, T>
        where
            T: ?Sized + ::core::ops::Deref<Target = $client>,
        {
            #[inline(always)]
            fn __llm_trace_endpoint(&self) -> ::core::option::Option<&str> {
                let $c: &$client = &**self.0;
                ::core::option::Option::Some($endpoint)
            }
        }
        #[doc(hidden)]
        pub trait $deref2 {
            /// The client's endpoint URL.
            fn __llm_trace_endpoint(&self) -> ::core::option::Option<&str>;
        }
        impl<T> $deref2 for &$crate::probe::EndpointProbe<'_, T>
        where
            T: ?Sized + ::core::ops::Deref,
            T::Target: ::core::ops::Deref<Target = $client>,
        {
            #[inline(always)]
            fn __llm_trace_endpoint(&self) -> ::core::option::Option<&str> {
                let $c: &$client = &***self.0;
                ::core::option::Option::Some($endpoint)
            }
        }
    };
}
