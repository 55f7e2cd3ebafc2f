//! Environment variables read by [`init`](crate::init), with the setting each controls.

/// `true` disables llm-trace's telemetry entirely: annotated functions run untraced.
pub const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// Service name (`service.name`).
pub const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Deployment environment (`deployment.environment.name`).
pub const DEPLOYMENT_ENVIRONMENT: &str = "OTEL_DEPLOYMENT_ENVIRONMENT";
/// OTLP collector base URL; `/v1/traces` and `/v1/metrics` are appended.
pub const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// OTLP traces URL, used as is (overrides the base URL for traces).
pub const OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// OTLP metrics URL, used as is (overrides the base URL for metrics).
pub const OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// OTLP request headers, `key1=value1,key2=value2` (values URL-decoded).
pub const OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// OTLP headers of trace exports (replace the generic ones for traces).
pub const OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
/// OTLP headers of metric exports (replace the generic ones for metrics).
pub const OTLP_METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
/// OTLP protocol: `http/protobuf` (default) or `grpc` (feature `grpc`).
pub const OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// OTLP protocol of trace exports.
pub const OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// OTLP protocol of metric exports.
pub const OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
/// OTLP export timeout, milliseconds (1 to 600000); also bounds shutdown.
pub const OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// OTLP export timeout of trace exports, milliseconds.
pub const OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// OTLP export timeout of metric exports, milliseconds.
pub const OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
/// OTLP compression: `gzip` or `none`.
pub const OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// OTLP compression of trace exports.
pub const OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// OTLP compression of metric exports.
pub const OTLP_METRICS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
/// Traces exporter: `console`, `otlp` or `none`.
pub const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// Metrics exporter: `console`, `otlp` or `none`.
pub const METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// Sampler: `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`,
/// `parentbased_always_off`, `parentbased_traceidratio`.
pub const TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// The sampler's ratio, between 0 and 1.
pub const TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
/// Spans held for export at most (1 to 1000000, default 2048); more are dropped and
/// counted.
pub const BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// Delay between two span exports, milliseconds (1 to 3600000, default 5000).
pub const BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
/// Spans per export at most (1 to the queue size, default 512).
pub const BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// Interval between metric exports, milliseconds (100 to 86400000, default 60000).
pub const METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// Message content capture: `true`, `false`, `NO_CONTENT`, `SPAN_ONLY`, `EVENT_ONLY`,
/// `SPAN_AND_EVENT`.
pub const CAPTURE_MESSAGE_CONTENT: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
/// The longest piece of captured content kept, in bytes.
pub const MAX_CONTENT_LENGTH: &str = "LLM_TRACE_MAX_CONTENT_LENGTH";
/// `true` turns metrics off.
pub const DISABLE_METRICS: &str = "LLM_TRACE_DISABLE_METRICS";
/// `true` exports spans as soon as they end (still in batches, never dropping more than
/// batching would) instead of on the schedule.
pub const DISABLE_BATCH: &str = "LLM_TRACE_DISABLE_BATCH";
/// A price table file (llm-trace TOML, or OpenLIT's `pricing.json`).
pub const PRICING: &str = "LLM_TRACE_PRICING";
/// `false` leaves out the keys OpenLIT's dashboard reads beyond the spec
/// (`gen_ai.usage.total_tokens` on call spans, the resource's `deployment.environment`).
pub const OPENLIT_COMPAT: &str = "LLM_TRACE_OPENLIT_COMPAT";
/// `true` adds `openinference.span.kind = CHAIN` to function spans (Arize Phoenix).
pub const OPENINFERENCE: &str = "LLM_TRACE_OPENINFERENCE";
/// Where to write the usage report at shutdown: an HTML file (e.g. `usage.html`), with
/// its numbers as JSON beside it (`usage.json`).
pub const REPORT: &str = "LLM_TRACE_REPORT";
/// Context keys usage is also counted by, comma-separated (at most 4), e.g.
/// `gen_ai.conversation.id,user.id`.
pub const USAGE_KEYS: &str = "LLM_TRACE_USAGE_KEYS";
/// The most distinct values counted per breakdown (models, functions, each key), 1 to
/// 1000000, default 1000; further values are counted together as `other`.
pub const USAGE_MAX_VALUES: &str = "LLM_TRACE_USAGE_MAX_VALUES";
/// Alert on each call costing more than this many USD.
pub const BUDGET_CALL_USD: &str = "LLM_TRACE_BUDGET_CALL_USD";
/// Alert when the calls of the last hour cost more than this many USD.
pub const BUDGET_HOUR_USD: &str = "LLM_TRACE_BUDGET_HOUR_USD";
/// Alert when the calls of the last 24 hours cost more than this many USD.
pub const BUDGET_DAY_USD: &str = "LLM_TRACE_BUDGET_DAY_USD";
/// Alert once when every call together costs more than this many USD.
pub const BUDGET_TOTAL_USD: &str = "LLM_TRACE_BUDGET_TOTAL_USD";
/// Per usage key value budgets, `key=usd,key=usd` (e.g. `gen_ai.conversation.id=0.5`).
pub const BUDGET_KEY_USD: &str = "LLM_TRACE_BUDGET_KEY_USD";
/// Per function invocation budgets, `module::path::function=usd,...` (override the
/// functions' `#[llm_trace(budget_usd = ..)]`).
pub const BUDGET_FUNCTION_USD: &str = "LLM_TRACE_BUDGET_FUNCTION_USD";
/// Latency alert thresholds per model, milliseconds: `model=ms,...` (`*` for every other
/// model), e.g. `mistral-large-latest=5000,*=10000`.
pub const LATENCY_ALERT_MS: &str = "LLM_TRACE_LATENCY_ALERT_MS";

/// Builder methods and the variable of the same setting.
pub(crate) const BUILDER_VARIABLES: &[(&str, &str)] = &[
    ("sdk_disabled", SDK_DISABLED),
    ("service_name", SERVICE_NAME),
    ("environment", DEPLOYMENT_ENVIRONMENT),
    ("otlp_endpoint", OTLP_ENDPOINT),
    ("otlp_traces_endpoint", OTLP_TRACES_ENDPOINT),
    ("otlp_metrics_endpoint", OTLP_METRICS_ENDPOINT),
    ("otlp_header", OTLP_HEADERS),
    ("protocol", OTLP_PROTOCOL),
    ("export_timeout", OTLP_TIMEOUT),
    ("compression", OTLP_COMPRESSION),
    ("traces_exporter", TRACES_EXPORTER),
    ("metrics_exporter", METRICS_EXPORTER),
    ("sampler", TRACES_SAMPLER),
    ("sampling_ratio", TRACES_SAMPLER_ARG),
    ("max_queue_size", BSP_MAX_QUEUE_SIZE),
    ("schedule_delay", BSP_SCHEDULE_DELAY),
    ("max_export_batch_size", BSP_MAX_EXPORT_BATCH_SIZE),
    ("metrics_interval", METRIC_EXPORT_INTERVAL),
    ("capture_content", CAPTURE_MESSAGE_CONTENT),
    ("max_content_length", MAX_CONTENT_LENGTH),
    ("disable_metrics", DISABLE_METRICS),
    ("disable_batch", DISABLE_BATCH),
    ("pricing_file", PRICING),
    ("openlit_compat", OPENLIT_COMPAT),
    ("openinference", OPENINFERENCE),
    ("report", REPORT),
    ("usage_key", USAGE_KEYS),
    ("usage_max_values", USAGE_MAX_VALUES),
    ("budget_per_call_usd", BUDGET_CALL_USD),
    ("budget_per_hour_usd", BUDGET_HOUR_USD),
    ("budget_per_day_usd", BUDGET_DAY_USD),
    ("budget_total_usd", BUDGET_TOTAL_USD),
    ("budget_per_key_usd", BUDGET_KEY_USD),
    ("budget_per_function_usd", BUDGET_FUNCTION_USD),
    ("latency_alert", LATENCY_ALERT_MS),
];

/// The environment variable of the setting a builder method sets.
pub(crate) fn variable_of(method: &str) -> Option<&'static str> {
    BUILDER_VARIABLES
        .iter()
        .find(|(name, _)| *name == method)
        .map(|(_, variable)| *variable)
}
