//! Under a sampled-out function span, traced calls build no attributes and allocate
//! nothing; the function's own result is unchanged; and the dropped span is still current,
//! so the application's own spans under it are dropped too, as under any sampled-out span.

use llm_trace::{llm_trace, Recorder};
use llm_trace_tests::alloc_counter::allocations;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeOptions, FakeResponse};
use opentelemetry::trace::{
    SpanContext, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer, TracerProvider,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, Sampler, SamplingDecision, SamplingResult, SdkTracerProvider,
    ShouldSample,
};

#[llm_trace]
fn measured(client: &FakeClient) -> (u64, FakeResponse) {
    let before = allocations();
    let options = Some(FakeOptions {
        max_tokens: Some(5),
    });
    let response = client.chat(FakeModel, Vec::new(), options).unwrap();
    (allocations() - before, response)
}

#[llm_trace]
async fn measured_async(client: &FakeClient) -> (u64, FakeResponse) {
    let before = allocations();
    let response = client
        .chat_async(FakeModel, Vec::new(), None)
        .await
        .unwrap();
    (allocations() - before, response)
}

#[llm_trace]
fn whole_call(client: &FakeClient) -> FakeResponse {
    client.chat(FakeModel, Vec::new(), None).unwrap()
}

fn plain_call(client: &FakeClient) -> FakeResponse {
    client.chat(FakeModel, Vec::new(), None).unwrap()
}

/// Allocations of 100 runs of `work`, after one run to warm thread-locals up.
fn allocations_of_100(mut work: impl FnMut()) -> u64 {
    work();
    let before = allocations();
    for _ in 0..100 {
        work();
    }
    allocations() - before
}

/// Allocations of 100 runs of `work` per run of it, rounded up.
fn per_call(total: u64) -> u64 {
    total.div_ceil(100)
}

#[test]
fn sampled_out_functions_allocate_at_most_their_span_context() {
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .build();
    let recorder = Recorder::builder().tracer_provider(&provider).build();
    let client = FakeClient::new();
    let plain = allocations_of_100(|| {
        std::hint::black_box(plain_call(std::hint::black_box(&client)));
    });

    // A sampled-out root: the dropped span is made current (one `Context`), nothing else.
    let traced = recorder.in_scope(|| {
        allocations_of_100(|| {
            std::hint::black_box(whole_call(std::hint::black_box(&client)));
        })
    });
    assert!(
        per_call(traced) <= per_call(plain) + 1,
        "{traced} allocations for 100 calls (plain: {plain})"
    );

    // Under a sampled-out parent no span is started at all: nothing is added.
    let parent = SpanContext::new(
        TraceId::from(7),
        opentelemetry::trace::SpanId::from(9),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let _parent = Context::current().with_remote_span_context(parent).attach();
    let traced = recorder.in_scope(|| {
        allocations_of_100(|| {
            std::hint::black_box(whole_call(std::hint::black_box(&client)));
        })
    });
    assert_eq!(
        traced, plain,
        "the function span and the call added allocations"
    );
}

/// Drops the root spans of annotated functions named `whole_call`, records every other.
#[derive(Clone, Debug)]
struct DropWholeCall;

impl ShouldSample for DropWholeCall {
    fn should_sample(
        &self,
        _parent: Option<&Context>,
        _trace_id: TraceId,
        name: &str,
        _kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        let decision = if name == "whole_call" {
            SamplingDecision::Drop
        } else {
            SamplingDecision::RecordAndSample
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: TraceState::default(),
        }
    }
}

#[llm_trace]
fn with_own_span(client: &FakeClient, tracer: &opentelemetry_sdk::trace::SdkTracer) -> bool {
    let current = Context::map_current(|cx| cx.span().span_context().clone());
    tracer.in_span("nested_user_span", |_| {
        client.chat(FakeModel, Vec::new(), None).unwrap();
    });
    current.is_valid() && !current.is_sampled()
}

#[test]
fn the_applications_spans_under_a_sampled_out_function_are_dropped_too() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(DropWholeCall)))
        .with_simple_exporter(exporter.clone())
        .build();
    let recorder = Recorder::builder().tracer_provider(&provider).build();
    let tracer = provider.tracer("the application");
    let client = FakeClient::new();

    // Renamed so the sampler drops it: its span is a sampled-out root.
    #[llm_trace(name = "whole_call")]
    fn dropped(client: &FakeClient, tracer: &opentelemetry_sdk::trace::SdkTracer) -> bool {
        with_own_span(client, tracer)
    }

    let propagated = recorder.in_scope(|| dropped(&client, &tracer));
    assert!(
        propagated,
        "inside, the current span is the dropped one: valid, not sampled"
    );
    #[llm_trace(name = "whole_call")]
    async fn dropped_async(tracer: &opentelemetry_sdk::trace::SdkTracer) -> bool {
        tokio::task::yield_now().await;
        let current = Context::map_current(|cx| cx.span().span_context().clone());
        tracer.in_span("nested_user_span", |_| ());
        current.is_valid() && !current.is_sampled()
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(runtime.block_on(recorder.scope(dropped_async(&tracer))));

    let names: Vec<_> = exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .map(|span| span.name)
        .collect();
    assert!(
        names.is_empty(),
        "nothing under the sampled-out function records: {names:?}"
    );
}

#[test]
fn calls_under_a_sampled_out_span_allocate_nothing() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .with_simple_exporter(exporter.clone())
        .build();
    // This test's sampled-out provider, on this thread only.
    let recorder = Recorder::builder().tracer_provider(&provider).build();
    let client = FakeClient::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    // Usage is still counted when spans are sampled out: the first call of a model in a
    // function makes the recorder's entries for them (once), no later call allocates.
    let (first, _) = recorder.in_scope(|| measured(&client));
    let (allocated, response) = recorder.in_scope(|| measured(&client));
    assert_eq!(allocated, 0, "the first call allocated {first} times");
    assert_eq!(response.output_tokens, 9);

    runtime.block_on(recorder.scope(measured_async(&client)));
    let (allocated, response) = runtime.block_on(recorder.scope(measured_async(&client)));
    assert_eq!(allocated, 0);
    assert_eq!(response.output_tokens, 9);
    assert_eq!(recorder.usage().total().calls(), 4);

    // Without usage counting, not even the first call allocates.
    let untallied = Recorder::builder()
        .tracer_provider(&provider)
        .no_usage()
        .build();
    let (allocated, _) = untallied.in_scope(|| measured(&client));
    assert_eq!(allocated, 0);
    let (allocated, _) = runtime.block_on(untallied.scope(measured_async(&client)));
    assert_eq!(allocated, 0);

    assert!(exporter.get_finished_spans().unwrap().is_empty());
}
