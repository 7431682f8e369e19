//! A log-linear latency histogram in the style of HdrHistogram: exact below 256 µs, then
//! 128 linear sub-buckets per power of two, so every recorded value is kept within 0.8 %.
//! Fixed size (about 58 KiB), constant-time record, no allocation after creation.

/// Linear sub-buckets per power of two (7 bits of precision).
const SUB_BUCKETS: u64 = 128;
/// Below this every value has its own bucket.
const EXACT_BELOW: u64 = 2 * SUB_BUCKETS;
/// Buckets needed to cover every `u64`.
const BUCKETS: usize = (EXACT_BELOW + (63 - 7) * SUB_BUCKETS) as usize;

/// Recorded durations in microseconds; quantiles within 0.8 %.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    sum: u128,
    max: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket of `value`.
fn index(value: u64) -> usize {
    if value < EXACT_BELOW {
        return value as usize;
    }
    // `value` has `bits` significant bits (≥ 9); keep its top 8 (128..=255).
    let bits = 64 - u64::from(value.leading_zeros());
    let shift = bits - 8;
    let top = value >> shift;
    (EXACT_BELOW + (shift - 1) * SUB_BUCKETS + (top - SUB_BUCKETS)) as usize
}

/// The largest value that falls in bucket `index` (what a quantile reports: never optimistic).
fn highest_in(index: usize) -> u64 {
    let index = index as u64;
    if index < EXACT_BELOW {
        return index;
    }
    let shift = (index - EXACT_BELOW) / SUB_BUCKETS + 1;
    let top = (index - EXACT_BELOW) % SUB_BUCKETS + SUB_BUCKETS;
    // (top + 1) << shift can overflow only for the last bucket.
    ((top + 1) << shift).wrapping_sub(1).max(top << shift)
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            sum: 0,
            max: 0,
        }
    }

    /// Records one value (microseconds).
    pub fn record(&mut self, micros: u64) {
        self.counts[index(micros)] += 1;
        self.total += 1;
        self.sum += u128::from(micros);
        self.max = self.max.max(micros);
    }

    /// Adds every value recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded (exact), 0 when empty.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The mean of the recorded values (exact), 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at quantile `q` (0.0–1.0): no more than 0.8 % above the true one, never
    /// above the maximum; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return highest_in(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_every_value() {
        let mut previous_high = None;
        for i in 0..BUCKETS {
            let high = highest_in(i);
            if let Some(p) = previous_high {
                assert!(high > p, "bucket {i} ends at {high}, not after {p}");
            }
            assert_eq!(index(high), i, "the top of bucket {i} is in it");
            previous_high = Some(high);
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
        assert_eq!(highest_in(BUCKETS - 1), u64::MAX);
    }

    #[test]
    fn quantiles_are_within_the_stated_precision() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, exact) in [(0.5, 50_000u64), (0.9, 90_000), (0.99, 99_000)] {
            let got = h.quantile(q);
            assert!(got >= exact, "q{q}: {got} < {exact}");
            assert!(
                (got - exact) as f64 <= exact as f64 * 0.008,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.max(), 100_000);
        assert_eq!(h.quantile(1.0), 100_000);
        assert!((h.mean() - 50_000.5).abs() < 1e-6);
    }

    #[test]
    fn small_values_are_exact_and_merge_adds_counts() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        a.record(7);
        b.record(200);
        b.record(200);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.quantile(0.3), 7);
        assert_eq!(a.quantile(0.5), 200);
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }
}
