//! Telemetry never changes the program's result, never loses data silently, never leaks a
//! body: error bodies, collectors that hang, crawl, refuse metrics or are flooded, bad
//! configuration, and a load of 10,000 calls from 64 threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm_trace::{llm_trace, CaptureMode, InitErrorKind, Recorder};
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::fake::{FakeClient, FakeModel};
use llm_trace_tests::logs::capture_logs;
use llm_trace_tests::otlp_receiver::{attribute_map, Behaviour, OtlpReceiver};
use llm_trace_tests::SharedBuffer;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

const KEY: &str = "sk-live-KEY-0123456789";
const PROMPT: &str = "PROMPT-which-painter-7f3a";

#[llm_trace]
fn fake_call(client: &FakeClient) -> u32 {
    #[allow(unused_imports)]
    use llm_trace_tests::fake::kinds::*;
    client
        .chat(FakeModel, vec!["a"], None)
        .map_or(0, |r| r.output_tokens)
}

#[llm_trace]
async fn every_kind_of_call(client: &Client) -> Vec<ApiError> {
    let messages = || vec![ChatMessage::new_user_message(PROMPT)];
    let mut errors = Vec::new();
    if let Err(e) = client
        .chat_async(Model::MistralSmallLatest, messages(), None)
        .await
    {
        errors.push(e);
    }
    if let Err(e) = client
        .embeddings_async(EmbedModel::MistralEmbed, vec![PROMPT.into()], None)
        .await
    {
        errors.push(e);
    }
    match client
        .chat_stream(Model::MistralSmallLatest, messages(), None)
        .await
    {
        Err(e) => errors.push(e),
        Ok(stream) => {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                if let Err(e) = item {
                    errors.push(e);
                }
            }
        }
    }
    errors
}

#[llm_trace]
fn blocking_calls(client: &Client) -> usize {
    let a = client.chat(
        Model::MistralSmallLatest,
        vec![ChatMessage::new_user_message(PROMPT)],
        None,
    );
    let b = client.embeddings(EmbedModel::MistralEmbed, vec![PROMPT.into()], None);
    usize::from(a.is_err()) + usize::from(b.is_err())
}

#[test]
fn error_bodies_never_reach_spans_metrics_or_logs() {
    let _one = llm_trace_tests::exclusive();
    let logs = capture_logs();
    let receiver = OtlpReceiver::start();
    let server = MockServer::start().unwrap();
    let body = format!(
        r#"<html>Authorization: Bearer {KEY} {{"messages":[{{"content":"{PROMPT}"}}]}}</html>"#
    );
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .export_timeout(Duration::from_secs(5))
        .init()
        .unwrap();
    let client = Client::new(Some(KEY.into()), Some(server.endpoint()), Some(0), None).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for status in [499, 520, 522, 524, 529] {
        server.set_default_reply(Reply::status_with_body(status, body.clone()));
        let errors = runtime.block_on(every_kind_of_call(&client));
        assert_eq!(errors.len(), 3, "each call failed, as without llm-trace");
        assert!(
            errors.iter().all(|e| e.message.contains(KEY)),
            "the user still gets the body"
        );
        assert_eq!(blocking_calls(&client), 2);
    }
    let report = telemetry.shutdown();
    assert!(report.is_clean(), "{report}");

    let received = receiver.received();
    assert!(received.iter().any(|r| r.path == "/v1/traces"));
    assert!(received.iter().any(|r| r.path == "/v1/metrics"));
    for request in &received {
        let bytes = String::from_utf8_lossy(&request.body);
        assert!(
            !bytes.contains(KEY) && !bytes.contains(PROMPT),
            "{} carries the body",
            request.path
        );
        assert!(!bytes.contains("Authorization"), "{}", request.path);
    }
    let calls: Vec<_> = receiver
        .spans()
        .into_iter()
        .filter(|span| span.kind == 3)
        .collect();
    assert_eq!(calls.len(), 5 * 5);
    for call in &calls {
        let error_type = &attribute_map(&call.attributes)["error.type"];
        assert!(
            ["499", "520", "522", "524", "529"].contains(&error_type.as_str()),
            "{error_type}"
        );
        let description = &call.status.as_ref().unwrap().message;
        assert_eq!(
            description,
            &format!("Mistral API answered HTTP {error_type}")
        );
    }
    // mistralai-client itself logs request and response bodies at debug level (its own
    // choice; filter its target in production): llm-trace's lines never carry them.
    for line in logs.lines() {
        let target = line.split(' ').nth(1).unwrap_or_default();
        if target.starts_with("llm_trace") {
            assert!(
                !line.contains(KEY) && !line.contains(PROMPT),
                "a log line carries the body: {line}"
            );
        }
    }
}

#[test]
fn a_hanging_collector_cannot_hold_the_exit() {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start();
    receiver.set_behaviour(Behaviour {
        hang: true,
        ..Behaviour::default()
    });
    let timeout = Duration::from_millis(500);
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .export_timeout(timeout)
        .schedule_delay(Duration::from_millis(10))
        .init()
        .unwrap();
    let client = FakeClient::new();
    for _ in 0..100 {
        assert_eq!(fake_call(&client), 9);
    }
    std::thread::sleep(Duration::from_millis(50)); // an export is now hanging
    let started = Instant::now();
    let report = telemetry.shutdown();
    let took = started.elapsed();
    assert!(
        took < timeout + Duration::from_millis(700),
        "shutdown took {took:?} with a {timeout:?} export timeout"
    );
    assert!(!report.is_clean());
    assert!(report.spans_lost() > 0, "{report}");
}

#[test]
fn a_flood_into_a_slow_collector_counts_every_lost_span() {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start();
    receiver.set_behaviour(Behaviour {
        delay: Duration::from_millis(100),
        ..Behaviour::default()
    });
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .metrics_exporter(llm_trace::ExporterKind::None)
        .export_timeout(Duration::from_secs(10))
        .max_queue_size(64)
        .max_export_batch_size(16)
        .schedule_delay(Duration::from_millis(10))
        .init()
        .unwrap();
    let client = FakeClient::new();
    let calls = 500;
    for _ in 0..calls {
        fake_call(&client);
    }
    let report = telemetry.shutdown();
    let received = receiver.spans().len() as u64;
    assert!(
        report.spans_dropped_queue_full() > 0,
        "the flood overflowed the queue: {report}"
    );
    assert_eq!(
        received + report.spans_lost(),
        2 * calls,
        "every span is either received or counted as lost: {report}"
    );
    assert_eq!(report.spans_exported(), received);
    assert!(report.to_string().contains("export queue full"), "{report}");
}

#[test]
fn a_traces_only_backend_gets_its_spans_and_the_lost_metrics_are_reported() {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start();
    receiver.set_behaviour(Behaviour {
        metrics_status: Some(405),
        ..Behaviour::default()
    });
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .init()
        .unwrap();
    let client = FakeClient::new();
    assert_eq!(fake_call(&client), 9);
    let report = telemetry.shutdown();
    assert_eq!(receiver.spans().len(), 2, "the spans were delivered");
    assert_eq!(report.spans_lost(), 0);
    assert!(report.metric_exports_failed() >= 1, "{report}");
    assert!(
        report.to_string().contains("metric exports failed"),
        "{report}"
    );
}

#[test]
fn ten_thousand_calls_from_64_threads_all_arrive_with_valid_parents() {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start();
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .schedule_delay(Duration::from_millis(100))
        .init()
        .unwrap();
    let workers = 64;
    let per_worker = 157; // 10,048 calls
    let client = Arc::new(FakeClient::new());
    let started = Instant::now();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || {
                for _ in 0..per_worker {
                    assert_eq!(fake_call(&client), 9);
                    // ~5,000 calls a second in all: a busy service, not a benchmark.
                    std::thread::sleep(Duration::from_millis(12));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = telemetry.shutdown();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(report.is_clean(), "{report}");
    let spans = receiver.spans();
    assert_eq!(spans.len(), 2 * workers * per_worker);
    let functions: std::collections::HashSet<Vec<u8>> = spans
        .iter()
        .filter(|span| span.name == "fake_call")
        .map(|span| {
            assert!(span.parent_span_id.is_empty(), "function spans are roots");
            span.span_id.clone()
        })
        .collect();
    assert_eq!(functions.len(), workers * per_worker);
    for call in spans.iter().filter(|span| span.name != "fake_call") {
        assert!(
            functions.contains(&call.parent_span_id),
            "a call without its function"
        );
    }
}

#[test]
fn disabling_batching_loses_nothing_more() {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start();
    // A queue that holds every span: what is measured is whether exporting as soon as
    // spans are queued loses any, not whether a busy machine's export thread keeps up
    // with 80000 spans a second (a smaller queue would drop and count them, as
    // `a_flood_into_a_slow_collector_counts_every_lost_span` checks).
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .disable_batch(true)
        .max_queue_size(2 * 8 * 250)
        .init()
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                let client = FakeClient::new();
                for _ in 0..250 {
                    fake_call(&client);
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = telemetry.shutdown();
    assert!(report.is_clean(), "{report}");
    assert_eq!(receiver.spans().len(), 2 * 8 * 250);
    let exports = receiver
        .received()
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .count();
    assert!(
        exports < 2 * 8 * 250,
        "spans leave in batches, not one request each"
    );
}

#[test]
fn gzip_compression_and_per_signal_endpoints() {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start();
    let telemetry = llm_trace::builder()
        .otlp_traces_endpoint(format!("{}/custom/traces", receiver.endpoint()))
        .metrics_exporter(llm_trace::ExporterKind::None)
        .compression(llm_trace::Compression::Gzip)
        .init()
        .unwrap();
    fake_call(&FakeClient::new());
    assert!(telemetry.shutdown().is_clean());
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].raw_path, "/custom/traces");
    assert_eq!(received[0].headers["content-encoding"], "gzip");
}

#[test]
fn a_failed_init_changes_nothing() {
    let _one = llm_trace_tests::exclusive();
    let dir = std::env::temp_dir().join(format!("llm-trace-failed-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("prices.toml");
    std::fs::write(&broken, "[chat]\nm = { input = -1 }\n").unwrap();
    let before = Recorder::current();
    let error = llm_trace::builder()
        .capture_content(CaptureMode::SpanAndEvent)
        .console_writer(SharedBuffer::default())
        .pricing_file(&broken)
        .init()
        .unwrap_err();
    assert_eq!(error.kind(), InitErrorKind::Pricing);
    assert_eq!(Recorder::current().capture_mode(), before.capture_mode());
    assert_eq!(Recorder::current().capture_mode(), CaptureMode::NoContent);
    // Nothing is left half-installed: a correct init works.
    let telemetry = llm_trace::builder()
        .console_writer(SharedBuffer::default())
        .init()
        .unwrap();
    assert!(telemetry.shutdown().is_clean());

    #[cfg(unix)]
    {
        let fifo = dir.join("prices.fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|status| status.success()) {
            let started = Instant::now();
            let error = llm_trace::builder()
                .console_writer(SharedBuffer::default())
                .pricing_file(&fifo)
                .init()
                .unwrap_err();
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "a FIFO never hangs init"
            );
            assert!(error.to_string().contains("not a regular file"), "{error}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_disabled_sdk_records_nothing() {
    let _one = llm_trace_tests::exclusive();
    let output = SharedBuffer::default();
    let telemetry = llm_trace::builder()
        .sdk_disabled(true)
        .console_writer(output.clone())
        .init()
        .unwrap();
    assert!(telemetry.tracer_provider().is_none());
    assert_eq!(fake_call(&FakeClient::new()), 9);
    assert!(telemetry.shutdown().is_clean());
    assert_eq!(output.text(), "");
}
