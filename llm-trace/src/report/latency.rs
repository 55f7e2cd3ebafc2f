//! Call durations of one model: a fixed log-scale histogram (ten buckets a decade, from
//! 0.1 ms to 800 s, then one unbounded), exact count, sum, min and max.

use super::model::{millis, Latency, LatencyBucket};

/// Bucket upper bounds in nanoseconds: 1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8 times
/// 0.1 ms, 1 ms, ... 100 s.
pub(crate) const BOUNDS_NS: [u64; 70] = bounds();

const fn bounds() -> [u64; 70] {
    let mantissa: [u64; 10] = [100, 125, 160, 200, 250, 315, 400, 500, 630, 800];
    let mut out = [0; 70];
    let mut scale = 1_000;
    let mut decade = 0;
    while decade < 7 {
        let mut i = 0;
        while i < 10 {
            out[decade * 10 + i] = mantissa[i] * scale;
            i += 1;
        }
        scale *= 10;
        decade += 1;
    }
    out
}

/// The histogram of one model's call durations.
#[derive(Clone, Debug)]
pub(crate) struct Histogram {
    counts: [u64; BOUNDS_NS.len() + 1],
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: [0; BOUNDS_NS.len() + 1],
            count: 0,
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }
}

/// The bucket of a duration: the first whose bound is at least `nanos`.
pub(crate) fn bucket_of(nanos: u64) -> usize {
    BOUNDS_NS.partition_point(|&bound| bound < nanos)
}

impl Histogram {
    pub(crate) fn record(&mut self, nanos: u64) {
        self.counts[bucket_of(nanos)] += 1;
        self.count += 1;
        self.sum_ns += u128::from(nanos);
        self.min_ns = self.min_ns.min(nanos);
        self.max_ns = self.max_ns.max(nanos);
    }

    /// The upper bound of the bucket holding the call of rank ⌈q·n⌉, at most the
    /// longest call: a value at most one bucket (26 %) above the true quantile.
    pub(crate) fn quantile_ns(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return BOUNDS_NS
                    .get(index)
                    .map_or(self.max_ns, |&bound| bound.min(self.max_ns));
            }
        }
        self.max_ns
    }

    pub(crate) fn view(&self) -> Latency {
        let empty = self.count == 0;
        Latency {
            count: self.count,
            min_ms: if empty { 0.0 } else { millis(self.min_ns) },
            max_ms: millis(self.max_ns),
            mean_ms: if empty {
                0.0
            } else {
                (self.sum_ns / u128::from(self.count)) as f64 / 1e6
            },
            p50_ms: millis(self.quantile_ns(0.5)),
            p95_ms: millis(self.quantile_ns(0.95)),
            buckets: self
                .counts
                .iter()
                .enumerate()
                .filter(|(_, &count)| count > 0)
                .map(|(index, &count)| LatencyBucket {
                    le_ms: BOUNDS_NS.get(index).map(|&bound| millis(bound)),
                    count,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_run_from_a_tenth_of_a_millisecond_to_800_seconds() {
        assert_eq!(BOUNDS_NS[0], 100_000);
        assert_eq!(BOUNDS_NS[10], 1_000_000);
        assert_eq!(BOUNDS_NS[69], 800_000_000_000);
        assert!(BOUNDS_NS.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn a_duration_goes_to_the_first_bucket_whose_bound_holds_it() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(100_000), 0);
        assert_eq!(bucket_of(100_001), 1);
        assert_eq!(bucket_of(1_000_000), 10);
        assert_eq!(bucket_of(u64::MAX), 70);
    }

    #[test]
    fn quantiles_are_bucket_bounds_capped_by_the_longest_call() {
        let mut histogram = Histogram::default();
        // 19 calls of 10 ms and one of 900 ms.
        for _ in 0..19 {
            histogram.record(10_000_000);
        }
        histogram.record(900_000_000);
        assert_eq!(histogram.quantile_ns(0.5), 10_000_000);
        assert_eq!(histogram.quantile_ns(0.95), 10_000_000);
        assert_eq!(histogram.quantile_ns(1.0), 900_000_000);
        let view = histogram.view();
        assert_eq!(view.count, 20);
        assert_eq!(view.min_ms, 10.0);
        assert_eq!(view.max_ms, 900.0);
        assert_eq!(view.mean_ms, 54.5);
        assert_eq!(view.buckets.len(), 2);
        assert_eq!(view.buckets[0].le_ms, Some(10.0));
        assert_eq!(view.buckets[0].count, 19);
        // 900 ms falls in (800 ms, 1000 ms].
        assert_eq!(view.buckets[1].le_ms, Some(1000.0));

        let mut one = Histogram::default();
        one.record(7_000_000);
        // The bucket bound (8 ms) is above the only call: the call's own duration.
        assert_eq!(one.quantile_ns(0.5), 7_000_000);
    }
}
