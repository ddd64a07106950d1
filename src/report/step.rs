//! Whether one step of `rwg search` passed: its `--check`s, its errors and
//! skipped arrivals against the allowed ones, achieved against offered,
//! its steadiness, and whether the generator kept up (when it did not,
//! the search cannot go on: the figures describe rwg).
//!
//! COLD: once per step.

use serde::Serialize;

use super::block::Block;
use super::check::CheckResult;
use super::quantile::Distribution;
use super::shape::Steadiness;
use super::summary::RunInfo;
use super::verdict::Verdict;
use crate::base::units::fmt_us;

/// Achieved below this share of offered fails a step.
const ACHIEVED_MIN_PCT: f64 = 99.0;

/// What a step may show and still pass.
#[derive(Clone, Copy, Debug)]
pub struct StepLimits {
    /// Errors as a percentage of arrivals (`--max-errors`).
    pub max_errors_pct: f64,
    /// Skipped arrivals (`--max-skipped`).
    pub max_skipped: u64,
}

/// The judgement of one step.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepVerdict {
    pub passed: bool,
    /// Why it failed, one phrase per reason (empty when it passed).
    pub reasons: Vec<String>,
    /// A percentile check's 95 % interval straddles its threshold: a
    /// longer step could decide.
    pub not_conclusive: bool,
    /// The generator was behind: the step says nothing of the target.
    pub generator_behind: bool,
}

/// Judges the measured step `block` (after its warm-up).
pub fn judge_step(
    block: &Block,
    verdict: &Verdict,
    checks: &[CheckResult],
    limits: StepLimits,
) -> StepVerdict {
    let mut v = StepVerdict {
        generator_behind: verdict.generator_behind,
        ..StepVerdict::default()
    };
    for c in checks {
        v.not_conclusive |= c.not_conclusive.is_some();
        if !c.passed {
            v.reasons.push(format!("{} (actual {})", c.expr, c.actual));
        }
    }
    let arrivals = block.scheduled.max(1) as f64;
    let errors_pct = 100.0 * block.errors as f64 / arrivals;
    if errors_pct > limits.max_errors_pct {
        v.reasons.push(format!(
            "errors {errors_pct:.2} % > {} %",
            limits.max_errors_pct
        ));
    }
    if block.skipped > limits.max_skipped {
        v.reasons.push(format!(
            "{} skipped > {}",
            block.skipped, limits.max_skipped
        ));
    }
    let achieved_pct = 100.0 * block.answered as f64 / arrivals;
    if achieved_pct < ACHIEVED_MIN_PCT {
        v.reasons
            .push(format!("achieved {achieved_pct:.1} % of offered"));
    }
    if block.steady.as_ref().is_some_and(queue_growing) {
        v.reasons.push("not steady: queue growing".into());
    }
    v.passed = v.reasons.is_empty() && !v.generator_behind;
    v
}

/// Whether a step's queue grows. A step is measured after its warm-up, so
/// a queue that grows is already long when the measurement starts: the
/// run's rule (the last third's median over twice the first's) misses it.
/// Here a rise of a quarter, beyond both medians' 95 % intervals, or half
/// again as many requests in flight, is growth.
fn queue_growing(s: &Steadiness) -> bool {
    let first_high = s.first_p50.find(0.5).and_then(|p| p.ci95_high_us);
    let last = s.last_p50.find(0.5);
    let latency_rising = match (first_high, last) {
        (Some(high), Some(p)) => p.ci95_low_us.map_or(true, |low| low > 1.25 * high),
        _ => false,
    };
    let (fi, li) = (s.first_mean_in_flight, s.last_mean_in_flight);
    !s.steady || latency_rising || (li > 1.5 * fi && li - fi > 10.0)
}

/// One step as the search prints it and writes it into its JSON.
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    pub planned_per_sec: f64,
    /// The measured part (after the step's warm-up), s.
    pub duration_s: f64,
    pub achieved_per_sec: f64,
    pub scheduled: u64,
    pub errors: u64,
    pub skipped: u64,
    /// Workers the step ran with (sized from its rate and the timeout).
    pub workers: usize,
    /// Connections the step asked for (the pool, kept across the search,
    /// holds more when a step before needed more), and how many it dialled
    /// itself (those it lacked, and any the server closed).
    pub connections: usize,
    pub dialled: u64,
    /// Over all arrivals of the measured part, with 95 % intervals.
    pub latency_all: Distribution,
    pub checks: Vec<CheckResult>,
    pub verdict: StepVerdict,
}

impl StepRecord {
    pub fn of(
        block: &Block,
        run: &RunInfo,
        checks: Vec<CheckResult>,
        verdict: StepVerdict,
    ) -> StepRecord {
        StepRecord {
            planned_per_sec: block.planned_rate.map_or(0.0, |r| r.from_per_sec()),
            duration_s: block.duration_s,
            achieved_per_sec: block.achieved_per_sec,
            scheduled: block.scheduled,
            errors: block.errors,
            skipped: block.skipped,
            workers: run.workers,
            connections: run.connections,
            dialled: run.warmup_connected as u64 + run.redials,
            latency_all: block.latency_all.clone(),
            checks,
            verdict,
        }
    }

    /// `1.2ms [1.1ms–1.3ms]`: a percentile of the measured part with its
    /// 95 % interval; `-` without one.
    pub fn percentile_cell(&self, quantile: f64) -> String {
        let us = |v: Option<f64>| v.map_or("unanswered".to_string(), fmt_us);
        match self.latency_all.find(quantile) {
            Some(p) if p.us.is_none() => us(None),
            Some(p) => format!(
                "{} [{}–{}]",
                us(p.us),
                us(p.ci95_low_us),
                us(p.ci95_high_us)
            ),
            None => "-".to_string(),
        }
    }

    /// `pass`, `FAIL` or `GENERATOR BEHIND`.
    pub fn outcome_word(&self) -> &'static str {
        if self.verdict.generator_behind {
            "GENERATOR BEHIND"
        } else if self.verdict.passed {
            "pass"
        } else {
            "FAIL"
        }
    }

    /// One line: planned, achieved, p50 and p99 with intervals, errors,
    /// skipped, and the verdict with its reasons.
    pub fn to_line(&self) -> String {
        let mut outcome = self.outcome_word().to_string();
        if !self.verdict.passed && !self.verdict.generator_behind {
            outcome = format!("{outcome}: {}", self.verdict.reasons.join("; "));
        }
        format!(
            "{:>10}/s for {:.1}s: achieved {:.1}/s, p50 {}, p99 {}, errors {}, skipped {}: {outcome}",
            fmt_rate(self.planned_per_sec),
            self.duration_s,
            self.achieved_per_sec,
            self.percentile_cell(0.5),
            self.percentile_cell(0.99),
            self.errors,
            self.skipped
        )
    }
}

/// A planned rate as `--rate` takes it: `400`, `412.5`.
pub fn fmt_rate(per_sec: f64) -> String {
    let text = format!("{per_sec:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
