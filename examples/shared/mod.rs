//! What the quickstart and the OTLP example share: the annotated function and the client.

use std::error::Error;

use llm_trace::llm_trace;
use llm_trace_mistral::testing::MockServer;
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::{EmbedModel, Model};
use mistralai_client::v1::error::ApiError;

/// Asks for the best French painter, then embeds two sentences.
#[llm_trace]
pub fn ask_and_embed(client: &Client) -> Result<(String, usize), ApiError> {
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
    let dimensions = embeddings
        .data
        .first()
        .map_or(0, |item| item.embedding.len());
    Ok((answer, dimensions))
}

/// The client: the real API with a key, else the local server (kept alive by the caller).
pub fn connect() -> Result<(Client, Option<MockServer>), Box<dyn Error>> {
    let endpoint = std::env::var("MISTRAL_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    let has_key = std::env::var("MISTRAL_API_KEY").is_ok_and(|key| !key.is_empty());
    if has_key {
        let client = Client::new(None, endpoint, None, None)?;
        println!("Using the Mistral API at {}", client.endpoint);
        return Ok((client, None));
    }
    match endpoint {
        Some(endpoint) => {
            println!("MISTRAL_API_KEY is not set: using the server at {endpoint}");
            let client = Client::new(Some("no-key".into()), Some(endpoint), None, None)?;
            Ok((client, None))
        }
        None => {
            let server = MockServer::start()?;
            println!(
                "MISTRAL_API_KEY is not set: started llm-trace's local Mistral-compatible server at {}",
                server.endpoint()
            );
            let client = Client::new(Some("no-key".into()), Some(server.endpoint()), None, None)?;
            Ok((client, Some(server)))
        }
    }
}
