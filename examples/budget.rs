//! llm-trace budgets: two conversations of growing questions cross a per-turn budget, a
//! per-conversation budget and a slow-call threshold — each alert is printed as it fires —
//! and the loop stops asking once the hourly budget is spent, checking
//! `llm_trace::budget_status()` before each turn. Each alert also goes to the log — here
//! standard error, as no logger is set — at most once a minute per kind of budget. At the
//! end: what each conversation cost, from `llm_trace::usage()`, and the console summary
//! with the grand total and the top functions.
//!
//! ```text
//! cargo run --example budget
//! ```
//!
//! Without `MISTRAL_API_KEY` it runs against llm-trace's local Mistral-compatible server
//! (which counts words as tokens, and answers one turn slowly); with the key it asks the
//! real API, for a few thousandths of a cent.

use std::error::Error;
use std::time::Duration;

use llm_trace::{ExporterKind, llm_trace};
use llm_trace_mistral::testing::Reply;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use mistralai_client::v1::error::ApiError;

// The quickstart's client setup (its annotated function is not used here).
#[allow(dead_code)]
mod shared;

use shared::connect;

/// One turn: the conversation so far and the new question, answered. Alerts when one
/// turn's calls cost more than $0.0002.
#[llm_trace(budget_usd = 0.0002, fields(gen_ai.conversation.id = conversation))]
fn turn(
    client: &Client,
    conversation: &str,
    history: &mut Vec<ChatMessage>,
    question: &str,
) -> Result<String, ApiError> {
    history.push(ChatMessage::new_user_message(question));
    let response = client.chat(Model::MistralLargeLatest, history.clone(), None)?;
    let answer = response.choices[0].message.content.clone();
    history.push(ChatMessage::new_assistant_message(&answer, None));
    Ok(answer)
}

fn main() -> Result<(), Box<dyn Error>> {
    let telemetry = llm_trace::builder()
        // Only the metrics summary on the console, not every span.
        .traces_exporter(ExporterKind::None)
        .budget_per_key_usd("gen_ai.conversation.id", 0.0005)
        .budget_per_hour_usd(0.001)
        .latency_alert("*", Duration::from_millis(500))
        .on_budget_exceeded(|alert| println!("  ALERT {alert}"))
        .init()?;
    let (client, server) = connect()?;
    if let Some(server) = &server {
        // The local server answers the fifth question slowly.
        for _ in 0..4 {
            server.enqueue(Reply::ok());
        }
        server.enqueue(Reply::ok().with_delay(Duration::from_millis(700)));
    }

    let questions = [
        "Who is the best French painter?",
        "And which of his paintings should I see first?",
        "Where is it shown, and when is the museum open?",
        "How do I get there from the Gare de Lyon by metro?",
    ];
    'conversations: for conversation in ["museum-trip", "second-opinion"] {
        let mut history = Vec::new();
        for question in questions {
            // Ask before calling: alerts never stop a call, the program decides.
            let status = llm_trace::budget_status();
            let hour = status.window(Duration::from_secs(3600));
            if let Some(hour) = hour.filter(|hour| hour.exceeded()) {
                println!(
                    "Stopping: ${} spent in the last hour, over the ${} budget.",
                    hour.spent_usd(),
                    hour.limit_usd()
                );
                break 'conversations;
            }
            println!("[{conversation}] {question}");
            turn(&client, conversation, &mut history, question)?;
        }
    }

    let usage = llm_trace::usage();
    println!(
        "{} calls, ${} in total",
        usage.total().calls(),
        usage.total().cost_usd().unwrap_or(0.0)
    );
    if let Some(conversations) = usage.key("gen_ai.conversation.id") {
        for (conversation, totals) in conversations.values() {
            println!(
                "  {conversation}: {} calls, {} tokens in, {} out, ${}, p95 {:?}",
                totals.calls(),
                totals.input_tokens(),
                totals.output_tokens(),
                totals.cost_usd().unwrap_or(0.0),
                totals.latency_p95().unwrap_or_default()
            );
        }
    }
    telemetry.shutdown();
    Ok(())
}
