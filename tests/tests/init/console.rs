//! `init` with console output: the human-readable trace and metrics summary (snapshot),
//! pricing overrides, and dropping the guard inside a current-thread runtime.

use std::time::{Duration, Instant};

use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::otlp_receiver::OtlpReceiver;
use llm_trace_tests::{mistral_client, normalize_durations, SharedBuffer};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )]
}

#[llm_trace(name = "snapshot")]
fn three_calls(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    client.embeddings(
        EmbedModel::MistralEmbed,
        vec!["a b c".into(), "d e f g h".into()],
        None,
    )?;
    let _ = client.chat(Model::MistralSmallLatest, question(), None);
    Ok(())
}

#[test]
fn console_output_for_people() {
    let _one = llm_trace_tests::exclusive();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    server.enqueue(Reply::ok());
    server.enqueue(Reply::status(429));
    let output = SharedBuffer::default();
    let telemetry = llm_trace::builder()
        .console_writer(output.clone())
        .init()
        .unwrap();
    let again = llm_trace::builder()
        .console_writer(SharedBuffer::default())
        .init();
    assert!(
        matches!(&again, Err(error) if error.kind() == llm_trace::InitErrorKind::AlreadyInitialized),
        "{again:?}"
    );
    three_calls(&mistral_client(&server)).unwrap();
    assert!(telemetry.shutdown().is_clean());

    assert_eq!(
        normalize_durations(&output.text()),
        "snapshot  N ms  3 calls (1 failed)  tokens 19 in / 9 out  cost $0.0000046\n\
         \x20 chat mistral-small-latest  N ms  tokens 11 in / 9 out  cost $0.0000038\n\
         \x20 embeddings mistral-embed  N ms  tokens 8 in  cost $0.0000008\n\
         \x20 chat mistral-small-latest  N ms  ERROR 429 (Mistral API answered HTTP 429)\n\
         llm-trace metrics summary\n\
         \x20 chat mistral-small-latest: 2 calls (1 failed), mean N ms, tokens 11 in / 9 out, cost $0.0000038\n\
         \x20 embeddings mistral-embed: 1 call, mean N ms, tokens 8 in, cost $0.0000008\n\
         \x20 total: 3 calls (1 failed), tokens 19 in / 9 out, cost $0.0000046\n\
         \x20 top functions by cost:\n\
         \x20   init::console::three_calls: 3 calls (1 failed), cost $0.0000046\n"
    );
}

#[test]
fn console_colours_only_when_asked() {
    let _one = llm_trace_tests::exclusive();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    server.enqueue(Reply::ok());
    server.enqueue(Reply::status(500));
    let output = SharedBuffer::default();
    let telemetry = llm_trace::builder()
        .console_writer(output.clone())
        .console_colour(true)
        .disable_metrics(true)
        .init()
        .unwrap();
    three_calls(&mistral_client(&server)).unwrap();
    assert!(telemetry.shutdown().is_clean());
    let text = output.text();
    assert!(text.contains("\x1b[1msnapshot\x1b[0m"), "{text:?}");
    assert!(text.contains("\x1b[32mcost $0.0000038\x1b[0m"), "{text:?}");
    assert!(text.contains("\x1b[31mERROR 500"), "{text:?}");
    assert!(!text.contains("metrics summary"));
}

#[test]
fn a_pricing_override_changes_the_cost_and_a_bad_one_is_an_error() {
    let _one = llm_trace_tests::exclusive();
    let dir = std::env::temp_dir().join(format!("llm-trace-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // OpenLIT's format, per 1K tokens: 0.001/0.002 per 1K = 1/2 per 1M.
    let openlit = dir.join("pricing.json");
    std::fs::write(
        &openlit,
        r#"{"chat": {"mistral-small-latest": {"promptPrice": 0.001, "completionPrice": 0.002}}}"#,
    )
    .unwrap();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    let output = SharedBuffer::default();
    let telemetry = llm_trace::builder()
        .console_writer(output.clone())
        .disable_metrics(true)
        .pricing_file(&openlit)
        .init()
        .unwrap();

    #[llm_trace]
    fn priced(client: &Client) -> Result<(), ApiError> {
        client.chat(Model::MistralSmallLatest, question(), None)?;
        Ok(())
    }

    priced(&mistral_client(&server)).unwrap();
    assert!(telemetry.shutdown().is_clean());
    // 11 * 1 + 9 * 2 = 29 per 1M.
    assert!(
        output.text().contains("cost $0.000029\n"),
        "{}",
        output.text()
    );

    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[chat]\n\"m\" = { input = -1.0 }\n").unwrap();
    let error = llm_trace::builder()
        .console_writer(SharedBuffer::default())
        .pricing_file(&broken)
        .init()
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("broken.toml"), "{message}");
    assert!(
        message.contains("invalid price -1 for model `m`"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dropping_the_guard_inside_a_current_thread_runtime_is_safe() {
    let _one = llm_trace_tests::exclusive();
    let server = MockServer::start().unwrap();
    let receiver = OtlpReceiver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    #[llm_trace]
    async fn ask_async(client: &Client) -> Result<(), ApiError> {
        client
            .chat_async(Model::MistralSmallLatest, question(), None)
            .await?;
        Ok(())
    }

    let started = Instant::now();
    runtime.block_on(async {
        // Console exporter.
        let output = SharedBuffer::default();
        let telemetry = llm_trace::builder()
            .console_writer(output.clone())
            .init()
            .unwrap();
        ask_async(&mistral_client(&server)).await.unwrap();
        drop(telemetry);
        assert!(output.text().contains("chat mistral-small-latest"));

        // OTLP with the batch processor.
        let telemetry = llm_trace::builder()
            .otlp_endpoint(receiver.endpoint())
            .init()
            .unwrap();
        ask_async(&mistral_client(&server)).await.unwrap();
        drop(telemetry);
    });
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let spans = receiver.spans();
    assert!(spans.iter().any(|s| s.name == "chat mistral-small-latest"));
}
