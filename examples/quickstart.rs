//! llm-trace quickstart: one annotated function asks Mistral a question and embeds two
//! sentences; llm-trace prints the spans (name, tokens, cost) on the console.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! - Without `MISTRAL_API_KEY` it starts llm-trace's local Mistral-compatible server and
//!   says so; with the key it calls the real API.
//! - `MISTRAL_ENDPOINT` overrides the API base URL (e.g. `http://127.0.0.1:8080/v1`).
//! - With `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g. `http://localhost:4318`), spans are
//!   exported over OTLP/HTTP instead (headers from `OTEL_EXPORTER_OTLP_HEADERS`).

use std::error::Error;

mod shared;

use shared::{ask_and_embed, connect};

fn main() -> Result<(), Box<dyn Error>> {
    let telemetry = llm_trace::init()?;
    let (client, _server) = connect()?;

    let (answer, dimensions) = ask_and_embed(&client)?;
    println!("{answer}");
    println!("Embedding dimensions: {dimensions}");

    // Flush: with OTLP, pending spans are sent before the program exits. Shutdown never
    // fails the program: if a collector was down, it prints one line saying what was lost.
    telemetry.shutdown();
    Ok(())
}
