//! What the benches share: the fake call, plain and annotated, the fake model's price, and
//! the attributes the hand-made baselines set (as many as llm-trace records).

use llm_trace::llm_trace;
use llm_trace::pricing::PricingTable;
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeModel, FakeOptions, FakeResponse};
use opentelemetry::trace::{Span, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

/// The call, not annotated.
pub fn plain(client: &FakeClient) -> FakeResponse {
    let options = Some(FakeOptions {
        max_tokens: Some(64),
    });
    client.chat(FakeModel, vec!["hello"], options).unwrap()
}

/// The same call in an annotated function.
#[llm_trace]
pub fn traced(client: &FakeClient) -> FakeResponse {
    let options = Some(FakeOptions {
        max_tokens: Some(64),
    });
    client.chat(FakeModel, vec!["hello"], options).unwrap()
}

/// Prices the fake model in the global recorder, so traced calls compute a cost as a real
/// call does.
pub fn price_the_fake_model() {
    let prices = llm_trace_tests::fake::with_fake_price(PricingTable::builtin());
    llm_trace::Recorder::update_global(|recorder| recorder.pricing(prices));
}

/// The function span's attributes.
pub fn code_attributes() -> [KeyValue; 3] {
    [
        KeyValue::new("code.function.name", "shared::traced"),
        KeyValue::new("code.file.path", "benches/shared/mod.rs"),
        KeyValue::new("code.line.number", 22_i64),
    ]
}

/// The call span's attributes known before the call.
pub fn request_attributes() -> Vec<KeyValue> {
    vec![
        KeyValue::new("gen_ai.operation.name", "chat"),
        KeyValue::new("gen_ai.provider.name", "fake_ai"),
        KeyValue::new("gen_ai.request.model", "fake-small"),
        KeyValue::new("gen_ai.request.max_tokens", 64_i64),
        KeyValue::new("server.address", String::from("fake.example")),
        KeyValue::new("server.port", 8443_i64),
    ]
}

/// The call span's attributes from the response.
pub fn response_attributes(response: &FakeResponse) -> [KeyValue; 3] {
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

/// The floor: the plain call under the same two spans, made by hand with the OpenTelemetry
/// API with as many attributes; `after` runs once the call span has ended (to record
/// metrics by hand).
pub fn two_spans_by_hand<T>(
    tracer: &T,
    client: &FakeClient,
    after: impl FnOnce(&FakeResponse),
) -> FakeResponse
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    let mut function = tracer
        .span_builder("traced")
        .with_kind(SpanKind::Internal)
        .start(tracer);
    function.set_attributes(code_attributes());
    let cx = Context::current_with_span(function);
    let mut call = tracer
        .span_builder("chat fake-small")
        .with_kind(SpanKind::Client)
        .with_attributes(request_attributes())
        .start_with_context(tracer, &cx);
    let response = plain(client);
    call.set_attributes(response_attributes(&response));
    call.end();
    after(&response);
    cx.span().end();
    response
}

/// A context whose span is a remote, sampled-out parent: llm-trace starts no span under it.
#[allow(dead_code)] // not every bench has this case
pub fn sampled_out_parent() -> Context {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    let parent = SpanContext::new(
        TraceId::from(7),
        SpanId::from(9),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    Context::current().with_remote_span_context(parent)
}
