//! Judging a constant-rate phase's shape from what the writer collected
//! ([`crate::record::shape`]):
//!
//! - **steady state**: the first and last thirds compared. A phase whose
//!   median latency over all arrivals at least doubles beyond doubt (the
//!   last third's 95 % interval above twice the first's), or whose mean
//!   in-flight count at least doubles (and by more than 10), is "not steady:
//!   queue growing" — the target is past its capacity at this rate, and the
//!   phase's percentiles depend on how long it ran.
//! - **schedule conformance**: sends counted per bin (coarser than the send
//!   window). For `--dist exp` the counts of a Poisson process have variance
//!   = mean; the index of dispersion D = Σ(n − n̄)²/n̄ over k bins follows
//!   χ²(k − 1), tested two-sided at 1 % (Wilson–Hilferty normal
//!   approximation; k ≥ 20). For `fixed` the dispersion (variance / mean,
//!   0 for a perfect schedule) is reported as the spread of the sends.
//!
//! COLD: once per phase at the end of a run.

use serde::Serialize;

use super::quantile::{Distribution, Point, Ranked};
use crate::record::shape::{PhaseShape, Third};

/// Significance of the conformance test.
const ALPHA: f64 = 0.01;
/// Fewest whole bins for a conformance test.
const MIN_BINS: usize = 20;

/// First vs last third of a phase.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Steadiness {
    pub steady: bool,
    /// Median latency over all arrivals (µs; `null` = among the unanswered)
    /// with its 95 % interval, first and last third.
    pub first_p50: Distribution,
    pub last_p50: Distribution,
    pub first_mean_in_flight: f64,
    pub last_mean_in_flight: f64,
}

/// The sends against the planned process.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conformance {
    /// `exp` or `fixed`.
    pub dist: String,
    pub bin_us: f64,
    pub bins: usize,
    pub mean_per_bin: f64,
    /// Variance / mean of the counts: 1 for Poisson, 0 for a perfect
    /// fixed schedule.
    pub dispersion: f64,
    /// `exp` only: χ² statistic and two-sided p-value.
    pub chi2: Option<f64>,
    pub p_value: Option<f64>,
    /// `exp`: p ≥ 1 %; `fixed`: always (reported, not tested).
    pub conforms: bool,
}

fn median(t: &Third) -> Distribution {
    let d = Distribution::of(&t.answered, t.unanswered, None);
    Distribution {
        percentiles: d
            .percentiles
            .into_iter()
            .filter(|p| p.quantile == 0.5)
            .collect(),
        ..d
    }
}

/// Steady unless the last third's median or in-flight count is at least
/// double the first's (see the module comment).
pub fn steadiness(shape: &PhaseShape) -> Option<Steadiness> {
    let [first, _, last] = &shape.thirds;
    let samples = |t: &Third| t.answered.len() + t.unanswered;
    if samples(first) == 0 || samples(last) == 0 {
        return None;
    }
    let first_rank = Ranked {
        answered: &first.answered,
        unanswered: first.unanswered,
    };
    let last_rank = Ranked {
        answered: &last.answered,
        unanswered: last.unanswered,
    };
    let (f, l) = (first_rank.estimate(0.5)?, last_rank.estimate(0.5)?);
    let ns = |p: Point| match p {
        Point::Ns(ns) => ns as f64,
        Point::Unanswered => f64::INFINITY,
    };
    let latency_rising = ns(l.low) > 2.0 * ns(f.high) && ns(f.high).is_finite();
    let (fi, li) = (first.mean_in_flight(), last.mean_in_flight());
    let queue_growing = li >= 2.0 * fi && li - fi > 10.0;
    let s = Steadiness {
        steady: !(latency_rising || queue_growing),
        first_p50: median(first),
        last_p50: median(last),
        first_mean_in_flight: fi,
        last_mean_in_flight: li,
    };
    Some(s)
}

/// The sends of a phase against its distribution; `None` with too few
/// whole bins.
pub fn conformance(shape: &PhaseShape, exponential: bool) -> Option<Conformance> {
    // The last bin is partial (the phase rarely ends on a bin edge).
    let counts = &shape.send_bins[..shape.send_bins.len().saturating_sub(1)];
    let k = counts.len();
    if k < MIN_BINS {
        return None;
    }
    let mean = counts.iter().map(|&c| c as f64).sum::<f64>() / k as f64;
    if mean <= 0.0 {
        return None;
    }
    let sum_sq: f64 = counts.iter().map(|&c| (c as f64 - mean).powi(2)).sum();
    let chi2 = sum_sq / mean;
    let dispersion = sum_sq / (k as f64 - 1.0) / mean;
    let p_value = exponential.then(|| {
        let below = chi2_cdf(chi2, (k - 1) as f64);
        (2.0 * below.min(1.0 - below)).min(1.0)
    });
    Some(Conformance {
        dist: if exponential { "exp" } else { "fixed" }.to_string(),
        bin_us: shape.bin_ns as f64 / 1e3,
        bins: k,
        mean_per_bin: mean,
        dispersion,
        chi2: exponential.then_some(chi2),
        p_value,
        conforms: p_value.map_or(true, |p| p >= ALPHA),
    })
}

/// P(X ≤ x) for X ~ χ²(df), by the Wilson–Hilferty cube-root normal
/// approximation (within about 0.001 for df ≥ 20).
fn chi2_cdf(x: f64, df: f64) -> f64 {
    let h = 2.0 / (9.0 * df);
    let z = ((x / df).cbrt() - (1.0 - h)) / h.sqrt();
    normal_cdf(z)
}

/// The standard normal CDF (Abramowitz and Stegun 26.2.17, error < 7.5e-8).
fn normal_cdf(z: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.231_641_9 * z.abs());
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let tail = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt() * poly;
    if z >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::config::Dist;
    use crate::plan::phases::{CorePlan, Phase};
    use crate::plan::schedule::{Schedule, Step};
    use hdrhistogram::Histogram;

    fn third(latency_ns: u64, n: u64, in_flight: u64) -> Third {
        let mut answered = Histogram::new_with_bounds(1, 3_600_000_000_000, 2).unwrap();
        answered.record_n(latency_ns, n).unwrap();
        Third {
            answered,
            unanswered: 0,
            in_flight_sum: in_flight * n,
            sent: n,
        }
    }

    fn shape(thirds: [Third; 3], send_bins: Vec<u32>) -> PhaseShape {
        PhaseShape {
            phase: 0,
            thirds,
            bin_ns: 10_000_000,
            send_bins,
        }
    }

    #[test]
    fn a_growing_queue_is_not_steady_and_a_flat_one_is() {
        let flat = shape(
            [
                third(1_000_000, 500, 2),
                third(1_000_000, 500, 2),
                third(1_100_000, 500, 2),
            ],
            vec![],
        );
        assert!(steadiness(&flat).unwrap().steady);
        let rising = shape(
            [
                third(1_000_000, 500, 2),
                third(5_000_000, 500, 8),
                third(20_000_000, 500, 30),
            ],
            vec![],
        );
        let s = steadiness(&rising).unwrap();
        assert!(!s.steady, "{s:?}");
    }

    /// The send counts per 10 ms of one seeded schedule at 2 000/s for 10 s.
    fn counts(dist: Dist, seed: u64) -> Vec<u32> {
        let plan = CorePlan {
            core_index: 0,
            cores: 1,
            lane: 0,
            lanes: 1,
            phases: vec![Phase {
                rate: crate::plan::config::Rate::steady(2000),
                start_ns: 0,
                duration_ns: 10_000_000_000,
                traced: false,
            }],
            dist,
            max_requests: None,
            seed,
            workers: 1,
            trace: None,
        };
        let mut bins = vec![0u32; 1001];
        let mut s = Schedule::new(&plan);
        while let Step::Open { offset_ns, .. } = s.peek() {
            bins[(offset_ns / 10_000_000) as usize] += 1;
            s.advance();
        }
        bins
    }

    #[test]
    fn a_fixed_schedule_checked_as_exponential_is_flagged_and_a_real_one_is_not() {
        let fixed = conformance(&shape(third3(), counts(Dist::Fixed, 1)), true).unwrap();
        assert!(!fixed.conforms, "{fixed:?}");
        assert!(fixed.dispersion < 0.1, "{fixed:?}");
        let exp = conformance(&shape(third3(), counts(Dist::Exp, 42)), true).unwrap();
        assert!(exp.conforms, "{exp:?}");
        assert!((0.7..1.3).contains(&exp.dispersion), "{exp:?}");
        // Reported, not tested, for a fixed schedule.
        assert!(
            conformance(&shape(third3(), counts(Dist::Fixed, 1)), false)
                .unwrap()
                .conforms
        );
    }

    fn third3() -> [Third; 3] {
        [third(1, 1, 1), third(1, 1, 1), third(1, 1, 1)]
    }

    #[test]
    fn the_normal_cdf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-2.576) - 0.005).abs() < 1e-4);
    }
}
