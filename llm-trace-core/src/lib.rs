//! The core of [llm-trace](https://docs.rs/llm-trace): the interface a provider crate
//! implements to make a client library's calls traceable, and the pieces applications see
//! through the `llm-trace` facade.
//!
//! Applications depend on `llm-trace`, not on this crate. Provider authors use:
//! - [`provider`]: the [`Provider`](provider::Provider),
//!   [`TracedCall`](provider::TracedCall) and [`TracedStreamCall`](provider::TracedStreamCall)
//!   traits, with the contract their methods follow;
//! - [`declare_client!`]: which client type and which of its calls are traced;
//! - [`content`]: the message parts a provider reports for opt-in content capture;
//! - [`semconv`]: the attribute keys; [`pricing`]: the price table and exact cost
//!   arithmetic; [`text`]: bounding text at character boundaries;
//! - [`usage`] and [`budget`]: what a recorder counted, and its budgets and alerts.
//!
//! # Out-of-tree providers
//!
//! A provider crate depends on `llm-trace-core` with the same version as the facade it is
//! used with (the crates are released together and pin each other with `=x.y.z`),
//! implements the traits, invokes [`declare_client!`] once per client type, and exposes the
//! generated `kinds` module. The facade brings the kinds of the providers enabled by its
//! features into scope of the generated code; for another provider, the application adds
//! `use the_provider::kinds::*;` where it uses `#[llm_trace]` (tests/src/fake.rs in the
//! llm-trace repository is a complete second provider plugged in this way), and enables
//! the facade's `external-provider` feature, which silences the warning of a build
//! without a provider feature. For `#[llm_trace(err)]` to give its client's error the
//! calls' `error.type`, the provider also exports a kind trait for
//! `__private::ErrorOf<'_, TheError>` in its `kinds` module (see `llm-trace-mistral`). Everything
//! under `__private` is what macros expand to: it is not public API and changes without
//! notice.

pub mod budget;
pub mod content;
mod diagnostics;
mod engine;
mod macros;
pub mod pricing;
pub mod provider;
pub mod semconv;
pub mod text;
pub mod usage;

#[doc(hidden)]
pub use opentelemetry;

/// Not public API: what the macros' expansions and the `llm-trace` facade use. It can
/// change in any release without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::engine::call::CallStart;
    pub use crate::engine::context_attributes::{field, FieldValue, Scope};
    pub use crate::engine::fn_error::{
        call_once, AnyError, ErrCheck, ErrChecked, ErrorOf, FnError, FnResult, NoCheck, Outcome,
    };
    #[cfg(feature = "tracing")]
    pub use crate::engine::function::{callsite_span, start_spanned as start_fn_spanned};
    pub use crate::engine::function::{
        start as start_fn, Fields, FnFuture, FnMeta, FnScope, FnSpan,
    };
    pub use crate::engine::future::TracedFuture;
    pub use crate::engine::instances;
    pub use crate::engine::metrics::{
        COST_BUCKETS, DURATION_BUCKETS, TIME_PER_OUTPUT_CHUNK_BUCKETS, TIME_TO_FIRST_CHUNK_BUCKETS,
        TOKEN_BUCKETS,
    };
    pub use crate::engine::parent::{
        FutureHandoff, Handoff, OtherHandoff, Parent, ParentGuard, PassOn, WithParent, WrapFuture,
    };
    pub use crate::engine::probe::{
        probe, AnyReceiver, Asynchronous, Blocking, Kind, KnownClient, KnownReceiver, NotAClient,
        Probe, Receiver, Streamed, Types, UnknownReceiver, Untraced, UntracedCall,
    };
    pub use crate::engine::recorder::{InScope, Recorder, RecorderBuilder};
    pub use crate::engine::root_sampling::{take_root_trace_id, RootRule, RootSampling};
    pub use crate::engine::server::server_address;
    pub use crate::engine::stream::{Stream, TracedStream, TracedStreamFuture};
    pub use crate::engine::sync::{lock, read, write};
    pub use crate::engine::tracer::global_provider_is_noop;
    pub use log;
    #[cfg(feature = "tracing")]
    pub use tracing;
    #[cfg(feature = "tracing")]
    pub use tracing_core;
}
