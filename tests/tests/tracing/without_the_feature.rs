//! Without llm-trace's `tracing` feature, with a tracing-opentelemetry layer: llm-trace's
//! function span nests under the `tracing` span, but is invisible to `tracing` — events
//! written in the function land on the enclosing `tracing` span. (What the feature fixes.)

use llm_trace::llm_trace;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeError, FakeModel, FakeResponse};
use llm_trace_tests::tracing_capture::CaptureLayer;
use llm_trace_tests::{assert_parent, one};

use super::Pipeline;

#[llm_trace]
fn summarise(client: &FakeClient) -> Result<FakeResponse, FakeError> {
    tracing::info!("summarising");
    client.chat(FakeModel, vec!["hi"], None)
}

#[test]
fn events_in_the_function_land_on_the_enclosing_tracing_span() {
    let pipeline = Pipeline::default();
    let capture = CaptureLayer::new();
    tracing::subscriber::with_default(pipeline.subscriber_with_layer(capture.clone()), || {
        let request = tracing::info_span!("request");
        let _entered = request.enter();
        pipeline
            .recorder
            .in_scope(|| summarise(&FakeClient::new()))
            .unwrap();
    });
    let spans = pipeline.spans();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let request = one(&spans, "request");
    let function = one(&spans, "summarise");
    assert_parent(function, request);
    assert_parent(one(&spans, "chat fake-small"), function);
    assert!(function.events.is_empty());
    assert_eq!(request.events.len(), 1);
    assert_eq!(
        capture.spans().len(),
        1,
        "only the request is a tracing span"
    );
}
