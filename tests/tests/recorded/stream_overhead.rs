//! Per-chunk work of a traced stream allocates nothing: when its span records (after the
//! first chunk), and when only its usage is counted (under a sampled-out parent).

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use futures_util::Stream;
use llm_trace::llm_trace;
use llm_trace_tests::alloc_counter::allocations;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeOptions};
use llm_trace_tests::{attributes, capture, in_trace, one, spans};
use opentelemetry::trace::TraceContextExt;

/// Polls a ready-only stream to its end; returns the allocations made by the polls that
/// yielded the second item and later (not the last poll, which ends the span and may
/// allocate), and the number of items.
fn drain_counting(stream: impl Stream) -> (u64, usize) {
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    let mut items = 0;
    let mut after_first = 0;
    loop {
        let before = allocations();
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(_)) => {
                if items > 0 {
                    after_first += allocations() - before;
                }
                items += 1;
            }
            Poll::Ready(None) => break,
            Poll::Pending => unreachable!("the fake stream is always ready"),
        }
    }
    (after_first, items)
}

fn assert_unpin_send<T: Unpin + Send>(_: &T) {}

#[llm_trace]
async fn consume(client: &FakeClient, chunks: u32) -> (u64, usize) {
    let options = Some(FakeOptions {
        max_tokens: Some(chunks),
    });
    let stream = client
        .chat_stream(FakeModel, Vec::new(), options)
        .await
        .unwrap();
    // The wrapper is `Unpin` and `Send` because the fake client's stream is.
    assert_unpin_send(&stream);
    drain_counting(stream)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

#[test]
fn recording_streams_do_not_allocate_per_chunk() {
    capture();
    let client = FakeClient::new();
    let (trace, (allocated, items)) = in_trace(|| block_on(consume(&client, 200)));
    assert_eq!(items, 200);
    assert_eq!(allocated, 0, "allocations over 199 chunks");
    let spans = spans(trace);
    let chat = attributes(one(&spans, "chat fake-small"));
    assert_eq!(chat["llm_trace.stream.chunks"], 200_i64.into());
    assert_eq!(chat["gen_ai.usage.output_tokens"], 9_i64.into());
    assert_eq!(chat["gen_ai.request.stream"], true.into());
}

#[test]
fn streams_counted_only_for_usage_do_not_allocate() {
    let client = FakeClient::new();
    // Under a sampled-out parent neither the function nor the call gets a span, and this
    // binary installs no meter provider: only usage is counted.
    let sampled_out = opentelemetry::trace::SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes([7; 16]),
        opentelemetry::trace::SpanId::from_bytes([7; 8]),
        opentelemetry::trace::TraceFlags::default(),
        true,
        Default::default(),
    );
    let cx = opentelemetry::Context::new().with_remote_span_context(sampled_out);
    let _guard = cx.attach();
    capture();
    // Usage is counted under a sampled-out parent too: the first call makes the entries
    // of its model and function (once).
    block_on(consume(&client, 50));
    let before = allocations();
    let (allocated, items) = block_on(consume(&client, 50));
    assert_eq!(items, 50);
    assert_eq!(allocated, 0);
    assert_eq!(
        allocations() - before,
        0,
        "nothing at all under a sampled-out parent, once usage entries exist"
    );
}
