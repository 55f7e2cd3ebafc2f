//! Per-call overhead of llm-trace: one fake client call (in memory, no network) run plain,
//! and inside a `#[llm_trace]` function with no provider, as a sampled-out root, under a
//! sampled-out parent (usage counted, and not), and recorded by an SDK provider (simple processor, discarding exporter), next to the
//! same spans made by hand with the OpenTelemetry API (sampled out, and recorded).
//!
//! ```text
//! cargo bench -p llm-trace-tests --bench call_overhead
//! ```
//!
//! The traced cases include both spans: the function's and the call's. With llm-trace's
//! `tracing` feature (the tests crate's default), "no provider" includes the function's
//! disabled `tracing` callsite, and one more case records through a tracing-opentelemetry
//! layer (the function's span is then the layer's, adopted).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use llm_trace_tests::fake::FakeClient;
use llm_trace_tests::Discard;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

mod shared;

use shared::{plain, sampled_out_parent, traced, two_spans_by_hand};

fn overhead(c: &mut Criterion) {
    shared::price_the_fake_model();
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

    // Under a sampled-out parent no span is started: what remains is the usage count
    // (the call's two clock reads, its price and usage entry), and without it nothing.
    {
        let _parent = sampled_out_parent().attach();
        group.bench_function("traced, under a sampled-out parent", |b| {
            b.iter(|| traced(black_box(&client)))
        });
        let counting = llm_trace::Recorder::current();
        llm_trace::Recorder::update_global(|recorder| recorder.no_usage());
        group.bench_function("traced, under a sampled-out parent, usage off", |b| {
            b.iter(|| traced(black_box(&client)))
        });
        counting.set_global();
    }

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
        b.iter(|| two_spans_by_hand(&tracer, black_box(&client), |_| {}))
    });

    #[cfg(feature = "tracing")]
    {
        use tracing_subscriber::layer::SubscriberExt;
        let layer = tracing_opentelemetry::layer().with_tracer(recording.tracer("app"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            group.bench_function(
                "traced, recorded, through a tracing-opentelemetry layer",
                |b| b.iter(|| traced(black_box(&client))),
            );
        });
    }
    group.finish();

    llm_trace::clear_tracer_provider();
    let _ = recording.shutdown();
    let _ = sampled_out.shutdown();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
