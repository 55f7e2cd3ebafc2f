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

mod shared;

use shared::{ask_and_embed, connect};

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

    let (client, _server) = connect()?;

    let (answer, dimensions) = ask_and_embed(&client)?;
    println!("{answer}");
    println!("Embedding dimensions: {dimensions}");

    // Flushes spans and metrics before exit. A collector that is down is reported (one
    // line), never fatal: the program's own work is done.
    let report = telemetry.shutdown();
    if report.is_clean() {
        println!("Spans and metrics flushed.");
    }
    Ok(())
}
