//! llm-trace in a program that traces with `tracing`: events written in an annotated
//! function land on its span, and with tracing-opentelemetry's layer the `tracing` spans
//! and llm-trace's are one trace.
//!
//! ```text
//! cargo run --example tracing
//! ```
//!
//! `tracing_subscriber::fmt` prints the events with the spans they are in; llm-trace's
//! console prints the trace at exit: the `request` span (tracing's), the annotated
//! functions under it and their calls. As in the quickstart, without `MISTRAL_API_KEY`
//! the example runs against llm-trace's local Mistral-compatible server, and
//! `OTEL_EXPORTER_OTLP_ENDPOINT` sends the trace over OTLP instead.

use std::error::Error;

use llm_trace::llm_trace;
use mistralai_client::v1::client::Client;
use mistralai_client::v1::error::ApiError;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

mod shared;

use shared::{ask_and_embed, connect};

/// One turn of a conversation: its span carries the conversation id, and its events.
#[llm_trace(fields(gen_ai.conversation.id = session))]
fn turn(client: &Client, session: &str) -> Result<String, ApiError> {
    tracing::info!("asking Mistral, then embedding two sentences");
    let (answer, dimensions) = ask_and_embed(client)?;
    tracing::info!(dimensions, "answered");
    Ok(answer)
}

fn main() -> Result<(), Box<dyn Error>> {
    // llm-trace first: it installs the global tracer provider the layer records into.
    let telemetry = llm_trace::init()?;
    let layer = tracing_opentelemetry::layer()
        .with_tracer(opentelemetry::global::tracer("llm-trace-tracing-example"));
    tracing_subscriber::registry()
        .with(layer)
        .with(tracing_subscriber::fmt::layer().with_target(false))
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .init();

    let (client, _server) = connect()?;
    let request = tracing::info_span!("request", user = "ada");
    let answer = request.in_scope(|| turn(&client, "conversation-1"))?;
    println!("{answer}");

    drop(request);
    telemetry.shutdown();
    Ok(())
}
