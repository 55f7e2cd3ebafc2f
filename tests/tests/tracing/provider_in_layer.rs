//! A tracer provider handed only to the tracing-opentelemetry layer, none to llm-trace
//! (the OpenTelemetry global provider is the no-op one): llm-trace cannot record the calls,
//! says so once, and `llm_trace::set_tracer_provider(&provider)` fixes it.

use llm_trace::llm_trace;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeError, FakeModel, FakeResponse};
use llm_trace_tests::tracing_capture::CaptureLayer;
use llm_trace_tests::{assert_parent, attributes, one};
use opentelemetry::Value;

#[llm_trace]
fn lookup(client: &FakeClient) -> Result<FakeResponse, FakeError> {
    client.chat(FakeModel, vec!["hi"], None)
}

/// Runs `lookup` three times inside a `tracing` span named `request_name`.
fn three_requests(client: &FakeClient, request_name: &'static str) {
    for _ in 0..3 {
        let request = tracing::info_span!("request", otel.name = request_name);
        let _entered = request.enter();
        assert_eq!(lookup(client), client.chat(FakeModel, vec!["hi"], None));
    }
}

#[test]
fn a_provider_only_in_the_layer_is_reported_once_and_fixed_by_one_line() {
    // The layer records into the binary's global pipeline; llm-trace is, for the first
    // part, left on the OpenTelemetry global provider — what it uses when nobody gives it
    // one — which no one installed.
    llm_trace_tests::logs::capture_logs();
    let capture = CaptureLayer::events_from("llm_trace");
    let subscriber = super::subscriber_on_global_pipeline(capture.clone());
    let client = FakeClient::new();
    let unconfigured = llm_trace::Recorder::builder()
        .global_tracer_provider()
        .no_metrics()
        .build();
    tracing::subscriber::with_default(subscriber, || {
        unconfigured.in_scope(|| three_requests(&client, "before the fix"));
    });

    let warnings = no_op_warnings(&capture);
    assert_eq!(warnings.len(), 1, "exactly one warning: {warnings:#?}");
    assert!(
        warnings[0].contains("`llm_trace::set_tracer_provider(&provider)`"),
        "{}",
        warnings[0]
    );

    // The layer's own spans are all there is: no call span.
    let before = super::global_spans_named("before the fix");
    assert_eq!(before.len(), 3);
    for request in &before {
        let trace = llm_trace_tests::spans(request.span_context.trace_id());
        assert!(
            trace.iter().all(|span| span.name != "chat fake-small"),
            "{trace:#?}"
        );
    }

    // The fix: give llm-trace the provider (the binary's pipeline does exactly this,
    // `llm_trace::set_tracer_provider(&provider)`, in `llm_trace_tests::capture`).
    let capture = CaptureLayer::events_from("llm_trace");
    let subscriber = super::subscriber_on_global_pipeline(capture.clone());
    tracing::subscriber::with_default(subscriber, || three_requests(&client, "after the fix"));
    let after = super::global_spans_named("after the fix");
    assert_eq!(after.len(), 3);
    for request in &after {
        let trace = llm_trace_tests::spans(request.span_context.trace_id());
        assert_eq!(trace.len(), 3, "request, function, call: {trace:#?}");
        let function = one(&trace, "lookup");
        assert_parent(function, request);
        let call = one(&trace, "chat fake-small");
        assert_parent(call, function);
        assert_eq!(
            attributes(call)["gen_ai.usage.output_tokens"],
            Value::I64(9)
        );
    }
    // No new warning (the `log` records are the binary's, the first one still there).
    let expected = if cfg!(feature = "tracing") { 0 } else { 1 };
    assert_eq!(no_op_warnings(&capture).len(), expected);
}

/// The warnings about the no-op global provider: `tracing` events with the feature (the
/// subscriber took them), `log` records without it.
fn no_op_warnings(capture: &CaptureLayer) -> Vec<String> {
    const NEEDLE: &str = "global tracer provider is a no-op";
    if cfg!(feature = "tracing") {
        let events: Vec<_> = capture
            .events()
            .into_iter()
            .filter(|e| e.message.contains(NEEDLE))
            .collect();
        for event in &events {
            assert_eq!(event.level, tracing::Level::WARN);
            assert_eq!(event.target, "llm_trace_core::engine::tracer");
            assert!(event.explicit_root, "a diagnostic is no span's event");
        }
        events.into_iter().map(|e| e.message).collect()
    } else {
        assert!(capture.events().is_empty(), "{:#?}", capture.events());
        llm_trace_tests::logs::capture_logs().warnings_with(NEEDLE)
    }
}
