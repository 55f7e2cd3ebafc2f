//! When the application installed its own global providers, annotated functions use them
//! without `init`, and `init` keeps them instead of silently replacing them.

use llm_trace::llm_trace;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

#[llm_trace]
fn work() -> u8 {
    FakeClient::new()
        .chat(FakeModel, vec!["one", "two"], None)
        .map_or(0, |response| response.output_tokens as u8 - 2)
}

#[test]
fn the_apps_global_provider_is_used_and_kept() {
    let _one = llm_trace_tests::exclusive();
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let metrics = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(meters.clone());

    assert_eq!(work(), 7);
    let names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        names,
        ["chat fake-small", "work"],
        "spans go to the app's provider without init()"
    );
    meters.force_flush().unwrap();
    let exported = metrics.get_finished_metrics().unwrap();
    let metric_names: Vec<String> = exported
        .last()
        .unwrap()
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .map(|metric| metric.name().to_owned())
        .collect();
    assert!(
        metric_names.contains(&"gen_ai.client.operation.duration".to_owned()),
        "metrics go to the app's meter provider: {metric_names:?}"
    );

    let telemetry = llm_trace::init().unwrap();
    assert!(
        telemetry.tracer_provider().is_none(),
        "init kept the app's provider"
    );
    assert_eq!(work(), 7);
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 4);
    assert!(telemetry.shutdown().is_clean());

    // Asked explicitly, init replaces it.
    let output = llm_trace_tests::SharedBuffer::default();
    let telemetry = llm_trace::builder()
        .replace_global_providers(true)
        .console_writer(output.clone())
        .disable_metrics(true)
        .init()
        .unwrap();
    assert!(telemetry.tracer_provider().is_some());
    assert_eq!(work(), 7);
    assert!(telemetry.shutdown().is_clean());
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 4);
    assert!(output.text().starts_with("work  "), "{}", output.text());
}
