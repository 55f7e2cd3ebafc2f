//! The keys for other backends: OpenLIT's `gen_ai.usage.total_tokens` (on by default, off
//! with `openlit_compat(false)`) and OpenInference's span kind on function spans (off by
//! default, on with `openinference(true)`); the spec's keys stay either way.

use llm_trace::{llm_trace, Recorder, RecorderBuilder};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{
    assert_parent, attributes, attrs, capture, in_trace, mistral_client, one, spans,
};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

#[llm_trace]
fn ask_and_embed(client: &Client) -> Result<usize, ApiError> {
    let messages = vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )];
    client.chat(Model::MistralSmallLatest, messages, None)?;
    let inputs = vec!["Embed this sentence.".into(), "As well as this one.".into()];
    let response = client.embeddings(EmbedModel::MistralEmbed, inputs, None)?;
    Ok(response.data.len())
}

/// Runs the function once with the test binary's recorder changed by `change`, scoped to
/// this thread; returns its spans.
fn run(
    change: impl FnOnce(RecorderBuilder) -> RecorderBuilder,
) -> Vec<opentelemetry_sdk::trace::SpanData> {
    capture();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let client = mistral_client(&server);
    let recorder = change(Recorder::current().to_builder()).build();
    let (trace, result) = recorder.in_scope(|| in_trace(|| ask_and_embed(&client)));
    assert_eq!(result.unwrap(), 2);
    spans(trace)
}

fn usage(span: &opentelemetry_sdk::trace::SpanData) -> Vec<(String, opentelemetry::Value)> {
    attributes(span)
        .into_iter()
        .filter(|(key, _)| key.starts_with("gen_ai.usage.") && key.ends_with("_tokens"))
        .collect()
}

#[test]
fn by_default_calls_have_total_tokens_and_functions_no_openinference_kind() {
    let spans = run(|recorder| recorder);
    let function = one(&spans, "ask_and_embed");
    assert!(!attributes(function).contains_key("openinference.span.kind"));
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(
        usage(chat),
        attrs! {
            "gen_ai.usage.input_tokens" => 11_i64,
            "gen_ai.usage.output_tokens" => 9_i64,
            "gen_ai.usage.total_tokens" => 20_i64,
        }
        .into_iter()
        .collect::<Vec<_>>()
    );
    let embeddings = one(&spans, "embeddings mistral-embed");
    assert_eq!(
        usage(embeddings),
        attrs! {
            "gen_ai.usage.input_tokens" => 8_i64,
            "gen_ai.usage.total_tokens" => 8_i64,
        }
        .into_iter()
        .collect::<Vec<_>>()
    );
}

#[test]
fn without_openlit_compatibility_only_the_spec_keys_remain() {
    let spans = run(|recorder| recorder.openlit_compat(false));
    let chat = one(&spans, "chat mistral-small-latest");
    assert_eq!(
        usage(chat),
        attrs! {
            "gen_ai.usage.input_tokens" => 11_i64,
            "gen_ai.usage.output_tokens" => 9_i64,
        }
        .into_iter()
        .collect::<Vec<_>>()
    );
    let embeddings = one(&spans, "embeddings mistral-embed");
    assert_eq!(
        usage(embeddings),
        vec![("gen_ai.usage.input_tokens".to_owned(), 8_i64.into())]
    );
    assert_eq!(attributes(chat)["gen_ai.usage.cost"], 0.0000038.into());
}

#[test]
fn with_openinference_function_spans_are_chains_over_their_calls() {
    let spans = run(|recorder| recorder.openinference(true));
    let function = one(&spans, "ask_and_embed");
    assert_eq!(
        attributes(function)["openinference.span.kind"],
        "CHAIN".into()
    );
    for call in ["chat mistral-small-latest", "embeddings mistral-embed"] {
        let call = one(&spans, call);
        assert_parent(call, function);
        // Phoenix derives LLM and EMBEDDING from gen_ai.operation.name: nothing added.
        assert!(!attributes(call).contains_key("openinference.span.kind"));
    }
}
