//! What the usage report says: the numbers, as `usage.json` carries them and the HTML
//! page draws them.
//!
//! Money is counted in integer femto-dollars (10⁻¹⁵ USD, the unit the price table's
//! nano-dollars per million tokens multiply into, so every priced call is an exact
//! integer of them); `cost_usd` is the nearest `f64` of the exact total and
//! `cost_femto_usd` the exact total as a decimal string (JSON numbers lose integers
//! above 2⁵³).

use serde::{Serialize, Serializer};

/// Femto-dollars in one dollar.
pub(crate) const FEMTO_PER_USD: u128 = 1_000_000_000_000_000;

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Usage {
    pub(crate) format: &'static str,
    pub(crate) version: u32,
    pub(crate) generated_by: String,
    pub(crate) service: Option<String>,
    pub(crate) started_at: String,
    pub(crate) ended_at: String,
    /// Which spans the numbers come from.
    pub(crate) covers: String,
    pub(crate) sampler: String,
    pub(crate) totals: Totals,
    pub(crate) by_model: Vec<ModelRow>,
    pub(crate) by_function: Vec<FunctionRow>,
    pub(crate) errors: Vec<ErrorRow>,
    pub(crate) timeline: Timeline,
    pub(crate) top_traces: TopTraces,
    pub(crate) overflow: Overflow,
    pub(crate) limits: LimitsView,
}

/// Calls, errors, tokens and cost of a set of calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) cost_femto: u128,
    /// Calls that succeeded without a cost (no price for the model, or no usage).
    pub(crate) unpriced: u64,
}

impl Sums {
    pub(crate) fn add(&mut self, other: &Sums) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_femto += other.cost_femto;
        self.unpriced += other.unpriced;
    }
}

/// Calls, errors, tokens and cost of a set of calls, as the report writes them (flattened
/// into each row that has them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Amounts {
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    /// The nearest `f64` of the exact cost.
    pub(crate) cost_usd: f64,
    /// The exact cost, written `cost_femto_usd` as a decimal string.
    #[serde(rename = "cost_femto_usd", serialize_with = "decimal")]
    pub(crate) cost_femto: u128,
}

impl From<&Sums> for Amounts {
    fn from(sums: &Sums) -> Self {
        Amounts {
            calls: sums.calls,
            errors: sums.errors,
            input_tokens: sums.input_tokens,
            output_tokens: sums.output_tokens,
            cost_usd: usd(sums.cost_femto),
            cost_femto: sums.cost_femto,
        }
    }
}

/// A `u128` as a decimal string: JSON numbers lose integers above 2⁵³.
fn decimal<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// The report's totals.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Totals {
    #[serde(flatten)]
    pub(crate) amounts: Amounts,
    pub(crate) unpriced_calls: u64,
    pub(crate) traces: u64,
    pub(crate) function_invocations: u64,
}

/// One (operation, model).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ModelRow {
    pub(crate) operation: String,
    pub(crate) model: String,
    #[serde(flatten)]
    pub(crate) amounts: Amounts,
    pub(crate) unpriced_calls: u64,
    pub(crate) latency: Latency,
}

/// The call durations of one model.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Latency {
    pub(crate) count: u64,
    pub(crate) min_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) mean_ms: f64,
    /// The upper bound of the bucket holding the median call (at most `max_ms`).
    pub(crate) p50_ms: f64,
    /// The upper bound of the bucket holding the 95th-percentile call (at most `max_ms`).
    pub(crate) p95_ms: f64,
    /// Non-empty buckets: calls that took more than the previous bound, up to `le_ms`.
    pub(crate) buckets: Vec<LatencyBucket>,
}

/// Calls up to a duration.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LatencyBucket {
    /// The bucket's upper bound in milliseconds; `null` for the last, unbounded one.
    pub(crate) le_ms: Option<f64>,
    pub(crate) count: u64,
}

/// One annotated function (by `code.function.name`).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct FunctionRow {
    pub(crate) function: String,
    /// Spans of the function that ended (0 for the bucket of calls outside any).
    pub(crate) invocations: u64,
    pub(crate) failed_invocations: u64,
    #[serde(flatten)]
    pub(crate) amounts: Amounts,
}

/// Failed calls of one `error.type`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ErrorRow {
    pub(crate) error_type: String,
    pub(crate) count: u64,
}

/// Calls over time, by their end.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Timeline {
    pub(crate) start: String,
    /// `start` in nanoseconds since the Unix epoch (a string: JSON numbers are not
    /// exact that far).
    pub(crate) start_unix_nano: String,
    pub(crate) bucket_seconds: f64,
    pub(crate) buckets: Vec<TimeBucket>,
}

/// The calls that ended in one interval.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct TimeBucket {
    pub(crate) offset_seconds: f64,
    #[serde(flatten)]
    pub(crate) amounts: Amounts,
}

/// The traces drawn as waterfalls.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct TopTraces {
    pub(crate) by_cost: Vec<TraceView>,
    pub(crate) by_duration: Vec<TraceView>,
}

/// One trace, its llm-trace spans in drawing order.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct TraceView {
    pub(crate) trace_id: String,
    pub(crate) start: String,
    /// From its first llm-trace span's start to its last one's end.
    pub(crate) duration_ms: f64,
    #[serde(flatten)]
    pub(crate) amounts: Amounts,
    /// llm-trace spans of the trace beyond the per-trace cap, counted in the totals but
    /// not drawn.
    pub(crate) spans_not_drawn: u64,
    pub(crate) spans: Vec<SpanView>,
}

/// One bar of a waterfall.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SpanView {
    pub(crate) span_id: String,
    /// The nearest drawn ancestor, `null` at the top.
    pub(crate) parent_span_id: Option<String>,
    pub(crate) name: String,
    /// `function` or `call`.
    pub(crate) kind: &'static str,
    pub(crate) depth: u32,
    pub(crate) start_offset_ms: f64,
    pub(crate) duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cost_femto_usd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_type: Option<String>,
}

/// What the caps folded away or cut short.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Overflow {
    /// Calls counted under the `(other)` model row.
    pub(crate) model_calls: u64,
    /// Calls counted under the `(other)` function row.
    pub(crate) function_calls: u64,
    /// Failed calls counted under the `(other)` error type.
    pub(crate) error_calls: u64,
    /// Traces summarised before their root span ended (too many traces open at once).
    pub(crate) traces_closed_early: u64,
    /// Calls whose annotated function had not ended when their trace was summarised
    /// (counted under `(outside annotated functions)`).
    pub(crate) calls_unattributed: u64,
}

/// The caps in force.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LimitsView {
    pub(crate) models: usize,
    pub(crate) functions: usize,
    pub(crate) error_types: usize,
    pub(crate) time_buckets: usize,
    pub(crate) top_traces: usize,
    pub(crate) spans_per_trace: usize,
    pub(crate) open_traces: usize,
}

/// The label of the row that gathers what a cap folded away.
pub(crate) const OTHER: &str = "(other)";
/// The function row of calls made outside any annotated function.
pub(crate) const NO_FUNCTION: &str = "(outside annotated functions)";

/// The nearest `f64` to an exact amount of femto-dollars.
pub(crate) fn usd(femto: u128) -> f64 {
    femto as f64 / FEMTO_PER_USD as f64
}

/// Nanoseconds as milliseconds.
pub(crate) fn millis(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// A `SystemTime` as nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// Nanoseconds since the Unix epoch as an RFC 3339 UTC time with milliseconds,
/// `2025-01-31T12:34:56.789Z`.
pub(crate) fn rfc3339(unix_nanos: u64) -> String {
    let seconds = unix_nanos / 1_000_000_000;
    let millis = (unix_nanos % 1_000_000_000) / 1_000_000;
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59.123Z, a leap day.
        assert_eq!(
            rfc3339(1_709_251_199_123_456_789),
            "2024-02-29T23:59:59.123Z"
        );
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn usd_is_the_nearest_double() {
        assert_eq!(usd(3_800_000_000), 0.0000038);
        assert_eq!(usd(0), 0.0);
    }
}
