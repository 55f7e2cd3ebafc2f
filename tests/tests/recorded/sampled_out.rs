//! Under a sampled-out function span, traced calls build no attributes and allocate
//! nothing; the function's own result is unchanged.

use llm_trace::{llm_trace, Recorder};
use llm_trace_tests::alloc_counter::allocations;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeOptions, FakeResponse};
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider};

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

#[test]
fn sampled_out_functions_allocate_what_the_plain_function_does() {
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .build();
    let recorder = Recorder::builder().tracer_provider(&provider).build();
    let client = FakeClient::new();
    let (traced, plain) = recorder.in_scope(|| {
        let traced = allocations_of_100(|| {
            std::hint::black_box(whole_call(std::hint::black_box(&client)));
        });
        let plain = allocations_of_100(|| {
            std::hint::black_box(plain_call(std::hint::black_box(&client)));
        });
        (traced, plain)
    });
    assert_eq!(
        traced, plain,
        "the function span and the call added allocations"
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

    let (allocated, response) = recorder.in_scope(|| measured(&client));
    assert_eq!(allocated, 0);
    assert_eq!(response.output_tokens, 9);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (allocated, response) = runtime.block_on(recorder.scope(measured_async(&client)));
    assert_eq!(allocated, 0);
    assert_eq!(response.output_tokens, 9);

    assert!(exporter.get_finished_spans().unwrap().is_empty());
}
