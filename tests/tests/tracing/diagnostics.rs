//! llm-trace's own diagnostics with the `tracing` feature: `tracing` events when a
//! subscriber takes them, never events of the application's spans. (Without a
//! subscriber they are `log` records: the `recorded` and `init` binaries, which run with
//! the feature and no subscriber, check those. Not here: `tracing` caches a callsite's
//! interest from the registering thread's subscriber alone when at most one other is
//! alive, so a thread without one would turn this binary's diagnostics off for all.)

use llm_trace::budget::Budgets;
use llm_trace::content::ContentPolicy;
use llm_trace::llm_trace;
use llm_trace::pricing::PricingTable;
use llm_trace::CaptureMode;
use llm_trace_mistral::testing::MockServer;
use llm_trace_tests::logs::capture_logs;
use llm_trace_tests::tracing_capture::CaptureLayer;
use llm_trace_tests::{attributes, mistral_client, one};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use opentelemetry::trace::Status;
use opentelemetry::Value;
use tracing::Level;

use super::Pipeline;

#[llm_trace]
fn embed(client: &Client) -> usize {
    let inputs = vec!["Embed this sentence.".to_string()];
    client
        .embeddings(EmbedModel::MistralEmbed, inputs, None)
        .map_or(0, |response| response.data.len())
}

#[llm_trace]
fn ask(client: &Client) -> bool {
    let question = vec![ChatMessage::new_user_message("Is this call over budget?")];
    client
        .chat(Model::MistralSmallLatest, question, None)
        .is_ok()
}

#[test]
fn diagnostics_are_root_tracing_events_not_events_of_the_traced_spans() {
    let logs = capture_logs();
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    let pipeline = Pipeline::default();
    // No prices (a warning), and a redaction hook that panics (an error).
    let recorder = pipeline
        .recorder
        .to_builder()
        .pricing(PricingTable::empty())
        .capture_content(CaptureMode::SpanOnly)
        .content_policy(ContentPolicy::new().redactor(|_| panic!("the hook fails")))
        .build();
    let capture = CaptureLayer::events_from("llm_trace");
    tracing::subscriber::with_default(pipeline.subscriber_with_layer(capture.clone()), || {
        assert_eq!(recorder.in_scope(|| embed(&client)), 1);
    });

    let events = capture.events();
    assert_eq!(events.len(), 2, "{events:#?}");
    let error = &events[0];
    assert_eq!(error.level, Level::ERROR);
    assert_eq!(error.target, "llm_trace_core::content::policy");
    assert!(error
        .message
        .contains("the content redaction hook panicked"));
    let warning = &events[1];
    assert_eq!(warning.level, Level::WARN);
    assert_eq!(warning.target, "llm_trace_core::pricing");
    assert_eq!(
        warning.message,
        "llm-trace: no price for embeddings model `mistral-embed`; its calls get no \
         gen_ai.usage.cost. Add it to a pricing override to get costs."
    );
    for event in &events {
        assert!(event.explicit_root, "{event:?}");
        assert!(event.scope.is_empty(), "{event:?}");
    }

    // The application's trace is not marked by them: the function span (the layer's) has
    // no event and no ERROR status.
    let spans = pipeline.spans();
    let function = one(&spans, "embed");
    assert!(function.events.is_empty(), "{:#?}", function.events);
    assert_eq!(function.status, Status::Unset);
    let call = one(&spans, "embeddings mistral-embed");
    assert_eq!(
        attributes(call)["llm_trace.content.redaction_failed"],
        Value::Bool(true)
    );
    // And `log` did not get them as well.
    let from_llm_trace: Vec<String> = logs
        .lines()
        .into_iter()
        .filter(|line| line.contains(" llm_trace"))
        .filter(|line| line.contains("mistral-embed") || line.contains("redaction hook"))
        .collect();
    assert_eq!(from_llm_trace, Vec::<String>::new());
}

#[test]
fn budget_warnings_are_root_tracing_events_too() {
    let server = MockServer::start().unwrap();
    let client = mistral_client(&server);
    let pipeline = Pipeline::default();
    let recorder = pipeline
        .recorder
        .to_builder()
        .budgets(Budgets::new().per_call_usd(0.000_000_001).unwrap())
        .build();
    let capture = CaptureLayer::events_from("llm_trace");
    tracing::subscriber::with_default(pipeline.subscriber_with_layer(capture.clone()), || {
        assert!(recorder.in_scope(|| ask(&client)));
    });

    let events = capture.events();
    let warning = events
        .iter()
        .find(|event| event.message.starts_with("llm-trace: budget exceeded"))
        .unwrap_or_else(|| panic!("no budget warning: {events:#?}"));
    assert_eq!(warning.level, Level::WARN);
    assert_eq!(warning.target, "llm_trace_core::engine::accounting");
    assert!(warning.explicit_root, "{warning:?}");
    assert!(warning.scope.is_empty(), "{warning:?}");
    // The spans get the alert as llm-trace's own `llm_trace.budget.exceeded` event, not
    // the warning's text.
    for span in pipeline.spans() {
        for event in span.events.iter() {
            assert!(
                !event.name.starts_with("llm-trace:"),
                "{}: {:?}",
                span.name,
                event.name
            );
        }
    }
}
