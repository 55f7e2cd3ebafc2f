//! Message content: what a provider reports a request sent and a response said, and how an
//! application lets it be recorded.
//!
//! Content is never recorded unless capture is turned on ([`CaptureMode`]); when it is,
//! each piece goes through the [`ContentPolicy`] (redaction hook, length limit) and is
//! rendered in the GenAI conventions' parts schema.

use std::borrow::Cow;

mod mode;
mod policy;

pub use mode::{CaptureMode, UnknownCaptureMode};
pub use policy::{ContentPolicy, RedactionError, Redactor};

/// One part of a message, in the GenAI conventions' parts schema.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// `{"type":"text","content":...}`.
    Text(String),
    /// `{"type":"tool_call","id"?,"name","arguments"?}`.
    ToolCall {
        /// The call's id, when the API gives one.
        id: Option<String>,
        /// The tool's name.
        name: String,
        /// The arguments, as the model wrote them (usually JSON text).
        arguments: Option<String>,
    },
    /// `{"type":"tool_call_response","id"?,"response":...}`.
    ToolCallResponse {
        /// The call's id, when known.
        id: Option<String>,
        /// What the tool answered.
        response: String,
    },
}

/// One message: a role, its parts, and for output messages the finish reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// `user`, `assistant`, `tool`, ...
    pub role: Cow<'static, str>,
    /// The message's parts.
    pub parts: Vec<Part>,
    /// For output messages: `stop`, `length`, `tool_call`, ...
    pub finish_reason: Option<Cow<'static, str>>,
}

/// What a request sends: system instructions, the other messages, the tools offered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputContent {
    /// System messages' parts (`gen_ai.system_instructions`).
    pub system: Vec<Part>,
    /// The other messages (`gen_ai.input.messages`).
    pub messages: Vec<Message>,
    /// Tool definitions (`gen_ai.tool.definitions`), as JSON objects.
    pub tools: Vec<serde_json::Value>,
}
