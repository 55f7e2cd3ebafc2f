//! When the application installed its own global providers, annotated functions use them
//! without `init`, and `init` keeps them instead of silently replacing them.

use llm_trace::llm_trace;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

#[llm_trace]
fn work() -> u8 {
    7
}

#[test]
fn the_apps_global_provider_is_used_and_kept() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());

    assert_eq!(work(), 7);
    let names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        names,
        ["work"],
        "spans go to the app's provider without init()"
    );

    let telemetry = llm_trace::init().unwrap();
    assert!(
        telemetry.tracer_provider().is_none(),
        "init kept the app's provider"
    );
    assert_eq!(work(), 7);
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 2);
    telemetry.shutdown().unwrap();

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
    telemetry.shutdown().unwrap();
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 2);
    assert!(output.text().starts_with("work  "), "{}", output.text());
}
