//! OTLP over HTTP (protobuf): the exporters, and the one HTTP client they share — reqwest
//! (blocking, TLS through the system's OpenSSL) sending exactly the headers llm-trace
//! resolved, each request bounded by its signal's export timeout.
//!
//! The OTLP exporter adds the environment's `OTEL_EXPORTER_OTLP_*HEADERS` on its own, after
//! the configured headers; this client removes those and applies the resolved ones last,
//! so headers given to the builder replace the environment's, as every other setting does.

use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};

use crate::error::InitError;
use crate::settings::{Compression, OtlpTarget};

/// The largest collector answer read: OTLP answers are a few bytes.
const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// The blocking reqwest client of one `init`, shared by both signals' exporters.
pub(crate) fn client() -> Result<reqwest::blocking::Client, InitError> {
    // Building a blocking client inside an async runtime is not allowed: build it on a
    // plain thread.
    std::thread::spawn(|| reqwest::blocking::Client::builder().build())
        .join()
        .map_err(|_| InitError::exporter("building the HTTP client panicked"))?
        .map_err(|error| {
            InitError::exporter(format!("cannot build the HTTP client: {error}")).with_source(error)
        })
}

/// One signal's view of the shared client: its headers and timeout.
#[derive(Debug)]
pub(crate) struct HeaderClient {
    inner: reqwest::blocking::Client,
    remove: Vec<HeaderName>,
    set: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
}

impl HeaderClient {
    /// The target's headers and timeout on `inner`, dropping the environment's headers.
    fn new(
        inner: reqwest::blocking::Client,
        target: &OtlpTarget,
        env_header_names: &[String],
    ) -> Result<Self, InitError> {
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
        Ok(HeaderClient {
            inner,
            remove,
            set,
            timeout: target.timeout,
        })
    }

    fn send(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let headers = request.headers_mut();
        for name in &self.remove {
            headers.remove(name);
        }
        for (name, value) in &self.set {
            headers.insert(name.clone(), value.clone());
        }
        let mut request: reqwest::blocking::Request = request.try_into()?;
        *request.timeout_mut() = Some(self.timeout);
        let mut response = self.inner.execute(request)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        response.take(MAX_RESPONSE_BYTES).read_to_end(&mut body)?;
        let mut answer = Response::builder().status(status).body(Bytes::from(body))?;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

impl HttpClient for HeaderClient {
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        // Exports run on llm-trace's own export thread, never on an async worker: the
        // blocking request is fine there.
        let answer = self.send(request);
        Box::pin(std::future::ready(answer))
    }
}

/// The endpoint, client, timeout and compression shared by both HTTP exporters.
fn configure<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    client: &reqwest::blocking::Client,
    target: &OtlpTarget,
    env_header_names: &[String],
) -> Result<B, InitError> {
    let builder = builder
        .with_http_client(HeaderClient::new(client.clone(), target, env_header_names)?)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(target.url.clone())
        .with_timeout(target.timeout);
    Ok(match target.compression {
        Compression::Gzip => builder.with_compression(opentelemetry_otlp::Compression::Gzip),
        Compression::None => builder,
    })
}

/// The OTLP/HTTP span exporter.
pub(crate) fn span_exporter(
    client: &reqwest::blocking::Client,
    target: &OtlpTarget,
    env_header_names: &[String],
) -> Result<opentelemetry_otlp::SpanExporter, InitError> {
    let builder = opentelemetry_otlp::SpanExporter::builder().with_http();
    configure(builder, client, target, env_header_names)?
        .build()
        .map_err(InitError::exporter_build)
}

/// The OTLP/HTTP metric exporter.
pub(crate) fn metric_exporter(
    client: &reqwest::blocking::Client,
    target: &OtlpTarget,
    env_header_names: &[String],
) -> Result<opentelemetry_otlp::MetricExporter, InitError> {
    let builder = opentelemetry_otlp::MetricExporter::builder().with_http();
    configure(builder, client, target, env_header_names)?
        .build()
        .map_err(InitError::exporter_build)
}
