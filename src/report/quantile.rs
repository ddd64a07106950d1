//! Percentiles that say how far they can be trusted: over all arrivals (an
//! arrival that got no answer ranks above every answered one), with a
//! distribution-free 95 % confidence interval from order statistics, and a
//! flag when too few samples stand behind them.
//!
//! COLD: a handful of rank look-ups per histogram at the end of a run or a
//! report.
//!
//! The interval: among n ranked samples the q-quantile's rank is about n·q,
//! with a binomial spread √(n·q·(1−q)); the ranks n·q ± 1.96·√(n·q·(1−q))
//! (rounded outwards) bound it 95 % of the time whatever the distribution.
//! Their values are read from the histogram at the bucket edges facing
//! outwards, so its 3-digit resolution never narrows the interval.

use hdrhistogram::{Counter, Histogram};
use serde::Serialize;

/// The percentiles every summary and report prints, as (name, quantile).
pub const QUANTILES: [(&str, f64); 6] = [
    ("p50", 0.5),
    ("p75", 0.75),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p99.9", 0.999),
];

/// The normal quantile of a two-sided 95 % interval.
const Z_95: f64 = 1.96;

/// Where a ranked sample falls: an answer's latency, or among the arrivals
/// that got no answer (which rank above every answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    Ns(u64),
    Unanswered,
}

impl Point {
    /// The value in ns; `u64::MAX` for the unanswered (they rank last).
    pub fn ns_or_max(self) -> u64 {
        match self {
            Point::Ns(ns) => ns,
            Point::Unanswered => u64::MAX,
        }
    }

    /// In µs, `None` for the unanswered (JSON `null`).
    pub fn us(self) -> Option<f64> {
        match self {
            Point::Ns(ns) => Some(ns as f64 / 1e3),
            Point::Unanswered => None,
        }
    }
}

/// One percentile with its 95 % interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub quantile: f64,
    pub value: Point,
    pub low: Point,
    pub high: Point,
    /// Enough samples for this quantile: n ≥ 10 / (1 − q).
    pub reliable: bool,
}

/// A percentile in JSON: values in µs, `null` where it falls among the
/// unanswered arrivals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EstimateJson {
    pub name: String,
    pub quantile: f64,
    pub us: Option<f64>,
    pub ci95_low_us: Option<f64>,
    pub ci95_high_us: Option<f64>,
    pub reliable: bool,
}

impl Estimate {
    pub fn to_json(&self, name: &str) -> EstimateJson {
        EstimateJson {
            name: name.to_string(),
            quantile: self.quantile,
            us: self.value.us(),
            ci95_low_us: self.low.us(),
            ci95_high_us: self.high.us(),
            reliable: self.reliable,
        }
    }
}

/// The fewest samples a q-quantile needs to be more than a few observations.
pub fn min_samples(quantile: f64) -> u64 {
    // Less a hair: 1 − 0.9 is not exactly 0.1 in floating point.
    (10.0 / (1.0 - quantile).max(1e-12) - 1e-6).ceil() as u64
}

/// A latency distribution over ranked samples: the answered ones (in the
/// histogram) and `unanswered` more that rank above all of them.
pub struct Ranked<'a, C: Counter> {
    pub answered: &'a Histogram<C>,
    pub unanswered: u64,
}

impl<C: Counter> Ranked<'_, C> {
    pub fn samples(&self) -> u64 {
        self.answered.len() + self.unanswered
    }

    /// The sample of 1-based `rank`, at its bucket's `high` or low edge.
    fn at_rank(&self, rank: u64, high: bool) -> Point {
        let h = self.answered;
        if rank > h.len() {
            return Point::Unanswered;
        }
        // Halfway into the rank: hdrhistogram rounds quantile·n up, and
        // (rank − ½)/n rounds up to `rank` whatever the float error.
        let q = (rank as f64 - 0.5) / h.len() as f64;
        let v = h.value_at_quantile(q);
        Point::Ns(if high {
            h.highest_equivalent(v)
        } else {
            h.lowest_equivalent(v)
        })
    }

    /// The q-quantile (0 < q < 1) with its 95 % interval; `None` without
    /// samples.
    pub fn estimate(&self, quantile: f64) -> Option<Estimate> {
        let n = self.samples();
        if n == 0 {
            return None;
        }
        let nf = n as f64;
        let centre = nf * quantile;
        let spread = Z_95 * (centre * (1.0 - quantile)).sqrt();
        let rank = (centre.ceil() as u64).clamp(1, n);
        let low_rank = ((centre - spread).floor() as u64).clamp(1, n);
        let high_rank = ((centre + spread).ceil() as u64).clamp(1, n);
        Some(Estimate {
            quantile,
            value: self.at_rank(rank, true),
            low: self.at_rank(low_rank, false),
            high: self.at_rank(high_rank, true),
            reliable: n >= min_samples(quantile),
        })
    }

    /// Every quantile of [`QUANTILES`].
    pub fn estimates(&self) -> Vec<(&'static str, Estimate)> {
        QUANTILES
            .iter()
            .filter_map(|&(name, q)| self.estimate(q).map(|e| (name, e)))
            .collect()
    }
}

/// A distribution as the summary, the report and the checks see it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Distribution {
    /// Ranked samples: the answered ones and the `unanswered`.
    pub samples: u64,
    /// Arrivals without an answer, ranked above every answered one.
    pub unanswered: u64,
    /// Smallest answered value (exact where the source keeps it).
    pub min_us: Option<f64>,
    /// Mean of the answered values (the unanswered have none).
    pub mean_us: Option<f64>,
    /// Largest value; `null` when an arrival got no answer.
    pub max_us: Option<f64>,
    pub percentiles: Vec<EstimateJson>,
}

impl Distribution {
    /// From a histogram of answered values, the count of unanswered ones,
    /// and the exact (min, max) of the answered values where known.
    pub fn of<C: Counter>(
        h: &Histogram<C>,
        unanswered: u64,
        exact: Option<(u64, u64)>,
    ) -> Distribution {
        let ranked = Ranked {
            answered: h,
            unanswered,
        };
        let (min_ns, max_ns) = match exact {
            Some(mm) => mm,
            None if h.is_empty() => (0, 0),
            None => (h.min(), h.max()),
        };
        Distribution {
            samples: ranked.samples(),
            unanswered,
            min_us: (!h.is_empty()).then_some(min_ns as f64 / 1e3),
            mean_us: (!h.is_empty()).then(|| h.mean() / 1e3),
            max_us: (unanswered == 0 && !h.is_empty()).then_some(max_ns as f64 / 1e3),
            percentiles: ranked
                .estimates()
                .iter()
                .map(|(name, e)| e.to_json(name))
                .collect(),
        }
    }

    /// The first kept percentile as text (the median of a one-percentile
    /// distribution): `unanswered` among the unanswered, `-` without samples.
    pub fn p50_text(&self) -> String {
        match self.percentiles.first().map(|p| p.us) {
            Some(Some(us)) => crate::base::units::fmt_us(us),
            Some(None) => "unanswered".to_string(),
            None => "-".to_string(),
        }
    }

    /// The kept percentile at `quantile`, if any.
    pub fn find(&self, quantile: f64) -> Option<&EstimateJson> {
        self.percentiles
            .iter()
            .find(|p| (p.quantile - quantile).abs() < 1e-9)
    }

    /// The percentiles as text, each with its interval:
    /// `p50 1.20ms [1.10ms–1.30ms]`; `unanswered` where it falls among the
    /// unanswered; `(few samples)` after one with n < 10 / (1 − q).
    pub fn to_text(&self, with_ci: bool) -> String {
        let us = |v: Option<f64>| match v {
            Some(us) => crate::base::units::fmt_us(us),
            None => "unanswered".to_string(),
        };
        let mut parts = Vec::new();
        if let Some(min) = self.min_us {
            parts.push(format!("min {}", us(Some(min))));
        }
        for p in &self.percentiles {
            let mut s = format!("{} {}", p.name, us(p.us));
            let exact = p.ci95_low_us == p.us && p.ci95_high_us == p.us;
            if with_ci && !exact {
                s += &format!(" [{}–{}]", us(p.ci95_low_us), us(p.ci95_high_us));
            }
            if !p.reliable {
                s += " (few samples)";
            }
            parts.push(s);
        }
        if self.samples > 0 {
            parts.push(format!("max {}", us(self.max_us)));
        }
        parts.join("  ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    /// A small deterministic generator (splitmix64), so the test is seeded.
    struct Rng(u64);
    impl Rng {
        fn unit(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Over 1 000 simulated samples of known distributions, the interval
    /// covers the true quantile in 93–97 % of them.
    #[test]
    fn the_interval_covers_the_true_quantile_95_percent_of_the_time() {
        let mut rng = Rng(7);
        // (name, inverse CDF in ns, quantile)
        type InverseCdf = fn(f64) -> f64;
        let cases: [(&str, InverseCdf, f64); 4] = [
            ("exponential p50", |u| -1e6 * (1.0 - u).ln(), 0.5),
            ("exponential p99", |u| -1e6 * (1.0 - u).ln(), 0.99),
            ("uniform p90", |u| 1e5 + 9e5 * u, 0.9),
            ("pareto p99", |u| 1e5 / (1.0 - u).powf(1.0 / 1.5), 0.99),
        ];
        for (name, inv, q) in cases {
            let truth = inv(q);
            let trials = 1000;
            let mut covered = 0;
            for _ in 0..trials {
                let values: Vec<u64> = (0..2000).map(|_| inv(rng.unit()) as u64 + 1).collect();
                let h = hist(&values);
                let r = Ranked {
                    answered: &h,
                    unanswered: 0,
                };
                let e = r.estimate(q).unwrap();
                let (lo, hi) = (e.low.ns_or_max() as f64, e.high.ns_or_max() as f64);
                covered += usize::from(lo <= truth && truth <= hi);
            }
            let share = covered as f64 / trials as f64;
            assert!((0.93..=0.97).contains(&share), "{name}: covered {share}");
        }
    }

    #[test]
    fn unanswered_arrivals_rank_above_every_answer() {
        let h = hist(&(1..=90).map(|v| v * 1000).collect::<Vec<_>>());
        let r = Ranked {
            answered: &h,
            unanswered: 10,
        };
        let p50 = r.estimate(0.5).unwrap();
        assert_eq!(p50.value, Point::Ns(h.highest_equivalent(50_000)));
        let p95 = r.estimate(0.95).unwrap();
        assert_eq!(p95.value, Point::Unanswered);
        assert_eq!(p95.high, Point::Unanswered);
        // 100 samples: p90 is reliable (needs 100), p99 is not (needs 1000).
        assert!(r.estimate(0.9).unwrap().reliable);
        assert!(!r.estimate(0.99).unwrap().reliable);
        let p90 = r.estimate(0.9).unwrap();
        assert_eq!(p90.value, Point::Ns(h.highest_equivalent(90_000)));
        assert_eq!(
            p90.high,
            Point::Unanswered,
            "the interval reaches the unanswered"
        );
    }

    #[test]
    fn no_samples_no_estimate_and_all_unanswered() {
        let h = hist(&[]);
        let none = Ranked {
            answered: &h,
            unanswered: 0,
        };
        assert!(none.estimate(0.5).is_none());
        let all = Ranked {
            answered: &h,
            unanswered: 5,
        };
        assert_eq!(all.estimate(0.5).unwrap().value, Point::Unanswered);
        assert_eq!(min_samples(0.99), 1000);
        assert_eq!(min_samples(0.5), 20);
    }
}
