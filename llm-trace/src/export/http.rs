//! OTLP over HTTP (protobuf): the exporters, and their HTTP client — reqwest (blocking, TLS
//! through the system's OpenSSL) sending exactly the headers llm-trace resolved.
//!
//! The OTLP exporter adds the environment's `OTEL_EXPORTER_OTLP_*HEADERS` on its own, after
//! the configured headers; this client removes those and applies the resolved ones last,
//! so headers given to the builder replace the environment's, as every other setting does.

use std::future::Future;
use std::pin::Pin;

use http::{HeaderName, HeaderValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};

use crate::error::InitError;
use crate::settings::{Compression, OtlpTarget};

/// A blocking reqwest client that sets the resolved OTLP headers on every request.
#[derive(Debug)]
pub(crate) struct HeaderClient {
    inner: reqwest::blocking::Client,
    remove: Vec<HeaderName>,
    set: Vec<(HeaderName, HeaderValue)>,
}

impl HeaderClient {
    /// A client sending the target's headers, dropping the environment's others.
    fn new(target: &OtlpTarget, env_header_names: &[String]) -> Result<Self, InitError> {
        let mut set = Vec::with_capacity(target.headers.len());
        for (key, value) in &target.headers {
            // Checked when the settings were resolved.
            let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(key.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(InitError::exporter(format!(
                    "header {key:?} cannot be sent"
                )));
            };
            value.set_sensitive(true);
            set.push((name, value));
        }
        let remove = env_header_names
            .iter()
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .filter(|name| !set.iter().any(|(kept, _)| kept == name))
            .collect();
        let timeout = target.timeout;
        // Building a blocking client inside an async runtime is not allowed: build it on a
        // plain thread.
        let inner = std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
        })
        .join()
        .map_err(|_| InitError::exporter("building the HTTP client panicked"))?
        .map_err(|error| {
            InitError::exporter(format!("cannot build the HTTP client: {error}")).with_source(error)
        })?;
        Ok(HeaderClient { inner, remove, set })
    }
}

impl HttpClient for HeaderClient {
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        mut request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let headers = request.headers_mut();
        for name in &self.remove {
            headers.remove(name);
        }
        for (name, value) in &self.set {
            headers.insert(name.clone(), value.clone());
        }
        self.inner.send_bytes(request)
    }
}

/// The endpoint, client, timeout and compression shared by both HTTP exporters.
fn configure<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    target: &OtlpTarget,
    env_header_names: &[String],
) -> Result<B, InitError> {
    let builder = builder
        .with_http_client(HeaderClient::new(target, env_header_names)?)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(target.url.clone())
        .with_timeout(target.timeout);
    Ok(match target.compression {
        Compression::Gzip => builder.with_compression(opentelemetry_otlp::Compression::Gzip),
        Compression::None => builder,
    })
}

fn build_error(error: opentelemetry_otlp::ExporterBuildError) -> InitError {
    InitError::exporter(error.to_string()).with_source(error)
}

/// The OTLP/HTTP span exporter.
pub(crate) fn span_exporter(
    target: &OtlpTarget,
    env_header_names: &[String],
) -> Result<opentelemetry_otlp::SpanExporter, InitError> {
    let builder = opentelemetry_otlp::SpanExporter::builder().with_http();
    configure(builder, target, env_header_names)?
        .build()
        .map_err(build_error)
}

/// The OTLP/HTTP metric exporter.
pub(crate) fn metric_exporter(
    target: &OtlpTarget,
    env_header_names: &[String],
) -> Result<opentelemetry_otlp::MetricExporter, InitError> {
    let builder = opentelemetry_otlp::MetricExporter::builder().with_http();
    configure(builder, target, env_header_names)?
        .build()
        .map_err(build_error)
}
