//! End to end: `init` with an OTLP endpoint, a real annotated function against the local
//! Mistral server, and a loopback OTLP/HTTP receiver decoding what arrives.

use llm_trace::llm_trace;
use llm_trace::metrics::{DURATION_BUCKETS, TOKEN_BUCKETS};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::mistral_client;
use llm_trace_tests::otlp_receiver::{attribute_map, OtlpReceiver};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

#[llm_trace]
fn ask_and_embed(client: &Client) -> Result<usize, ApiError> {
    let messages = vec![ChatMessage::new_user_message(
        "Who is the best French painter? Answer in one short sentence.",
    )];
    client.chat(Model::MistralSmallLatest, messages, None)?;
    let inputs = vec!["Embed this sentence.".into(), "As well as this one.".into()];
    let response = client.embeddings(EmbedModel::MistralEmbed, inputs, None)?;
    Ok(response.data[0].embedding.len())
}

#[test]
fn spans_metrics_and_headers_reach_the_collector() {
    let _one = llm_trace_tests::exclusive();
    // Set before any thread starts. The explicit header replaces the environment's
    // headers: the same key gets the explicit value, the others are not sent.
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "x-api-key=from-env,x-env-only=1",
    );
    let receiver = OtlpReceiver::start();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let telemetry = llm_trace::builder()
        .service_name("painter-bot")
        .environment("test")
        .otlp_endpoint(receiver.endpoint())
        .otlp_header("x-api-key", "secret-123")
        .init()
        .unwrap();
    assert!(telemetry.tracer_provider().is_some());

    let client = mistral_client(&server);
    assert_eq!(ask_and_embed(&client).unwrap(), 1024);
    assert!(telemetry.shutdown().is_clean());

    let received = receiver.received();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains(&"/v1/traces"), "{paths:?}");
    assert!(paths.contains(&"/v1/metrics"), "{paths:?}");
    for request in &received {
        assert_eq!(request.content_type, "application/x-protobuf");
        assert_eq!(
            request.headers.get("x-api-key").map(String::as_str),
            Some("secret-123")
        );
    }

    let resource = receiver.trace_resource();
    assert_eq!(resource["service.name"], "painter-bot");
    assert_eq!(resource["deployment.environment.name"], "test");

    let spans = receiver.spans();
    assert_eq!(
        spans.len(),
        3,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let find = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let function = find("ask_and_embed");
    let chat = find("chat mistral-small-latest");
    let embeddings = find("embeddings mistral-embed");
    assert_eq!(function.kind, SpanKind::Internal as i32);
    assert_eq!(chat.kind, SpanKind::Client as i32);
    assert!(function.parent_span_id.is_empty());
    assert_eq!(chat.parent_span_id, function.span_id);
    assert_eq!(embeddings.parent_span_id, function.span_id);
    assert_eq!(chat.trace_id, function.trace_id);

    let chat = attribute_map(&chat.attributes);
    let port = server.address().port().to_string();
    for (key, value) in [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "mistral_ai"),
        ("gen_ai.request.model", "mistral-small-latest"),
        ("gen_ai.response.model", "mistral-small-latest"),
        ("gen_ai.response.finish_reasons", "[stop]"),
        ("gen_ai.usage.input_tokens", "11"),
        ("gen_ai.usage.output_tokens", "9"),
        ("gen_ai.usage.cost", "0.0000038"),
        ("server.address", "127.0.0.1"),
        ("server.port", port.as_str()),
    ] {
        assert_eq!(chat.get(key).map(String::as_str), Some(value), "{key}");
    }
    let embeddings = attribute_map(&embeddings.attributes);
    assert_eq!(embeddings["gen_ai.embeddings.dimension.count"], "1024");
    assert_eq!(embeddings["gen_ai.usage.input_tokens"], "8");

    let durations = receiver.histogram("gen_ai.client.operation.duration");
    assert_eq!(durations.len(), 2, "{durations:?}");
    for point in &durations {
        assert_eq!(point.explicit_bounds, DURATION_BUCKETS);
        assert_eq!(point.count, 1);
        let attributes = attribute_map(&point.attributes);
        assert_eq!(attributes["gen_ai.provider.name"], "mistral_ai");
        assert_eq!(attributes["server.address"], "127.0.0.1");
        assert!(!attributes.contains_key("error.type"));
    }
    let tokens = receiver.histogram("gen_ai.client.token.usage");
    assert_eq!(
        tokens.len(),
        3,
        "chat input and output, embeddings input: {tokens:?}"
    );
    for point in &tokens {
        assert_eq!(point.explicit_bounds, TOKEN_BUCKETS);
    }
    let chat_input = tokens
        .iter()
        .find(|p| {
            let a = attribute_map(&p.attributes);
            a["gen_ai.token.type"] == "input" && a["gen_ai.request.model"] == "mistral-small-latest"
        })
        .unwrap();
    assert_eq!(chat_input.sum, Some(11.0));
}
