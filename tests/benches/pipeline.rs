//! What a user pays per traced call through the real `llm_trace::init()` pipeline: OTLP/HTTP
//! traces and metrics encoded and sent to a local receiver that discards them, next to the
//! same spans and histogram records made by hand with the OpenTelemetry API into the same
//! kind of pipeline. Each case is one fake client call (in memory, no network) inside an
//! annotated function: two spans (function and call) and four histogram records.
//!
//! ```text
//! cargo bench -p llm-trace-tests --bench pipeline
//! ```
//!
//! The times are the calling thread's; the export thread runs beside it.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use llm_trace::llm_trace;
use llm_trace::pricing::{ModelPrice, Price, PricingTable};
use llm_trace::provider::Operation;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeOptions, FakeResponse};
use llm_trace_tests::otlp_receiver::{Behaviour, OtlpReceiver};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};

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

fn price_the_fake_model() {
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
}

fn receiver() -> OtlpReceiver {
    let receiver = OtlpReceiver::start();
    receiver.set_behaviour(Behaviour {
        discard: true,
        ..Behaviour::default()
    });
    receiver
}

fn pipeline(c: &mut Criterion) {
    let client = FakeClient::new();
    let mut group = c.benchmark_group("one traced call under init()");
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("plain call", |b| b.iter(|| plain(black_box(&client))));
    group.bench_function("no provider", |b| b.iter(|| traced(black_box(&client))));

    let receiver = receiver();
    let builder = || {
        llm_trace::builder()
            .otlp_endpoint(receiver.endpoint())
            .max_queue_size(1_000_000)
            .metrics_interval(Duration::from_secs(1))
    };

    let telemetry = builder().init().unwrap();
    price_the_fake_model();
    group.bench_function("OTLP traces and metrics", |b| {
        b.iter(|| traced(black_box(&client)))
    });
    // The floor: the same two spans and four histogram records made by hand with the
    // OpenTelemetry API, into the same providers.
    let tracer = telemetry.tracer_provider().unwrap().tracer("baseline");
    let meter = telemetry.meter_provider().unwrap().meter("baseline");
    let duration = meter.f64_histogram("baseline.duration").build();
    let tokens = meter.u64_histogram("baseline.tokens").build();
    let cost = meter.f64_histogram("baseline.cost").build();
    let base = [
        KeyValue::new("gen_ai.operation.name", "chat"),
        KeyValue::new("gen_ai.provider.name", "fake_ai"),
        KeyValue::new("gen_ai.request.model", "fake-small"),
        KeyValue::new("server.address", "fake.example"),
        KeyValue::new("server.port", 8443_i64),
    ];
    let input = [
        base.as_slice(),
        &[KeyValue::new("gen_ai.token.type", "input")],
    ]
    .concat();
    let output = [
        base.as_slice(),
        &[KeyValue::new("gen_ai.token.type", "output")],
    ]
    .concat();
    group.bench_function("baseline: the same by hand", |b| {
        b.iter(|| {
            let mut function = tracer
                .span_builder("traced")
                .with_kind(SpanKind::Internal)
                .start(&tracer);
            function.set_attributes([
                KeyValue::new("code.function.name", "pipeline::traced"),
                KeyValue::new("code.file.path", "benches/pipeline.rs"),
                KeyValue::new("code.line.number", 36_i64),
            ]);
            let cx = Context::current_with_span(function);
            let mut call = tracer
                .span_builder("chat fake-small")
                .with_kind(SpanKind::Client)
                .with_attributes(base.clone())
                .start_with_context(&tracer, &cx);
            let response = plain(black_box(&client));
            call.set_attributes([
                KeyValue::new(
                    "gen_ai.usage.input_tokens",
                    i64::from(response.input_tokens),
                ),
                KeyValue::new(
                    "gen_ai.usage.output_tokens",
                    i64::from(response.output_tokens),
                ),
                KeyValue::new("gen_ai.usage.cost", 0.0000028),
            ]);
            call.end();
            duration.record(0.001, &base);
            cost.record(0.0000028, &base);
            tokens.record(u64::from(response.input_tokens), &input);
            tokens.record(u64::from(response.output_tokens), &output);
            cx.span().end();
            response
        })
    });
    drop(telemetry);

    let telemetry = builder().disable_metrics(true).init().unwrap();
    price_the_fake_model();
    group.bench_function("OTLP traces, metrics disabled", |b| {
        b.iter(|| traced(black_box(&client)))
    });
    drop(telemetry);

    let telemetry = builder()
        .sampler(llm_trace::Sampling::ParentBasedAlwaysOff)
        .disable_metrics(true)
        .init()
        .unwrap();
    group.bench_function("sampled out, metrics disabled", |b| {
        b.iter(|| traced(black_box(&client)))
    });
    drop(telemetry);
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
