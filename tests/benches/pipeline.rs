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
use llm_trace_tests::fake::FakeClient;
use llm_trace_tests::otlp_receiver::{Behaviour, OtlpReceiver};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;

mod shared;

use shared::{plain, price_the_fake_model, request_attributes, traced, two_spans_by_hand};

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
    // The metric attributes: the request's, without the parameters.
    let base: Vec<KeyValue> = request_attributes()
        .into_iter()
        .filter(|attribute| attribute.key.as_str() != "gen_ai.request.max_tokens")
        .collect();
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
            two_spans_by_hand(&tracer, black_box(&client), |response| {
                duration.record(0.001, &base);
                cost.record(0.0000028, &base);
                tokens.record(u64::from(response.input_tokens), &input);
                tokens.record(u64::from(response.output_tokens), &output);
            })
        })
    });
    drop(telemetry);

    let telemetry = builder().disable_metrics(true).init().unwrap();
    price_the_fake_model();
    group.bench_function("OTLP traces, metrics disabled", |b| {
        b.iter(|| traced(black_box(&client)))
    });
    drop(telemetry);

    // The same with the usage report collecting every span (written at the drop).
    let report = std::env::temp_dir().join(format!("llm-trace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&report).unwrap();
    let telemetry = builder()
        .disable_metrics(true)
        .report(report.join("usage.html"))
        .init()
        .unwrap();
    price_the_fake_model();
    group.bench_function("OTLP traces, metrics disabled, usage report", |b| {
        b.iter(|| traced(black_box(&client)))
    });
    drop(telemetry);
    let _ = std::fs::remove_dir_all(&report);

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
