//! Calls over time: equal buckets from the report's start, by each call's end. The
//! buckets start 10 ms wide; when a call falls past the last one allowed, neighbours are
//! merged pairwise and the width doubles, so any run length fits in a bounded number of
//! buckets.

use super::model::{rfc3339, Amounts, Sums, TimeBucket, Timeline as TimelineView};

/// The first bucket width.
const INITIAL_WIDTH_NS: u64 = 10_000_000;

#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    start_ns: u64,
    width_ns: u64,
    cap: usize,
    buckets: Vec<Sums>,
}

impl Timeline {
    pub(crate) fn new(start_ns: u64, cap: usize) -> Self {
        Timeline {
            start_ns,
            width_ns: INITIAL_WIDTH_NS,
            cap: cap.max(2),
            buckets: Vec::new(),
        }
    }

    /// Adds calls that ended at `at_ns` (before the start counts as at the start).
    pub(crate) fn add(&mut self, at_ns: u64, sums: &Sums) {
        let offset = at_ns.saturating_sub(self.start_ns);
        let mut index = offset / self.width_ns;
        while index >= self.cap as u64 && self.width_ns <= u64::MAX / 2 {
            self.merge();
            index = offset / self.width_ns;
        }
        let index = (index as usize).min(self.cap - 1);
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Sums::default());
        }
        self.buckets[index].add(sums);
    }

    /// Doubles the width: bucket `i` becomes buckets `2i` and `2i + 1` together.
    fn merge(&mut self) {
        self.width_ns *= 2;
        let merged = self
            .buckets
            .chunks(2)
            .map(|pair| {
                let mut sums = pair[0];
                if let Some(second) = pair.get(1) {
                    sums.add(second);
                }
                sums
            })
            .collect();
        self.buckets = merged;
    }

    pub(crate) fn view(&self) -> TimelineView {
        let width = self.width_ns as f64 / 1e9;
        TimelineView {
            start: rfc3339(self.start_ns),
            start_unix_nano: self.start_ns.to_string(),
            bucket_seconds: width,
            buckets: self
                .buckets
                .iter()
                .enumerate()
                .map(|(index, sums)| TimeBucket {
                    offset_seconds: (index as u64 * self.width_ns) as f64 / 1e9,
                    amounts: Amounts::from(sums),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(cost_femto: u128) -> Sums {
        Sums {
            calls: 1,
            cost_femto,
            ..Sums::default()
        }
    }

    #[test]
    fn buckets_double_and_merge_when_calls_run_past_the_cap() {
        let mut timeline = Timeline::new(1_000, 4);
        timeline.add(1_000, &call(1)); // 0 ms: bucket 0
        timeline.add(1_000 + 25_000_000, &call(2)); // 25 ms: bucket 2
        timeline.add(1_000 + 35_000_000, &call(4)); // 35 ms: bucket 3
        assert_eq!(timeline.view().bucket_seconds, 0.01);
        assert_eq!(timeline.view().buckets.len(), 4);
        // 45 ms is bucket 4 at 10 ms: the width doubles to 20 ms.
        timeline.add(1_000 + 45_000_000, &call(8));
        let view = timeline.view();
        assert_eq!(view.bucket_seconds, 0.02);
        let costs: Vec<u128> = view.buckets.iter().map(|b| b.amounts.cost_femto).collect();
        assert_eq!(costs, [1, 6, 8]);
        assert_eq!(view.buckets[2].offset_seconds, 0.04);
        // 10 s: doubled until it is within 4 buckets (20 ms · 2⁷ = 2.56 s, bucket 3).
        timeline.add(1_000 + 10_000_000_000, &call(16));
        let view = timeline.view();
        assert_eq!(view.bucket_seconds, 2.56);
        let costs: Vec<u128> = view.buckets.iter().map(|b| b.amounts.cost_femto).collect();
        assert_eq!(costs, [15, 0, 0, 16]);
        assert_eq!(view.buckets[0].amounts.calls, 4);
        assert_eq!(view.start_unix_nano, "1000");
    }
}
