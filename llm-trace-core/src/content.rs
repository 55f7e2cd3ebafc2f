//! Whether prompts and responses may be recorded: the content capture mode.
//!
//! Off by default, as the GenAI conventions ask. `llm_trace::init` sets it from its
//! builder or `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// Where message content may be recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CaptureMode {
    /// Never (the default).
    #[default]
    NoContent,
    /// As span attributes (`gen_ai.input.messages`, ...).
    SpanOnly,
    /// As `gen_ai.client.inference.operation.details` events.
    EventOnly,
    /// Both.
    SpanAndEvent,
}

impl CaptureMode {
    /// Whether content goes on spans.
    pub fn on_spans(self) -> bool {
        matches!(self, CaptureMode::SpanOnly | CaptureMode::SpanAndEvent)
    }

    /// Whether content goes in events.
    pub fn in_events(self) -> bool {
        matches!(self, CaptureMode::EventOnly | CaptureMode::SpanAndEvent)
    }

    /// The environment variable's spelling of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::NoContent => "NO_CONTENT",
            CaptureMode::SpanOnly => "SPAN_ONLY",
            CaptureMode::EventOnly => "EVENT_ONLY",
            CaptureMode::SpanAndEvent => "SPAN_AND_EVENT",
        }
    }
}

impl fmt::Display for CaptureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a capture mode llm-trace does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCaptureMode(pub String);

impl fmt::Display for UnknownCaptureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown content capture mode {:?}: expected true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT",
            self.0
        )
    }
}

impl std::error::Error for UnknownCaptureMode {}

impl FromStr for CaptureMode {
    type Err = UnknownCaptureMode;

    /// `true` means [`CaptureMode::SpanOnly`], `false` [`CaptureMode::NoContent`]; the
    /// mode names are case-insensitive.
    ///
    /// ```
    /// use llm_trace_core::content::CaptureMode;
    /// assert_eq!("true".parse(), Ok(CaptureMode::SpanOnly));
    /// assert_eq!("span_and_event".parse(), Ok(CaptureMode::SpanAndEvent));
    /// assert!("yes".parse::<CaptureMode>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_uppercase().as_str() {
            "TRUE" | "SPAN_ONLY" => Ok(CaptureMode::SpanOnly),
            "FALSE" | "NO_CONTENT" => Ok(CaptureMode::NoContent),
            "EVENT_ONLY" => Ok(CaptureMode::EventOnly),
            "SPAN_AND_EVENT" => Ok(CaptureMode::SpanAndEvent),
            _ => Err(UnknownCaptureMode(text.to_owned())),
        }
    }
}

static MODE: AtomicU8 = AtomicU8::new(0);

/// The capture mode in force.
pub fn capture_mode() -> CaptureMode {
    match MODE.load(Ordering::Relaxed) {
        1 => CaptureMode::SpanOnly,
        2 => CaptureMode::EventOnly,
        3 => CaptureMode::SpanAndEvent,
        _ => CaptureMode::NoContent,
    }
}

/// Sets the capture mode from now on.
pub fn set_capture_mode(mode: CaptureMode) {
    let value = match mode {
        CaptureMode::NoContent => 0,
        CaptureMode::SpanOnly => 1,
        CaptureMode::EventOnly => 2,
        CaptureMode::SpanAndEvent => 3,
    };
    MODE.store(value, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------
// What content is, and how it is rendered.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock, RwLock};

use opentelemetry::KeyValue;
use serde_json::{json, Map, Value};

/// `gen_ai.input.messages`.
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.output.messages`.
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// `gen_ai.system_instructions`.
pub const GEN_AI_SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
/// `gen_ai.tool.definitions`.
pub const GEN_AI_TOOL_DEFINITIONS: &str = "gen_ai.tool.definitions";
/// The event carrying content when events are asked for.
pub const OPERATION_DETAILS_EVENT: &str = "gen_ai.client.inference.operation.details";
/// `llm_trace.content.redaction_failed`: `true` when the redaction hook failed and the
/// call's content was therefore not recorded.
pub const REDACTION_FAILED: &str = "llm_trace.content.redaction_failed";

/// One part of a message, in the GenAI conventions' parts schema.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    pub tools: Vec<Value>,
}

/// Why the redaction hook refused a piece of content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactionError(pub String);

impl fmt::Display for RedactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redaction failed: {}", self.0)
    }
}

impl std::error::Error for RedactionError {}

/// A redaction hook: gets every piece of content, returns what may be recorded.
pub type Redactor = Arc<dyn Fn(&str) -> Result<String, RedactionError> + Send + Sync>;

/// How content is recorded when capture is on.
#[derive(Clone, Default)]
pub struct ContentPolicy {
    /// The longest piece of content kept, in bytes; longer ones are cut at a character
    /// boundary and marked `"truncated": true`.
    pub max_length: Option<usize>,
    /// Applied to every piece of content before it is recorded.
    pub redactor: Option<Redactor>,
}

impl fmt::Debug for ContentPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentPolicy")
            .field("max_length", &self.max_length)
            .field("redactor", &self.redactor.is_some())
            .finish()
    }
}

fn policy_slot() -> &'static RwLock<Arc<ContentPolicy>> {
    static POLICY: OnceLock<RwLock<Arc<ContentPolicy>>> = OnceLock::new();
    POLICY.get_or_init(|| RwLock::new(Arc::new(ContentPolicy::default())))
}

/// Sets the content policy from now on.
pub fn set_content_policy(policy: ContentPolicy) {
    let policy = Arc::new(policy);
    match policy_slot().write() {
        Ok(mut slot) => *slot = policy,
        Err(poisoned) => *poisoned.into_inner() = policy,
    }
}

/// The content policy in force.
pub fn content_policy() -> Arc<ContentPolicy> {
    match policy_slot().read() {
        Ok(slot) => Arc::clone(&slot),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

impl ContentPolicy {
    /// Redacts then truncates one piece of content: the text to record and whether it
    /// was cut.
    pub fn apply(&self, text: &str) -> Result<(String, bool), RedactionError> {
        let redacted = match &self.redactor {
            Some(redactor) => {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| redactor(text))) {
                    Ok(result) => result?,
                    Err(_) => return Err(RedactionError("the redaction hook panicked".into())),
                }
            }
            None => text.to_owned(),
        };
        Ok(truncate(redacted, self.max_length))
    }

    fn content_field(
        &self,
        part: &mut Map<String, Value>,
        key: &str,
        text: &str,
    ) -> Result<(), RedactionError> {
        let (text, truncated) = self.apply(text)?;
        part.insert(key.to_owned(), Value::String(text));
        if truncated {
            part.insert("truncated".to_owned(), Value::Bool(true));
        }
        Ok(())
    }

    fn part(&self, part: &Part) -> Result<Value, RedactionError> {
        let mut object = Map::new();
        match part {
            Part::Text(text) => {
                object.insert("type".into(), json!("text"));
                self.content_field(&mut object, "content", text)?;
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                object.insert("type".into(), json!("tool_call"));
                if let Some(id) = id {
                    object.insert("id".into(), json!(id));
                }
                object.insert("name".into(), json!(name));
                if let Some(arguments) = arguments {
                    self.content_field(&mut object, "arguments", arguments)?;
                }
            }
            Part::ToolCallResponse { id, response } => {
                object.insert("type".into(), json!("tool_call_response"));
                if let Some(id) = id {
                    object.insert("id".into(), json!(id));
                }
                self.content_field(&mut object, "response", response)?;
            }
        }
        Ok(Value::Object(object))
    }

    fn messages(&self, messages: &[Message]) -> Result<String, RedactionError> {
        let mut rendered = Vec::with_capacity(messages.len());
        for message in messages {
            let parts = message
                .parts
                .iter()
                .map(|part| self.part(part))
                .collect::<Result<Vec<_>, _>>()?;
            let mut object = Map::new();
            object.insert("role".into(), json!(message.role));
            object.insert("parts".into(), Value::Array(parts));
            if let Some(reason) = &message.finish_reason {
                object.insert("finish_reason".into(), json!(reason));
            }
            rendered.push(Value::Object(object));
        }
        Ok(Value::Array(rendered).to_string())
    }

    /// The input content as span attributes (JSON strings).
    pub fn render_input(&self, input: &InputContent) -> Result<Vec<KeyValue>, RedactionError> {
        let mut attributes = Vec::with_capacity(3);
        if !input.system.is_empty() {
            let parts = input
                .system
                .iter()
                .map(|part| self.part(part))
                .collect::<Result<Vec<_>, _>>()?;
            attributes.push(KeyValue::new(
                GEN_AI_SYSTEM_INSTRUCTIONS,
                Value::Array(parts).to_string(),
            ));
        }
        if !input.messages.is_empty() {
            attributes.push(KeyValue::new(
                GEN_AI_INPUT_MESSAGES,
                self.messages(&input.messages)?,
            ));
        }
        if !input.tools.is_empty() {
            attributes.push(KeyValue::new(
                GEN_AI_TOOL_DEFINITIONS,
                Value::Array(input.tools.clone()).to_string(),
            ));
        }
        Ok(attributes)
    }

    /// The output messages as a span attribute (a JSON string).
    pub fn render_output(&self, output: &[Message]) -> Result<Vec<KeyValue>, RedactionError> {
        if output.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![KeyValue::new(
            GEN_AI_OUTPUT_MESSAGES,
            self.messages(output)?,
        )])
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary.
fn truncate(mut text: String, max: Option<usize>) -> (String, bool) {
    let Some(max) = max else {
        return (text, false);
    };
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(attributes: &[KeyValue], key: &str) -> Value {
        let text = attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
            .unwrap_or_else(|| panic!("no {key}"));
        serde_json::from_str(&text).expect("valid JSON")
    }

    fn sample() -> InputContent {
        InputContent {
            system: vec![Part::Text("Be brief.".into())],
            messages: vec![
                Message {
                    role: "user".into(),
                    parts: vec![Part::Text("Who is the best French painter?".into())],
                    finish_reason: None,
                },
                Message {
                    role: "assistant".into(),
                    parts: vec![Part::ToolCall {
                        id: None,
                        name: "lookup".into(),
                        arguments: Some(r#"{"q":"painters"}"#.into()),
                    }],
                    finish_reason: None,
                },
                Message {
                    role: "tool".into(),
                    parts: vec![Part::ToolCallResponse {
                        id: Some("call-1".into()),
                        response: "Monet".into(),
                    }],
                    finish_reason: None,
                },
            ],
            tools: vec![json!({"type": "function", "name": "lookup"})],
        }
    }

    #[test]
    fn renders_the_spec_parts_schema() {
        let rendered = ContentPolicy::default().render_input(&sample()).unwrap();
        assert_eq!(
            attribute(&rendered, GEN_AI_SYSTEM_INSTRUCTIONS),
            json!([{"type": "text", "content": "Be brief."}])
        );
        assert_eq!(
            attribute(&rendered, GEN_AI_INPUT_MESSAGES),
            json!([
                {"role": "user", "parts": [{"type": "text", "content": "Who is the best French painter?"}]},
                {"role": "assistant", "parts": [{"type": "tool_call", "name": "lookup", "arguments": "{\"q\":\"painters\"}"}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call-1", "response": "Monet"}]}
            ])
        );
        assert_eq!(
            attribute(&rendered, GEN_AI_TOOL_DEFINITIONS),
            json!([{"type": "function", "name": "lookup"}])
        );
        let output = ContentPolicy::default()
            .render_output(&[Message {
                role: "assistant".into(),
                parts: vec![Part::Text("Monet.".into())],
                finish_reason: Some("stop".into()),
            }])
            .unwrap();
        assert_eq!(
            attribute(&output, GEN_AI_OUTPUT_MESSAGES),
            json!([{"role": "assistant", "parts": [{"type": "text", "content": "Monet."}], "finish_reason": "stop"}])
        );
    }

    #[test]
    fn truncation_is_utf8_safe_and_marked() {
        // "é" is two bytes: a cut at 3 bytes must step back to 2.
        assert_eq!(truncate("éé".into(), Some(3)), ("é".into(), true));
        assert_eq!(truncate("日本語".into(), Some(4)), ("日".into(), true));
        assert_eq!(truncate("short".into(), Some(5)), ("short".into(), false));
        let policy = ContentPolicy {
            max_length: Some(5),
            redactor: None,
        };
        let rendered = policy
            .render_output(&[Message {
                role: "assistant".into(),
                parts: vec![Part::Text("Claude Monet".into())],
                finish_reason: None,
            }])
            .unwrap();
        assert_eq!(
            attribute(&rendered, GEN_AI_OUTPUT_MESSAGES),
            json!([{"role": "assistant", "parts": [{"type": "text", "content": "Claud", "truncated": true}]}])
        );
    }

    #[test]
    fn redaction_applies_to_every_piece_and_failure_is_an_error() {
        let policy = ContentPolicy {
            max_length: None,
            redactor: Some(Arc::new(
                |text: &str| Ok(text.replace("Monet", "[PAINTER]")),
            )),
        };
        let rendered = policy.render_input(&sample()).unwrap();
        let text = rendered
            .iter()
            .map(|kv| kv.value.to_string())
            .collect::<String>();
        assert!(!text.contains("Monet"), "{text}");
        assert!(text.contains("[PAINTER]"));

        let failing = ContentPolicy {
            max_length: None,
            redactor: Some(Arc::new(|text: &str| {
                if text.contains("painter") {
                    Err(RedactionError("cannot redact".into()))
                } else {
                    Ok(text.to_owned())
                }
            })),
        };
        assert!(failing.render_input(&sample()).is_err());
        let panicking = ContentPolicy {
            max_length: None,
            redactor: Some(Arc::new(|_: &str| panic!("bug in the hook"))),
        };
        assert_eq!(
            panicking.render_input(&sample()).unwrap_err(),
            RedactionError("the redaction hook panicked".into())
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text — any Unicode, quotes, backslashes, newlines, control characters —
        /// renders to valid JSON that gives the text back (cut to the maximum length).
        #[test]
        fn any_text_renders_to_valid_json(text in any::<String>(), max in proptest::option::of(0usize..64)) {
            let policy = ContentPolicy { max_length: max, redactor: None };
            let rendered = policy
                .render_output(&[Message {
                    role: "assistant".into(),
                    parts: vec![Part::Text(text.clone()), Part::ToolCall { id: Some(text.clone()), name: text.clone(), arguments: Some(text.clone()) }],
                    finish_reason: None,
                }])
                .unwrap();
            let json: Value = serde_json::from_str(&rendered[0].value.to_string()).unwrap();
            let content = json[0]["parts"][0]["content"].as_str().unwrap().to_owned();
            let expected = truncate(text.clone(), max);
            prop_assert_eq!(&content, &expected.0);
            prop_assert_eq!(json[0]["parts"][0].get("truncated").is_some(), expected.1);
            prop_assert!(text.starts_with(&content));
            prop_assert_eq!(json[0]["parts"][1]["name"].as_str().unwrap(), text.as_str());
        }
    }
}
