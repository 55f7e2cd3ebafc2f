//! OTLP over gRPC (feature `grpc`): spans, metrics and metadata reach a loopback gRPC
//! receiver, from a plain thread and from inside a tokio runtime.

use llm_trace::llm_trace;
use llm_trace::metrics::DURATION_BUCKETS;
use llm_trace::Protocol;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::mistral_client;
use llm_trace_tests::otlp_receiver::{attribute_map, OtlpReceiver};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use mistralai_client::v1::error::ApiError;

#[llm_trace]
async fn ask(client: &Client) -> Result<(), ApiError> {
    let messages = vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )];
    client
        .chat_async(Model::MistralSmallLatest, messages, None)
        .await?;
    Ok(())
}

#[test]
fn spans_metrics_and_metadata_over_grpc() {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start_grpc();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Set up and dropped inside the application's runtime.
        let telemetry = llm_trace::builder()
            .protocol(Protocol::Grpc)
            .otlp_endpoint(receiver.endpoint())
            .otlp_header("x-api-key", "grpc-secret")
            .init()
            .unwrap();
        ask(&mistral_client(&server)).await.unwrap();
        drop(telemetry);
    });

    let received = receiver.received();
    assert!(!received.is_empty());
    for request in &received {
        assert!(request.content_type.starts_with("application/grpc"));
        assert_eq!(
            request.headers.get("x-api-key").map(String::as_str),
            Some("grpc-secret")
        );
    }
    let spans = receiver.spans();
    let chat = spans
        .iter()
        .find(|s| s.name == "chat mistral-small-latest")
        .expect("the chat span arrived over gRPC");
    let function = spans.iter().find(|s| s.name == "ask").unwrap();
    assert_eq!(chat.parent_span_id, function.span_id);
    assert_eq!(
        attribute_map(&chat.attributes)["gen_ai.usage.cost"],
        "0.0000038"
    );
    let durations = receiver.histogram("gen_ai.client.operation.duration");
    assert_eq!(durations.len(), 1);
    assert_eq!(durations[0].explicit_bounds, DURATION_BUCKETS);
}
