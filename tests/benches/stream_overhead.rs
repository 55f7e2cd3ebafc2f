//! Per-chunk overhead of a traced stream: draining an in-memory stream of fake chunks
//! (no network) raw, and wrapped by llm-trace with its span recording or unobserved.
//!
//! ```text
//! cargo bench -p llm-trace-tests --bench stream_overhead
//! ```
//!
//! Each case runs with 1 and with 1000 chunks; the per-chunk overhead is
//! ((wrapped 1000 - wrapped 1) - (raw 1000 - raw 1)) / 999.

use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use futures_util::Stream;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeOptions};
use llm_trace_tests::Discard;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry_sdk::trace::SdkTracerProvider;

fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn drain(stream: impl Stream) -> usize {
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    let mut items = 0;
    while let Poll::Ready(Some(item)) = stream.as_mut().poll_next(&mut cx) {
        black_box(item);
        items += 1;
    }
    items
}

fn options(chunks: u32) -> Option<FakeOptions> {
    Some(FakeOptions {
        max_tokens: Some(chunks),
    })
}

fn raw(client: &FakeClient, chunks: u32) -> usize {
    let stream = ready(client.chat_stream(FakeModel, Vec::new(), options(chunks))).unwrap();
    drain(stream)
}

fn traced(client: &FakeClient, chunks: u32) -> usize {
    let stream = ready(llm_trace::traced!(client.chat_stream(
        FakeModel,
        Vec::new(),
        options(chunks)
    )))
    .unwrap();
    drain(stream)
}

fn per_chunk(c: &mut Criterion) {
    let client = FakeClient::new();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(Discard)
        .build();
    llm_trace::set_tracer_provider(&provider);

    let mut group = c.benchmark_group("stream of fake chunks");
    for chunks in [1u32, 1000] {
        group.bench_with_input(BenchmarkId::new("raw", chunks), &chunks, |b, &n| {
            b.iter(|| raw(black_box(&client), n))
        });
        group.bench_with_input(
            BenchmarkId::new("traced, recording", chunks),
            &chunks,
            |b, &n| b.iter(|| traced(black_box(&client), n)),
        );
        // Under a sampled-out parent nothing observes the stream.
        let sampled_out = SpanContext::new(
            TraceId::from_bytes([7; 16]),
            SpanId::from_bytes([7; 8]),
            TraceFlags::default(),
            true,
            Default::default(),
        );
        let cx = opentelemetry::Context::new().with_remote_span_context(sampled_out);
        let guard = cx.attach();
        group.bench_with_input(
            BenchmarkId::new("traced, unobserved", chunks),
            &chunks,
            |b, &n| b.iter(|| traced(black_box(&client), n)),
        );
        drop(guard);
    }
    group.finish();
    llm_trace::clear_tracer_provider();
    let _ = provider.shutdown();
}

criterion_group!(benches, per_chunk);
criterion_main!(benches);
