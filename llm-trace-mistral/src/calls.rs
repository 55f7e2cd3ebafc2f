//! mistralai-client's traced calls: how their arguments, responses and errors become
//! GenAI span attributes.

use std::borrow::Cow;

use llm_trace_core::opentelemetry::{Array, KeyValue, StringValue, Value};
use llm_trace_core::provider::{
    ChunkCount, InputContent, Message, Operation, Part, Provider, RequestInfo, ResponseInfo,
    TracedCall, TracedStreamCall, Usage,
};
use llm_trace_core::semconv;
use mistralai_client::v1::chat::{
    ChatMessage, ChatMessageRole, ChatParams, ChatResponse, ChatResponseChoiceFinishReason,
};
use mistralai_client::v1::chat_stream::ChatStreamChunk;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::embedding::{
    EmbeddingRequestEncodingFormat, EmbeddingRequestOptions, EmbeddingResponse,
};
use mistralai_client::v1::error::ApiError;

use crate::error_type::{http_status, status_error_type};
use crate::models;

/// The Mistral AI provider (`gen_ai.provider.name = mistral_ai`).
#[derive(Debug)]
pub enum MistralAi {}

impl Provider for MistralAi {
    const NAME: &'static str = "mistral_ai";
    const DEFAULT_PORT: u16 = 443;
}

/// `Client::chat` and `Client::chat_async`.
#[derive(Debug)]
pub enum Chat {}

/// `Client::embeddings` and `Client::embeddings_async`.
#[derive(Debug)]
pub enum Embeddings {}

/// `Client::chat_stream`.
#[derive(Debug)]
pub enum ChatStream {}

/// The arguments of the chat methods.
pub type ChatArgs = (Model, Vec<ChatMessage>, Option<ChatParams>);

/// The arguments of the embeddings methods.
pub type EmbeddingsArgs = (EmbedModel, Vec<String>, Option<EmbeddingRequestOptions>);

/// `f32` parameters as the decimal the user wrote (`0.7`, not `0.699999988079071`).
fn f32_attribute(value: f32) -> f64 {
    use std::fmt::Write;
    struct Buf {
        bytes: [u8; 64],
        len: usize,
    }
    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.len + s.len();
            let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
            slot.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut buf = Buf {
        bytes: [0; 64],
        len: 0,
    };
    if write!(buf, "{value}").is_ok() {
        if let Some(parsed) = std::str::from_utf8(&buf.bytes[..buf.len])
            .ok()
            .and_then(|text| text.parse::<f64>().ok())
        {
            return parsed;
        }
    }
    f64::from(value)
}

fn finish_reason(reason: &ChatResponseChoiceFinishReason) -> Cow<'static, str> {
    Cow::Borrowed(match reason {
        ChatResponseChoiceFinishReason::Stop => "stop",
        ChatResponseChoiceFinishReason::ToolCalls => "tool_call",
    })
}

/// A stream chunk's finish reason (a plain string there) in spec vocabulary.
fn stream_finish_reason(reason: &str) -> Cow<'static, str> {
    match reason {
        "stop" => Cow::Borrowed("stop"),
        "length" | "model_length" => Cow::Borrowed("length"),
        "tool_calls" => Cow::Borrowed("tool_call"),
        "content_filter" => Cow::Borrowed("content_filter"),
        "error" => Cow::Borrowed("error"),
        other => Cow::Owned(other.to_owned()),
    }
}

fn api_error_type(error: &ApiError) -> Cow<'static, str> {
    match http_status(&error.message) {
        Some(code) => status_error_type(code),
        None => Cow::Borrowed(semconv::ERROR_TYPE_OTHER),
    }
}

/// The status description, from the status code and a fixed vocabulary only: response
/// bodies (and the client's messages, which quote them) can echo the prompt and the
/// `Authorization` header, so no byte of them is kept.
fn api_error_description(error: &ApiError) -> Cow<'static, str> {
    match http_status(&error.message) {
        Some(code) => Cow::Owned(format!("Mistral API answered HTTP {code}")),
        None => Cow::Borrowed(no_status_description(&error.message)),
    }
}

/// What went wrong when no HTTP status came back, in words of llm-trace's own.
fn no_status_description(message: &str) -> &'static str {
    if message.contains("error sending request") || message.contains("connect") {
        "the Mistral API could not be reached"
    } else if message.contains("timed out") || message.contains("timeout") {
        "the request to the Mistral API timed out"
    } else if message.contains("decod")
        || message.contains("expected")
        || message.contains("missing field")
    {
        "the Mistral API's answer could not be decoded"
    } else {
        "the Mistral client failed"
    }
}

/// A message's parts: its text (when not empty) and its tool calls. mistralai-client 0.14
/// keeps no tool call ids.
fn message_parts(message: &ChatMessage) -> Vec<Part> {
    let mut parts = Vec::new();
    if !message.content.is_empty() {
        parts.push(Part::Text(message.content.clone()));
    }
    for call in message.tool_calls.iter().flatten() {
        parts.push(Part::ToolCall {
            id: None,
            name: call.function.name.clone(),
            arguments: Some(call.function.arguments.clone()),
        });
    }
    parts
}

/// A tool definition in the conventions' flat form: `{type, name, description, parameters}`.
fn tool_definition(tool: &mistralai_client::v1::tool::Tool) -> Option<serde_json::Value> {
    let serde_json::Value::Object(mut tool) = serde_json::to_value(tool).ok()? else {
        return None;
    };
    let function = tool.remove("function");
    if let Some(serde_json::Value::Object(function)) = function {
        tool.extend(function);
    }
    Some(serde_json::Value::Object(tool))
}

fn chat_input(messages: &[ChatMessage], params: Option<&ChatParams>) -> InputContent {
    let mut content = InputContent::default();
    for message in messages {
        match message.role {
            ChatMessageRole::System => content.system.extend(message_parts(message)),
            ChatMessageRole::Tool => content.messages.push(Message {
                role: Cow::Borrowed("tool"),
                parts: vec![Part::ToolCallResponse {
                    id: None,
                    response: message.content.clone(),
                }],
                finish_reason: None,
            }),
            ChatMessageRole::User | ChatMessageRole::Assistant => content.messages.push(Message {
                role: Cow::Borrowed(if message.role == ChatMessageRole::User {
                    "user"
                } else {
                    "assistant"
                }),
                parts: message_parts(message),
                finish_reason: None,
            }),
        }
    }
    if let Some(tools) = params.and_then(|p| p.tools.as_ref()) {
        content.tools = tools.iter().filter_map(tool_definition).collect();
    }
    content
}

impl TracedCall for Chat {
    type Provider = MistralAi;
    type Args = ChatArgs;
    type Response = ChatResponse;
    type Error = ApiError;

    const OPERATION: Operation = Operation::Chat;

    fn request_info((model, _, _): &ChatArgs) -> RequestInfo {
        RequestInfo {
            model: Cow::Borrowed(models::chat_model_id(model)),
            span_name: Cow::Borrowed(models::chat_span_name(model)),
        }
    }

    fn request_attributes((_, _, params): &ChatArgs, attributes: &mut Vec<KeyValue>) {
        // mistralai-client always sends temperature and top_p (0.7 and 1.0 by default).
        let defaults;
        let params = match params {
            Some(params) => params,
            None => {
                defaults = ChatParams::default();
                &defaults
            }
        };
        attributes.push(KeyValue::new(
            semconv::GEN_AI_REQUEST_TEMPERATURE,
            f32_attribute(params.temperature),
        ));
        attributes.push(KeyValue::new(
            semconv::GEN_AI_REQUEST_TOP_P,
            f32_attribute(params.top_p),
        ));
        if let Some(max_tokens) = params.max_tokens {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_REQUEST_MAX_TOKENS,
                i64::from(max_tokens),
            ));
        }
        if let Some(seed) = params.random_seed {
            attributes.push(KeyValue::new(semconv::GEN_AI_REQUEST_SEED, i64::from(seed)));
        }
        if let Some(format) = &params.response_format {
            if format.type_.starts_with("json") {
                attributes.push(KeyValue::new(semconv::GEN_AI_OUTPUT_TYPE, "json"));
            }
        }
    }

    fn response_info(response: &ChatResponse) -> ResponseInfo {
        ResponseInfo {
            id: Some(response.id.clone()),
            model: Some(Cow::Borrowed(models::chat_model_id(&response.model))),
            finish_reasons: response
                .choices
                .iter()
                .map(|choice| finish_reason(&choice.finish_reason))
                .collect(),
            usage: Some(Usage {
                input_tokens: u64::from(response.usage.prompt_tokens),
                output_tokens: Some(u64::from(response.usage.completion_tokens)),
            }),
            embedding_dimensions: None,
        }
    }

    fn usage(response: &ChatResponse) -> Option<Usage> {
        Some(Usage {
            input_tokens: u64::from(response.usage.prompt_tokens),
            output_tokens: Some(u64::from(response.usage.completion_tokens)),
        })
    }

    fn error_type(error: &ApiError) -> Cow<'static, str> {
        api_error_type(error)
    }

    fn error_description(error: &ApiError) -> Cow<'static, str> {
        api_error_description(error)
    }

    fn input_content((_, messages, params): &ChatArgs) -> InputContent {
        chat_input(messages, params.as_ref())
    }

    fn output_content(response: &ChatResponse) -> Vec<Message> {
        response
            .choices
            .iter()
            .map(|choice| Message {
                role: Cow::Borrowed("assistant"),
                parts: message_parts(&choice.message),
                finish_reason: Some(finish_reason(&choice.finish_reason)),
            })
            .collect()
    }
}

impl TracedCall for Embeddings {
    type Provider = MistralAi;
    type Args = EmbeddingsArgs;
    type Response = EmbeddingResponse;
    type Error = ApiError;

    const OPERATION: Operation = Operation::Embeddings;

    fn request_info((model, _, _): &EmbeddingsArgs) -> RequestInfo {
        RequestInfo {
            model: Cow::Borrowed(models::embed_model_id(model)),
            span_name: Cow::Borrowed(models::embed_span_name(model)),
        }
    }

    fn request_attributes((_, _, options): &EmbeddingsArgs, attributes: &mut Vec<KeyValue>) {
        if let Some(format) = options.as_ref().and_then(|o| o.encoding_format.as_ref()) {
            let format = match format {
                EmbeddingRequestEncodingFormat::float => "float",
            };
            attributes.push(KeyValue::new(
                semconv::GEN_AI_REQUEST_ENCODING_FORMATS,
                Value::Array(Array::String(vec![StringValue::from(format)])),
            ));
        }
    }

    fn response_info(response: &EmbeddingResponse) -> ResponseInfo {
        ResponseInfo {
            id: None,
            model: Some(Cow::Borrowed(models::embed_model_id(&response.model))),
            finish_reasons: Vec::new(),
            usage: Some(Usage {
                input_tokens: u64::from(response.usage.prompt_tokens),
                output_tokens: None,
            }),
            embedding_dimensions: response
                .data
                .first()
                .map(|item| i64::try_from(item.embedding.len()).unwrap_or(i64::MAX)),
        }
    }

    fn usage(response: &EmbeddingResponse) -> Option<Usage> {
        Some(Usage {
            input_tokens: u64::from(response.usage.prompt_tokens),
            output_tokens: None,
        })
    }

    fn error_type(error: &ApiError) -> Cow<'static, str> {
        api_error_type(error)
    }

    fn error_description(error: &ApiError) -> Cow<'static, str> {
        api_error_description(error)
    }

    /// The texts to embed, as one user message with a text part each.
    fn input_content((_, inputs, _): &EmbeddingsArgs) -> InputContent {
        InputContent {
            messages: vec![Message {
                role: Cow::Borrowed("user"),
                parts: inputs.iter().cloned().map(Part::Text).collect(),
                finish_reason: None,
            }],
            ..InputContent::default()
        }
    }
}

impl TracedStreamCall for ChatStream {
    type Call = Chat;
    type Item = Vec<ChatStreamChunk>;

    fn observe(chunks: &Vec<ChatStreamChunk>, info: &mut ResponseInfo) -> ChunkCount {
        let mut count = ChunkCount::default();
        for chunk in chunks {
            count.chunks += 1;
            if info.id.is_none() {
                info.id = Some(chunk.id.clone());
            }
            if info.model.is_none() {
                info.model = Some(Cow::Borrowed(models::chat_model_id(&chunk.model)));
            }
            for choice in &chunk.choices {
                if !choice.delta.content.is_empty() {
                    count.content += 1;
                }
                if let Some(reason) = &choice.finish_reason {
                    info.finish_reasons.push(stream_finish_reason(reason));
                }
            }
            if let Some(usage) = &chunk.usage {
                info.usage = Some(Usage {
                    input_tokens: u64::from(usage.prompt_tokens),
                    output_tokens: Some(u64::from(usage.completion_tokens)),
                });
            }
        }
        count
    }

    fn append_text(chunks: &Vec<ChatStreamChunk>, text: &mut String) {
        for chunk in chunks {
            for choice in &chunk.choices {
                text.push_str(&choice.delta.content);
            }
        }
    }
}

llm_trace_core::declare_client! {
    /// The traits `#[llm_trace]`'s generated code brings into scope for mistralai-client
    /// (the facade re-exports them).
    pub mod kinds for mistralai_client::v1::client::Client {
        endpoint = |client| client.endpoint.as_str();
        sync Chat;
        async Chat;
        sync Embeddings;
        async Embeddings;
        stream ChatStream;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_parameters_keep_their_decimal_value() {
        assert_eq!(f32_attribute(0.7), 0.7);
        assert_eq!(f32_attribute(1.0), 1.0);
        assert_eq!(f32_attribute(0.05), 0.05);
        assert!(f32_attribute(f32::NAN).is_nan());
    }

    #[test]
    fn error_types() {
        let error = |message: &str| ApiError {
            message: message.to_owned(),
        };
        assert_eq!(api_error_type(&error("429 Too Many Requests: {}")), "429");
        assert_eq!(
            api_error_type(&error("{\"message\":\"x\"}: 404 Not Found")),
            "404"
        );
        assert_eq!(api_error_type(&error("error sending request")), "_OTHER");
        assert_eq!(
            api_error_description(&error("429 Too Many Requests: {\"prompt\":\"secret\"}")),
            "Mistral API answered HTTP 429"
        );
        // Statuses without a known reason phrase (Cloudflare's 52x, 499): the code only.
        for code in [499, 520, 522, 524, 529] {
            let message = format!("{code} <unknown status code>: <html>sk-secret prompt</html>");
            assert_eq!(api_error_type(&error(&message)), code.to_string());
            assert_eq!(
                api_error_description(&error(&message)),
                format!("Mistral API answered HTTP {code}")
            );
            let sync_form = format!("<html>sk-secret</html>: {code} <unknown status code>");
            assert_eq!(api_error_type(&error(&sync_form)), code.to_string());
        }
        for message in [
            "error sending request for url (http://127.0.0.1:1/v1/chat/completions)",
            "error decoding response body: expected value at line 1 column 1",
            "sk-secret said the prompt",
        ] {
            let description = api_error_description(&error(message));
            assert!(
                !description.contains("sk-secret") && !description.contains("127.0.0.1"),
                "{description}"
            );
        }
    }
}
