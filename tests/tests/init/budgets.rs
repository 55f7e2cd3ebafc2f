//! `init` with usage keys and budgets: `llm_trace::usage()` and the alerts of the installed
//! recorder, and nothing counted when llm-trace is disabled.

use std::sync::{Arc, Mutex};

use llm_trace::budget::BudgetKind;
use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use llm_trace_tests::{mistral_client, SharedBuffer};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use mistralai_client::v1::error::ApiError;

#[llm_trace(fields(user.id = user))]
fn ask_for(client: &Client, user: &str) -> Result<(), ApiError> {
    let question = vec![ChatMessage::new_user_message(
        "Who is the best French painter?",
    )];
    client.chat(Model::MistralSmallLatest, question, None)?;
    Ok(())
}

#[test]
fn init_counts_usage_by_key_and_alerts_on_budgets() {
    let _one = llm_trace_tests::exclusive();
    let server = MockServer::start().unwrap();
    server.set_default_reply(Reply::ok().with_usage(11, 9));
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&alerts);
    let output = SharedBuffer::default();
    let telemetry = llm_trace::builder()
        .console_writer(output.clone())
        .usage_key("user.id")
        .budget_per_call_usd(0.000003)
        .budget_total_usd(0.00001)
        .on_budget_exceeded(move |alert| seen.lock().unwrap().push(alert.kind()))
        .init()
        .unwrap();
    let client = mistral_client(&server);
    for user in ["alice", "bob", "alice"] {
        ask_for(&client, user).unwrap();
    }
    let usage = llm_trace::usage();
    assert_eq!(usage.total().calls(), 3);
    assert_eq!(
        usage.total().cost_femto_usd(),
        Some(3 * 3_800_000_000),
        "$0.0000114"
    );
    let users = usage.key("user.id").unwrap();
    assert_eq!(users.get("alice").unwrap().calls(), 2);
    assert_eq!(users.get("bob").unwrap().calls(), 1);
    assert_eq!(
        usage
            .functions()
            .get("init::budgets::ask_for")
            .unwrap()
            .calls(),
        3
    );
    assert_eq!(
        *alerts.lock().unwrap(),
        [
            BudgetKind::Call,
            BudgetKind::Call,
            BudgetKind::Call,
            BudgetKind::Total
        ]
    );
    assert!(llm_trace::budget_status().total().unwrap().exceeded());
    assert!(telemetry.shutdown().is_clean());
    let text = output.text();
    assert!(
        text.contains("  total: 3 calls, tokens 33 in / 27 out, cost $0.0000114\n"),
        "{text}"
    );
    assert!(
        text.contains("    init::budgets::ask_for: 3 calls, cost $0.0000114\n"),
        "{text}"
    );
}

#[test]
fn nothing_is_counted_when_llm_trace_is_disabled() {
    let _one = llm_trace_tests::exclusive();
    let server = MockServer::start().unwrap();
    let telemetry = llm_trace::builder()
        .sdk_disabled(true)
        .budget_per_call_usd(0.0)
        .init()
        .unwrap();
    ask_for(&mistral_client(&server), "alice").unwrap();
    assert_eq!(llm_trace::usage().total().calls(), 0);
    assert!(!llm_trace::budget_status().any_exceeded());
    drop(telemetry);
}
