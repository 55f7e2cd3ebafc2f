//! [`Builder`]: the options of [`init`](crate::init), each overriding its environment
//! variable.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use llm_trace_core::content::{CaptureMode, RedactionError, Redactor};

use crate::settings::{Compression, Explicit, ExporterKind, Protocol, Sampling};

/// The options of [`init`](crate::init), each overriding its environment variable (see
/// [`env`](crate::env) and the README's configuration table).
///
/// ```no_run
/// use std::time::Duration;
/// let telemetry = llm_trace::builder()
///     .service_name("painter-bot")
///     .environment("production")
///     .otlp_endpoint("http://collector:4318")
///     .otlp_header("x-api-key", "secret")
///     .sampling_ratio(0.25)
///     .export_timeout(Duration::from_secs(5))
///     .init()
///     .expect("telemetry setup");
/// // ... call #[llm_trace] functions ...
/// telemetry.shutdown(); // flushes; reports (never fails with) what was lost
/// ```
#[derive(Default)]
#[must_use = "call .init() to set up telemetry"]
pub struct Builder {
    pub(crate) explicit: Explicit,
    pub(crate) redactor: Option<Redactor>,
    pub(crate) replace_global: bool,
    pub(crate) console: Option<Box<dyn std::io::Write + Send>>,
    pub(crate) console_colour: Option<bool>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let explicit = &self.explicit;
        f.debug_struct("Builder")
            .field("service_name", &explicit.service_name)
            .field("environment", &explicit.environment)
            .field("endpoint", &explicit.endpoint)
            .field(
                "headers",
                &explicit.headers.as_deref().map(crate::headers::mask_pairs),
            )
            .field("protocol", &explicit.protocol)
            .field("traces_exporter", &explicit.traces_exporter)
            .field("metrics_exporter", &explicit.metrics_exporter)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Installs nothing when `true`: annotated functions run untraced (else
    /// `OTEL_SDK_DISABLED`).
    pub fn sdk_disabled(mut self, disabled: bool) -> Self {
        self.explicit.sdk_disabled = Some(disabled);
        self
    }

    /// `service.name` (else `OTEL_SERVICE_NAME`, else the SDK's `unknown_service`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.explicit.service_name = Some(name.into());
        self
    }

    /// `deployment.environment.name` (else `OTEL_DEPLOYMENT_ENVIRONMENT`), and
    /// `deployment.environment` for OpenLIT unless [`openlit_compat(false)`](Builder::openlit_compat).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.explicit.environment = Some(environment.into());
        self
    }

    /// The OTLP collector's base URL, e.g. `http://localhost:4318` (else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`). Setting it makes OTLP the default exporter.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.explicit.endpoint = Some(endpoint.into());
        self
    }

    /// The URL trace exports go to, used as is (else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// else the base URL + `/v1/traces`).
    pub fn otlp_traces_endpoint(mut self, url: impl Into<String>) -> Self {
        self.explicit.traces_endpoint = Some(url.into());
        self
    }

    /// The URL metric exports go to, used as is (else
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, else the base URL + `/v1/metrics`).
    pub fn otlp_metrics_endpoint(mut self, url: impl Into<String>) -> Self {
        self.explicit.metrics_endpoint = Some(url.into());
        self
    }

    /// A header sent with every OTLP request (else `OTEL_EXPORTER_OTLP_HEADERS`; headers
    /// given here replace the environment's).
    pub fn otlp_header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.explicit
            .headers
            .get_or_insert_with(Vec::new)
            .push((key.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// The OTLP protocol (else `OTEL_EXPORTER_OTLP_PROTOCOL`, else HTTP/protobuf).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.explicit.protocol = Some(protocol);
        self
    }

    /// How long one OTLP export may take, 1 ms to 10 minutes (else
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s); it also bounds how long shutdown waits.
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.explicit.timeout = Some(timeout);
        self
    }

    /// Compression of OTLP requests (else `OTEL_EXPORTER_OTLP_COMPRESSION`, else none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.explicit.compression = Some(compression);
        self
    }

    /// Where spans go (else `OTEL_TRACES_EXPORTER`, else OTLP with an endpoint, console
    /// without).
    pub fn traces_exporter(mut self, kind: ExporterKind) -> Self {
        self.explicit.traces_exporter = Some(kind);
        self
    }

    /// Where metrics go (else `OTEL_METRICS_EXPORTER`, else as traces).
    pub fn metrics_exporter(mut self, kind: ExporterKind) -> Self {
        self.explicit.metrics_exporter = Some(kind);
        self
    }

    /// Turns metrics off (else `LLM_TRACE_DISABLE_METRICS`).
    pub fn disable_metrics(mut self, disable: bool) -> Self {
        self.explicit.disable_metrics = Some(disable);
        self
    }

    /// Exports spans as soon as they end instead of on the schedule (else
    /// `LLM_TRACE_DISABLE_BATCH`). Spans still leave in batches, so a slow collector loses
    /// no more than with batching.
    pub fn disable_batch(mut self, disable: bool) -> Self {
        self.explicit.disable_batch = Some(disable);
        self
    }

    /// The most spans held for export, 1 to 1,000,000 (else `OTEL_BSP_MAX_QUEUE_SIZE`,
    /// else 2048). Spans beyond it are dropped, counted and reported.
    pub fn max_queue_size(mut self, spans: usize) -> Self {
        self.explicit.max_queue_size = Some(spans);
        self
    }

    /// The delay between two span exports, 1 ms to 1 hour (else `OTEL_BSP_SCHEDULE_DELAY`,
    /// else 5 s).
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.explicit.schedule_delay = Some(delay);
        self
    }

    /// The most spans per export, 1 to the queue size (else
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, else 512).
    pub fn max_export_batch_size(mut self, spans: usize) -> Self {
        self.explicit.max_export_batch_size = Some(spans);
        self
    }

    /// The interval between metric exports, 100 ms to 1 day (else
    /// `OTEL_METRIC_EXPORT_INTERVAL`, else 60 s).
    pub fn metrics_interval(mut self, interval: Duration) -> Self {
        self.explicit.metrics_interval = Some(interval);
        self
    }

    /// Samples this ratio of traces, following the parent's decision (else
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`).
    pub fn sampling_ratio(mut self, ratio: f64) -> Self {
        self.explicit.sampling = Some(Sampling::ParentBasedRatio(ratio));
        self
    }

    /// The sampler (else `OTEL_TRACES_SAMPLER`, else parent-based always on).
    pub fn sampler(mut self, sampling: Sampling) -> Self {
        self.explicit.sampling = Some(sampling);
        self
    }

    /// Message content capture (else `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`,
    /// else none).
    pub fn capture_content(mut self, mode: CaptureMode) -> Self {
        self.explicit.capture = Some(mode);
        self
    }

    /// The longest piece of captured content kept, in bytes (else
    /// `LLM_TRACE_MAX_CONTENT_LENGTH`, else no limit). Longer text is cut at a character
    /// boundary and its part marked `"truncated": true`.
    pub fn max_content_length(mut self, bytes: usize) -> Self {
        self.explicit.max_content_length = Some(bytes);
        self
    }

    /// A redaction hook applied to every piece of captured content (message text, tool
    /// arguments and responses, embeddings inputs) before it is recorded. When it returns
    /// an error, none of that call's content is recorded and the span gets
    /// `llm_trace.content.redaction_failed = true`. The hook must not panic: one that does
    /// is not called again (its panic is printed once) and no content is recorded after.
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
        F: Fn(&str) -> Result<String, RedactionError> + Send + Sync + 'static,
    {
        self.redactor = Some(std::sync::Arc::new(hook));
        self
    }

    /// A price table file merged over the compiled-in table (else `LLM_TRACE_PRICING`):
    /// llm-trace's TOML format, or OpenLIT's `pricing.json` (USD per 1K tokens). Regular
    /// files of at most 1 MiB.
    pub fn pricing_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit.pricing = Some(path.into());
        self
    }

    /// Whether llm-trace also writes the keys OpenLIT's dashboard reads beyond the spec
    /// (else `LLM_TRACE_OPENLIT_COMPAT`, else `true`): `gen_ai.usage.total_tokens` on call
    /// spans and, with an [environment](Builder::environment), the resource attribute
    /// `deployment.environment` beside `deployment.environment.name`. The spec's keys are
    /// written either way.
    pub fn openlit_compat(mut self, on: bool) -> Self {
        self.explicit.openlit_compat = Some(on);
        self
    }

    /// Whether function spans carry `openinference.span.kind = CHAIN` (else
    /// `LLM_TRACE_OPENINFERENCE`, else `false`), so OpenInference backends such as Arize
    /// Phoenix draw each annotated function as a chain above its LLM and embedding calls
    /// instead of an `UNKNOWN` span.
    pub fn openinference(mut self, on: bool) -> Self {
        self.explicit.openinference = Some(on);
        self
    }

    /// Writes a usage report at shutdown (else `LLM_TRACE_REPORT`): one self-contained HTML
    /// file at `path` — totals, cost by model and by function, tokens and cost over time,
    /// latency per model, errors by type, the most expensive and the slowest traces — and
    /// the same numbers as JSON beside it (`usage.html` → `usage.json`). The directory
    /// must exist and be writable: `init` checks. The report covers the spans the sampler
    /// recorded, in console, OTLP and `none` traces export alike.
    ///
    /// ```no_run
    /// let telemetry = llm_trace::builder().report("usage.html").init().expect("telemetry setup");
    /// // ... call #[llm_trace] functions ...
    /// telemetry.shutdown(); // writes usage.html and usage.json
    /// ```
    pub fn report(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit.report = Some(path.into());
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_masks_header_values() {
        let builder = super::Builder::default().otlp_header("authorization", "Bearer sk-123");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("sk-123"), "{debug}");
        assert!(debug.contains("authorization=***"), "{debug}");
    }
}
