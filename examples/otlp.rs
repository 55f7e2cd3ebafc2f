//! Sending llm-trace's spans and metrics to an OpenTelemetry collector over OTLP.
//!
//! ```text
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run --example otlp
//! ```
//!
//! Without `OTEL_EXPORTER_OTLP_ENDPOINT` the example sends to `http://127.0.0.1:4318`, the
//! usual address of a local collector. If no collector answers, the program still runs
//! to the end: llm-trace prints one warning and gives up after the export timeout.
//! Headers (`OTEL_EXPORTER_OTLP_HEADERS`), protocol, sampling and the rest come from the
//! environment too; see the README's configuration table.

use std::error::Error;
use std::time::Duration;

use llm_trace::llm_trace;
use llm_trace_mistral::testing::MockServer;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

/// Asks for the best French painter, then embeds two sentences.
#[llm_trace]
fn ask_and_embed(client: &Client) -> Result<(String, usize), ApiError> {
    let messages = vec![ChatMessage::new_user_message(
        "Who is the best French painter? Answer in one short sentence.",
    )];
    let response = client.chat(Model::MistralSmallLatest, messages, None)?;
    let answer = response
        .choices
        .first()
        .map(|choice| choice.message.content.clone())
        .unwrap_or_default();
    let sentences = vec![
        "Embed this sentence.".to_string(),
        "As well as this one.".to_string(),
    ];
    let embeddings = client.embeddings(EmbedModel::MistralEmbed, sentences, None)?;
    Ok((
        answer,
        embeddings.data.first().map_or(0, |d| d.embedding.len()),
    ))
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut builder = llm_trace::builder()
        .service_name("llm-trace-otlp-example")
        .environment("development")
        .export_timeout(Duration::from_secs(3));
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    if endpoint.is_none() {
        builder = builder.otlp_endpoint("http://127.0.0.1:4318");
    }
    let telemetry = builder.init()?;
    println!(
        "Exporting over OTLP to {}",
        endpoint.as_deref().unwrap_or("http://127.0.0.1:4318")
    );

    let has_key = std::env::var("MISTRAL_API_KEY").is_ok_and(|key| !key.is_empty());
    let (client, _server) = if has_key {
        (Client::new(None, None, None, None)?, None)
    } else {
        let server = MockServer::start()?;
        println!(
            "MISTRAL_API_KEY is not set: using llm-trace's local Mistral-compatible server at {}",
            server.endpoint()
        );
        let client = Client::new(Some("no-key".into()), Some(server.endpoint()), None, None)?;
        (client, Some(server))
    };

    let (answer, dimensions) = ask_and_embed(&client)?;
    println!("{answer}");
    println!("Embedding dimensions: {dimensions}");

    // Flushes spans and metrics before exit. A collector that is down is reported, not
    // fatal: the program's own work is done.
    match telemetry.shutdown() {
        Ok(()) => println!("Spans and metrics flushed."),
        Err(error) => eprintln!("Telemetry was not delivered: {error}"),
    }
    Ok(())
}
