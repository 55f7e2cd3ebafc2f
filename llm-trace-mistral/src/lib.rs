//! The [llm-trace](https://docs.rs/llm-trace) provider for the community
//! [`mistralai-client`](https://docs.rs/mistralai-client) crate (0.14).
//!
//! Users do not depend on this crate directly: they enable the `mistral` feature of
//! `llm-trace`. It declares which of the client's calls are traced —
//! `Client::chat`, `chat_async`, `chat_stream`, `embeddings` and `embeddings_async` — and how their
//! arguments, responses and errors become GenAI span attributes
//! (`gen_ai.provider.name = mistral_ai`).
//!
//! With the `testing` feature it also offers [`testing::MockServer`], a local
//! Mistral-compatible HTTP server for offline tests.

pub mod calls;
pub mod error_type;
mod fn_error;
pub mod models;
#[cfg(feature = "testing")]
pub mod testing;

/// The traits `#[llm_trace]`'s generated code brings into scope for mistralai-client: the
/// traced calls' and the classifier of `ApiError` for `#[llm_trace(err)]` (the facade
/// re-exports them).
pub mod kinds {
    pub use crate::calls::kinds::*;
    pub use crate::err_kinds::*;
}

/// The classifier of `ApiError` for `#[llm_trace(err)]` alone (part of [`kinds`]).
pub mod err_kinds {
    pub use crate::fn_error::__LlmTraceMistralErrorKind as _;
}
