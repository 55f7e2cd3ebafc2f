//! The provider interface: how one client library's calls become GenAI span attributes.
//!
//! A provider crate (e.g. `llm-trace-mistral`) implements [`Provider`] once, [`TracedCall`]
//! for each traced request/response pair, [`TracedStreamCall`] for each streamed one, and
//! declares its client and calls with [`declare_client!`](crate::declare_client). The
//! `#[llm_trace]` macro never names a provider: it rewrites candidate method calls into a
//! type-level probe, and the declarations decide which calls are traced.
//!
//! # The contract
//!
//! llm-trace calls these methods on the caller's thread, around the user's own call; they
//! must be cheap, must not block, and must not panic:
//! - [`TracedCall::request_info`] for every call whose span or metrics may record, before
//!   the request is sent; it should not allocate for the provider's well-known models;
//! - the other methods only when a span records or metrics are on, after (or, for
//!   [`TracedCall::request_attributes`] and [`TracedCall::input_content`], before) the call;
//!   [`TracedCall::usage`] when only usage is counted (a sampled-out call);
//! - [`TracedCall::error_description`] must be built from a fixed vocabulary and the
//!   status code: never from a response body, which can echo prompts and credentials
//!   (use [`crate::text::truncate`] to bound any text it keeps).
//!
//! The user's arguments are only read, never changed, and the user's result is returned
//! exactly as the client produced it.

use std::borrow::Cow;

use opentelemetry::KeyValue;

pub use crate::content::{InputContent, Message, Part};

/// A GenAI operation (`gen_ai.operation.name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// `chat`: chat completion, streamed or not.
    Chat,
    /// `text_completion`: plain completion (fill-in-the-middle and the like).
    TextCompletion,
    /// `embeddings`.
    Embeddings,
}

impl Operation {
    /// The `gen_ai.operation.name` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Chat => "chat",
            Operation::TextCompletion => "text_completion",
            Operation::Embeddings => "embeddings",
        }
    }
}

/// A GenAI provider: one client library of one vendor.
pub trait Provider {
    /// The `gen_ai.provider.name` value, e.g. `mistral_ai`.
    const NAME: &'static str;
    /// The port of the vendor's endpoint when its URL names none (443 for HTTPS APIs).
    const DEFAULT_PORT: u16 = 443;
}

/// The request facts that must be known before the span starts, without allocating.
#[derive(Clone, Debug)]
pub struct RequestInfo {
    /// The `gen_ai.request.model` value.
    pub model: Cow<'static, str>,
    /// The span name, `{operation} {model}`.
    pub span_name: Cow<'static, str>,
}

/// Token counts reported by a response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens (`gen_ai.usage.input_tokens`).
    pub input_tokens: u64,
    /// Completion tokens (`gen_ai.usage.output_tokens`); `None` for embeddings.
    pub output_tokens: Option<u64>,
}

/// What a provider reads from a successful response.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResponseInfo {
    /// `gen_ai.response.id`.
    pub id: Option<String>,
    /// `gen_ai.response.model`.
    pub model: Option<Cow<'static, str>>,
    /// `gen_ai.response.finish_reasons`, in spec vocabulary (`stop`, `tool_call`, ...).
    pub finish_reasons: Vec<Cow<'static, str>>,
    /// Token usage, `None` when the response does not report it.
    pub usage: Option<Usage>,
    /// `gen_ai.embeddings.dimension.count`.
    pub embedding_dimensions: Option<i64>,
}

/// One traced method of a client library, e.g. mistralai-client's `chat`.
///
/// The sync and async flavours of a method share one implementation: they take the same
/// arguments and produce the same `Result`.
pub trait TracedCall: 'static {
    /// The provider the call belongs to.
    type Provider: Provider;
    /// The call's arguments, as a tuple in call order.
    type Args;
    /// The successful response.
    type Response;
    /// The error.
    type Error;

    /// The operation (`gen_ai.operation.name`).
    const OPERATION: Operation;

    /// The model and span name. Called for every call whose span may record, before the
    /// request is sent; must not allocate for the provider's well-known models.
    fn request_info(args: &Self::Args) -> RequestInfo;

    /// Request attributes beyond operation, provider, model and server (temperature,
    /// max tokens, ...): only what the request really sends. Called only when recording.
    fn request_attributes(args: &Self::Args, attributes: &mut Vec<KeyValue>);

    /// What the response says. Called only when recording.
    fn response_info(response: &Self::Response) -> ResponseInfo;

    /// The response's token usage alone: called instead of [`TracedCall::response_info`]
    /// when only usage is counted (the span does not record, metrics are off). Override it
    /// when `response_info` allocates; it should not.
    fn usage(response: &Self::Response) -> Option<Usage> {
        Self::response_info(response).usage
    }

    /// The low-cardinality `error.type` of an error (an HTTP status such as `429`, or
    /// [`ERROR_TYPE_OTHER`](crate::semconv::ERROR_TYPE_OTHER)).
    fn error_type(error: &Self::Error) -> Cow<'static, str>;

    /// A short description for the span status, from a fixed vocabulary and the status
    /// code only: never from a response body (see the [module docs](self)).
    fn error_description(error: &Self::Error) -> Cow<'static, str>;

    /// What the request sends (messages, system instructions, tools), for opt-in content
    /// capture. Called only when capture is on and the span records.
    fn input_content(args: &Self::Args) -> InputContent {
        let _ = args;
        InputContent::default()
    }

    /// What the response says (one message per choice), for opt-in content capture.
    /// Called only when capture is on and the span records.
    fn output_content(response: &Self::Response) -> Vec<Message> {
        let _ = response;
        Vec::new()
    }
}

/// One streamed method of a client library, e.g. mistralai-client's `chat_stream`.
///
/// The request side (arguments, model, errors) is that of [`Self::Call`]; this trait
/// reads the stream's items.
pub trait TracedStreamCall: 'static {
    /// The non-streamed call with the same arguments and errors.
    type Call: TracedCall;
    /// The successful item of the stream.
    type Item;

    /// Folds one item into `info` (id, model, finish reasons, usage) and returns how many
    /// chunks it held and how many of those carried content. Called only when recording;
    /// should not allocate after the first item.
    fn observe(item: &Self::Item, info: &mut ResponseInfo) -> ChunkCount;

    /// Appends the item's text to `text`, for opt-in content capture (the streamed answer
    /// is recorded whole at the end). Called only when capture is on.
    fn append_text(item: &Self::Item, text: &mut String) {
        let _ = (item, text);
    }
}

/// How many chunks one stream item held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkCount {
    /// All chunks.
    pub chunks: u64,
    /// Chunks with content (text, tool calls).
    pub content: u64,
}
