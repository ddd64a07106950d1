//! Per second of a replayed trace, by intended instant: how many arrivals
//! were sent and how many answered, for the summary's planned-vs-achieved
//! table. Collected by the writer thread (it sees every record anyway).

use super::Record;

/// Most seconds counted (24 days: a trace's last offset plus one mean gap
/// stays within twice `plan::trace::MAX_OFFSET_NS`); later arrivals count
/// in the last one.
const MAX_SECONDS: usize = 1 << 21;

/// One second's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecondCounts {
    pub sent: u64,
    pub answered: u64,
}

/// The writer's collector.
#[derive(Debug)]
pub struct PerSecond {
    seconds: Vec<SecondCounts>,
}

impl PerSecond {
    /// Counts for `seconds` seconds from the start.
    pub fn new(seconds: usize) -> Self {
        PerSecond {
            seconds: vec![SecondCounts::default(); seconds.clamp(1, MAX_SECONDS)],
        }
    }

    /// Counts one record; `start_ns` is the run's start (monotonic).
    #[inline]
    pub fn observe(&mut self, r: &Record, start_ns: u64) {
        let second = (r.intended_ns.saturating_sub(start_ns) / 1_000_000_000) as usize;
        let last = self.seconds.len() - 1;
        let counts = &mut self.seconds[second.min(last)];
        counts.sent += u64::from(r.sent_ns != 0);
        counts.answered += u64::from(r.answered());
    }

    pub fn finish(self) -> Vec<SecondCounts> {
        self.seconds
    }
}
