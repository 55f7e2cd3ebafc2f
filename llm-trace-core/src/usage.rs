//! What llm-trace counted so far: calls, errors, tokens, exact cost and latency, in total,
//! per model, per annotated function and per value of chosen context keys.
//!
//! A [`Usage`] is a snapshot, taken by `llm_trace::usage()` (or `Recorder::usage`). Every
//! call a recorder traces or measures is counted once, whether its span was sampled or not:
//! - its model ([`Usage::models`], by `gen_ai.request.model`);
//! - the nearest `#[llm_trace]` function it was made in ([`Usage::functions`], by
//!   `code.function.name`; calls outside any annotated function are counted as
//!   [`Breakdown::unset`]);
//! - for each usage key (e.g. `gen_ai.conversation.id`, `user.id`), the key's value in the
//!   call's context — from `#[llm_trace(fields(...))]` or a `Scope` — ([`Usage::key`]).
//!
//! Memory is bounded by one cap (1000 by default): at most that many distinct values per
//! usage key, and that many distinct (annotated function, model) pairs, from which the
//! model and function breakdowns are summed. Calls of further values (pairs) are counted
//! in [`Breakdown::other`] (for a pair, in the `other` of both breakdowns), and
//! [`Breakdown::overflow`] says how many.
//!
//! Costs are exact: sums of integer 10⁻¹⁵ USD ([`UsageTotals::cost_femto_usd`]), turned into
//! `f64` once ([`UsageTotals::cost_usd`]).
//!
//! # Latency
//!
//! Each entry keeps a fixed histogram of 240 buckets (about 1 KB): exact below 8 µs, then 8
//! buckets per power of two up to 2³² µs (71.6 minutes; longer calls count as that). A
//! quantile is reported as the middle of its bucket: within 6.25 % of the true value.
//! Finished calls are measured, successful or failed; calls abandoned before they finished
//! (a dropped future or stream) are not.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::pricing::usd_of_units;

/// Exact sub-buckets per power of two (2^3 = 8).
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// The largest power of two of microseconds measured; longer latencies are clamped.
const MAX_OCTAVE: u32 = 31;
/// Buckets: 8 exact ones below 8 µs, then 8 per octave from 2^3 to 2^31 µs.
const BUCKETS: usize = (SUB + (MAX_OCTAVE as u64 + 1 - SUB_BITS as u64) * SUB) as usize;

/// A latency histogram of fixed size (see the [module docs](self)).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Latency {
    counts: Box<[u32; BUCKETS]>,
    samples: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            counts: Box::new([0; BUCKETS]),
            samples: 0,
        }
    }
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latency")
            .field("samples", &self.samples)
            .field("p50", &self.quantile(0.5))
            .field("p95", &self.quantile(0.95))
            .finish()
    }
}

/// The bucket of a latency in microseconds.
fn bucket_of(micros: u64) -> usize {
    let micros = micros.min((1u64 << (MAX_OCTAVE + 1)) - 1);
    if micros < SUB {
        return micros as usize;
    }
    let octave = 63 - micros.leading_zeros();
    let sub = (micros >> (octave - SUB_BITS)) & (SUB - 1);
    (SUB + u64::from(octave - SUB_BITS) * SUB + sub) as usize
}

/// The middle of a bucket, in microseconds.
fn middle_of(bucket: usize) -> f64 {
    let bucket = bucket as u64;
    if bucket < SUB {
        return bucket as f64;
    }
    let octave = (bucket - SUB) / SUB + u64::from(SUB_BITS);
    let sub = (bucket - SUB) % SUB;
    let width = 1u64 << (octave - u64::from(SUB_BITS));
    let low = (SUB + sub) * width;
    low as f64 + width as f64 / 2.0
}

impl Latency {
    pub(crate) fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let count = &mut self.counts[bucket_of(micros)];
        *count = count.saturating_add(1);
        self.samples = self.samples.saturating_add(1);
    }

    pub(crate) fn merge(&mut self, other: &Latency) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine = mine.saturating_add(*theirs);
        }
        self.samples = self.samples.saturating_add(other.samples);
    }

    /// The `q` quantile (0 to 1): the middle of the bucket holding the sample of rank
    /// `ceil(q × samples)`.
    fn quantile(&self, q: f64) -> Option<Duration> {
        if self.samples == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = ((q * self.samples as f64).ceil() as u64).clamp(1, self.samples);
        let mut seen = 0u64;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += u64::from(*count);
            if seen >= rank {
                return Some(Duration::from_nanos((middle_of(bucket) * 1000.0) as u64));
            }
        }
        None
    }
}

/// Totals of some calls: counts, tokens, exact cost, latency quantiles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) cancelled: u64,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) cost: u128,
    pub(crate) priced: u64,
    pub(crate) unpriced: u64,
    pub(crate) without_usage: u64,
    pub(crate) late: u64,
    pub(crate) latency: Latency,
}

impl UsageTotals {
    /// Calls counted: finished (successfully or not) and abandoned ones.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// Calls that failed.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Calls abandoned before they finished (their future or stream was dropped).
    pub fn cancelled(&self) -> u64 {
        self.cancelled
    }

    /// Input (prompt) tokens of the calls that reported usage.
    pub fn input_tokens(&self) -> u64 {
        self.input_tokens
    }

    /// Output (completion) tokens of the calls that reported usage.
    pub fn output_tokens(&self) -> u64 {
        self.output_tokens
    }

    /// The cost of the priced calls in USD, rounded once from the exact sum; `None` when
    /// no call was priced (never a silent 0). See [`UsageTotals::unpriced_calls`] for
    /// what it leaves out.
    pub fn cost_usd(&self) -> Option<f64> {
        self.cost_femto_usd().map(usd_of_units)
    }

    /// The exact cost of the priced calls, in 10⁻¹⁵ USD; `None` when no call was priced.
    pub fn cost_femto_usd(&self) -> Option<u128> {
        (self.priced > 0).then_some(self.cost)
    }

    /// Calls that reported usage and were priced.
    pub fn priced_calls(&self) -> u64 {
        self.priced
    }

    /// Calls that reported usage for a model the price table does not have: their tokens
    /// are counted, their cost is not.
    pub fn unpriced_calls(&self) -> u64 {
        self.unpriced
    }

    /// Calls that ended without reporting usage: abandoned calls and streams whose usage
    /// chunk never came. Their tokens and cost are unknown, so not counted. (Failed calls
    /// report no usage either; they are counted as [`UsageTotals::errors`].)
    pub fn calls_without_usage(&self) -> u64 {
        self.without_usage
    }

    /// Calls that ended after an annotated function they ran under had returned (a stream
    /// consumed by the caller, work left running): their cost is in this snapshot and in
    /// the totals of the functions still open, not in the closed function's span.
    pub fn late_calls(&self) -> u64 {
        self.late
    }

    /// How many latencies were measured (finished calls).
    pub fn latency_samples(&self) -> u64 {
        self.latency.samples
    }

    /// The median latency of the finished calls (within 6.25 %, see the
    /// [module docs](self)).
    pub fn latency_p50(&self) -> Option<Duration> {
        self.latency.quantile(0.5)
    }

    /// The 95th percentile latency of the finished calls (within 6.25 %).
    pub fn latency_p95(&self) -> Option<Duration> {
        self.latency.quantile(0.95)
    }

    /// Any latency quantile, `q` from 0 to 1 (within 6.25 %); `None` without samples or
    /// for `q` out of range.
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        self.latency.quantile(q)
    }

    pub(crate) fn merge(&mut self, other: &UsageTotals) {
        self.calls = self.calls.saturating_add(other.calls);
        self.errors = self.errors.saturating_add(other.errors);
        self.cancelled = self.cancelled.saturating_add(other.cancelled);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cost = self.cost.saturating_add(other.cost);
        self.priced = self.priced.saturating_add(other.priced);
        self.unpriced = self.unpriced.saturating_add(other.unpriced);
        self.without_usage = self.without_usage.saturating_add(other.without_usage);
        self.late = self.late.saturating_add(other.late);
        self.latency.merge(&other.latency);
    }
}

/// Totals by the values of one dimension (models, functions, or one usage key), within a
/// cap of distinct values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub(crate) values: BTreeMap<String, UsageTotals>,
    pub(crate) other: UsageTotals,
    pub(crate) unset: UsageTotals,
    pub(crate) max_values: usize,
}

impl Breakdown {
    /// The totals of one value.
    pub fn get(&self, value: &str) -> Option<&UsageTotals> {
        self.values.get(value)
    }

    /// Every value tracked, with its totals.
    pub fn values(&self) -> &BTreeMap<String, UsageTotals> {
        &self.values
    }

    /// The calls of values beyond the cap, together.
    pub fn other(&self) -> &UsageTotals {
        &self.other
    }

    /// How many calls were counted in [`Breakdown::other`] because the cap was reached.
    pub fn overflow(&self) -> u64 {
        self.other.calls
    }

    /// The calls with no value: made outside any annotated function (for functions), or
    /// without the key in their context (for a usage key).
    pub fn unset(&self) -> &UsageTotals {
        &self.unset
    }

    /// The cap: the most distinct values tracked (for models and functions, the most
    /// distinct function and model pairs).
    pub fn max_values(&self) -> usize {
        self.max_values
    }

    /// The `n` values that cost the most, most expensive first (ties by name); values with
    /// no priced call are left out.
    pub fn top_by_cost(&self, n: usize) -> Vec<(&str, &UsageTotals)> {
        let mut priced: Vec<(&str, &UsageTotals)> = self
            .values
            .iter()
            .filter(|(_, totals)| totals.priced > 0)
            .map(|(value, totals)| (value.as_str(), totals))
            .collect();
        priced.sort_by(|a, b| b.1.cost.cmp(&a.1.cost).then(a.0.cmp(b.0)));
        priced.truncate(n);
        priced
    }
}

/// What a recorder counted so far (see the [module docs](self)).
///
/// ```
/// use llm_trace_core::__private::Recorder;
/// let usage = Recorder::builder().build().usage();
/// assert_eq!(usage.total().calls(), 0);
/// assert_eq!(usage.total().cost_usd(), None);
/// assert!(usage.models().values().is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub(crate) total: UsageTotals,
    pub(crate) models: Breakdown,
    pub(crate) functions: Breakdown,
    pub(crate) keys: Vec<(String, Breakdown)>,
}

impl Usage {
    /// Every call together.
    pub fn total(&self) -> &UsageTotals {
        &self.total
    }

    /// By model (`gen_ai.request.model`).
    pub fn models(&self) -> &Breakdown {
        &self.models
    }

    /// By the nearest annotated function (`code.function.name`, `module::path::function`).
    pub fn functions(&self) -> &Breakdown {
        &self.functions
    }

    /// By the values of a usage key, if it is one.
    pub fn key(&self, key: &str) -> Option<&Breakdown> {
        self.keys
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, breakdown)| breakdown)
    }

    /// The usage keys, in configuration order, with their breakdowns.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &Breakdown)> {
        self.keys
            .iter()
            .map(|(key, breakdown)| (key.as_str(), breakdown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_order() {
        assert_eq!(BUCKETS, 240);
        let mut last = 0;
        for micros in (0..20_000u64).chain([1 << 20, (1 << 32) - 1, 1 << 32, u64::MAX]) {
            let bucket = bucket_of(micros);
            assert!(bucket >= last, "{micros}");
            assert!(bucket < BUCKETS);
            last = bucket;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        for micros in 0..8 {
            assert_eq!(middle_of(bucket_of(micros)), micros as f64);
        }
    }

    #[test]
    fn quantiles_are_within_the_documented_precision() {
        for micros in [
            9u64,
            15,
            16,
            100,
            1_000,
            12_345,
            250_000,
            1_234_567,
            4_000_000_000,
        ] {
            let mut latency = Latency::default();
            latency.record(Duration::from_micros(micros));
            let p50 = latency.quantile(0.5).unwrap().as_nanos() as f64 / 1000.0;
            let error = (p50 - micros as f64).abs() / micros as f64;
            assert!(error <= 0.0625, "{micros} µs reported as {p50} µs");
        }
    }

    #[test]
    fn quantiles_pick_the_right_rank() {
        let mut latency = Latency::default();
        assert_eq!(latency.quantile(0.5), None);
        for _ in 0..10 {
            latency.record(Duration::from_micros(5));
        }
        for _ in 0..10 {
            latency.record(Duration::from_micros(7));
        }
        assert_eq!(latency.quantile(0.5), Some(Duration::from_micros(5)));
        assert_eq!(latency.quantile(0.55), Some(Duration::from_micros(7)));
        assert_eq!(latency.quantile(0.95), Some(Duration::from_micros(7)));
        assert_eq!(latency.quantile(0.0), Some(Duration::from_micros(5)));
        assert_eq!(latency.quantile(1.5), None);
        let mut merged = latency.clone();
        merged.merge(&latency);
        assert_eq!(merged.samples, 40);
        assert_eq!(merged.quantile(0.5), Some(Duration::from_micros(5)));
    }
}
