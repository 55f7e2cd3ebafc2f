//! A second provider, declared outside llm-trace the way a provider crate would be, is
//! traced by the unchanged macro: spans, server address, errors, and pricing.

use llm_trace::pricing::{ModelPrice, Price, PricingTable};
use llm_trace::provider::Operation;
use llm_trace::{llm_trace, Recorder};
#[allow(unused_imports)]
use llm_trace_tests::fake::kinds::*;
use llm_trace_tests::fake::{FakeClient, FakeError, FakeModel, FakeOptions, FakeResponse};
use llm_trace_tests::logs::capture_logs;
use llm_trace_tests::{
    assert_parent, attributes, attrs, capture, error_type, in_trace, one, spans,
};
use opentelemetry::trace::SpanKind;

#[llm_trace]
fn ask(client: &FakeClient) -> Result<FakeResponse, FakeError> {
    client.chat(
        FakeModel,
        vec!["a", "b", "c"],
        Some(FakeOptions {
            max_tokens: Some(5),
        }),
    )
}

#[test]
fn unknown_model_gets_no_cost_and_one_warning_then_an_override_prices_it() {
    capture();
    let logs = capture_logs();
    let client = FakeClient::new();

    let (trace, result) = in_trace(|| {
        ask(&client).unwrap();
        ask(&client)
    });
    assert_eq!(result.unwrap().input_tokens, 3);
    let spans = spans(trace);
    assert_eq!(spans.len(), 4);
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "chat fake-small")
        .collect();
    for call in &calls {
        assert_eq!(call.span_kind, SpanKind::Client);
        assert_eq!(
            attributes(call),
            attrs! {
                "gen_ai.operation.name" => "chat",
                "gen_ai.provider.name" => "fake_ai",
                "gen_ai.request.model" => "fake-small",
                "gen_ai.request.max_tokens" => 5_i64,
                "server.address" => "fake.example",
                "server.port" => 8443_i64,
                "gen_ai.usage.input_tokens" => 3_i64,
                "gen_ai.usage.output_tokens" => 9_i64,
                "gen_ai.usage.total_tokens" => 12_i64,
            },
            "no gen_ai.usage.cost for an unknown model, never 0"
        );
    }
    let logged = logs.warnings_with("fake-small");
    assert_eq!(logged.len(), 1, "one warning for two calls: {logged:?}");

    // Price it: the next call carries a cost.
    let mut table = PricingTable::builtin();
    table.insert(
        Operation::Chat,
        "fake-small",
        ModelPrice {
            input: Price::per_million(1.0).unwrap(),
            output: Some(Price::per_million(2.0).unwrap()),
        },
    );
    let priced = Recorder::current().to_builder().pricing(table).build();
    let (trace, result) = priced.in_scope(|| in_trace(|| ask(&client)));
    result.unwrap();
    let priced = llm_trace_tests::spans(trace);
    let call = one(&priced, "chat fake-small");
    assert_eq!(attributes(call)["gen_ai.usage.cost"], 0.000021.into());
}

#[test]
fn errors_of_another_provider() {
    capture();
    let client = FakeClient {
        fail_with: Some(429),
        ..FakeClient::new()
    };
    let (trace, result) = in_trace(|| ask(&client));
    assert_eq!(result.unwrap_err(), FakeError { status: 429 });
    let spans = spans(trace);
    let call = one(&spans, "chat fake-small");
    assert_eq!(error_type(call).as_deref(), Some("429"));
    assert_parent(call, one(&spans, "ask"));
}
