//! The engine: what the macros' generated code, the facade and provider crates' macro
//! expansions use. Re-exported as `__private`, which is not public API.

pub(crate) mod accounting;
pub(crate) mod attribution;
pub(crate) mod call;
pub(crate) mod capture;
pub(crate) mod context_attributes;
pub(crate) mod fn_error;
pub(crate) mod function;
pub(crate) mod future;
pub mod instances;
pub(crate) mod ledger;
pub(crate) mod metrics;
pub(crate) mod parent;
pub(crate) mod poll;
pub(crate) mod probe;
pub(crate) mod recent;
pub(crate) mod recorder;
pub(crate) mod response;
pub(crate) mod root_sampling;
pub(crate) mod server;
pub(crate) mod state;
pub(crate) mod stream;
pub(crate) mod sync;
pub(crate) mod tracer;
