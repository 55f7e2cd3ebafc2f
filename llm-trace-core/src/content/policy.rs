//! How captured content is recorded: the redaction hook, the length limit, and rendering
//! in the GenAI conventions' parts schema (JSON strings, as span attributes cannot nest).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use opentelemetry::KeyValue;
use serde_json::{json, Map, Value};

use super::{InputContent, Message, Part};
use crate::semconv;

/// Why the redaction hook refused a piece of content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactionError {
    reason: String,
}

impl RedactionError {
    /// A refusal, with a reason for the logs (never recorded on spans).
    pub fn new(reason: impl Into<String>) -> Self {
        RedactionError {
            reason: reason.into(),
        }
    }

    /// Why the content was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for RedactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redaction failed: {}", self.reason)
    }
}

impl std::error::Error for RedactionError {}

/// A redaction hook: gets every piece of content, returns what may be recorded.
///
/// The hook runs on the caller's thread inside traced calls: it must be quick and must not
/// panic. A hook that returns an error drops that call's content; a hook that panics is
/// not called again (its panic is printed once, by the panic hook) and every later call
/// records no content — under `panic = "abort"` a panic aborts the process, as any panic.
pub type Redactor = Arc<dyn Fn(&str) -> Result<String, RedactionError> + Send + Sync>;

/// How content is recorded when capture is on: an optional redaction hook applied to every
/// piece of content, then an optional length limit.
///
/// ```
/// use llm_trace_core::content::{ContentPolicy, RedactionError};
/// let policy = ContentPolicy::new()
///     .max_length(1000)
///     .redactor(|text: &str| Ok::<_, RedactionError>(text.replace("secret", "***")));
/// assert_eq!(policy.apply("a secret").unwrap(), ("a ***".to_owned(), false));
/// ```
#[derive(Clone, Default)]
pub struct ContentPolicy {
    max_length: Option<usize>,
    redactor: Option<Redactor>,
    /// Set once the hook panicked: it is not called again.
    hook_panicked: Arc<AtomicBool>,
}

impl fmt::Debug for ContentPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentPolicy")
            .field("max_length", &self.max_length)
            .field("redactor", &self.redactor.is_some())
            .finish()
    }
}

impl ContentPolicy {
    /// No redaction, no length limit.
    pub fn new() -> Self {
        ContentPolicy::default()
    }

    /// Keeps at most `bytes` of each piece of content, cut at a character boundary; the
    /// part is marked `"truncated": true`.
    pub fn max_length(mut self, bytes: usize) -> Self {
        self.max_length = Some(bytes);
        self
    }

    /// Sets (or, with `None`, removes) the length limit.
    pub fn with_max_length(mut self, bytes: Option<usize>) -> Self {
        self.max_length = bytes;
        self
    }

    /// Applies `hook` to every piece of content before it is recorded (see [`Redactor`]).
    pub fn redactor<F>(mut self, hook: F) -> Self
    where
        F: Fn(&str) -> Result<String, RedactionError> + Send + Sync + 'static,
    {
        self.redactor = Some(Arc::new(hook));
        self.hook_panicked = Arc::default();
        self
    }

    /// Sets (or removes) the redaction hook from a shared one.
    pub fn with_redactor(mut self, hook: Option<Redactor>) -> Self {
        self.redactor = hook;
        self.hook_panicked = Arc::default();
        self
    }

    /// The length limit, in bytes.
    pub fn length_limit(&self) -> Option<usize> {
        self.max_length
    }

    /// Whether a redaction hook is set.
    pub fn has_redactor(&self) -> bool {
        self.redactor.is_some()
    }

    /// Redacts then truncates one piece of content: the text to record and whether it
    /// was cut.
    pub fn apply(&self, text: &str) -> Result<(String, bool), RedactionError> {
        let redacted = match &self.redactor {
            Some(redactor) => self.run_hook(redactor, text)?,
            None => text.to_owned(),
        };
        Ok(match self.max_length {
            Some(max) => crate::text::truncate_owned(redacted, max),
            None => (redacted, false),
        })
    }

    fn run_hook(&self, redactor: &Redactor, text: &str) -> Result<String, RedactionError> {
        if self.hook_panicked.load(Ordering::Relaxed) {
            return Err(RedactionError::new("the redaction hook panicked earlier"));
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| redactor(text))) {
            Ok(result) => result,
            Err(_) => {
                if !self.hook_panicked.swap(true, Ordering::Relaxed) {
                    crate::__llm_trace_diagnostic!(
                        error,
                        "llm-trace: the content redaction hook panicked; it will not be called \
                         again and no content is recorded from now on"
                    );
                }
                Err(RedactionError::new("the redaction hook panicked"))
            }
        }
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

    fn parts(&self, parts: &[Part]) -> Result<Value, RedactionError> {
        parts
            .iter()
            .map(|part| self.part(part))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    fn messages(&self, messages: &[Message]) -> Result<String, RedactionError> {
        let mut rendered = Vec::with_capacity(messages.len());
        for message in messages {
            let mut object = Map::new();
            object.insert("role".into(), json!(message.role));
            object.insert("parts".into(), self.parts(&message.parts)?);
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
            attributes.push(KeyValue::new(
                semconv::GEN_AI_SYSTEM_INSTRUCTIONS,
                self.parts(&input.system)?.to_string(),
            ));
        }
        if !input.messages.is_empty() {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_INPUT_MESSAGES,
                self.messages(&input.messages)?,
            ));
        }
        if !input.tools.is_empty() {
            attributes.push(KeyValue::new(
                semconv::GEN_AI_TOOL_DEFINITIONS,
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
            semconv::GEN_AI_OUTPUT_MESSAGES,
            self.messages(output)?,
        )])
    }
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
        let rendered = ContentPolicy::new().render_input(&sample()).unwrap();
        assert_eq!(
            attribute(&rendered, semconv::GEN_AI_SYSTEM_INSTRUCTIONS),
            json!([{"type": "text", "content": "Be brief."}])
        );
        assert_eq!(
            attribute(&rendered, semconv::GEN_AI_INPUT_MESSAGES),
            json!([
                {"role": "user", "parts": [{"type": "text", "content": "Who is the best French painter?"}]},
                {"role": "assistant", "parts": [{"type": "tool_call", "name": "lookup", "arguments": "{\"q\":\"painters\"}"}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call-1", "response": "Monet"}]}
            ])
        );
        assert_eq!(
            attribute(&rendered, semconv::GEN_AI_TOOL_DEFINITIONS),
            json!([{"type": "function", "name": "lookup"}])
        );
        let output = ContentPolicy::new()
            .render_output(&[Message {
                role: "assistant".into(),
                parts: vec![Part::Text("Monet.".into())],
                finish_reason: Some("stop".into()),
            }])
            .unwrap();
        assert_eq!(
            attribute(&output, semconv::GEN_AI_OUTPUT_MESSAGES),
            json!([{"role": "assistant", "parts": [{"type": "text", "content": "Monet."}], "finish_reason": "stop"}])
        );
    }

    #[test]
    fn truncation_is_marked() {
        let rendered = ContentPolicy::new()
            .max_length(5)
            .render_output(&[Message {
                role: "assistant".into(),
                parts: vec![Part::Text("Claude Monet".into())],
                finish_reason: None,
            }])
            .unwrap();
        assert_eq!(
            attribute(&rendered, semconv::GEN_AI_OUTPUT_MESSAGES),
            json!([{"role": "assistant", "parts": [{"type": "text", "content": "Claud", "truncated": true}]}])
        );
    }

    #[test]
    fn redaction_applies_to_every_piece_and_failure_is_an_error() {
        let policy =
            ContentPolicy::new().redactor(|text: &str| Ok(text.replace("Monet", "[PAINTER]")));
        let rendered = policy.render_input(&sample()).unwrap();
        let text = rendered
            .iter()
            .map(|kv| kv.value.to_string())
            .collect::<String>();
        assert!(!text.contains("Monet"), "{text}");
        assert!(text.contains("[PAINTER]"));

        let failing = ContentPolicy::new().redactor(|text: &str| {
            if text.contains("painter") {
                Err(RedactionError::new("cannot redact"))
            } else {
                Ok(text.to_owned())
            }
        });
        assert!(failing.render_input(&sample()).is_err());
    }

    #[test]
    fn a_panicking_hook_is_called_once() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let panicking = ContentPolicy::new().redactor(move |_: &str| {
            counted.fetch_add(1, Ordering::Relaxed);
            panic!("bug in the hook")
        });
        assert_eq!(
            panicking.render_input(&sample()).unwrap_err().reason(),
            "the redaction hook panicked"
        );
        for _ in 0..3 {
            assert!(panicking.clone().render_input(&sample()).is_err());
        }
        assert_eq!(calls.load(Ordering::Relaxed), 1, "never called again");
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
            let policy = ContentPolicy::new().with_max_length(max);
            let rendered = policy
                .render_output(&[Message {
                    role: "assistant".into(),
                    parts: vec![Part::Text(text.clone()), Part::ToolCall { id: Some(text.clone()), name: text.clone(), arguments: Some(text.clone()) }],
                    finish_reason: None,
                }])
                .unwrap();
            let json: Value = serde_json::from_str(&rendered[0].value.to_string()).unwrap();
            let content = json[0]["parts"][0]["content"].as_str().unwrap().to_owned();
            let expected = match max {
                Some(max) => crate::text::truncate(&text, max),
                None => (text.as_str(), false),
            };
            prop_assert_eq!(content.as_str(), expected.0);
            prop_assert_eq!(json[0]["parts"][0].get("truncated").is_some(), expected.1);
            prop_assert_eq!(json[0]["parts"][1]["name"].as_str().unwrap(), text.as_str());
        }
    }
}
