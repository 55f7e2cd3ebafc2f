//! Opt-in content capture: absent by default, each capture mode, system instructions,
//! tool definitions and tool calls, embeddings inputs, redaction, truncation, and context
//! attributes from `fields(...)` and `Scope`.

use futures_util::StreamExt;
use llm_trace::content::{CaptureMode, ContentPolicy, RedactionError};
use llm_trace::{llm_trace, Recorder};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{attributes, capture, in_trace, in_trace_async, mistral_client, one, spans};
use mistralai_client::v1::chat::{ChatMessage, ChatMessageRole, ChatParams};
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use mistralai_client::v1::tool::{Tool, ToolFunctionParameter, ToolFunctionParameterType};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use serde_json::{json, Value as Json};

/// Runs `work` on this thread with content captured as asked: a scoped recorder, so the
/// tests run in parallel and nothing global changes.
fn with_content<R>(mode: CaptureMode, policy: ContentPolicy, work: impl FnOnce() -> R) -> R {
    Recorder::current()
        .to_builder()
        .capture_content(mode)
        .content_policy(policy)
        .build()
        .in_scope(work)
}

fn messages() -> Vec<ChatMessage> {
    vec![
        ChatMessage {
            role: ChatMessageRole::System,
            content: "Answer briefly. Write to ops@example.com if unsure.".into(),
            tool_calls: None,
        },
        ChatMessage::new_user_message("Who is the best French painter? I am ana@example.org"),
    ]
}

#[llm_trace]
fn ask(client: &Client) -> Result<String, ApiError> {
    let response = client.chat(Model::MistralSmallLatest, messages(), None)?;
    Ok(response.choices[0].message.content.clone())
}

fn json_attribute(span: &SpanData, key: &str) -> Json {
    let value = attributes(span)
        .get(key)
        .unwrap_or_else(|| panic!("no {key} on {}", span.name))
        .to_string();
    serde_json::from_str(&value).expect("content attributes are valid JSON")
}

fn chat_span(server: &MockServer, mode: CaptureMode, policy: ContentPolicy) -> SpanData {
    let client = mistral_client(server);
    let (trace, answer) = with_content(mode, policy, || in_trace(|| ask(&client)));
    answer.unwrap();
    one(&spans(trace), "chat mistral-small-latest").clone()
}

const CONTENT_KEYS: [&str; 4] = [
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
];

#[test]
fn content_is_absent_by_default() {
    capture();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    let (trace, answer) = in_trace(|| ask(&client));
    answer.unwrap();
    let span = one(&spans(trace), "chat mistral-small-latest").clone();
    let found = attributes(&span);
    for key in CONTENT_KEYS {
        assert!(!found.contains_key(key), "{key} recorded without opt-in");
    }
    assert!(span.events.is_empty());
}

#[test]
fn each_capture_mode() {
    capture();
    let server = MockServer::start().unwrap();
    server.set_answer("Claude Monet.");

    let none = chat_span(&server, CaptureMode::NoContent, ContentPolicy::new());
    assert!(CONTENT_KEYS
        .iter()
        .all(|k| !attributes(&none).contains_key(*k)));
    assert!(none.events.is_empty());

    let spans_only = chat_span(&server, CaptureMode::SpanOnly, ContentPolicy::new());
    assert_eq!(
        json_attribute(&spans_only, "gen_ai.system_instructions"),
        json!([{"type": "text", "content": "Answer briefly. Write to ops@example.com if unsure."}]),
        "system messages go to system instructions"
    );
    assert_eq!(
        json_attribute(&spans_only, "gen_ai.input.messages"),
        json!([{"role": "user", "parts": [{"type": "text", "content": "Who is the best French painter? I am ana@example.org"}]}])
    );
    assert_eq!(
        json_attribute(&spans_only, "gen_ai.output.messages"),
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "Claude Monet."}], "finish_reason": "stop"}])
    );
    assert!(spans_only.events.is_empty());

    let events_only = chat_span(&server, CaptureMode::EventOnly, ContentPolicy::new());
    assert!(CONTENT_KEYS
        .iter()
        .all(|k| !attributes(&events_only).contains_key(*k)));
    assert_eq!(events_only.events.len(), 1);
    let event = events_only.events.iter().next().unwrap();
    assert_eq!(event.name, "gen_ai.client.inference.operation.details");
    let keys: Vec<&str> = event.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "gen_ai.system_instructions",
            "gen_ai.input.messages",
            "gen_ai.output.messages"
        ]
    );

    let both = chat_span(&server, CaptureMode::SpanAndEvent, ContentPolicy::new());
    assert!(attributes(&both).contains_key("gen_ai.output.messages"));
    assert_eq!(both.events.len(), 1);
}

fn mask_emails(text: &str) -> Result<String, RedactionError> {
    Ok(text
        .split(' ')
        .map(|word| if word.contains('@') { "[email]" } else { word })
        .collect::<Vec<_>>()
        .join(" "))
}

#[test]
fn redaction_applies_to_input_output_and_streamed_output() {
    capture();
    let server = MockServer::start().unwrap();
    server.set_answer("Monet. Ask curator@louvre.fr for more.");
    let policy = ContentPolicy::new().redactor(mask_emails);
    let span = chat_span(&server, CaptureMode::SpanOnly, policy.clone());
    let recorded: String = CONTENT_KEYS
        .iter()
        .filter_map(|key| attributes(&span).get(*key).map(Value::to_string))
        .collect();
    assert!(!recorded.contains('@'), "{recorded}");
    assert_eq!(recorded.matches("[email]").count(), 3, "{recorded}");

    #[llm_trace]
    async fn stream(client: &Client) -> Result<String, ApiError> {
        let stream = client
            .chat_stream(Model::MistralSmallLatest, messages(), None)
            .await?;
        let mut stream = std::pin::pin!(stream);
        let mut text = String::new();
        while let Some(item) = stream.next().await {
            for chunk in item? {
                text.push_str(&chunk.choices[0].delta.content);
            }
        }
        Ok(text)
    }

    let client = mistral_client(&server);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (trace, text) = with_content(CaptureMode::SpanOnly, policy, || {
        runtime.block_on(in_trace_async(stream(&client)))
    });
    assert_eq!(text.unwrap(), "Monet. Ask curator@louvre.fr for more.");
    let streamed = one(&spans(trace), "chat mistral-small-latest").clone();
    assert_eq!(
        json_attribute(&streamed, "gen_ai.output.messages"),
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "Monet. Ask [email] for more."}], "finish_reason": "stop"}]),
        "the streamed answer is aggregated, then redacted"
    );
}

#[test]
fn a_failing_redaction_hook_drops_the_content_not_the_span() {
    capture();
    let server = MockServer::start().unwrap();
    let policy =
        ContentPolicy::new().redactor(|_: &str| Err(RedactionError::new("no PII service")));
    let span = chat_span(&server, CaptureMode::SpanAndEvent, policy);
    let found = attributes(&span);
    assert!(CONTENT_KEYS.iter().all(|k| !found.contains_key(*k)));
    assert!(span.events.is_empty());
    assert_eq!(found["llm_trace.content.redaction_failed"], true.into());
    assert!(
        found.contains_key("gen_ai.usage.input_tokens"),
        "the span itself is whole"
    );

    let panicking = ContentPolicy::new()
        .redactor(|_: &str| -> Result<String, RedactionError> { panic!("bug in the hook") });
    let span = chat_span(&server, CaptureMode::SpanOnly, panicking);
    assert_eq!(
        attributes(&span)["llm_trace.content.redaction_failed"],
        true.into()
    );
}

#[test]
fn long_content_is_truncated_at_a_character_boundary() {
    capture();
    let server = MockServer::start().unwrap();
    server.set_answer("Édouard Manet");
    let policy = ContentPolicy::new().max_length(1);
    let span = chat_span(&server, CaptureMode::SpanOnly, policy);
    // "É" is two bytes: one byte keeps nothing of it, never half a character.
    assert_eq!(
        json_attribute(&span, "gen_ai.output.messages"),
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "", "truncated": true}], "finish_reason": "stop"}])
    );
    let policy = ContentPolicy::new().max_length(3);
    let span = chat_span(&server, CaptureMode::SpanOnly, policy);
    assert_eq!(
        json_attribute(&span, "gen_ai.output.messages")[0]["parts"][0]["content"],
        json!("Éd")
    );
}

#[test]
fn tool_calls_and_tool_definitions() {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_tool_call("get_painting", r#"{"painter":"Monet"}"#));

    #[llm_trace]
    fn with_tools(client: &Client) -> Result<(), ApiError> {
        let tool = Tool::new(
            "get_painting".into(),
            "Finds a painting by painter".into(),
            vec![ToolFunctionParameter::new(
                "painter".into(),
                "The painter's name".into(),
                ToolFunctionParameterType::String,
            )],
        );
        let params = ChatParams {
            tools: Some(vec![tool]),
            ..ChatParams::default()
        };
        let response = client.chat(Model::MistralLargeLatest, messages(), Some(params))?;
        assert!(response.choices[0].message.tool_calls.is_some());
        Ok(())
    }

    let client = mistral_client(&server);
    let (trace, result) = with_content(CaptureMode::SpanOnly, ContentPolicy::new(), || {
        in_trace(|| with_tools(&client))
    });
    result.unwrap();
    let span = one(&spans(trace), "chat mistral-large-latest").clone();
    assert_eq!(
        json_attribute(&span, "gen_ai.output.messages"),
        json!([{
            "role": "assistant",
            "parts": [{"type": "tool_call", "name": "get_painting", "arguments": "{\"painter\":\"Monet\"}"}],
            "finish_reason": "tool_call"
        }])
    );
    assert_eq!(
        attributes(&span)["gen_ai.response.finish_reasons"],
        llm_trace_tests::strings(&["tool_call"])
    );
    let tools = json_attribute(&span, "gen_ai.tool.definitions");
    assert_eq!(tools[0]["type"], "function");
    assert_eq!(tools[0]["name"], "get_painting");
    assert_eq!(tools[0]["description"], "Finds a painting by painter");
    assert_eq!(
        tools[0]["parameters"]["properties"]["painter"]["type"],
        "string"
    );
}

#[test]
fn embeddings_inputs_are_captured() {
    capture();
    let server = MockServer::start().unwrap();

    #[llm_trace]
    fn embed(client: &Client) -> Result<(), ApiError> {
        let inputs = vec!["Embed this sentence.".into(), "As well as this one.".into()];
        client.embeddings(EmbedModel::MistralEmbed, inputs, None)?;
        Ok(())
    }

    let client = mistral_client(&server);
    let (trace, result) = with_content(CaptureMode::SpanOnly, ContentPolicy::new(), || {
        in_trace(|| embed(&client))
    });
    result.unwrap();
    let span = one(&spans(trace), "embeddings mistral-embed").clone();
    assert_eq!(
        json_attribute(&span, "gen_ai.input.messages"),
        json!([{"role": "user", "parts": [
            {"type": "text", "content": "Embed this sentence."},
            {"type": "text", "content": "As well as this one."}
        ]}])
    );
    assert!(!attributes(&span).contains_key("gen_ai.output.messages"));
}

#[llm_trace(fields(gen_ai.conversation.id = session, user.id = user, "app.attempt" = attempt))]
fn in_conversation(
    client: &Client,
    session: &str,
    user: Option<String>,
    attempt: u32,
) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, messages(), None)?;
    Ok(())
}

#[test]
fn fields_and_scoped_attributes_are_on_the_function_and_its_calls() {
    capture();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    let (trace, result) = in_trace(|| {
        llm_trace::Scope::new([KeyValue::new("app.tenant", "acme")])
            .run(|| in_conversation(&client, "conv-7", Some("user-1".into()), 2))
    });
    result.unwrap();
    let spans = spans(trace);
    for name in ["in_conversation", "chat mistral-small-latest"] {
        let found = attributes(one(&spans, name));
        assert_eq!(found["gen_ai.conversation.id"], "conv-7".into(), "{name}");
        assert_eq!(found["user.id"], "user-1".into(), "{name}");
        assert_eq!(found["app.attempt"], 2_i64.into(), "{name}");
        assert_eq!(found["app.tenant"], "acme".into(), "{name}");
    }

    // An absent Option records nothing.
    let (trace, result) = in_trace(|| in_conversation(&client, "conv-8", None, 1));
    result.unwrap();
    let spans = llm_trace_tests::spans(trace);
    assert!(!attributes(one(&spans, "in_conversation")).contains_key("user.id"));
}
