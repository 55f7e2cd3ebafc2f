//! The OpenLIT dashboard, end to end: `init` exports over OTLP/HTTP to a loopback
//! receiver, the spans are turned into the rows the collector writes to ClickHouse, and
//! every LLM panel's query is run over them. With the compatibility keys (the default)
//! every panel fills; without them the spec keys are still there and the panels that
//! need the older keys stay empty.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::mistral_client;
use llm_trace_tests::otel_traces::{self, Row};
use llm_trace_tests::otlp_receiver::OtlpReceiver;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

fn question() -> Vec<ChatMessage> {
    vec![ChatMessage::new_user_message(
        "Who is the best French painter? Answer in one short sentence.",
    )]
}

/// A chat, a streamed chat and an embeddings call: three priced calls.
#[llm_trace]
async fn assistant_turn(client: &Client) -> Result<usize, ApiError> {
    client
        .chat_async(Model::MistralSmallLatest, question(), None)
        .await?;
    let stream = client
        .chat_stream(Model::MistralSmallLatest, question(), None)
        .await?;
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        item?;
    }
    let inputs = vec!["Embed this sentence.".into(), "As well as this one.".into()];
    let response = client
        .embeddings_async(EmbedModel::MistralEmbed, inputs, None)
        .await?;
    Ok(response.data.len())
}

/// A call the API refuses (429): its span is in ERROR, which the panels leave out.
#[llm_trace]
fn rate_limited(client: &Client) -> Result<(), ApiError> {
    client.chat(Model::MistralSmallLatest, question(), None)?;
    Ok(())
}

/// Runs both functions with `init` exporting to a receiver; the rows the collector writes.
fn dashboard_rows(builder: llm_trace::Builder) -> Vec<Row> {
    let _one = llm_trace_tests::exclusive();
    let receiver = OtlpReceiver::start();
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::ok().with_usage(11, 9));
    server.enqueue(Reply::ok().with_usage(11, 9));
    server.enqueue(Reply::ok());
    server.enqueue(Reply::status(429));
    let telemetry = builder
        .service_name("painter-bot")
        .environment("production")
        .otlp_endpoint(receiver.endpoint())
        .disable_metrics(true)
        .init()
        .unwrap();
    let client = mistral_client(&server);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(assistant_turn(&client)).unwrap(), 2);
    assert!(rate_limited(&client).is_err());
    drop(runtime);
    let report = telemetry.shutdown();
    assert!(report.is_clean(), "{report}");
    let rows = otel_traces::rows(&receiver.received());
    assert_eq!(rows.len(), 6, "{rows:#?}");
    rows
}

/// Costs as the UI shows them: rounded to 10 decimals.
fn usd(cost: f64) -> String {
    format!("{cost:.10}")
}

fn usd_map(costs: BTreeMap<String, f64>) -> BTreeMap<String, String> {
    costs.into_iter().map(|(k, v)| (k, usd(v))).collect()
}

fn map<V: Clone>(entries: &[(&str, V)]) -> BTreeMap<String, V> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The panels that read spec keys only: the same with and without the compatibility keys.
fn assert_spec_panels(rows: &[Row]) {
    // 3.8e-6 per chat (11 in, 9 out), 8e-7 for the embeddings (8 in); the failed call
    // and the function spans carry no cost.
    assert_eq!(usd(otel_traces::total_cost(rows)), "0.0000084000");
    assert_eq!(
        usd_map(otel_traces::cost_by_model(rows)),
        map(&[
            ("mistral-embed", "0.0000008000".to_owned()),
            ("mistral-small-latest", "0.0000076000".to_owned()),
        ])
    );
    assert_eq!(
        usd_map(otel_traces::cost_by_provider(rows)),
        map(&[("mistral_ai", "0.0000084000".to_owned())])
    );
    assert_eq!(
        usd_map(otel_traces::cost_by_application(rows)),
        map(&[("painter-bot", "0.0000084000".to_owned())])
    );
    assert_eq!(
        otel_traces::average_tokens(rows, otel_traces::PROMPT_TOKENS),
        Some((11.0 + 11.0 + 8.0) / 3.0)
    );
    assert_eq!(
        otel_traces::average_tokens(rows, otel_traces::COMPLETION_TOKENS),
        Some(9.0)
    );
    assert_eq!(
        otel_traces::count_by(rows, otel_traces::MODEL),
        map(&[("mistral-embed", 1), ("mistral-small-latest", 2)])
    );
    assert_eq!(
        otel_traces::count_by(rows, "gen_ai.operation.name"),
        map(&[("chat", 2), ("embeddings", 1)])
    );
    assert_eq!(
        otel_traces::count_by_provider(rows),
        map(&[("mistral_ai", 3)])
    );

    // The requests page: newest first, the failed call left out (its status is Error).
    let list: Vec<(&str, &str, &str, &str, &str)> = otel_traces::request_list(rows)
        .into_iter()
        .map(|row| {
            (
                row.span_name.as_str(),
                row.span(otel_traces::MODEL),
                row.span("gen_ai.request.stream"),
                row.span(otel_traces::COST),
                row.status_code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        list,
        [
            ("rate_limited", "", "", "", "Unset"),
            (
                "embeddings mistral-embed",
                "mistral-embed",
                "",
                "0.0000008",
                "Unset"
            ),
            (
                "chat mistral-small-latest",
                "mistral-small-latest",
                "true",
                "0.0000038",
                "Unset"
            ),
            (
                "chat mistral-small-latest",
                "mistral-small-latest",
                "",
                "0.0000038",
                "Unset"
            ),
            ("assistant_turn", "", "", "", "Unset"),
        ]
    );
    let failed: Vec<&Row> = rows.iter().filter(|r| r.status_code == "Error").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].span("error.type"), "429");
    assert_eq!(failed[0].status_message, "Mistral API answered HTTP 429");
    for row in rows {
        assert!(row.duration > 0, "{}", row.span_name);
        assert_eq!(row.service_name, "painter-bot");
        assert_eq!(row.resource("deployment.environment.name"), "production");
    }
}

#[test]
fn every_openlit_panel_fills_with_the_default_keys() {
    let rows = dashboard_rows(llm_trace::builder());
    assert_spec_panels(&rows);
    assert_eq!(
        usd_map(otel_traces::cost_by_environment(&rows)),
        map(&[("production", "0.0000084000".to_owned())])
    );
    // 20 per chat, 8 for the embeddings.
    assert_eq!(
        otel_traces::average_tokens(&rows, otel_traces::TOTAL_TOKENS),
        Some((20.0 + 20.0 + 8.0) / 3.0)
    );
    assert_eq!(otel_traces::tokens_summed(&rows), (48, 30, 18));
    for row in &rows {
        assert_eq!(row.resource("deployment.environment"), "production");
        assert!(!row.span_attributes.contains_key("openinference.span.kind"));
    }
}

#[test]
fn without_the_compatibility_keys_the_spec_keys_remain() {
    let rows = dashboard_rows(llm_trace::builder().openlit_compat(false));
    assert_spec_panels(&rows);
    for row in &rows {
        assert!(!row
            .resource_attributes
            .contains_key("deployment.environment"));
        assert!(!row
            .span_attributes
            .contains_key("gen_ai.usage.total_tokens"));
    }
    // What the compatibility keys are for: these panels stay empty (or 0) without them.
    assert_eq!(otel_traces::cost_by_environment(&rows), BTreeMap::new());
    assert_eq!(
        otel_traces::average_tokens(&rows, otel_traces::TOTAL_TOKENS),
        None
    );
    assert_eq!(otel_traces::tokens_summed(&rows), (0, 30, 18));
}

#[test]
fn with_openinference_function_spans_are_chains() {
    let rows = dashboard_rows(llm_trace::builder().openinference(true));
    let kinds: Vec<(&str, &str)> = otel_traces::request_list(&rows)
        .into_iter()
        .map(|row| (row.span_name.as_str(), row.span("openinference.span.kind")))
        .collect();
    assert_eq!(
        kinds,
        [
            ("rate_limited", "CHAIN"),
            ("embeddings mistral-embed", ""),
            ("chat mistral-small-latest", ""),
            ("chat mistral-small-latest", ""),
            ("assistant_turn", "CHAIN"),
        ]
    );
    let calls = rows
        .iter()
        .filter(|row| row.span_name != "assistant_turn" && row.span_name != "rate_limited");
    let function = |name: &str| rows.iter().find(|row| row.span_name == name).unwrap();
    for call in calls {
        let parent = if call.status_code == "Error" {
            function("rate_limited")
        } else {
            function("assistant_turn")
        };
        assert_eq!(call.parent_span_id, parent.span_id, "{}", call.span_name);
        assert_eq!(call.trace_id, parent.trace_id);
    }
}
