//! A `tracing` subscriber without an OpenTelemetry layer (say `tracing_subscriber::fmt`
//! beside `llm_trace::init()`): the subscriber sees events inside the function's
//! `tracing` span, and llm-trace exports its own function span, as without the feature.

use std::collections::BTreeMap;

use llm_trace::llm_trace;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeError, FakeModel, FakeResponse};
use llm_trace_tests::tracing_capture::CaptureLayer;
use llm_trace_tests::{assert_parent, attributes, attrs, one};
use opentelemetry::trace::SpanKind;
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;

use super::{assert_unique_keys, Pipeline};

/// The line of `fn summarise`.
const SUMMARISE_LINE: u32 = line!() + 2;
#[llm_trace(name = "summary", fields(gen_ai.conversation.id = session, turn = turn))]
fn summarise(client: &FakeClient, session: &str, turn: u32) -> Result<FakeResponse, FakeError> {
    tracing::info!("summarising");
    client.chat(FakeModel, vec!["hi"], None)
}

#[test]
fn events_land_in_the_functions_tracing_span_and_llm_trace_exports_its_own() {
    let pipeline = Pipeline::default();
    let capture = CaptureLayer::new();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        pipeline
            .recorder
            .in_scope(|| summarise(&FakeClient::new(), "c-9", 3))
            .unwrap();
    });

    let seen = capture.span("summary");
    assert_eq!(seen.target, "tracing::no_layer");
    assert_eq!(seen.level, Level::INFO);
    assert_eq!(
        seen.file.as_deref(),
        Some("tests/tests/tracing/no_layer.rs")
    );
    assert_eq!(seen.line, Some(SUMMARISE_LINE));
    assert_eq!(seen.parent, None);
    assert_eq!(
        seen.fields,
        BTreeMap::from([
            ("gen_ai.conversation.id".to_owned(), "\"c-9\"".to_owned()),
            ("turn".to_owned(), "3".to_owned()),
        ])
    );
    let event = capture
        .events()
        .into_iter()
        .find(|e| e.message == "summarising")
        .unwrap();
    assert_eq!(event.scope, ["summary"]);
    assert_eq!(event.target, "tracing::no_layer");

    // llm-trace's own span, exactly as without `tracing`.
    let spans = pipeline.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let function = one(&spans, "summary");
    assert_eq!(function.span_kind, SpanKind::Internal);
    assert_eq!(function.instrumentation_scope.name(), "llm-trace");
    assert_unique_keys(function);
    assert_eq!(
        attributes(function),
        attrs! {
            "code.function.name" => "tracing::no_layer::summarise",
            "code.file.path" => "tests/tests/tracing/no_layer.rs",
            "code.line.number" => i64::from(SUMMARISE_LINE),
            "gen_ai.conversation.id" => "c-9",
            "turn" => 3_i64,
            "llm_trace.total.calls" => 1_i64,
            "llm_trace.total.errors" => 0_i64,
            "llm_trace.total.input_tokens" => 1_i64,
            "llm_trace.total.output_tokens" => 9_i64,
            "llm_trace.total.calls_unpriced" => 1_i64,
        }
    );
    assert!(function.events.is_empty());
    assert_parent(one(&spans, "chat fake-small"), function);
}

#[test]
fn a_subscriber_that_skips_the_span_leaves_the_function_as_without_tracing() {
    let pipeline = Pipeline::default();
    let capture = CaptureLayer::new();
    let subscriber = tracing_subscriber::registry()
        .with(capture.clone())
        .with(tracing_subscriber::filter::LevelFilter::WARN);
    tracing::subscriber::with_default(subscriber, || {
        pipeline
            .recorder
            .in_scope(|| summarise(&FakeClient::new(), "c-10", 1))
            .unwrap();
    });
    assert!(capture.spans().is_empty());
    let spans = pipeline.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert_eq!(
        attributes(one(&spans, "summary"))["gen_ai.conversation.id"],
        "c-10".into()
    );
}
