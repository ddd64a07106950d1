//! HOT: a histogram's counts, recorded on a core's hot path and turned into
//! an [`hdrhistogram::Histogram`] once, at the end. Same layout as the
//! crate's histogram of values 1 ns..1 h at 3 significant digits, so the
//! result is the histogram the crate would have recorded; but a record is
//! an index and an increment (~10 instructions), where the crate's
//! `saturating_record` also resizes, checks and tracks min, max and count
//! (~50; callgrind: 4 records per request were 200 of an h2c request's
//! ~3 100 instructions).

use hdrhistogram::Histogram;

/// Highest trackable value: one hour in ns (larger values saturate).
pub const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;
const SIGNIFICANT_DIGITS: u8 = 3;

/// Values below 2^11 are counted exactly (2 × 10^3 needs 11 bits); above,
/// each power of two holds 1 024 equal sub-buckets.
const SUB_BUCKET_BITS: u32 = 11;
const HALF_COUNT_BITS: u32 = SUB_BUCKET_BITS - 1;
const HALF_COUNT: usize = 1 << HALF_COUNT_BITS;
const SUB_BUCKET_MASK: u64 = (1 << SUB_BUCKET_BITS) - 1;

/// The crate's counts index of `value` (≥ 1; past the counts for values
/// beyond what they cover).
#[inline]
const fn index_of(value: u64) -> usize {
    let bucket = (64 - SUB_BUCKET_BITS) - (value | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = (value >> bucket) as usize;
    ((bucket as usize) << HALF_COUNT_BITS) + sub_bucket
}

/// Where a value beyond the counts goes: the crate's `saturating_record`
/// clamps it to MAX_TRACKABLE_NS.
const SATURATED_INDEX: usize = index_of(MAX_TRACKABLE_NS);

/// The lowest value counted at `index`.
fn value_at(index: usize) -> u64 {
    let bucket = (index >> HALF_COUNT_BITS) as u32;
    let sub_bucket = (index & (HALF_COUNT - 1)) as u64;
    match bucket {
        0 => sub_bucket,
        b => (sub_bucket + HALF_COUNT as u64) << (b - 1),
    }
}

/// An empty histogram with the bounds every figure of a run uses.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGNIFICANT_DIGITS)
        .expect("static histogram bounds are valid")
}

/// Counts of recorded values, by the histogram's index.
#[derive(Clone, Debug)]
pub struct Tally {
    counts: Vec<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            // The crate's buckets cover a little more than MAX_TRACKABLE_NS.
            counts: vec![0; histogram().distinct_values()],
        }
    }
}

impl Tally {
    /// Counts `value` as the crate's `saturating_record` does: 0 as 1 ns,
    /// and one beyond the buckets (which end a little over an hour) as an
    /// hour.
    #[inline]
    pub fn record(&mut self, value: u64) {
        let i = index_of(value.max(1));
        let i = if i < self.counts.len() {
            i
        } else {
            SATURATED_INDEX
        };
        self.counts[i] += 1;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The histogram these values make.
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h = histogram();
        for (i, &n) in self.counts.iter().enumerate().filter(|(_, &n)| n > 0) {
            h.saturating_record_n(value_at(i), n);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_histogram_as_recording_into_the_crate() {
        let mut values: Vec<u64> = (0..5_000).collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        values.extend([MAX_TRACKABLE_NS, MAX_TRACKABLE_NS + 1, u64::MAX]);
        let mut tally = Tally::default();
        let mut direct = histogram();
        for &v in &values {
            tally.record(v);
            direct.saturating_record(v.max(1));
        }
        let made = tally.histogram();
        assert_eq!(made.len(), values.len() as u64);
        assert_eq!(made.len(), direct.len());
        assert_eq!((made.min(), made.max()), (direct.min(), direct.max()));
        assert_eq!(made.mean(), direct.mean());
        let bins = |h: &Histogram<u64>| {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect::<Vec<_>>()
        };
        assert_eq!(bins(&made), bins(&direct));
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(made.value_at_quantile(q), direct.value_at_quantile(q));
        }
    }

    #[test]
    fn merged_tallies_add_up() {
        let (mut a, mut b) = (Tally::default(), Tally::default());
        a.record(1_000);
        b.record(1_000);
        b.record(7_000_000);
        a.merge(&b);
        let h = a.histogram();
        assert_eq!((h.len(), h.count_at(1_000)), (3, 2));
    }
}
