//! The core of [llm-trace](https://docs.rs/llm-trace): what the facade, the macro's
//! generated code and the provider crates share.
//!
//! - [`provider`]: the [`Provider`](provider::Provider) and
//!   [`TracedCall`](provider::TracedCall) traits a provider crate implements;
//! - [`probe`]: how calls are recognised by type ([`declare_calls!`], [`declare_client!`]);
//! - [`call`]: the CLIENT span of one call; [`function`]: the INTERNAL span of an
//!   annotated function;
//! - [`pricing`]: the compiled-in price table and exact cost arithmetic;
//! - [`tracer`]: where spans come from; [`semconv`]: attribute keys; [`server`]: endpoint
//!   parsing.
//!
//! Applications depend on the `llm-trace` facade, not on this crate.

#![warn(missing_docs)]

pub mod attributes;
pub mod call;
pub mod content;
pub mod function;
pub mod metrics;
pub mod pricing;
pub mod probe;
pub mod provider;
pub mod semconv;
pub mod server;
pub mod stream;
pub mod tracer;

#[doc(hidden)]
pub use opentelemetry;
