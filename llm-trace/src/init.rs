//! Setting up export: console output by default, OTLP/HTTP when an endpoint is configured.

use std::fmt;
use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

use crate::console::ConsoleExporter;

/// The environment variable naming the OTLP collector's base URL.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Why telemetry could not be set up.
#[derive(Debug)]
pub enum InitError {
    /// A setting has a value that cannot be used.
    InvalidSetting {
        /// The setting, as its environment variable name.
        variable: &'static str,
        /// The value found.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Flushing or shutting down the exporters failed.
    Shutdown(String),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::InvalidSetting {
                variable,
                value,
                reason,
            } => write!(f, "invalid {variable}={value:?}: {reason}"),
            InitError::Shutdown(reason) => write!(f, "telemetry shutdown failed: {reason}"),
        }
    }
}

impl std::error::Error for InitError {}

/// Installed telemetry. Dropping it flushes pending spans and shuts the exporters down.
///
/// Shutdown runs on a separate plain thread, so dropping the guard inside an async
/// runtime (even a current-thread one) neither deadlocks nor trips tokio's
/// blocking-in-async checks.
#[must_use = "telemetry is flushed and shut down when this guard is dropped"]
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// The tracer provider, to hand to other instrumentation.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// Flushes pending spans and shuts the exporters down.
    pub fn shutdown(mut self) -> Result<(), InitError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), InitError> {
        let Some(provider) = self.provider.take() else {
            return Ok(());
        };
        llm_trace_core::tracer::clear_tracer_provider();
        let worker = std::thread::Builder::new()
            .name("llm-trace-shutdown".into())
            .spawn(move || provider.shutdown_with_timeout(Duration::from_secs(10)))
            .map_err(|error| InitError::Shutdown(error.to_string()))?;
        match worker.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(InitError::Shutdown(error.to_string())),
            Err(_) => Err(InitError::Shutdown("the shutdown thread panicked".into())),
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown_inner() {
            log::warn!("llm-trace: {error}");
        }
    }
}

/// Sets up tracing: spans of `#[llm_trace]` functions and their LLM calls are printed to
/// the console, or exported over OTLP/HTTP (protobuf, batched) when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set (headers from `OTEL_EXPORTER_OTLP_HEADERS`).
///
/// The provider is also installed as the OpenTelemetry global tracer provider. Keep the
/// returned guard alive until the program ends: dropping it flushes pending spans.
///
/// ```no_run
/// let _telemetry = llm_trace::init().expect("telemetry setup");
/// // ... call #[llm_trace] functions ...
/// ```
pub fn init() -> Result<Telemetry, InitError> {
    let endpoint = std::env::var(OTEL_EXPORTER_OTLP_ENDPOINT)
        .ok()
        .filter(|value| !value.trim().is_empty());
    let resource = Resource::builder().build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let provider = match endpoint {
        Some(endpoint) => {
            validate_endpoint(&endpoint)?;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .build()
                .map_err(|error| InitError::InvalidSetting {
                    variable: OTEL_EXPORTER_OTLP_ENDPOINT,
                    value: endpoint.clone(),
                    reason: error.to_string(),
                })?;
            builder.with_batch_exporter(exporter).build()
        }
        None => builder
            .with_simple_exporter(ConsoleExporter::stdout())
            .build(),
    };
    llm_trace_core::tracer::set_tracer_provider(&provider);
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(Telemetry {
        provider: Some(provider),
    })
}

fn validate_endpoint(endpoint: &str) -> Result<(), InitError> {
    let invalid = |reason: &str| InitError::InvalidSetting {
        variable: OTEL_EXPORTER_OTLP_ENDPOINT,
        value: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let Some((scheme, _)) = endpoint.split_once("://") else {
        return Err(invalid("expected an http:// or https:// URL"));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid("expected an http:// or https:// URL"));
    }
    if llm_trace_core::server::ServerAddress::parse(endpoint, 4318).is_none() {
        return Err(invalid("the URL has no valid host and port"));
    }
    Ok(())
}
