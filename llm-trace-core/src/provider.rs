//! What a provider crate implements: how one kind of client call becomes span attributes.
//!
//! A provider crate (e.g. `llm-trace-mistral`) implements [`Provider`] once and
//! [`TracedCall`] for each client method it traces, then declares which argument and
//! result types identify those calls with [`declare_calls!`](crate::declare_calls). The
//! `#[llm_trace]` macro never names a provider: it rewrites candidate method calls into a
//! type-level probe, and the declarations decide which calls are traced.

use std::borrow::Cow;

use opentelemetry::KeyValue;

pub use crate::content::{InputContent, Message, Part};

/// A GenAI operation (`gen_ai.operation.name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    /// The low-cardinality `error.type` of an error (an HTTP status such as `429`, or
    /// [`ERROR_TYPE_OTHER`](crate::semconv::ERROR_TYPE_OTHER)).
    fn error_type(error: &Self::Error) -> Cow<'static, str>;

    /// A short description for the span status, free of prompts, responses and secrets.
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

pub use crate::stream::{ChunkCount, TracedStreamCall};
