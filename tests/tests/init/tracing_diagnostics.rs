//! With the `tracing` feature, llm-trace's warnings about lost telemetry go through
//! `tracing`: from the export thread, as root events in a telemetry-suppressed context, so
//! no OpenTelemetry layer or appender turns them (or the HTTP client's own `tracing`
//! spans on that thread) into telemetry that would need exporting in turn.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use llm_trace::llm_trace;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeError, FakeModel, FakeResponse};
use llm_trace_tests::logs::capture_logs;
use llm_trace_tests::otlp_receiver::OtlpReceiver;
use llm_trace_tests::tracing_capture::{CaptureLayer, SeenEvent};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// Whether the process-wide capture takes llm-trace's events (only during this test:
/// the other tests of this binary check what reaches `log`).
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// The process-wide subscriber's capture (installed once).
fn global_capture() -> &'static CaptureLayer {
    static CAPTURE: OnceLock<CaptureLayer> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = CaptureLayer::new();
        // Other callsites are off for good, at no cost to the other tests; llm-trace's
        // are asked each time.
        let gate =
            tracing_subscriber::filter::DynFilterFn::new(|_, _| CAPTURING.load(Ordering::Relaxed))
                .with_callsite_filter(|meta| {
                    if meta.target().starts_with("llm_trace") {
                        tracing::subscriber::Interest::sometimes()
                    } else {
                        tracing::subscriber::Interest::never()
                    }
                });
        let subscriber = tracing_subscriber::registry().with(capture.clone().with_filter(gate));
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        capture
    })
}

#[llm_trace]
fn ask(client: &FakeClient) -> Result<FakeResponse, FakeError> {
    client.chat(FakeModel, vec!["hi"], None)
}

fn events_with(capture: &CaptureLayer, needle: &str) -> Vec<SeenEvent> {
    capture
        .events()
        .into_iter()
        .filter(|event| event.message.contains(needle))
        .collect()
}

#[test]
fn lost_telemetry_warnings_are_tracing_events_that_make_no_telemetry() {
    let _one = llm_trace_tests::exclusive();
    let logs = capture_logs();
    let logged_before = logs.lines().len();
    let capture = global_capture();
    let receiver = OtlpReceiver::start();
    CAPTURING.store(true, Ordering::Relaxed);
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .max_queue_size(1)
        .schedule_delay(Duration::from_millis(20))
        .disable_metrics(true)
        .init()
        .unwrap();
    let client = FakeClient::new();
    for _ in 0..5 {
        assert!(ask(&client).is_ok());
    }
    // The export thread warns after its next round.
    let needle = "spans dropped because the export queue was full";
    let deadline = Instant::now() + Duration::from_secs(10);
    while events_with(capture, needle).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let report = telemetry.shutdown();
    CAPTURING.store(false, Ordering::Relaxed);
    assert!(report.spans_dropped_queue_full() > 0, "{report}");

    let dropped = events_with(capture, needle);
    assert_eq!(dropped.len(), 1, "{dropped:#?}");
    let warning = &dropped[0];
    assert_eq!(warning.level, tracing::Level::WARN);
    assert_eq!(warning.target, "llm_trace::export::reporting");
    assert_eq!(warning.thread.as_deref(), Some("llm-trace-export"));
    assert!(warning.explicit_root);
    assert!(warning.telemetry_suppressed);
    // The shutdown report's line comes from the calling thread, through `tracing` too.
    let lost = events_with(capture, "telemetry not delivered");
    assert_eq!(lost.len(), 1, "{lost:#?}");
    assert_eq!(lost[0].level, tracing::Level::WARN);
    assert!(lost[0].explicit_root);
    // `log` got neither.
    let logged: Vec<String> = logs.lines()[logged_before..]
        .iter()
        .filter(|line| line.contains(needle) || line.contains("telemetry not delivered"))
        .cloned()
        .collect();
    assert_eq!(logged, Vec::<String>::new());
    // And no span came of them: the receiver got llm-trace's spans only.
    for span in receiver.spans() {
        assert!(
            span.name == "ask" || span.name == "chat fake-small",
            "{}",
            span.name
        );
    }
}
