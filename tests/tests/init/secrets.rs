//! Secrets never leave the process in telemetry: with every content option on, the
//! Mistral API key and the OTLP header value appear in no exported byte (spans, events,
//! metrics) and no log line.

use futures_util::StreamExt;
use llm_trace::llm_trace;
use llm_trace::CaptureMode;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::logs::capture_logs;
use llm_trace_tests::otlp_receiver::OtlpReceiver;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

const API_KEY: &str = "sk-live-SECRET-KEY-0001";
const HEADER_VALUE: &str = "hdr-SECRET-VALUE-0002";

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )]
}

#[llm_trace(fields(user.id = user))]
async fn everything(client: &Client, dead: &Client, user: &str) -> Result<(), ApiError> {
    client
        .chat_async(Model::MistralSmallLatest, question(), None)
        .await?;
    let _ = client
        .chat_async(Model::MistralSmallLatest, question(), None)
        .await;
    let stream = client
        .chat_stream(Model::MistralSmallLatest, question(), None)
        .await?;
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        item?;
    }
    client
        .embeddings_async(EmbedModel::MistralEmbed, vec!["Embed this.".into()], None)
        .await?;
    let _ = dead
        .chat_async(Model::MistralSmallLatest, question(), None)
        .await;
    Ok(())
}

#[test]
fn no_exported_byte_or_log_line_carries_a_secret() {
    let _one = llm_trace_tests::exclusive();
    let logs = capture_logs();
    let receiver = OtlpReceiver::start();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok());
    server.enqueue(Reply::status(401));
    let dead_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };

    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .otlp_header("x-api-key", HEADER_VALUE)
        .capture_content(CaptureMode::SpanAndEvent)
        .init()
        .unwrap();
    let client = Client::new(Some(API_KEY.into()), Some(server.endpoint()), Some(0), None).unwrap();
    let dead = Client::new(
        Some(API_KEY.into()),
        Some(format!("http://127.0.0.1:{dead_port}/v1")),
        Some(0),
        None,
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(everything(&client, &dead, "user-1"))
        .unwrap();
    assert!(telemetry.shutdown().is_clean());

    // The key was really used, and the header really sent: the checks below are not
    // vacuous.
    assert!(server.requests().iter().all(|r| r.bearer_auth));
    let received = receiver.received();
    assert!(received.iter().any(|r| r.path == "/v1/traces"));
    assert!(received.iter().any(|r| r.path == "/v1/metrics"));
    let mut exported = Vec::new();
    for request in &received {
        assert_eq!(request.headers["x-api-key"], HEADER_VALUE);
        exported.extend_from_slice(&request.body);
    }
    let contains = |needle: &str| {
        exported
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    };
    assert!(
        contains("Who is the best French painter?"),
        "content was captured"
    );
    assert!(contains("user-1"));
    assert!(!contains(API_KEY), "the API key reached the collector");
    assert!(
        !contains(HEADER_VALUE),
        "the OTLP header value reached the collector"
    );

    let lines = logs.lines();
    assert!(!lines.is_empty(), "the logs were captured");
    for line in &lines {
        assert!(!line.contains(API_KEY), "API key in a log line: {line}");
        assert!(
            !line.contains(HEADER_VALUE),
            "header value in a log line: {line}"
        );
    }
}
