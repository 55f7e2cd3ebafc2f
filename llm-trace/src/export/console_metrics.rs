//! Metrics for people: a per-model summary printed once, at shutdown, instead of raw
//! data points; then the grand total and the functions that cost the most, from the
//! recorder's exact usage count.
//!
//! ```text
//! llm-trace metrics summary
//!   chat mistral-small-latest: 2 calls (1 failed), mean 412.3 ms, tokens 11 in / 9 out, cost $0.0000038
//!   embeddings mistral-embed: 1 call, mean 41.6 ms, tokens 8 in, cost $0.0000008
//!   total: 3 calls (1 failed), tokens 19 in / 9 out, cost $0.0000046
//!   top functions by cost:
//!     app::answer: 3 calls (1 failed), cost $0.0000046
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use llm_trace_core::__private::{lock, Recorder};
use llm_trace_core::usage::{Usage, UsageTotals};

use llm_trace_core::semconv::{
    self, GEN_AI_CLIENT_OPERATION_DURATION as OPERATION_DURATION,
    GEN_AI_CLIENT_TOKEN_USAGE as TOKEN_USAGE, GEN_AI_TOKEN_TYPE, GEN_AI_USAGE_COST_METRIC as COST,
};

/// Totals of one (operation, model).
#[derive(Clone, Debug, Default, PartialEq)]
struct Totals {
    calls: u64,
    failed: u64,
    seconds: f64,
    input_tokens: u64,
    output_tokens: u64,
    cost: f64,
}

type Summary = BTreeMap<(String, String), Totals>;

/// The recorder whose usage the summary ends with, set once it is built.
pub(crate) type UsageSource = Arc<OnceLock<Recorder>>;

/// How many functions the summary lists.
const TOP_FUNCTIONS: usize = 5;

/// Keeps the latest cumulative metrics and prints their summary at shutdown.
pub(crate) struct ConsoleMetricsExporter {
    sink: Arc<Mutex<dyn Write + Send>>,
    summary: Mutex<Summary>,
    usage: UsageSource,
}

impl std::fmt::Debug for ConsoleMetricsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleMetricsExporter")
    }
}

impl ConsoleMetricsExporter {
    pub(crate) fn new(sink: Arc<Mutex<dyn Write + Send>>, usage: UsageSource) -> Self {
        ConsoleMetricsExporter {
            sink,
            summary: Mutex::default(),
            usage,
        }
    }
}

fn text(attributes: &[&KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

fn key_of(attributes: &[&KeyValue]) -> (String, String) {
    let find = |key: &str| text(attributes, key).unwrap_or_default();
    (
        find(semconv::GEN_AI_OPERATION_NAME),
        find(semconv::GEN_AI_REQUEST_MODEL),
    )
}

fn summarize(metrics: &ResourceMetrics) -> Summary {
    let mut summary = Summary::new();
    for metric in metrics.scope_metrics().flat_map(|scope| scope.metrics()) {
        match (metric.name(), metric.data()) {
            (name, AggregatedMetrics::F64(MetricData::Histogram(histogram)))
                if name == OPERATION_DURATION || name == COST =>
            {
                for point in histogram.data_points() {
                    let attributes: Vec<&KeyValue> = point.attributes().collect();
                    let totals = summary.entry(key_of(&attributes)).or_default();
                    if name == COST {
                        totals.cost += point.sum();
                        continue;
                    }
                    totals.calls += point.count();
                    totals.seconds += point.sum();
                    if attributes
                        .iter()
                        .any(|kv| kv.key.as_str() == semconv::ERROR_TYPE)
                    {
                        totals.failed += point.count();
                    }
                }
            }
            (TOKEN_USAGE, AggregatedMetrics::U64(MetricData::Histogram(histogram))) => {
                for point in histogram.data_points() {
                    let attributes: Vec<&KeyValue> = point.attributes().collect();
                    let kind = text(&attributes, GEN_AI_TOKEN_TYPE);
                    let totals = summary.entry(key_of(&attributes)).or_default();
                    match kind.as_deref() {
                        Some("input") => totals.input_tokens += point.sum(),
                        Some("output") => totals.output_tokens += point.sum(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    summary
}

fn render(summary: &Summary) -> String {
    if summary.is_empty() {
        return String::new();
    }
    let mut out = String::from("llm-trace metrics summary\n");
    for ((operation, model), totals) in summary {
        let calls = if totals.calls == 1 { "call" } else { "calls" };
        let _ = write!(out, "  {operation} {model}: {} {calls}", totals.calls);
        if totals.failed > 0 {
            let _ = write!(out, " ({} failed)", totals.failed);
        }
        if totals.calls > 0 {
            let mean = totals.seconds / totals.calls as f64 * 1000.0;
            let _ = write!(out, ", mean {mean:.1} ms");
        }
        match (totals.input_tokens, totals.output_tokens) {
            (0, 0) => {}
            (input, 0) => {
                let _ = write!(out, ", tokens {input} in");
            }
            (input, output) => {
                let _ = write!(out, ", tokens {input} in / {output} out");
            }
        }
        if totals.cost > 0.0 {
            let _ = write!(out, ", cost ${}", usd(totals.cost));
        }
        out.push('\n');
    }
    out
}

/// A sum of costs from the cost histogram, to the femto-dollar every price is exact to:
/// the float drift of the sum (`0.09483800000000002`) is not shown.
fn usd(cost: f64) -> String {
    let text = format!("{cost:.15}");
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_owned()
}

/// `3 calls (1 failed), tokens 19 in / 9 out, cost $0.0000046` and what it leaves out.
fn render_usage_totals(out: &mut String, totals: &UsageTotals, tokens: bool) {
    let calls = if totals.calls() == 1 { "call" } else { "calls" };
    let _ = write!(out, "{} {calls}", totals.calls());
    if totals.errors() > 0 {
        let _ = write!(out, " ({} failed)", totals.errors());
    }
    if tokens {
        match (totals.input_tokens(), totals.output_tokens()) {
            (0, 0) => {}
            (input, 0) => {
                let _ = write!(out, ", tokens {input} in");
            }
            (input, output) => {
                let _ = write!(out, ", tokens {input} in / {output} out");
            }
        }
    }
    if let Some(cost) = totals.cost_usd() {
        let _ = write!(out, ", cost ${}", usd(cost));
    }
    if totals.unpriced_calls() > 0 {
        let _ = write!(out, ", {} unpriced", totals.unpriced_calls());
    }
    if totals.calls_without_usage() > 0 {
        let _ = write!(out, ", {} without usage", totals.calls_without_usage());
    }
}

/// The grand total and the most expensive functions.
fn render_usage(usage: &Usage) -> String {
    let mut out = String::new();
    if usage.total().calls() == 0 {
        return out;
    }
    out.push_str("  total: ");
    render_usage_totals(&mut out, usage.total(), true);
    out.push('\n');
    let top = usage.functions().top_by_cost(TOP_FUNCTIONS);
    if !top.is_empty() {
        out.push_str("  top functions by cost:\n");
        for (function, totals) in top {
            let _ = write!(out, "    {function}: ");
            render_usage_totals(&mut out, totals, false);
            out.push('\n');
        }
    }
    out
}

impl PushMetricExporter for ConsoleMetricsExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let summary = summarize(metrics);
        *lock(&self.summary) = summary;
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut summary = render(&lock(&self.summary));
        if !summary.is_empty() {
            if let Some(recorder) = self.usage.get() {
                summary.push_str(&render_usage(&recorder.usage()));
            }
            let mut sink = lock(&self.sink);
            let _ = sink.write_all(summary.as_bytes());
            let _ = sink.flush();
        }
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn summed_costs_are_shown_without_float_drift() {
        assert_eq!(super::usd(0.094838 + 1e-17), "0.094838");
        assert_eq!(super::usd(0.0000056), "0.0000056");
        assert_eq!(super::usd(0.1 + 0.2), "0.3");
        assert_eq!(super::usd(12.0), "12");
    }

    use super::*;

    #[test]
    fn renders_one_line_per_model() {
        let mut summary = Summary::new();
        summary.insert(
            ("chat".into(), "mistral-small-latest".into()),
            Totals {
                calls: 2,
                failed: 1,
                seconds: 0.8246,
                input_tokens: 11,
                output_tokens: 9,
                cost: 0.0000038,
            },
        );
        summary.insert(
            ("embeddings".into(), "mistral-embed".into()),
            Totals {
                calls: 1,
                seconds: 0.0416,
                input_tokens: 8,
                cost: 0.0000008,
                ..Totals::default()
            },
        );
        assert_eq!(
            render(&summary),
            "llm-trace metrics summary\n  \
             chat mistral-small-latest: 2 calls (1 failed), mean 412.3 ms, tokens 11 in / 9 out, cost $0.0000038\n  \
             embeddings mistral-embed: 1 call, mean 41.6 ms, tokens 8 in, cost $0.0000008\n"
        );
        assert_eq!(render(&Summary::new()), "");
    }
}
