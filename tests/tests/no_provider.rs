//! With no tracer provider installed, annotated functions and their calls create no span
//! and allocate nothing (after llm-trace has seen that the global provider is a no-op) —
//! also with llm-trace's `tracing` feature (the tests crate's default), without a `tracing`
//! subscriber or under one that does not want the function's span.

use llm_trace::llm_trace;
use llm_trace_mistral::testing::MockServer;
use llm_trace_tests::alloc_counter::{allocations, CountingAllocator};
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeResponse};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[llm_trace]
fn traced_fake(client: &FakeClient) -> FakeResponse {
    client.chat(FakeModel, Vec::new(), None).unwrap()
}

fn untraced_fake(client: &FakeClient) -> FakeResponse {
    client.chat(FakeModel, Vec::new(), None).unwrap()
}

#[llm_trace]
fn current_span_is_valid() -> bool {
    Context::map_current(|cx| cx.span().span_context().is_valid())
}

/// Allocations of `work`, retried a few times: llm-trace asks the global provider again
/// once a second, and that one look-up may allocate.
fn allocations_of(mut work: impl FnMut()) -> u64 {
    let mut best = u64::MAX;
    for _ in 0..3 {
        work(); // warm up: learn that the global provider is a no-op
        let before = allocations();
        for _ in 0..100 {
            work();
        }
        best = best.min(allocations() - before);
        if best == 0 {
            break;
        }
    }
    best
}

#[test]
fn annotated_functions_allocate_nothing_without_a_provider() {
    let client = FakeClient::new();
    assert_eq!(traced_fake(&client), untraced_fake(&client));
    let traced = allocations_of(|| {
        std::hint::black_box(traced_fake(std::hint::black_box(&client)));
    });
    assert_eq!(traced, 0, "100 traced calls allocated {traced} times");
}

#[test]
fn annotated_functions_allocate_nothing_under_a_subscriber_that_skips_their_spans() {
    use tracing_subscriber::layer::SubscriberExt;
    // Spans at INFO (the function's) are not wanted: the callsite is disabled.
    let subscriber =
        tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::WARN);
    let _default = tracing::subscriber::set_default(subscriber);
    let client = FakeClient::new();
    let traced = allocations_of(|| {
        std::hint::black_box(traced_fake(std::hint::black_box(&client)));
    });
    assert_eq!(traced, 0, "100 traced calls allocated {traced} times");
}

#[test]
fn no_span_is_created_without_a_provider() {
    assert!(!current_span_is_valid());
    let server = MockServer::start().unwrap();
    let client = Client::new(Some("k".into()), Some(server.endpoint()), Some(0), None).unwrap();

    #[llm_trace]
    fn ask(client: &Client) -> bool {
        let answer = client.chat(
            Model::MistralSmallLatest,
            vec![ChatMessage::new_user_message("hi")],
            None,
        );
        answer.is_ok() && !Context::map_current(|cx| cx.span().span_context().is_valid())
    }

    assert!(ask(&client), "the call worked and ran outside any span");
    assert_eq!(server.requests().len(), 1);
}
