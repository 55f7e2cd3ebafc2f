//! llm-trace streaming: streams the quickstart question, printing the answer as it
//! arrives, then the span summary (time to first chunk, tokens, cost).
//!
//! ```text
//! cargo run --example streaming
//! ```
//!
//! Without `MISTRAL_API_KEY` it runs against llm-trace's local Mistral-compatible server.

use std::error::Error;
use std::io::Write;

use futures_util::StreamExt;
use llm_trace::llm_trace;
use llm_trace_mistral::testing::{MockServer, Reply};
use mistralai_client::v1::chat::ChatMessage;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::constants::Model;
use mistralai_client::v1::error::ApiError;

/// Streams the answer to stdout; the `chat` span lives until the stream ends.
#[llm_trace]
async fn stream_answer(client: &Client) -> Result<String, ApiError> {
    let messages = vec![ChatMessage::new_user_message(
        "Who is the best French painter? Answer in one short sentence.",
    )];
    let stream = client
        .chat_stream(Model::MistralSmallLatest, messages, None)
        .await?;
    // mistralai-client's stream is not `Unpin`: pin it to iterate.
    let mut stream = std::pin::pin!(stream);
    let mut answer = String::new();
    while let Some(chunks) = stream.next().await {
        for chunk in chunks? {
            for choice in chunk.choices {
                print!("{}", choice.delta.content);
                let _ = std::io::stdout().flush();
                answer.push_str(&choice.delta.content);
            }
        }
    }
    println!();
    Ok(answer)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let telemetry = llm_trace::init()?;
    let has_key = std::env::var("MISTRAL_API_KEY").is_ok_and(|key| !key.is_empty());
    let (client, _server) = if has_key {
        let endpoint = std::env::var("MISTRAL_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty());
        (Client::new(None, endpoint, None, None)?, None)
    } else {
        let server = MockServer::start()?;
        // Chunks a little apart, as a real stream arrives.
        server
            .set_default_reply(Reply::ok().with_chunk_delay(std::time::Duration::from_millis(40)));
        println!(
            "MISTRAL_API_KEY is not set: streaming from llm-trace's local Mistral-compatible server at {}",
            server.endpoint()
        );
        let client = Client::new(Some("no-key".into()), Some(server.endpoint()), None, None)?;
        (client, Some(server))
    };

    stream_answer(&client).await?;

    // Flush the spans: the console exporter prints the trace once its root span ended.
    telemetry.shutdown();
    Ok(())
}
