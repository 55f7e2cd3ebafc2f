//! Per-call overhead of llm-trace: one fake client call (in memory, no network) run plain,
//! and inside a `#[llm_trace]` function with no provider, under a sampled-out parent,
//! and recorded by an SDK provider (simple processor, discarding exporter), next to the
//! same spans made by hand with the OpenTelemetry API (sampled out, and recorded).
//!
//! ```text
//! cargo bench -p llm-trace-tests --bench call_overhead
//! ```
//!
//! The traced cases include both spans: the function's and the call's.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use llm_trace::llm_trace;
use llm_trace::pricing::{ModelPrice, Price, PricingTable};
use llm_trace::provider::Operation;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeOptions, FakeResponse};
use llm_trace_tests::Discard;
use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

fn plain(client: &FakeClient) -> FakeResponse {
    let options = Some(FakeOptions {
        max_tokens: Some(64),
    });
    client.chat(FakeModel, vec!["hello"], options).unwrap()
}

#[llm_trace]
fn traced(client: &FakeClient) -> FakeResponse {
    let options = Some(FakeOptions {
        max_tokens: Some(64),
    });
    client.chat(FakeModel, vec!["hello"], options).unwrap()
}

fn code_attributes() -> [KeyValue; 3] {
    [
        KeyValue::new("code.function.name", "call_overhead::traced"),
        KeyValue::new("code.file.path", "benches/call_overhead.rs"),
        KeyValue::new("code.line.number", 30_i64),
    ]
}

fn request_attributes() -> Vec<KeyValue> {
    vec![
        KeyValue::new("gen_ai.operation.name", "chat"),
        KeyValue::new("gen_ai.provider.name", "fake_ai"),
        KeyValue::new("gen_ai.request.model", "fake-small"),
        KeyValue::new("gen_ai.request.max_tokens", 64_i64),
        KeyValue::new("server.address", String::from("fake.example")),
        KeyValue::new("server.port", 8443_i64),
    ]
}

fn response_attributes(response: &FakeResponse) -> [KeyValue; 3] {
    [
        KeyValue::new(
            "gen_ai.usage.input_tokens",
            i64::from(response.input_tokens),
        ),
        KeyValue::new(
            "gen_ai.usage.output_tokens",
            i64::from(response.output_tokens),
        ),
        KeyValue::new("gen_ai.usage.cost", 0.0000028),
    ]
}

fn overhead(c: &mut Criterion) {
    // Price the fake model, so the recorded case computes a cost as a real call does.
    let mut prices = PricingTable::builtin();
    prices.insert(
        Operation::Chat,
        "fake-small",
        ModelPrice {
            input: Price::per_million(0.10).unwrap(),
            output: Some(Price::per_million(0.30).unwrap()),
        },
    );
    llm_trace::Recorder::update_global(|recorder| recorder.pricing(prices));
    let client = FakeClient::new();
    let mut group = c.benchmark_group("one fake chat call");

    group.bench_function("plain call", |b| b.iter(|| plain(black_box(&client))));
    group.bench_function("traced, no provider", |b| {
        b.iter(|| traced(black_box(&client)))
    });

    let sampled_out = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .build();
    llm_trace::set_tracer_provider(&sampled_out);
    group.bench_function("traced, sampled out", |b| {
        b.iter(|| traced(black_box(&client)))
    });

    // The floor when sampled out: the SDK's own cost of deciding not to record a root
    // span (trace id, sampler, no-op span), made by hand around the plain call.
    let sampled_out_tracer = sampled_out.tracer("baseline");
    group.bench_function("baseline: one hand-made sampled-out SDK span", |b| {
        b.iter(|| {
            let function = sampled_out_tracer
                .span_builder("traced")
                .with_kind(SpanKind::Internal)
                .start(&sampled_out_tracer);
            let cx = Context::current_with_span(function);
            let _guard = cx.clone().attach();
            let response = plain(black_box(&client));
            cx.span().end();
            response
        })
    });

    // The simple processor exports every span synchronously: no span is dropped by a
    // full queue, so every iteration pays for its spans.
    let recording = SdkTracerProvider::builder()
        .with_simple_exporter(Discard)
        .build();
    llm_trace::set_tracer_provider(&recording);
    group.bench_function("traced, recorded", |b| {
        b.iter(|| traced(black_box(&client)))
    });

    // The floor: the same two spans built by hand with the OpenTelemetry API, with as
    // many attributes, around the plain call.
    let tracer = recording.tracer("baseline");
    group.bench_function("baseline: two hand-made SDK spans", |b| {
        b.iter(|| {
            let mut function = tracer
                .span_builder("traced")
                .with_kind(SpanKind::Internal)
                .start(&tracer);
            function.set_attributes(code_attributes());
            let cx = Context::current_with_span(function);
            let call = tracer
                .span_builder("chat fake-small")
                .with_kind(SpanKind::Client)
                .with_attributes(request_attributes())
                .start_with_context(&tracer, &cx);
            let response = plain(black_box(&client));
            let mut call = call;
            call.set_attributes(response_attributes(&response));
            call.end();
            cx.span().end();
            response
        })
    });
    group.finish();

    llm_trace::clear_tracer_provider();
    let _ = recording.shutdown();
    let _ = sampled_out.shutdown();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
