//! Root spans under `init()`'s sampler: llm-trace decides them itself (sampled-out roots
//! cost no SDK span), exactly as the SDK's sampler would — the same trace ids recorded, the
//! application's spans under a dropped function dropped too, "not sampled" propagated, sync
//! and async — and a sampled-out root allocates only its span context.

use llm_trace::{llm_trace, Sampling};
use llm_trace_tests::alloc_counter::allocations;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeResponse};
use llm_trace_tests::otlp_receiver::OtlpReceiver;
use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt, TraceId, Tracer};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};

/// The span context current inside the function, after a call and a span of the
/// application's own.
#[llm_trace]
fn sampled_fn(client: &FakeClient, tracer: &opentelemetry_sdk::trace::SdkTracer) -> SpanContext {
    client.chat(FakeModel, Vec::new(), None).unwrap();
    tracer.in_span("app_span", |_| ());
    Context::map_current(|cx| cx.span().span_context().clone())
}

fn sdk_samples(sampler: &Sampler, trace_id: TraceId) -> bool {
    let result = sampler.should_sample(
        Some(&Context::new()),
        trace_id,
        "sampled_fn",
        &SpanKind::Internal,
        &[],
        &[],
    );
    result.decision == SamplingDecision::RecordAndSample
}

fn hex(trace_id: &[u8]) -> String {
    trace_id.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn roots_are_sampled_by_trace_id_as_the_sdk_samples_them() {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start();
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .sampler(Sampling::ParentBasedRatio(0.5))
        .max_queue_size(100_000)
        .init()
        .unwrap();
    let tracer = opentelemetry::trace::TracerProvider::tracer(
        telemetry.tracer_provider().unwrap(),
        "the application",
    );
    let client = FakeClient::new();
    let contexts: Vec<SpanContext> = (0..300).map(|_| sampled_fn(&client, &tracer)).collect();
    let usage = llm_trace::usage();
    assert!(telemetry.shutdown().is_clean());

    let rule = Sampler::TraceIdRatioBased(0.5);
    let mut sampled = Vec::new();
    for cx in &contexts {
        assert!(cx.is_valid() && !cx.is_remote());
        assert_eq!(
            cx.is_sampled(),
            sdk_samples(&rule, cx.trace_id()),
            "trace {} decided against the SDK's rule",
            cx.trace_id()
        );
        if cx.is_sampled() {
            sampled.push(cx.trace_id().to_string());
        }
    }
    // 300 fair draws: outside 90..210 happens less than once in a billion runs.
    assert!(
        (90..=210).contains(&sampled.len()),
        "{} of 300 sampled",
        sampled.len()
    );
    // Exactly the sampled traces were recorded: each with its function span, its call and
    // the application's span; nothing of the dropped ones.
    let spans = receiver.spans();
    for name in ["sampled_fn", "chat fake-small", "app_span"] {
        let mut traces: Vec<String> = spans
            .iter()
            .filter(|span| span.name == name)
            .map(|span| hex(&span.trace_id))
            .collect();
        traces.sort();
        let mut expected = sampled.clone();
        expected.sort();
        assert_eq!(traces, expected, "{name}");
    }
    assert_eq!(spans.len(), 3 * sampled.len());
    // Usage counts every call, sampled or not.
    assert_eq!(usage.total().calls(), 300);
}

#[llm_trace]
fn whole_call(client: &FakeClient) -> FakeResponse {
    client.chat(FakeModel, Vec::new(), None).unwrap()
}

fn plain_call(client: &FakeClient) -> FakeResponse {
    client.chat(FakeModel, Vec::new(), None).unwrap()
}

/// Allocations of 100 runs of `work`, after a few runs to warm thread-locals up.
fn allocations_of_100(mut work: impl FnMut()) -> u64 {
    for _ in 0..3 {
        work();
    }
    let before = allocations();
    for _ in 0..100 {
        work();
    }
    allocations() - before
}

/// `init()` exporting to a local receiver, with `sampler` and no metrics.
fn dropping_pipeline(sampler: Sampling) -> (OtlpReceiver, llm_trace::Telemetry) {
    let receiver = OtlpReceiver::start();
    let telemetry = llm_trace::builder()
        .otlp_endpoint(receiver.endpoint())
        .sampler(sampler)
        .disable_metrics(true)
        .init()
        .unwrap();
    (receiver, telemetry)
}

#[test]
fn a_sampled_out_root_allocates_only_its_span_context() {
    let _one = llm_trace_tests::exclusive();
    let (receiver, telemetry) = dropping_pipeline(Sampling::ParentBasedAlwaysOff);
    let client = FakeClient::new();
    let plain = allocations_of_100(|| {
        std::hint::black_box(plain_call(std::hint::black_box(&client)));
    });
    let traced = allocations_of_100(|| {
        std::hint::black_box(whole_call(std::hint::black_box(&client)));
    });
    // The function's dropped span context, in the `Context` it runs under: one each.
    assert_eq!(traced, plain + 100, "plain: {plain}, traced: {traced}");
    assert_eq!(llm_trace::usage().total().calls(), 103);
    assert!(telemetry.shutdown().is_clean());
    assert!(receiver.spans().is_empty());
}

#[llm_trace]
async fn sampled_async(
    client: &FakeClient,
    tracer: &opentelemetry_sdk::trace::SdkTracer,
) -> SpanContext {
    client
        .chat_async(FakeModel, Vec::new(), None)
        .await
        .unwrap();
    tokio::task::yield_now().await;
    tracer.in_span("app_span", |_| ());
    Context::map_current(|cx| cx.span().span_context().clone())
}

#[test]
fn an_async_function_dropped_by_llm_trace_runs_under_its_dropped_context() {
    let _one = llm_trace_tests::exclusive();
    let (receiver, telemetry) = dropping_pipeline(Sampling::AlwaysOff);
    let tracer = opentelemetry::trace::TracerProvider::tracer(
        telemetry.tracer_provider().unwrap(),
        "the application",
    );
    let client = FakeClient::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let first = runtime.block_on(sampled_async(&client, &tracer));
    let second = runtime.block_on(sampled_async(&client, &tracer));
    // Across its awaits, the function ran under a valid, not sampled span context of its
    // own: a new trace each time.
    for cx in [&first, &second] {
        assert!(cx.is_valid() && !cx.is_sampled() && !cx.is_remote());
    }
    assert_ne!(first.trace_id(), second.trace_id());
    assert_eq!(llm_trace::usage().total().calls(), 2);
    assert!(telemetry.shutdown().is_clean());
    assert!(receiver.spans().is_empty(), "nothing under it was recorded");
}
