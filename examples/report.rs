//! llm-trace usage report: a small support bot answers tickets — triage with a small
//! model, a reply drafted with a large one from documents found by embeddings, a
//! streamed digest now and then, a few rate-limited calls — and at shutdown llm-trace
//! writes the usage report.
//!
//! ```text
//! cargo run --example report                                   # writes usage.html and usage.json
//! LLM_TRACE_REPORT=target/report/usage.html cargo run --example report
//! ```
//!
//! It runs against llm-trace's local Mistral-compatible server, with the latencies and
//! token counts of a plausible day (no key needed, nothing leaves the machine).

use std::error::Error;
use std::time::Duration;

use futures_util::StreamExt;
use llm_trace::{ExporterKind, llm_trace};
use llm_trace_mistral::testing::{MockServer, Reply};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

/// Picks the ticket's queue with a small, cheap model.
#[llm_trace]
async fn triage(client: &Client, ticket: &str) -> Result<String, ApiError> {
    let messages = vec![ChatMessage::new_user_message(&format!(
        "Which queue (billing, bug, question) is this ticket for? {ticket}"
    ))];
    let answer = client
        .chat_async(Model::OpenMistralNemo, messages, None)
        .await?;
    Ok(answer.choices[0].message.content.clone())
}

/// Finds the help-centre articles closest to the ticket.
#[llm_trace]
async fn find_articles(client: &Client, ticket: &str) -> Result<usize, ApiError> {
    let found = client
        .embeddings_async(EmbedModel::MistralEmbed, vec![ticket.to_owned()], None)
        .await?;
    Ok(found.data.len())
}

/// Drafts the reply with the large model, from the articles found.
#[llm_trace]
async fn draft_reply(client: &Client, ticket: &str) -> Result<String, ApiError> {
    let articles = find_articles(client, ticket).await?;
    let messages = vec![ChatMessage::new_user_message(&format!(
        "Answer this ticket using the {articles} articles attached: {ticket}"
    ))];
    let answer = client
        .chat_async(Model::MistralLargeLatest, messages, None)
        .await?;
    Ok(answer.choices[0].message.content.clone())
}

/// One ticket: triage, then the reply.
#[llm_trace]
async fn handle_ticket(client: &Client, ticket: &str) -> Result<String, ApiError> {
    let queue = triage(client, ticket).await?;
    let reply = draft_reply(client, ticket).await?;
    Ok(format!("[{queue}] {reply}"))
}

/// The digest of the last tickets, streamed.
#[llm_trace]
async fn stream_digest(client: &Client) -> Result<usize, ApiError> {
    let messages = vec![ChatMessage::new_user_message(
        "Summarise today's tickets in three bullet points.",
    )];
    let stream = client
        .chat_stream(Model::MistralSmallLatest, messages, None)
        .await?;
    let mut stream = std::pin::pin!(stream);
    let mut chunks = 0;
    while let Some(item) = stream.next().await {
        chunks += item?.len();
    }
    Ok(chunks)
}

/// A small deterministic generator, so every run draws the same day.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        low + (self.0 >> 33) % (high - low + 1)
    }
}

fn reply(dice: &mut Dice, delay_ms: (u64, u64), input: (u64, u64), output: (u64, u64)) -> Reply {
    Reply::ok()
        .with_delay(Duration::from_millis(dice.roll(delay_ms.0, delay_ms.1)))
        .with_usage(
            dice.roll(input.0, input.1) as u32,
            dice.roll(output.0, output.1) as u32,
        )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut builder = llm_trace::builder()
        .service_name("support-bot")
        .traces_exporter(ExporterKind::None);
    if std::env::var_os("LLM_TRACE_REPORT").is_none_or(|path| path.is_empty()) {
        builder = builder.report("usage.html");
    }
    let telemetry = builder.init()?;

    let server = MockServer::start()?;
    let client = Client::new(
        Some("no-key".into()),
        Some(server.endpoint()),
        Some(0),
        None,
    )?;
    println!(
        "Answering tickets against llm-trace's local Mistral-compatible server at {}",
        server.endpoint()
    );

    let mut dice = Dice(42);
    for number in 1..=18 {
        let ticket = format!("Ticket #{number}: my invoice shows a charge I do not recognise.");
        if number == 5 || number == 12 {
            // The triage model is rate limited.
            server.enqueue(Reply::status(429).with_delay(Duration::from_millis(30)));
        } else {
            server.enqueue(reply(&mut dice, (40, 140), (180, 420), (4, 12)));
            server.enqueue(reply(&mut dice, (25, 70), (60, 220), (0, 0)));
            if number == 9 {
                server.enqueue(Reply::status(503).with_delay(Duration::from_millis(900)));
            } else {
                server.enqueue(reply(&mut dice, (220, 900), (900, 2600), (180, 640)));
            }
        }
        match handle_ticket(&client, &ticket).await {
            Ok(_) => println!("ticket {number}: answered"),
            Err(error) => println!("ticket {number}: failed ({})", error.message),
        }
        if number % 6 == 0 {
            server.enqueue(
                reply(&mut dice, (30, 60), (1400, 1800), (220, 320))
                    .with_chunk_delay(Duration::from_millis(12)),
            );
            let chunks = stream_digest(&client).await?;
            println!("digest: {chunks} chunks");
        }
        tokio::time::sleep(Duration::from_millis(dice.roll(80, 400))).await;
    }

    // Writes the report (and prints where); never fails the program.
    telemetry.shutdown();
    Ok(())
}
