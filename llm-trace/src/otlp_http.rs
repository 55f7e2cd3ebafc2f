//! The HTTP client of the OTLP/HTTP exporters: reqwest (blocking, TLS through the
//! system's OpenSSL), sending exactly the headers llm-trace resolved.
//!
//! The OTLP exporter adds `OTEL_EXPORTER_OTLP_HEADERS` on its own after the configured
//! headers; this client removes those and applies the resolved ones last, so headers given
//! to the builder replace the environment's, as every other setting does.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

use crate::settings::{env, InitError};

/// A blocking reqwest client that sets the resolved OTLP headers on every request.
#[derive(Debug)]
pub(crate) struct HeaderClient {
    inner: reqwest::blocking::Client,
    remove: Vec<HeaderName>,
    set: Vec<(HeaderName, HeaderValue)>,
}

impl HeaderClient {
    /// A client sending `headers`, dropping the environment's others.
    pub(crate) fn new(
        headers: &[(String, String)],
        env_header_names: Vec<String>,
        timeout: Duration,
    ) -> Result<Self, InitError> {
        let invalid = |reason: String| InitError::InvalidSetting {
            variable: env::OTLP_HEADERS,
            value: headers
                .iter()
                .map(|(k, _)| format!("{k}=***"))
                .collect::<Vec<_>>()
                .join(","),
            reason,
        };
        let mut set = Vec::with_capacity(headers.len());
        for (key, value) in headers {
            let name = HeaderName::from_bytes(key.as_bytes())
                .map_err(|_| invalid(format!("invalid header name {key:?}")))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("invalid value for header {key:?}")))?;
            value.set_sensitive(true);
            set.push((name, value));
        }
        let remove = env_header_names
            .iter()
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .filter(|name| !set.iter().any(|(kept, _)| kept == name))
            .collect();
        // Building a blocking client inside an async runtime is not allowed: build it on a
        // plain thread.
        let inner = std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
        })
        .join()
        .map_err(|_| InitError::Exporter("building the HTTP client panicked".into()))?
        .map_err(|error| InitError::Exporter(format!("cannot build the HTTP client: {error}")))?;
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
