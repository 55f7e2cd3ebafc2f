//! llm-trace with `tracing`: the function span as a `tracing` span (feature `tracing`),
//! bridged with tracing-opentelemetry into one exported span; nesting both ways; a
//! provider given only to the layer; llm-trace's diagnostics through `tracing`.
//!
//! Most tests have their own tracer provider and in-memory exporter, their own subscriber
//! (the thread's default, or the future's) and their own llm-trace `Recorder` scope, so
//! they run in parallel. Tests of spawned work and of llm-trace's global configuration
//! record through the binary's global pipeline (`llm_trace_tests::capture`), each in its
//! own trace.

#[cfg(feature = "tracing")]
mod diagnostics;
#[cfg(feature = "tracing")]
mod layer;
#[cfg(feature = "tracing")]
mod no_layer;
mod provider_in_layer;
#[cfg(not(feature = "tracing"))]
mod without_the_feature;

use std::collections::BTreeSet;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;

use llm_trace_tests::tracing_capture::CaptureLayer;

/// Counts this thread's allocations (the binary's tests share the counting allocator).
#[global_allocator]
static ALLOCATOR: llm_trace_tests::alloc_counter::CountingAllocator =
    llm_trace_tests::alloc_counter::CountingAllocator;

/// A provider exporting to memory, its exporter, and a recorder taking spans from it.
pub struct Pipeline {
    pub provider: SdkTracerProvider,
    pub exporter: InMemorySpanExporter,
    pub recorder: llm_trace::Recorder,
}

impl Default for Pipeline {
    /// With the SDK's default sampler.
    fn default() -> Self {
        Pipeline::with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
    }
}

impl Pipeline {
    pub fn with_sampler(sampler: Sampler) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_simple_exporter(exporter.clone())
            .build();
        let recorder = llm_trace::Recorder::builder()
            .tracer_provider(&provider)
            .no_metrics()
            .build();
        Pipeline {
            provider,
            exporter,
            recorder,
        }
    }

    /// A subscriber with a tracing-opentelemetry layer on this provider, and `capture`.
    pub fn subscriber_with_layer(
        &self,
        capture: CaptureLayer,
    ) -> impl tracing::Subscriber + Send + Sync {
        layered(&self.provider, capture)
    }

    /// Every span exported so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap()
    }
}

/// A registry with a tracing-opentelemetry layer on `provider`, then `capture`.
fn layered(
    provider: &SdkTracerProvider,
    capture: CaptureLayer,
) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("app")))
        .with(capture)
}

/// A subscriber whose tracing-opentelemetry layer records into the binary's global
/// pipeline, the one llm-trace is given (`llm_trace::set_tracer_provider`).
pub fn subscriber_on_global_pipeline(
    capture: CaptureLayer,
) -> impl tracing::Subscriber + Send + Sync {
    layered(&llm_trace_tests::capture().provider, capture)
}

/// The spans of the trace of the one global-pipeline span named `name`.
pub fn global_trace_of(name: &str) -> Vec<SpanData> {
    let all = llm_trace_tests::capture()
        .exporter
        .get_finished_spans()
        .unwrap();
    let trace = llm_trace_tests::one(&all, name).span_context.trace_id();
    llm_trace_tests::spans(trace)
}

/// The global-pipeline spans named `name`.
pub fn global_spans_named(name: &str) -> Vec<SpanData> {
    let all = llm_trace_tests::capture()
        .exporter
        .get_finished_spans()
        .unwrap();
    all.into_iter().filter(|span| span.name == name).collect()
}

/// Asserts no attribute key appears twice on `span`.
pub fn assert_unique_keys(span: &SpanData) {
    let mut seen = BTreeSet::new();
    for attribute in &span.attributes {
        assert!(
            seen.insert(attribute.key.as_str()),
            "{} twice on {}: {:#?}",
            attribute.key,
            span.name,
            span.attributes
        );
    }
}
