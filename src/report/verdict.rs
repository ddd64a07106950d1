//! The verdict of a run: whether its figures describe the target or the
//! generator. The generator was behind when its send lag (send − plan) at
//! p99 exceeds the bound beyond doubt (the lower end of the p99's 95 %
//! interval: with a few hundred sends, p99 is two or three of them, and one
//! scheduler hiccup must not decide), or when it skipped arrivals because
//! its own dispatcher was late; then `rwg run` exits 4. Arrivals skipped because
//! every worker was waiting on the target are the target's saturation: named,
//! ranked as unanswered, but no reason for exit 4. Percentiles with fewer
//! samples than 10 / (1 − q) are named as unreliable.
//!
//! COLD: once per run or report.

use std::fmt::Write as _;

use serde::Serialize;

use super::quantile::{min_samples, Distribution};
use crate::base::units::fmt_ns;

/// Achieved below this share of offered is worth a line.
const ACHIEVED_MIN_PCT: f64 = 99.0;

/// What the verdict is judged from.
pub struct Evidence<'a> {
    /// Arrivals (CSV rows); in a closed loop, requests sent.
    pub scheduled: u64,
    pub answered: u64,
    /// How late requests began: `rwg run` knows when a worker began each
    /// one (dispatch lag: the generator alone); a CSV only when it was sent
    /// (send lag: also waits for a connection).
    pub lag: &'a Distribution,
    /// The lag's name in the notes: `dispatch lag` or `send lag`.
    pub lag_name: &'a str,
    pub lag_bound_ns: u64,
    /// Skipped while every worker was busy / while the dispatcher was
    /// behind; `None` when the source does not know the cause (a CSV).
    pub skipped_worker_cap: Option<u64>,
    pub skipped_generator_behind: Option<u64>,
    /// Of `skipped`: planned before a late `--start-at` start.
    pub late_start: u64,
    pub skipped: u64,
    /// `-w`, where known.
    pub workers: Option<usize>,
    /// Open loop: an offered rate was planned.
    pub open_loop: bool,
    /// The distribution whose percentiles are printed.
    pub latency_all: &'a Distribution,
}

/// The verdict, for the text and the JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Verdict {
    /// The generator could not offer the planned load: the figures describe
    /// rwg, not the target (exit 4).
    pub generator_behind: bool,
    /// The lag judged: `dispatch lag` (`rwg run`) or `send lag` (a CSV).
    pub lag_name: String,
    pub lag_p99_us: Option<f64>,
    pub lag_bound_us: f64,
    /// Responses of any status as a percentage of arrivals.
    pub achieved_pct: Option<f64>,
    /// Printed percentiles with fewer samples than 10 / (1 − q).
    pub unreliable: Vec<String>,
    /// One sentence per finding, most important first.
    pub notes: Vec<String>,
    /// The input holds no intended send instants (another tool's results):
    /// whether its generator kept the schedule cannot be judged.
    pub schedule_unknown: bool,
    /// No connection to the target was ever made: the figures describe
    /// failed dials, neither the target nor the generator's pace.
    pub target_unreached: bool,
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// Judges the evidence.
pub fn judge(e: &Evidence<'_>) -> Verdict {
    let mut v = Verdict {
        lag_bound_us: e.lag_bound_ns as f64 / 1e3,
        lag_name: e.lag_name.to_string(),
        achieved_pct: pct(e.answered, e.scheduled),
        ..Verdict::default()
    };
    let lag_p99 = e.lag.find(0.99);
    v.lag_p99_us = lag_p99.and_then(|p| p.us);
    let past = |us: Option<f64>| us.is_some_and(|us| us * 1e3 > e.lag_bound_ns as f64);
    if let Some(p) = lag_p99.filter(|p| past(p.ci95_low_us)) {
        let ns = |us: Option<f64>| fmt_ns((us.unwrap_or(0.0) * 1e3) as u64);
        v.generator_behind = true;
        v.notes.push(format!(
            "{} p99 {} (95 % CI from {}) exceeds the bound {}: rwg could not send on \
             time, so latencies include its own delay; give it more --cpus or plan a lower \
             rate (--max-lag sets the bound)",
            e.lag_name,
            ns(p.us),
            ns(p.ci95_low_us),
            fmt_ns(e.lag_bound_ns)
        ));
    } else if past(v.lag_p99_us) {
        v.notes.push(format!(
            "{} p99 {} is past the bound {}, but too few sends say so for sure",
            e.lag_name,
            fmt_ns((v.lag_p99_us.unwrap_or(0.0) * 1e3) as u64),
            fmt_ns(e.lag_bound_ns)
        ));
    }
    if let Some(n) = e.skipped_generator_behind.filter(|n| *n > 0) {
        v.generator_behind = true;
        v.notes.push(format!(
            "{n} arrival(s) skipped while rwg's dispatcher was more than {} behind its \
             schedule: the generator could not offer the planned load; give it more --cpus \
             or plan a lower rate",
            fmt_ns(e.lag_bound_ns)
        ));
    }
    if e.late_start > 0 {
        v.generator_behind = true;
        v.notes.push(format!(
            "{} arrival(s) were planned before this process could start (its --start-at \
             instant had passed when it was ready): recorded as late_start, never sent, so \
             the figures miss that part of the plan; start later (a larger --start-in) or \
             warm up faster",
            e.late_start
        ));
    }
    let busy = match e.skipped_worker_cap {
        Some(n) => n,
        None => e.skipped - e.late_start,
    };
    if busy > 0 {
        let who = match (e.skipped_worker_cap, e.workers) {
            (Some(_), Some(w)) => format!("all {w} workers were waiting on the target"),
            (Some(_), None) => "every worker was waiting on the target".to_string(),
            (None, _) => "no worker was free (the CSV does not say whether the generator \
                          was behind)"
                .to_string(),
        };
        v.notes.push(format!(
            "{busy} arrival(s) ({:.1} %) skipped because {who}: they rank as unanswered; \
             raise -w to measure how long the target takes for them",
            pct(busy, e.scheduled).unwrap_or(0.0)
        ));
    }
    if let Some(a) = v
        .achieved_pct
        .filter(|a| e.open_loop && *a < ACHIEVED_MIN_PCT)
    {
        v.notes.push(format!(
            "achieved {a:.1} % of the offered load (responses of any status per arrival)"
        ));
    }
    for p in &e.latency_all.percentiles {
        if !p.reliable {
            v.unreliable.push(p.name.clone());
        }
    }
    if !v.unreliable.is_empty() {
        let need = e
            .latency_all
            .percentiles
            .iter()
            .filter(|p| !p.reliable)
            .map(|p| format!("{} needs {}", p.name, min_samples(p.quantile)))
            .collect::<Vec<_>>();
        v.notes.push(format!(
            "too few samples ({}) for {}: marked (few samples)",
            e.latency_all.samples,
            need.join(", ")
        ));
    }
    v
}

impl Verdict {
    /// Nothing reached the target. Its lag is then that of failing dials,
    /// and its few samples say nothing: one note replaces the others.
    pub fn mark_unreached(&mut self) {
        self.target_unreached = true;
        self.generator_behind = false;
        self.notes = vec![
            "no connection to the target was made: every request failed to connect (see the \
             first error); latencies and lags here are those of failed dials"
                .into(),
        ];
    }

    /// `verdict: …` and one indented line per note.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let head = if self.target_unreached {
            "NOTHING MEASURED: the target was never reached (exit 1)"
        } else if self.generator_behind {
            "GENERATOR BEHIND: these figures describe rwg, not the target (exit 4)"
        } else if self.schedule_unknown {
            "NOT VOUCHED FOR: no intended send instants, so whether the generator kept its \
             schedule is unknown (latency is timed from the actual send)"
        } else {
            "the figures describe the target"
        };
        let _ = writeln!(t, "verdict: {head}");
        for n in &self.notes {
            let _ = writeln!(t, "  - {n}");
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;

    fn dist(values_ns: &[u64], unanswered: u64) -> Distribution {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        for &v in values_ns {
            h.record(v).unwrap();
        }
        Distribution::of(&h, unanswered, None)
    }

    fn evidence<'a>(lag: &'a Distribution, lat: &'a Distribution) -> Evidence<'a> {
        Evidence {
            scheduled: 2000,
            answered: 2000,
            lag,
            lag_name: "dispatch lag",
            lag_bound_ns: 1_000_000,
            skipped_worker_cap: Some(0),
            skipped_generator_behind: Some(0),
            late_start: 0,
            skipped: 0,
            workers: Some(50),
            open_loop: true,
            latency_all: lat,
        }
    }

    #[test]
    fn a_clean_run_describes_the_target() {
        let lag = dist(&vec![50_000; 2000], 0);
        let lat = dist(&vec![100_000; 2000], 0);
        let v = judge(&evidence(&lag, &lat));
        assert!(!v.generator_behind);
        assert_eq!(v.unreliable, vec!["p99.9".to_string()]);
        assert!(v
            .to_text()
            .starts_with("verdict: the figures describe the target"));
    }

    #[test]
    fn lag_past_the_bound_or_skips_while_behind_blame_the_generator() {
        let lag = dist(&vec![1_700_000_000; 256], 0);
        let lat = dist(&vec![1_700_000_000; 256], 1000);
        let v = judge(&evidence(&lag, &lat));
        assert!(v.generator_behind);
        assert!(v.notes[0].contains("--cpus"), "{:?}", v.notes);
        let lag = dist(&vec![50_000; 2000], 0);
        let mut e = evidence(&lag, &lat);
        e.skipped_generator_behind = Some(3);
        assert!(judge(&e).generator_behind);
    }

    #[test]
    fn skips_on_a_busy_target_are_named_not_blamed_on_the_generator() {
        let lag = dist(&vec![50_000; 1000], 0);
        let lat = dist(&vec![100_000; 1000], 1000);
        let mut e = evidence(&lag, &lat);
        e.answered = 1000;
        e.skipped = 1000;
        e.skipped_worker_cap = Some(1000);
        let v = judge(&e);
        assert!(!v.generator_behind);
        assert!(v
            .notes
            .iter()
            .any(|n| n.contains("all 50 workers") && n.contains("-w")));
        assert!(v.notes.iter().any(|n| n.contains("achieved 50.0 %")));
    }
}
