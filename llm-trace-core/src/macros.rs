//! [`declare_client!`](crate::declare_client): how a provider crate tells `#[llm_trace]`
//! which client type and which of its calls are traced.

/// Declares a client type and its traced calls.
///
/// For the client, it declares how to read its endpoint URL (for `server.address` and
/// `server.port`) through zero to three `Deref`s of a call's receiver (`Client`, `&Client`,
/// `Arc<Client>`, `&Arc<Client>`, ...). For each call, one line: its flavour and its
/// [`TracedCall`](crate::provider::TracedCall) (or, for `stream`,
/// [`TracedStreamCall`](crate::provider::TracedStreamCall)) type:
/// - `sync Call;` — a method returning `Result<Call::Response, Call::Error>`;
/// - `async Call;` — a method returning a future of that;
/// - `stream Call;` — a method returning a future of `Result<impl Stream, Error>`.
///
/// A call is traced when its receiver is the client and its argument tuple and result
/// have the declared types; calls of one flavour must differ in their argument types (or,
/// for `sync`, result types). The macro generates, in the invoking module, doc-hidden
/// traits named `__LlmTrace*` (so one client per module); a doc-hidden function,
/// `__llm_trace_instances`, that compiles the engine code of the declared calls in the
/// provider's crate — invoked in a public module, debug builds of applications then link
/// to it instead of compiling it again in each of their rebuilds; and the module named in
/// the declaration, which re-exports the traits anonymously: the facade crate glob-imports
/// it into the generated code (`pub use your_provider::kinds::*` under `__private::kinds`).
///
/// A complete provider for a (tiny) client, as a provider crate would write it:
///
/// ```
/// use std::borrow::Cow;
/// use llm_trace_core::opentelemetry::KeyValue;
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
/// llm_trace_core::declare_client! {
///     /// The traits `#[llm_trace]`'s generated code brings into scope.
///     pub mod kinds for EchoClient {
///         endpoint = |client| client.endpoint.as_str();
///         sync EchoChat;
///     }
/// }
///
/// fn main() {
///     // What `#[llm_trace]` generates for `client.chat("echo-1", prompt, None)`, with
///     // the kinds in scope (the facade re-exports every provider's):
///     use kinds::*;
///     use llm_trace_core::__private::{probe, AnyReceiver as _, Receiver, UntracedCall as _};
///     let client = std::sync::Arc::new(EchoClient { endpoint: "https://echo.example/v1".into() });
///     let answer = match probe(|(m, p, o), start| (
///         (&&&&&Receiver(&client)).__llm_trace_receiver().begin(start),
///         client.chat(m, p, o),
///     )) {
///         p => (&&&&p.types).__llm_trace_kind().call(p, ("echo-1", "hi".to_string(), None)),
///     };
///     assert_eq!(answer.ok().as_deref(), Some("echo-1: hi"));
/// }
/// ```
#[macro_export]
macro_rules! declare_client {
    (
        $(#[$meta:meta])*
        $vis:vis mod $kinds:ident for $client:ty {
            endpoint = |$c:ident| $endpoint:expr;
            $($flavour:ident $call:ty;)*
        }
    ) => {
        $crate::__declare_receiver! { $client, |$c| $endpoint }
        $crate::__declare_kind_traits! {}
        $( $crate::__declare_kind! { $flavour $client, $call } )*
        $crate::__declare_instances! { $($flavour $call;)* }
        $(#[$meta])*
        $vis mod $kinds {
            pub use super::{__LlmTraceKind as _, __LlmTraceReceiver as _};
        }
    };
}

/// The engine code behind the calls of [`declare_client!`] that depends on their call
/// types alone, instantiated in the provider's crate: debug builds, which share generic
/// instances between crates, then link an application to them rather than compiling them
/// in each of its rebuilds (see `__private::instances`). Shared when the module that
/// declares the client is public.
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_instances {
    ($($flavour:ident $call:ty;)*) => {
        /// Not public API: names the engine's instances for this client's calls. Never
        /// called (a client declared in a private module or a binary leaves it unused).
        #[doc(hidden)]
        #[allow(dead_code, clippy::identity_op)]
        pub fn __llm_trace_instances() -> usize {
            0 $( ^ $crate::__declare_instances!(@ $flavour $call) )*
        }
    };
    (@ sync $call:ty) => { $crate::__private::instances::blocking::<$call>() };
    (@ async $call:ty) => { $crate::__private::instances::asynchronous::<$call>() };
    (@ stream $call:ty) => { $crate::__private::instances::streamed::<$call>() };
}

/// The receiver trait of [`declare_client!`]: the client through zero to three `Deref`s,
/// at decreasing autoref levels above the fallback.
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_receiver {
    ($client:ty, |$c:ident| $endpoint:expr) => {
        #[doc(hidden)]
        pub trait __LlmTraceReceiver {
            /// The client and its endpoint.
            fn __llm_trace_receiver(&self) -> $crate::__private::KnownReceiver<'_, $client>;
        }
        // One trait, one impl per depth: the impls' `Self` types differ in their number
        // of references, so method resolution tries them in order of depth.
        impl __LlmTraceReceiver for &&&&$crate::__private::Receiver<'_, $client> {
            #[inline(always)]
            fn __llm_trace_receiver(&self) -> $crate::__private::KnownReceiver<'_, $client> {
                let $c: &$client = self.0;
                $crate::__private::KnownReceiver::new($endpoint)
            }
        }
        impl<T> __LlmTraceReceiver for &&&$crate::__private::Receiver<'_, T>
        where
            T: ?Sized + ::core::ops::Deref<Target = $client>,
        {
            #[inline(always)]
            fn __llm_trace_receiver(&self) -> $crate::__private::KnownReceiver<'_, $client> {
                let $c: &$client = &**self.0;
                $crate::__private::KnownReceiver::new($endpoint)
            }
        }
        impl<T> __LlmTraceReceiver for &&$crate::__private::Receiver<'_, T>
        where
            T: ?Sized + ::core::ops::Deref,
            T::Target: ::core::ops::Deref<Target = $client>,
        {
            #[inline(always)]
            fn __llm_trace_receiver(&self) -> $crate::__private::KnownReceiver<'_, $client> {
                let $c: &$client = &***self.0;
                $crate::__private::KnownReceiver::new($endpoint)
            }
        }
        impl<T> __LlmTraceReceiver for &$crate::__private::Receiver<'_, T>
        where
            T: ?Sized + ::core::ops::Deref,
            T::Target: ::core::ops::Deref,
            <T::Target as ::core::ops::Deref>::Target: ::core::ops::Deref<Target = $client>,
        {
            #[inline(always)]
            fn __llm_trace_receiver(&self) -> $crate::__private::KnownReceiver<'_, $client> {
                let $c: &$client = &****self.0;
                $crate::__private::KnownReceiver::new($endpoint)
            }
        }
    };
}

/// The kind trait of [`declare_client!`]: one for every flavour, its impls at different
/// depths of references (`&&&Types` sync, `&&Types` async, `&Types` stream), so they never
/// overlap and method resolution finds the one that applies before the fallback on
/// `Types` itself. One trait keeps the generated code's imports short.
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_kind_traits {
    () => {
        #[doc(hidden)]
        pub trait __LlmTraceKind {
            /// The call's kind.
            type Kind;
            /// The call's kind.
            fn __llm_trace_kind(&self) -> Self::Kind;
            /// The call's kind, for `traced!`.
            fn __llm_trace_forced_kind(&self) -> Self::Kind;
        }
    };
}

/// One call line of [`declare_client!`]: a kind trait impl on the matching probe.
#[doc(hidden)]
#[macro_export]
macro_rules! __declare_kind {
    (@impl $flavour:ident, $call:ty) => {
        type Kind = $crate::__private::Kind<$crate::__private::$flavour, $call>;
        #[inline(always)]
        fn __llm_trace_kind(&self) -> Self::Kind {
            $crate::__private::Kind::new()
        }
        #[inline(always)]
        fn __llm_trace_forced_kind(&self) -> Self::Kind {
            $crate::__private::Kind::new()
        }
    };
    (sync $client:ty, $call:ty) => {
        impl __LlmTraceKind
            for &&&$crate::__private::Types<
                <$call as $crate::provider::TracedCall>::Args,
                $crate::__private::KnownClient<$client>,
                ::core::result::Result<
                    <$call as $crate::provider::TracedCall>::Response,
                    <$call as $crate::provider::TracedCall>::Error,
                >,
            >
        {
            $crate::__declare_kind! { @impl Blocking, $call }
        }
    };
    (async $client:ty, $call:ty) => {
        impl<Fut> __LlmTraceKind
            for &&$crate::__private::Types<
                <$call as $crate::provider::TracedCall>::Args,
                $crate::__private::KnownClient<$client>,
                Fut,
            >
        where
            Fut: ::core::future::Future<
                Output = ::core::result::Result<
                    <$call as $crate::provider::TracedCall>::Response,
                    <$call as $crate::provider::TracedCall>::Error,
                >,
            >,
        {
            $crate::__declare_kind! { @impl Asynchronous, $call }
        }
    };
    (stream $client:ty, $call:ty) => {
        impl<Fut, St> __LlmTraceKind
            for &$crate::__private::Types<
                <<$call as $crate::provider::TracedStreamCall>::Call as $crate::provider::TracedCall>::Args,
                $crate::__private::KnownClient<$client>,
                Fut,
            >
        where
            Fut: ::core::future::Future<
                Output = ::core::result::Result<
                    St,
                    <<$call as $crate::provider::TracedStreamCall>::Call as $crate::provider::TracedCall>::Error,
                >,
            >,
            St: $crate::__private::Stream<
                Item = ::core::result::Result<
                    <$call as $crate::provider::TracedStreamCall>::Item,
                    <<$call as $crate::provider::TracedStreamCall>::Call as $crate::provider::TracedCall>::Error,
                >,
            >,
        {
            $crate::__declare_kind! { @impl Streamed, $call }
        }
    };
}
