//! OpenTelemetry tracing for Rust programs that call LLM APIs.
//!
//! Put [`#[llm_trace]`](llm_trace) on a function, call [`init`] once, and every call of a
//! supported client inside the function becomes a CLIENT span following the
//! OpenTelemetry GenAI semantic conventions — model, request parameters, token usage,
//! cost in USD, errors — under an INTERNAL span for the function.
//!
//! Providers are enabled by feature:
//! - `mistral`: the [`mistralai-client`](https://docs.rs/mistralai-client) crate (0.14):
//!   `chat`, `chat_async`, `chat_stream`, `embeddings`, `embeddings_async`.
//!
//! Other features: `grpc` (OTLP over gRPC), and `tracing`: an annotated function's span
//! is also a [`tracing`](https://docs.rs/tracing) span, so events written in it land on
//! it; with a [tracing-opentelemetry](https://docs.rs/tracing-opentelemetry) 0.34 layer the
//! two are one exported span (llm-trace adopts the layer's); llm-trace's own diagnostics
//! go through `tracing` (see the README's "With `tracing`").
//!
//! Streamed calls (`chat_stream`) get a span that lives exactly as long as the stream:
//! it ends at the stream's end (with usage and cost from the last chunk), at its first
//! error, or when the stream is dropped early (`llm_trace.cancelled = true`). Besides
//! spans, llm-trace records the GenAI client [`metrics`].
//!
//! ```no_run
//! # #[cfg(feature = "mistral")] {
//! use llm_trace::llm_trace;
//! use mistralai_client::v1::{chat::ChatMessage, client::Client, constants::Model};
//!
//! #[llm_trace]
//! fn ask(client: &Client, question: &str) -> Result<String, mistralai_client::v1::error::ApiError> {
//!     let messages = vec![ChatMessage::new_user_message(question)];
//!     // This call becomes the span `chat mistral-small-latest`.
//!     let response = client.chat(Model::MistralSmallLatest, messages, None)?;
//!     Ok(response.choices[0].message.content.clone())
//! }
//!
//! let _telemetry = llm_trace::init().expect("telemetry setup");
//! let client = Client::new(None, None, None, None).expect("MISTRAL_API_KEY");
//! println!("{}", ask(&client, "Who is the best French painter?").unwrap());
//! # }
//! ```
//!
//! # How calls are found
//!
//! The attribute looks for method calls named like a traced client method (`chat`,
//! `chat_async`, `chat_stream`, `embeddings`, `embeddings_async`, with three arguments)
//! anywhere in the
//! body — also in closures and async blocks, through `client`, `&client`, `self.client`,
//! `Arc<Client>`, followed by `?` or `.await` — and asks the compiler whether their
//! argument and result types are those of a supported client. A user type with its own
//! `chat` method is left alone: no span, no cost, no compile error.
//!
//! Limits: calls inside macro invocations (`tokio::join!`, `select!`, `vec!`) and calls
//! whose argument or result types are generic parameters are not seen. Wrap such a call
//! in [`traced!`] to trace it (a compile error tells you when it is not a supported call);
//! wrap a call in [`untraced!`] to keep it out of the trace.
//!
//! # Setup, content and context
//!
//! [`init`] installs console output, or OTLP export when `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set; [`builder`] has every option (each with its environment variable). Prompts and
//! answers are recorded only when capture is turned on ([`CaptureMode`]), through an
//! optional redaction hook. `#[llm_trace(fields(...))]` and [`Scope`] add attributes such
//! as `gen_ai.conversation.id` to a function's span and every span under it.
//!
//! # Cost and budgets
//!
//! Costs come from a compiled-in price table (see [`pricing`]); a model without a price
//! gets no `gen_ai.usage.cost` (never a silent 0) and a one-time warning (`log`, or
//! `tracing` with that feature). Each
//! function span carries the totals of the calls under it (`llm_trace.total.*`, see
//! [`semconv`]), [`usage()`] says what was spent so far — per model, per function, per
//! usage key value such as a conversation — and [`budget`]s alert when a call, a function
//! invocation, a conversation, an hour or the whole process costs too much, or a call is
//! too slow. Amounts are exact: integer 10⁻¹⁵ USD, turned into `f64` once.
//!
//! ```no_run
//! let _telemetry = llm_trace::builder()
//!     .usage_key("gen_ai.conversation.id")
//!     .budget_per_hour_usd(5.0)
//!     .on_budget_exceeded(|alert| eprintln!("{alert}"))
//!     .init()
//!     .expect("telemetry setup");
//! // ... call #[llm_trace] functions ...
//! let usage = llm_trace::usage();
//! println!("spent: ${}", usage.total().cost_usd().unwrap_or(0.0));
//! if llm_trace::budget_status().any_exceeded() {
//!     // refuse further work
//! }
//! ```
//!
//! # Overhead
//!
//! With no tracer provider installed a traced call builds no attributes, formats no strings
//! and allocates nothing; under a sampled-out parent it builds no span, and only counts its
//! usage (without allocating, once its model and function have been seen).

mod builder;
mod cost;
pub mod env;
mod error;
mod export;
mod headers;
mod install;
mod report;
mod settings;

pub use builder::Builder;
pub use cost::{budget_status, take_usage, usage};
pub use error::{InitError, InitErrorKind, Origin};
pub use export::console;
pub use install::{builder, init, ShutdownReport, Telemetry};
pub use llm_trace_core::__private::{FieldValue, InScope, Recorder, RecorderBuilder, Scope};
pub use llm_trace_core::content::{CaptureMode, RedactionError};
pub use llm_trace_core::{budget, pricing, provider, semconv, usage};
/// An attribute: a key and a value (re-exported from `opentelemetry`).
pub use opentelemetry::KeyValue;
pub use settings::{Compression, ExporterKind, Protocol, Sampling};

/// Message content capture: the mode and the policy (normally set by [`init`] and
/// [`builder`], or on a [`Recorder`]).
pub mod content {
    pub use llm_trace_core::content::{
        CaptureMode, ContentPolicy, RedactionError, Redactor, UnknownCaptureMode,
    };
}

/// The GenAI metrics llm-trace records: their names (see [`semconv`]) and bucket
/// boundaries.
pub mod metrics {
    pub use llm_trace_core::__private::{
        COST_BUCKETS, DURATION_BUCKETS, TIME_PER_OUTPUT_CHUNK_BUCKETS, TIME_TO_FIRST_CHUNK_BUCKETS,
        TOKEN_BUCKETS,
    };
    pub use llm_trace_core::semconv::{
        GEN_AI_CLIENT_OPERATION_DURATION as OPERATION_DURATION,
        GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK as TIME_PER_OUTPUT_CHUNK,
        GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK as TIME_TO_FIRST_CHUNK,
        GEN_AI_CLIENT_TOKEN_USAGE as TOKEN_USAGE, GEN_AI_TOKEN_TYPE,
        GEN_AI_USAGE_COST_METRIC as COST,
    };
}

/// For provider crates: declare a client and its traced calls (see [`provider`]).
pub use llm_trace_core::declare_client;

/// Makes llm-trace take its spans from `provider` from now on, process-wide (a shortcut
/// for [`Recorder::update_global`]): for applications that keep their own provider, or
/// tests with an in-memory exporter.
///
/// ```
/// use opentelemetry::trace::noop::NoopTracerProvider;
/// llm_trace::set_tracer_provider(&NoopTracerProvider::new());
/// llm_trace::clear_tracer_provider();
/// ```
pub fn set_tracer_provider<P>(provider: &P)
where
    P: opentelemetry::trace::TracerProvider,
    P::Tracer: Send + Sync + 'static,
    <P::Tracer as opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
{
    Recorder::update_global(|recorder| recorder.tracer_provider(provider));
}

/// Goes back to the OpenTelemetry global tracer provider (undoes [`set_tracer_provider`]).
pub fn clear_tracer_provider() {
    Recorder::update_global(RecorderBuilder::global_tracer_provider);
}

/// Makes llm-trace record its metrics into `provider` from now on, process-wide.
///
/// ```
/// use opentelemetry::metrics::noop::NoopMeterProvider;
/// llm_trace::set_meter_provider(&NoopMeterProvider::new());
/// llm_trace::clear_meter_provider();
/// ```
pub fn set_meter_provider<P: opentelemetry::metrics::MeterProvider + ?Sized>(provider: &P) {
    Recorder::update_global(|recorder| recorder.meter_provider(provider));
}

/// Goes back to the OpenTelemetry global meter provider (undoes [`set_meter_provider`]).
pub fn clear_meter_provider() {
    Recorder::update_global(RecorderBuilder::global_meter_provider);
}

/// Traces a function and the LLM client calls in its body.
///
/// The function gets an INTERNAL span named after it (or `name = "..."`) with
/// `code.function.name`, `code.file.path` and `code.line.number`; each supported client
/// call in the body gets a CLIENT span under it (see the [crate docs](crate)). With the
/// `tracing` feature the span is also a `tracing` span (level INFO, target the module
/// path, the `fields(...)` as fields) that events in the body land on — one exported span
/// with a tracing-opentelemetry layer; use it instead of `#[instrument]`, not beside it.
///
/// Works on free functions, `async fn`, methods (`&self`, `&mut self`, `self`), generic
/// functions, and functions returning `Result`, `impl Trait`, `impl Future` or
/// `Pin<Box<dyn Future>>` — so also under `#[async_trait]` — (the span then lasts until
/// the returned future completes). Async functions keep their
/// future `Send` when the body's is: no context guard is held across `.await`.
///
/// Arguments:
/// - `name = "..."`: the span name (default: the function's name);
/// - `fields(key = argument, ...)`: attributes from the function's arguments, set on its
///   span and on every span under it (its calls, nested annotated functions) — e.g.
///   `fields(gen_ai.conversation.id = session, user.id = user)`; a name that is not an
///   argument is a compile error on that name. Values are strings, numbers, bools or
///   `Option`s of those ([`FieldValue`]); [`Scope`] sets such attributes at run time;
/// - `err`: when the function returns `Err`, its span ends with status ERROR and
///   `error.type` — the call's classification for a provider's error type (`429` for
///   mistralai-client's `ApiError`), else the error's type name. The error's text is never
///   recorded. The function must return a `Result` (or a future of one); for a sync
///   function the body then runs in a closure called once;
/// - `budget_usd = 0.01`: alert (see [`budget`]) when one invocation's calls — nested
///   annotated functions and handed-off work included — cost more than this many USD;
///   `Builder::budget_per_function_usd` overrides it;
/// - `crate = path`: where this crate is, when it is renamed in `Cargo.toml`.
///
/// Built without any provider feature (nor `external-provider`), each annotated function
/// gets a deprecation warning at its name: its calls would not be traced.
///
/// The span ends with the totals of the calls made under it: `llm_trace.total.calls`,
/// `.errors`, `.input_tokens`, `.output_tokens`, `.cost` (see [`semconv`]).
///
/// ```
/// # #[cfg(feature = "mistral")] {
/// use llm_trace::llm_trace;
/// use mistralai_client::v1::{client::Client, constants::EmbedModel, error::ApiError};
///
/// #[llm_trace(name = "embed_docs", fields(gen_ai.conversation.id = session), err)]
/// async fn embed(client: &Client, session: &str, docs: Vec<String>) -> Result<usize, ApiError> {
///     let response = client.embeddings_async(EmbedModel::MistralEmbed, docs, None).await?;
///     Ok(response.data.len())
/// }
/// # }
/// ```
pub use llm_trace_macros::llm_trace;

/// Traces one client call explicitly: for calls inside macro invocations
/// (`tokio::join!`), outside annotated functions, or where the attribute cannot see the
/// types. A compile error says so when the call is not one a provider supports.
///
/// ```
/// # #[cfg(feature = "mistral")] {
/// use mistralai_client::v1::{chat::ChatMessage, client::Client, constants::Model};
///
/// async fn both(client: &Client) {
///     let ask = |q: &str| vec![ChatMessage::new_user_message(q)];
///     let (a, b) = futures_join(
///         llm_trace::traced!(client.chat_async(Model::MistralSmallLatest, ask("a"), None)),
///         llm_trace::traced!(client.chat_async(Model::MistralSmallLatest, ask("b"), None)),
///     ).await;
/// #   let _ = (a, b);
/// }
/// # async fn futures_join<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) { (a.await, b.await) }
/// # }
/// ```
pub use llm_trace_macros::traced;

/// Not public API: the probe of one `#[llm_trace]` call site (see
/// `llm_trace_core::__private::probe`). The attribute passes the call's parts; expanding
/// them here is far cheaper for rustc than making each token in the attribute.
#[doc(hidden)]
#[macro_export]
macro_rules! __llm_trace_call {
    (($($arg:ident),*) [$($receiver:tt)*] [$($call:tt)*] [$($args:tt)*]) => {
        match $crate::__private::probe(
            |($($arg,)*), start: &mut $crate::__private::CallStart| (
                (&&&&&$crate::__private::Receiver(&$($receiver)*))
                    .__llm_trace_receiver()
                    .begin(start),
                $($call)*,
            ),
        ) {
            probe => (&&&&probe.types).__llm_trace_kind().call(probe, $($args)*),
        }
    };
}

/// Keeps one call out of the trace inside an annotated function.
///
/// ```
/// # #[cfg(feature = "mistral")] {
/// use llm_trace::{llm_trace, untraced};
/// use mistralai_client::v1::{client::Client, constants::Model};
///
/// #[llm_trace]
/// fn warm_up(client: &Client) {
///     // No span for this one.
///     let _ = untraced!(client.chat(Model::OpenMistral7b, vec![], None));
/// }
/// # }
/// ```
#[macro_export]
macro_rules! untraced {
    ($call:expr) => {
        $call
    };
}

/// Implemented for no type: the compile error of a `traced!` given a call no provider
/// recognises.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`llm_trace::traced!` was given a call that no llm-trace provider recognises",
    label = "not a call of a supported client method",
    note = "`traced!` takes one call of a supported client method on a client value, e.g. mistralai-client's `chat`, `chat_async`, `chat_stream`, `embeddings` or `embeddings_async`, with concrete (not generic) argument and result types",
    note = "is the provider's feature (e.g. `mistral`) enabled on `llm-trace`?"
)]
pub trait SupportedClientCall {}

/// Not public API: what the macros' generated code names. It changes in any release
/// without notice.
#[doc(hidden)]
pub mod __private {
    use llm_trace_core::__private::{Probe, Types, Untraced};

    pub use crate::__llm_trace_call as probe_call;
    #[cfg(feature = "tracing")]
    pub use llm_trace_core::__llm_trace_fn_span as fn_tracing_span;
    #[cfg(feature = "tracing")]
    pub use llm_trace_core::__private::start_fn_spanned;
    pub use llm_trace_core::__private::{call_once, ErrorOf};
    pub use llm_trace_core::__private::{
        field, probe, start_fn, CallStart, FnFuture, FnScope, Handoff, Parent, Receiver,
    };

    /// The `FnMeta` fields an expansion leaves out (`..FN_META_DEFAULT`).
    pub const FN_META_DEFAULT: llm_trace_core::__private::FnMeta =
        llm_trace_core::__private::FnMeta::DEFAULT;

    /// What every `#[llm_trace]` expansion builds for its function (the engine's
    /// `FnMeta`), deprecated in a build without any provider feature, so that such a build
    /// warns at each annotated function.
    #[cfg_attr(
        not(any(feature = "mistral", feature = "external-provider")),
        deprecated(
            note = "llm-trace was built without a provider feature: `#[llm_trace]` records this function's span, but no LLM call in it. Enable the provider of your client, e.g. `llm-trace = { version = \"0.1\", features = [\"mistral\"] }` for mistralai-client (or `external-provider` when you plug in a provider crate of your own)"
        )
    )]
    pub type FnMeta = llm_trace_core::__private::FnMeta;

    /// A traced call's value, unchanged (the generated expression's outer layer, which
    /// carries the user's spans).
    #[inline(always)]
    pub fn expr<T>(value: T) -> T {
        value
    }

    /// The kind `traced!` falls back to: a compile error naming the problem.
    #[derive(Clone, Copy, Debug)]
    pub struct NotATracedCall;

    impl NotATracedCall {
        /// Never compiles: reports the misplaced `traced!`.
        pub fn call<A, F, M, R>(self, probe: Probe<A, F, M, R>, args: A) -> R
        where
            F: FnOnce(A, &mut CallStart) -> (M, R),
            Types<A, M, R>: crate::SupportedClientCall,
        {
            Untraced.call(probe, args)
        }
    }

    /// The fallback kind of `traced!` (see [`NotATracedCall`]).
    pub trait ForcedCall {
        /// The call's kind.
        fn __llm_trace_forced_kind(&self) -> NotATracedCall {
            NotATracedCall
        }
    }

    impl<A, M, R> ForcedCall for Types<A, M, R> {}

    /// The kind traits of every enabled provider, and the fallbacks.
    pub mod kinds {
        pub use super::call_kinds::*;
        pub use super::err_kinds::*;
        pub use super::handoff_kinds::*;
        pub use super::ForcedCall as _;
    }

    /// The kind traits a function with traced calls needs (each trait in scope costs
    /// rustc a little at every method call of the function: a function imports only
    /// those it uses).
    pub mod call_kinds {
        pub use llm_trace_core::__private::{AnyReceiver as _, UntracedCall as _};
        #[cfg(feature = "mistral")]
        pub use llm_trace_mistral::calls::kinds::*;
    }

    /// The traits of work handed off (`spawn` arguments).
    pub mod handoff_kinds {
        pub use llm_trace_core::__private::{FutureHandoff as _, OtherHandoff as _};
    }

    /// The traits of `#[llm_trace(err)]`.
    pub mod err_kinds {
        pub use llm_trace_core::__private::AnyError as _;
        #[cfg(feature = "mistral")]
        pub use llm_trace_mistral::err_kinds::*;
    }
}
