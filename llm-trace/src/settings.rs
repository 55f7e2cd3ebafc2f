//! `init()` settings: each from its builder call, else its environment variable, else a
//! default; every bad value is an [`InitError`] naming the variable.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use llm_trace_core::content::CaptureMode;

/// Environment variables read by [`init`](crate::init), with the setting each controls.
pub mod env {
    /// Service name (`service.name`).
    pub const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
    /// Deployment environment (`deployment.environment.name`).
    pub const DEPLOYMENT_ENVIRONMENT: &str = "OTEL_DEPLOYMENT_ENVIRONMENT";
    /// OTLP collector base URL; `/v1/traces` and `/v1/metrics` are appended.
    pub const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// OTLP request headers, `key1=value1,key2=value2` (values URL-decoded).
    pub const OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    /// OTLP protocol: `http/protobuf` (default) or `grpc` (feature `grpc`).
    pub const OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    /// OTLP export timeout, milliseconds.
    pub const OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
    /// Traces exporter: `console`, `otlp` or `none`.
    pub const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
    /// Metrics exporter: `console`, `otlp` or `none`.
    pub const METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
    /// Sampler: `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`,
    /// `parentbased_always_off`, `parentbased_traceidratio`.
    pub const TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
    /// The sampler's ratio, between 0 and 1.
    pub const TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
    /// Message content capture: `true`, `false`, `NO_CONTENT`, `SPAN_ONLY`, `EVENT_ONLY`,
    /// `SPAN_AND_EVENT`.
    pub const CAPTURE_MESSAGE_CONTENT: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
    /// The longest piece of captured content kept, in bytes.
    pub const MAX_CONTENT_LENGTH: &str = "LLM_TRACE_MAX_CONTENT_LENGTH";
    /// `true` turns metrics off.
    pub const DISABLE_METRICS: &str = "LLM_TRACE_DISABLE_METRICS";
    /// `true` exports each span as it ends instead of in batches.
    pub const DISABLE_BATCH: &str = "LLM_TRACE_DISABLE_BATCH";
    /// A price table file (llm-trace TOML, or OpenLIT's `pricing.json`).
    pub const PRICING: &str = "LLM_TRACE_PRICING";
}

/// Why telemetry could not be set up, or shut down.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// A setting has a value that cannot be used.
    InvalidSetting {
        /// The setting, by its environment variable name.
        variable: &'static str,
        /// The value found (header values are masked: they are often secrets).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The price table could not be used.
    Pricing {
        /// Where it came from: the file, and whether from `LLM_TRACE_PRICING`.
        source: String,
        /// The error.
        error: llm_trace_core::pricing::PricingError,
    },
    /// An exporter could not be built.
    Exporter(String),
    /// `init` already installed telemetry and its guard is still alive.
    AlreadyInitialized,
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
            InitError::Pricing { source, error } => write!(f, "{source}: {error}"),
            InitError::Exporter(reason) => write!(f, "cannot build the exporter: {reason}"),
            InitError::AlreadyInitialized => write!(
                f,
                "llm-trace telemetry is already initialized: drop or shut down the first guard before calling init again"
            ),
            InitError::Shutdown(reason) => write!(f, "telemetry shutdown failed: {reason}"),
        }
    }
}

impl std::error::Error for InitError {}

fn invalid(variable: &'static str, value: &str, reason: impl Into<String>) -> InitError {
    InitError::InvalidSetting {
        variable,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// Where spans or metrics go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExporterKind {
    /// Human-readable output on the console.
    Console,
    /// OTLP to a collector.
    Otlp,
    /// Nowhere.
    None,
}

impl ExporterKind {
    fn parse(variable: &'static str, text: &str) -> Result<Self, InitError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "console" | "stdout" => Ok(ExporterKind::Console),
            "otlp" => Ok(ExporterKind::Otlp),
            "none" => Ok(ExporterKind::None),
            _ => Err(invalid(variable, text, "expected console, otlp or none")),
        }
    }
}

/// The OTLP protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (the default).
    HttpProtobuf,
    /// OTLP/gRPC (needs the `grpc` feature).
    Grpc,
}

impl Protocol {
    fn parse(text: &str) -> Result<Self, InitError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "grpc" if cfg!(feature = "grpc") => Ok(Protocol::Grpc),
            "grpc" => Err(invalid(
                env::OTLP_PROTOCOL,
                text,
                "gRPC needs llm-trace's `grpc` feature",
            )),
            "http/json" => Err(invalid(
                env::OTLP_PROTOCOL,
                text,
                "http/json is not supported; use http/protobuf",
            )),
            _ => Err(invalid(
                env::OTLP_PROTOCOL,
                text,
                "expected http/protobuf or grpc",
            )),
        }
    }
}

/// The trace sampler.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// A ratio of traces, by trace id.
    Ratio(f64),
    /// Follow the parent; root spans always on.
    ParentBasedAlwaysOn,
    /// Follow the parent; root spans always off.
    ParentBasedAlwaysOff,
    /// Follow the parent; root spans by ratio.
    ParentBasedRatio(f64),
}

fn parse_ratio(variable: &'static str, text: &str) -> Result<f64, InitError> {
    let ratio: f64 = text
        .trim()
        .parse()
        .map_err(|_| invalid(variable, text, "expected a number between 0 and 1"))?;
    if !(0.0..=1.0).contains(&ratio) {
        return Err(invalid(variable, text, "expected a number between 0 and 1"));
    }
    Ok(ratio)
}

fn parse_bool(variable: &'static str, text: &str) -> Result<bool, InitError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(invalid(variable, text, "expected true or false")),
    }
}

/// A validated OTLP base URL, without a trailing slash.
fn parse_endpoint(variable: &'static str, text: &str) -> Result<String, InitError> {
    let trimmed = text.trim().trim_end_matches('/');
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(invalid(
            variable,
            text,
            "expected an http:// or https:// URL",
        ));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid(
            variable,
            text,
            "expected an http:// or https:// URL",
        ));
    }
    if rest.contains(char::is_whitespace)
        || llm_trace_core::server::ServerAddress::parse(trimmed, 4318).is_none()
    {
        return Err(invalid(
            variable,
            text,
            "the URL has no valid host and port",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Decodes `%XX` escapes (OTLP header values are URL-encoded).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Masks header values: `key=***`.
fn masked_headers(text: &str) -> String {
    text.split(',')
        .map(|entry| match entry.split_once('=') {
            Some((key, _)) => format!("{}=***", key.trim()),
            None => "***".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `key1=value1,key2=value2`; an error never shows a value.
fn parse_headers(text: &str) -> Result<Vec<(String, String)>, InitError> {
    let mut headers = Vec::new();
    for (index, entry) in text.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| invalid(env::OTLP_HEADERS, &masked_headers(text), reason);
        let Some((key, value)) = entry.split_once('=') else {
            return Err(bad(format!("entry {} is not key=value", index + 1)));
        };
        let key = key.trim();
        let valid_key = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_key {
            return Err(bad(format!(
                "entry {} has an invalid header name {key:?}",
                index + 1
            )));
        }
        let value = percent_decode(value.trim())
            .filter(|v| !v.bytes().any(|b| b.is_ascii_control()))
            .ok_or_else(|| bad(format!("entry {} has an invalid value", index + 1)))?;
        headers.push((key.to_ascii_lowercase(), value));
    }
    Ok(headers)
}

/// What [`init`](crate::init) sets up: the builder's explicit values, then the environment.
#[derive(Default)]
#[must_use = "call .init() to set up telemetry"]
pub struct Builder {
    pub(crate) service_name: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) headers: Option<Vec<(String, String)>>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) traces_exporter: Option<ExporterKind>,
    pub(crate) metrics_exporter: Option<ExporterKind>,
    pub(crate) disable_metrics: Option<bool>,
    pub(crate) disable_batch: Option<bool>,
    pub(crate) sampling: Option<Sampling>,
    pub(crate) capture: Option<CaptureMode>,
    pub(crate) max_content_length: Option<usize>,
    pub(crate) redactor: Option<llm_trace_core::content::Redactor>,
    pub(crate) pricing: Option<PathBuf>,
    pub(crate) replace_global: bool,
    pub(crate) console: Option<Box<dyn std::io::Write + Send>>,
    pub(crate) console_colour: Option<bool>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("service_name", &self.service_name)
            .field("environment", &self.environment)
            .field("endpoint", &self.endpoint)
            .field(
                "headers",
                &self.headers.as_ref().map(|h| {
                    h.iter()
                        .map(|(k, _)| format!("{k}=***"))
                        .collect::<Vec<_>>()
                }),
            )
            .field("protocol", &self.protocol)
            .field("traces_exporter", &self.traces_exporter)
            .field("metrics_exporter", &self.metrics_exporter)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// `service.name` (else `OTEL_SERVICE_NAME`, else the SDK's `unknown_service`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `deployment.environment.name` (else `OTEL_DEPLOYMENT_ENVIRONMENT`).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The OTLP collector's base URL, e.g. `http://localhost:4318` (else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`). Setting it makes OTLP the default exporter.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// A header sent with every OTLP request (else `OTEL_EXPORTER_OTLP_HEADERS`).
    pub fn otlp_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .get_or_insert_with(Vec::new)
            .push((key.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// The OTLP protocol (else `OTEL_EXPORTER_OTLP_PROTOCOL`, else HTTP/protobuf).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// How long one OTLP export may take (else `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s);
    /// it also bounds how long shutdown waits for a collector.
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Where spans go (else `OTEL_TRACES_EXPORTER`, else OTLP with an endpoint, console
    /// without).
    pub fn traces_exporter(mut self, kind: ExporterKind) -> Self {
        self.traces_exporter = Some(kind);
        self
    }

    /// Where metrics go (else `OTEL_METRICS_EXPORTER`, else as traces).
    pub fn metrics_exporter(mut self, kind: ExporterKind) -> Self {
        self.metrics_exporter = Some(kind);
        self
    }

    /// Turns metrics off (else `LLM_TRACE_DISABLE_METRICS`).
    pub fn disable_metrics(mut self, disable: bool) -> Self {
        self.disable_metrics = Some(disable);
        self
    }

    /// Exports each span as it ends instead of in batches (else `LLM_TRACE_DISABLE_BATCH`).
    pub fn disable_batch(mut self, disable: bool) -> Self {
        self.disable_batch = Some(disable);
        self
    }

    /// Samples this ratio of traces, following the parent's decision (else
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`).
    pub fn sampling_ratio(mut self, ratio: f64) -> Self {
        self.sampling = Some(Sampling::ParentBasedRatio(ratio));
        self
    }

    /// The sampler (else `OTEL_TRACES_SAMPLER`, else parent-based always on).
    pub fn sampler(mut self, sampling: Sampling) -> Self {
        self.sampling = Some(sampling);
        self
    }

    /// Message content capture (else `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`,
    /// else none).
    pub fn capture_content(mut self, mode: CaptureMode) -> Self {
        self.capture = Some(mode);
        self
    }

    /// The longest piece of captured content kept, in bytes (else
    /// `LLM_TRACE_MAX_CONTENT_LENGTH`, else no limit). Longer text is cut at a character
    /// boundary and its part marked `"truncated": true`.
    pub fn max_content_length(mut self, bytes: usize) -> Self {
        self.max_content_length = Some(bytes);
        self
    }

    /// A redaction hook applied to every piece of captured content (message text, tool
    /// arguments and responses, embeddings inputs) before it is recorded. When it fails
    /// (returns an error or panics), none of that call's content is recorded and the span
    /// gets `llm_trace.content.redaction_failed = true`.
    ///
    /// ```no_run
    /// # fn mask_emails(text: &str) -> String { text.to_owned() }
    /// let _telemetry = llm_trace::builder()
    ///     .capture_content(llm_trace::CaptureMode::SpanOnly)
    ///     .redact(|text| Ok(mask_emails(text)))
    ///     .init();
    /// ```
    pub fn redact<F>(mut self, hook: F) -> Self
    where
        F: Fn(&str) -> Result<String, llm_trace_core::content::RedactionError>
            + Send
            + Sync
            + 'static,
    {
        self.redactor = Some(std::sync::Arc::new(hook));
        self
    }

    /// A price table file merged over the compiled-in table (else `LLM_TRACE_PRICING`):
    /// llm-trace's TOML format, or OpenLIT's `pricing.json` (USD per 1K tokens).
    pub fn pricing_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pricing = Some(path.into());
        self
    }

    /// Installs llm-trace's providers as the OpenTelemetry global ones even when the
    /// application already set its own (by default `init` keeps and uses the app's).
    pub fn replace_global_providers(mut self, replace: bool) -> Self {
        self.replace_global = replace;
        self
    }

    /// Writes console output to `writer` instead of standard output.
    pub fn console_writer(mut self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.console = Some(Box::new(writer));
        self
    }

    /// Colours console output (default: only when standard output is a terminal).
    pub fn console_colour(mut self, colour: bool) -> Self {
        self.console_colour = Some(colour);
        self
    }

    /// Sets telemetry up; see [`init`](crate::init).
    pub fn init(self) -> Result<crate::Telemetry, InitError> {
        crate::init::install(self, &|name| std::env::var(name).ok())
    }
}

/// Everything resolved, ready to build providers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub service_name: Option<String>,
    pub environment: Option<String>,
    /// The OTLP base URL, when OTLP is used.
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub protocol: Protocol,
    pub timeout: Duration,
    pub traces: ExporterKind,
    pub metrics: ExporterKind,
    pub batch: bool,
    pub sampling: Sampling,
    pub capture: CaptureMode,
    pub max_content_length: Option<usize>,
    /// The price table file and where its name came from.
    pub pricing: Option<(PathBuf, &'static str)>,
}

/// The default OTLP/HTTP endpoint when OTLP is chosen without one.
pub(crate) const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318";
/// The default OTLP/gRPC endpoint.
pub(crate) const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";

impl Settings {
    /// Resolves the builder's values over the environment read through `env`.
    pub(crate) fn resolve(
        builder: &Builder,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, InitError> {
        let var = |name: &str| env(name).filter(|value| !value.trim().is_empty());

        let service_name = builder
            .service_name
            .clone()
            .or_else(|| var(env::SERVICE_NAME));
        let environment = builder
            .environment
            .clone()
            .or_else(|| var(env::DEPLOYMENT_ENVIRONMENT));

        let endpoint = explicit_or_env(
            builder
                .endpoint
                .as_deref()
                .map(|endpoint| parse_endpoint(env::OTLP_ENDPOINT, endpoint))
                .transpose()?,
            var(env::OTLP_ENDPOINT),
            |value| parse_endpoint(env::OTLP_ENDPOINT, value),
        )?;
        let headers = explicit_or_env(
            builder.headers.clone(),
            var(env::OTLP_HEADERS),
            parse_headers,
        )?
        .unwrap_or_default();
        let protocol = explicit_or_env(builder.protocol, var(env::OTLP_PROTOCOL), Protocol::parse)?
            .unwrap_or(Protocol::HttpProtobuf);
        let timeout = explicit_or_env(builder.timeout, var(env::OTLP_TIMEOUT), |value| {
            value
                .trim()
                .parse()
                .map(Duration::from_millis)
                .map_err(|_| {
                    invalid(
                        env::OTLP_TIMEOUT,
                        value,
                        "expected milliseconds, e.g. 10000",
                    )
                })
        })?
        .unwrap_or(Duration::from_secs(10));

        let default_kind = if endpoint.is_some() {
            ExporterKind::Otlp
        } else {
            ExporterKind::Console
        };
        let traces = explicit_or_env(
            builder.traces_exporter,
            var(env::TRACES_EXPORTER),
            |value| ExporterKind::parse(env::TRACES_EXPORTER, value),
        )?
        .unwrap_or(default_kind);
        let disable_metrics = explicit_or_env(
            builder.disable_metrics,
            var(env::DISABLE_METRICS),
            |value| parse_bool(env::DISABLE_METRICS, value),
        )?
        .unwrap_or(false);
        let metrics = if disable_metrics {
            ExporterKind::None
        } else {
            explicit_or_env(
                builder.metrics_exporter,
                var(env::METRICS_EXPORTER),
                |value| ExporterKind::parse(env::METRICS_EXPORTER, value),
            )?
            .unwrap_or(default_kind)
        };
        let batch = !explicit_or_env(builder.disable_batch, var(env::DISABLE_BATCH), |value| {
            parse_bool(env::DISABLE_BATCH, value)
        })?
        .unwrap_or(false);
        let sampling = match builder.sampling {
            Some(Sampling::Ratio(r) | Sampling::ParentBasedRatio(r))
                if !(0.0..=1.0).contains(&r) =>
            {
                return Err(invalid(
                    env::TRACES_SAMPLER_ARG,
                    &r.to_string(),
                    "expected a number between 0 and 1",
                ))
            }
            Some(sampling) => sampling,
            None => resolve_sampler(var(env::TRACES_SAMPLER), var(env::TRACES_SAMPLER_ARG))?,
        };
        let capture = explicit_or_env(
            builder.capture,
            var(env::CAPTURE_MESSAGE_CONTENT),
            |value| {
                value
                    .parse()
                    .map_err(|error: llm_trace_core::content::UnknownCaptureMode| {
                        invalid(env::CAPTURE_MESSAGE_CONTENT, value, error.to_string())
                    })
            },
        )?
        .unwrap_or(CaptureMode::NoContent);
        let max_content_length = explicit_or_env(
            builder.max_content_length,
            var(env::MAX_CONTENT_LENGTH),
            |value| {
                value.trim().parse().map_err(|_| {
                    invalid(env::MAX_CONTENT_LENGTH, value, "expected a number of bytes")
                })
            },
        )?;
        let pricing = match &builder.pricing {
            Some(path) => Some((path.clone(), "the pricing file")),
            None => var(env::PRICING).map(|path| (PathBuf::from(path), env::PRICING)),
        };
        let default_endpoint = match protocol {
            Protocol::HttpProtobuf => DEFAULT_HTTP_ENDPOINT,
            Protocol::Grpc => DEFAULT_GRPC_ENDPOINT,
        };
        Ok(Settings {
            service_name,
            environment,
            endpoint: endpoint.unwrap_or_else(|| default_endpoint.to_owned()),
            headers,
            protocol,
            timeout,
            traces,
            metrics,
            batch,
            sampling,
            capture,
            max_content_length,
            pricing,
        })
    }
}

/// The builder's value when given, else the environment variable's, parsed.
fn explicit_or_env<T>(
    explicit: Option<T>,
    variable: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, InitError>,
) -> Result<Option<T>, InitError> {
    match explicit {
        Some(value) => Ok(Some(value)),
        None => variable.as_deref().map(parse).transpose(),
    }
}

fn resolve_sampler(sampler: Option<String>, arg: Option<String>) -> Result<Sampling, InitError> {
    let ratio = || match &arg {
        Some(value) => parse_ratio(env::TRACES_SAMPLER_ARG, value),
        None => Ok(1.0),
    };
    let Some(name) = sampler else {
        return Ok(Sampling::ParentBasedAlwaysOn);
    };
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "always_on" => Sampling::AlwaysOn,
        "always_off" => Sampling::AlwaysOff,
        "traceidratio" => Sampling::Ratio(ratio()?),
        "parentbased_always_on" => Sampling::ParentBasedAlwaysOn,
        "parentbased_always_off" => Sampling::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampling::ParentBasedRatio(ratio()?),
        _ => {
            return Err(invalid(
                env::TRACES_SAMPLER,
                &name,
                "expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(builder: Builder, vars: &[(&str, &str)]) -> Result<Settings, InitError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::resolve(&builder, &|name| vars.get(name).cloned())
    }

    fn error_of(builder: Builder, vars: &[(&str, &str)]) -> (&'static str, String, String) {
        match resolve(builder, vars) {
            Err(InitError::InvalidSetting {
                variable,
                value,
                reason,
            }) => (variable, value, reason),
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_console_with_no_content_and_parent_based_sampling() {
        let settings = resolve(Builder::default(), &[]).unwrap();
        assert_eq!(settings.traces, ExporterKind::Console);
        assert_eq!(settings.metrics, ExporterKind::Console);
        assert_eq!(settings.protocol, Protocol::HttpProtobuf);
        assert_eq!(settings.endpoint, "http://localhost:4318");
        assert!(settings.headers.is_empty());
        assert!(settings.batch);
        assert_eq!(settings.sampling, Sampling::ParentBasedAlwaysOn);
        assert_eq!(settings.capture, CaptureMode::NoContent);
        assert_eq!(settings.timeout, Duration::from_secs(10));
        assert_eq!(settings.service_name, None);
        assert_eq!(settings.pricing, None);
    }

    #[test]
    fn every_variable_is_read() {
        let settings = resolve(
            Builder::default(),
            &[
                (env::SERVICE_NAME, "painter-bot"),
                (env::DEPLOYMENT_ENVIRONMENT, "staging"),
                (env::OTLP_ENDPOINT, "http://collector:4318/"),
                (env::OTLP_HEADERS, "x-api-key=s%3Dcret, Tenant = acme"),
                (env::OTLP_PROTOCOL, "http/protobuf"),
                (env::OTLP_TIMEOUT, "2500"),
                (env::TRACES_EXPORTER, "otlp"),
                (env::METRICS_EXPORTER, "console"),
                (env::TRACES_SAMPLER, "traceidratio"),
                (env::TRACES_SAMPLER_ARG, "0.25"),
                (env::CAPTURE_MESSAGE_CONTENT, "SPAN_AND_EVENT"),
                (env::DISABLE_BATCH, "true"),
                (env::PRICING, "/etc/prices.json"),
                (env::MAX_CONTENT_LENGTH, "4096"),
            ],
        )
        .unwrap();
        assert_eq!(settings.service_name.as_deref(), Some("painter-bot"));
        assert_eq!(settings.environment.as_deref(), Some("staging"));
        assert_eq!(settings.endpoint, "http://collector:4318");
        assert_eq!(
            settings.headers,
            vec![
                ("x-api-key".to_owned(), "s=cret".to_owned()),
                ("tenant".to_owned(), "acme".to_owned())
            ]
        );
        assert_eq!(settings.timeout, Duration::from_millis(2500));
        assert_eq!(settings.traces, ExporterKind::Otlp);
        assert_eq!(settings.metrics, ExporterKind::Console);
        assert_eq!(settings.sampling, Sampling::Ratio(0.25));
        assert_eq!(settings.capture, CaptureMode::SpanAndEvent);
        assert!(!settings.batch);
        assert_eq!(settings.max_content_length, Some(4096));
        assert_eq!(
            settings.pricing,
            Some((PathBuf::from("/etc/prices.json"), env::PRICING))
        );
        let off = resolve(Builder::default(), &[(env::DISABLE_METRICS, "true")]).unwrap();
        assert_eq!(off.metrics, ExporterKind::None);
        let none = resolve(
            Builder::default(),
            &[
                (env::TRACES_EXPORTER, "none"),
                (env::METRICS_EXPORTER, "none"),
            ],
        )
        .unwrap();
        assert_eq!(
            (none.traces, none.metrics),
            (ExporterKind::None, ExporterKind::None)
        );
    }

    #[test]
    fn an_endpoint_makes_otlp_the_default_for_both_signals() {
        let settings = resolve(
            Builder::default(),
            &[(env::OTLP_ENDPOINT, "https://otel.example")],
        )
        .unwrap();
        assert_eq!(settings.traces, ExporterKind::Otlp);
        assert_eq!(settings.metrics, ExporterKind::Otlp);
        assert_eq!(settings.endpoint, "https://otel.example");
    }

    #[test]
    fn explicit_arguments_win_over_the_environment() {
        let vars = [
            (env::SERVICE_NAME, "from-env"),
            (env::DEPLOYMENT_ENVIRONMENT, "env-env"),
            (env::OTLP_ENDPOINT, "http://env:4318"),
            (env::OTLP_HEADERS, "a=1"),
            (env::OTLP_TIMEOUT, "100"),
            (env::TRACES_EXPORTER, "none"),
            (env::METRICS_EXPORTER, "none"),
            (env::DISABLE_METRICS, "true"),
            (env::DISABLE_BATCH, "true"),
            (env::TRACES_SAMPLER, "always_off"),
            (env::CAPTURE_MESSAGE_CONTENT, "false"),
            (env::PRICING, "/env/prices.toml"),
        ];
        let builder = Builder::default()
            .service_name("from-code")
            .environment("code-env")
            .otlp_endpoint("http://code:4318")
            .otlp_header("B", "2")
            .export_timeout(Duration::from_secs(3))
            .traces_exporter(ExporterKind::Otlp)
            .metrics_exporter(ExporterKind::Otlp)
            .disable_metrics(false)
            .disable_batch(false)
            .sampling_ratio(0.5)
            .capture_content(CaptureMode::SpanOnly)
            .pricing_file("/code/prices.toml");
        let settings = resolve(builder, &vars).unwrap();
        assert_eq!(settings.service_name.as_deref(), Some("from-code"));
        assert_eq!(settings.environment.as_deref(), Some("code-env"));
        assert_eq!(settings.endpoint, "http://code:4318");
        assert_eq!(settings.headers, vec![("b".to_owned(), "2".to_owned())]);
        assert_eq!(settings.timeout, Duration::from_secs(3));
        assert_eq!(settings.traces, ExporterKind::Otlp);
        assert_eq!(settings.metrics, ExporterKind::Otlp);
        assert!(settings.batch);
        assert_eq!(settings.sampling, Sampling::ParentBasedRatio(0.5));
        assert_eq!(settings.capture, CaptureMode::SpanOnly);
        assert_eq!(
            settings.pricing,
            Some((PathBuf::from("/code/prices.toml"), "the pricing file"))
        );
    }

    #[test]
    fn samplers() {
        let sampler = |name: &str, arg: Option<&str>| {
            let mut vars = vec![(env::TRACES_SAMPLER, name)];
            if let Some(arg) = arg {
                vars.push((env::TRACES_SAMPLER_ARG, arg));
            }
            resolve(Builder::default(), &vars).map(|s| s.sampling)
        };
        assert_eq!(sampler("always_on", None).unwrap(), Sampling::AlwaysOn);
        assert_eq!(sampler("always_off", None).unwrap(), Sampling::AlwaysOff);
        assert_eq!(sampler("traceidratio", None).unwrap(), Sampling::Ratio(1.0));
        assert_eq!(
            sampler("parentbased_traceidratio", Some("0.1")).unwrap(),
            Sampling::ParentBasedRatio(0.1)
        );
        assert_eq!(
            sampler("parentbased_always_off", None).unwrap(),
            Sampling::ParentBasedAlwaysOff
        );
    }

    #[test]
    fn bad_configuration_names_the_variable_and_value() {
        let (variable, value, reason) = error_of(
            Builder::default(),
            &[(env::OTLP_ENDPOINT, "collector:4318")],
        );
        assert_eq!(
            (variable, value.as_str()),
            (env::OTLP_ENDPOINT, "collector:4318")
        );
        assert!(reason.contains("http://"), "{reason}");
        let (variable, _, _) = error_of(Builder::default(), &[(env::OTLP_ENDPOINT, "ftp://x")]);
        assert_eq!(variable, env::OTLP_ENDPOINT);
        let (variable, _, reason) =
            error_of(Builder::default().otlp_endpoint("http://host:port"), &[]);
        assert_eq!(variable, env::OTLP_ENDPOINT);
        assert!(reason.contains("host and port"), "{reason}");

        let (variable, value, reason) = error_of(
            Builder::default(),
            &[(env::OTLP_HEADERS, "x-api-key=secret-value,broken")],
        );
        assert_eq!(variable, env::OTLP_HEADERS);
        assert_eq!(value, "x-api-key=***,***", "header values never shown");
        assert!(reason.contains("entry 2"), "{reason}");
        let (_, value, reason) =
            error_of(Builder::default(), &[(env::OTLP_HEADERS, "bad key=secret")]);
        assert!(!value.contains("secret") && !reason.contains("secret"));
        let (_, _, reason) = error_of(Builder::default(), &[(env::OTLP_HEADERS, "k=%zz")]);
        assert!(reason.contains("invalid value"), "{reason}");

        let (variable, value, _) =
            error_of(Builder::default(), &[(env::TRACES_EXPORTER, "jaeger")]);
        assert_eq!((variable, value.as_str()), (env::TRACES_EXPORTER, "jaeger"));
        let (variable, _, _) =
            error_of(Builder::default(), &[(env::METRICS_EXPORTER, "prometheus")]);
        assert_eq!(variable, env::METRICS_EXPORTER);
        let (variable, value, reason) =
            error_of(Builder::default(), &[(env::OTLP_PROTOCOL, "http/json")]);
        assert_eq!(
            (variable, value.as_str()),
            (env::OTLP_PROTOCOL, "http/json")
        );
        assert!(reason.contains("http/protobuf"), "{reason}");
        let (variable, _, _) = error_of(Builder::default(), &[(env::OTLP_PROTOCOL, "udp")]);
        assert_eq!(variable, env::OTLP_PROTOCOL);
        let (variable, _, _) = error_of(Builder::default(), &[(env::OTLP_TIMEOUT, "10s")]);
        assert_eq!(variable, env::OTLP_TIMEOUT);
        let (variable, _, _) = error_of(Builder::default(), &[(env::TRACES_SAMPLER, "sometimes")]);
        assert_eq!(variable, env::TRACES_SAMPLER);
        let (variable, _, _) = error_of(
            Builder::default(),
            &[
                (env::TRACES_SAMPLER, "traceidratio"),
                (env::TRACES_SAMPLER_ARG, "1.5"),
            ],
        );
        assert_eq!(variable, env::TRACES_SAMPLER_ARG);
        let (variable, _, _) = error_of(Builder::default().sampling_ratio(-0.1), &[]);
        assert_eq!(variable, env::TRACES_SAMPLER_ARG);
        let (variable, _, _) = error_of(
            Builder::default(),
            &[(env::CAPTURE_MESSAGE_CONTENT, "maybe")],
        );
        assert_eq!(variable, env::CAPTURE_MESSAGE_CONTENT);
        let (variable, _, _) = error_of(Builder::default(), &[(env::DISABLE_BATCH, "perhaps")]);
        assert_eq!(variable, env::DISABLE_BATCH);
        let (variable, _, _) = error_of(Builder::default(), &[(env::DISABLE_METRICS, "2")]);
        assert_eq!(variable, env::DISABLE_METRICS);
        let (variable, _, _) = error_of(Builder::default(), &[(env::MAX_CONTENT_LENGTH, "lots")]);
        assert_eq!(variable, env::MAX_CONTENT_LENGTH);

        let message = resolve(Builder::default(), &[(env::TRACES_EXPORTER, "jaeger")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "invalid OTEL_TRACES_EXPORTER=\"jaeger\": expected console, otlp or none"
        );
    }

    #[test]
    fn builder_debug_masks_header_values() {
        let builder = Builder::default().otlp_header("authorization", "Bearer sk-123");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("sk-123"), "{debug}");
        assert!(debug.contains("authorization=***"), "{debug}");
    }
}
