//! The figures of one phase of `rwg run`, or of the whole run, from the
//! merged statistics: counts, rates per planned second, distributions with
//! their intervals, the phase's shape; judged by the verdict and read by
//! `--check`. The JSON form is `schema::Block`.

use std::collections::BTreeMap;

use crate::base::kind::{grpc_code_name, GRPC_DEADLINE_EXCEEDED, GRPC_OK, GRPC_RESOURCE_EXHAUSTED};
use crate::base::units::fmt_ns;
use crate::plan::config::Rate;
use crate::record::shape::PhaseShape;
use crate::record::stats::Stats;
use crate::report::check::{CheckSource, CountMetric, RateMetric, Series};
use crate::report::quantile::Distribution;
use crate::report::shape::{conformance, steadiness, Conformance, Steadiness};
use crate::report::verdict::{judge, Evidence, Verdict};

/// The figures of one phase, or of the whole run.
#[derive(Clone, Debug)]
pub struct Block {
    /// Phase index as in the CSV's `phase` column (0-based); `None` for the whole run.
    pub phase: Option<usize>,
    /// The planned rate, steady or a ramp (None = closed loop or mixed).
    pub planned_rate: Option<Rate>,
    /// The planned duration (up to the stop, if the run stopped early):
    /// what the rates divide by.
    pub duration_s: f64,
    /// Measured: from the first planned send to the last answer.
    pub span_s: f64,
    /// Arrivals scheduled (one CSV row each); in a closed loop, requests sent.
    pub scheduled: u64,
    /// Scheduled per planned second; `None` in a closed loop (nothing is
    /// offered: each request waits for the one before).
    pub offered_per_sec: Option<f64>,
    /// Responses of any status (ok, dropped, status errors).
    pub answered: u64,
    /// Responses of any status per planned second.
    pub achieved_per_sec: f64,
    pub ok: u64,
    pub goodput: u64,
    pub goodput_per_sec: f64,
    pub slo_violations: u64,
    pub dropped: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub status_errors_by_code: BTreeMap<u16, u64>,
    /// Every response by its status (HTTP status or gRPC code).
    pub responses_by_status: BTreeMap<u16, u64>,
    pub skipped: u64,
    /// Skipped because every worker was waiting on the target (raise `-w`).
    pub skipped_worker_cap: u64,
    /// Skipped while the dispatcher was behind its schedule by more than
    /// the lag bound: the generator, not the target.
    pub skipped_generator_behind: u64,
    /// Planned before a late `--start-at` start: never sent.
    pub skipped_late_start: u64,
    /// Arrivals without an answer (skipped, timeouts, failures, cancelled).
    pub unanswered: u64,
    pub bytes: u64,
    /// The most requests in flight on one core.
    pub max_in_flight: u64,
    /// done − intended over all arrivals, the unanswered ranking above every
    /// answer, with 95 % intervals: what `pNN` checks use.
    pub latency_all: Distribution,
    /// done − intended over answered requests, with 95 % intervals.
    pub latency_answered: Distribution,
    /// done − sent over answered requests: what wrk reports.
    pub service: Distribution,
    /// sent − intended over sent requests, with 95 % intervals.
    pub send_lag: Distribution,
    /// A worker began − intended over started requests: the generator's own
    /// lateness, without waits for a connection; what the verdict judges.
    pub dispatch_lag: Distribution,
    /// Open-loop phases: first vs last third (queue growing or not).
    pub steady: Option<Steadiness>,
    /// Open-loop phases: the sends against the planned distribution.
    pub schedule: Option<Conformance>,
}

impl Block {
    /// Judges the phase's shape (`exponential`: planned with `--dist exp`).
    pub fn with_shape(mut self, shape: &PhaseShape, exponential: bool) -> Block {
        self.steady = steadiness(shape);
        self.schedule = conformance(shape, exponential);
        self
    }

    /// Notes for the verdict: a queue growing, sends off their schedule.
    pub fn shape_notes(&self, name: &str) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(s) = self.steady.as_ref().filter(|s| !s.steady) {
            notes.push(format!(
                "{name} not steady: queue growing (median {} → {}, in flight {:.1} → {:.1} \
                 from the first to the last third) — the target is past its capacity at this \
                 rate, and its percentiles depend on how long the phase ran",
                s.first_p50.p50_text(),
                s.last_p50.p50_text(),
                s.first_mean_in_flight,
                s.last_mean_in_flight
            ));
        }
        if let Some(c) = self.schedule.as_ref().filter(|c| !c.conforms) {
            notes.push(format!(
                "{name}: the sends do not follow the exponential schedule (dispersion {:.2}, \
                 p = {:.4} over {} bins of {}): the load offered was not the one planned",
                c.dispersion,
                c.p_value.unwrap_or(0.0),
                c.bins,
                fmt_ns((c.bin_us * 1e3) as u64)
            ));
        }
        notes
    }

    /// The verdict on this block: `lag_bound_ns` from the run's settings,
    /// `workers` its `-w`.
    pub fn judge(&self, lag_bound_ns: u64, workers: usize) -> Verdict {
        judge(&Evidence {
            scheduled: self.scheduled,
            answered: self.answered,
            lag: &self.dispatch_lag,
            lag_name: "dispatch lag",
            lag_bound_ns,
            skipped_worker_cap: Some(self.skipped_worker_cap),
            skipped_generator_behind: Some(self.skipped_generator_behind),
            late_start: self.skipped_late_start,
            skipped: self.skipped,
            workers: Some(workers),
            open_loop: self.offered_per_sec.is_some(),
            latency_all: &self.latency_all,
        })
    }

    /// `open_loop`: a rate was planned (for the whole run: in some phase).
    pub fn of(
        s: &Stats,
        phase: Option<usize>,
        planned: Option<Rate>,
        open_loop: bool,
        duration_ns: u64,
    ) -> Block {
        let duration_s = (duration_ns as f64 / 1e9).max(1e-9);
        let mut errors_by_kind: BTreeMap<String, u64> = s
            .failures_by_kind()
            .map(|(k, n)| (k.as_str().to_string(), n))
            .collect();
        // gRPC codes are 0–16 and HTTP statuses 100 and up, so one table
        // holds both when a run mixes gRPC and HTTP targets.
        let fine = |code: usize| match code < 100 {
            true => code == GRPC_OK as usize || code == GRPC_RESOURCE_EXHAUSTED as usize,
            false => (200..300).contains(&code) || code == 503,
        };
        let status_errors_by_code: BTreeMap<u16, u64> = s
            .statuses
            .iter()
            .enumerate()
            .filter(|&(code, &n)| n > 0 && !fine(code))
            .map(|(code, &n)| (code as u16, n))
            .collect();
        let responses_by_status: BTreeMap<u16, u64> = s
            .statuses
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(code, &n)| (code as u16, n))
            .collect();
        let latency = s.latency.histogram();
        let mut http_status_errors = 0;
        for (&code, &n) in &status_errors_by_code {
            match code < 100 {
                // gRPC errors by name (DEADLINE_EXCEEDED is already a timeout).
                true if code != GRPC_DEADLINE_EXCEEDED => {
                    errors_by_kind.insert(grpc_code_name(code).to_string(), n);
                }
                true => {}
                false => http_status_errors += n,
            }
        }
        if http_status_errors > 0 {
            errors_by_kind.insert("status".into(), http_status_errors);
        }
        Block {
            phase,
            planned_rate: planned,
            duration_s,
            span_s: s.last_done_ns.saturating_sub(s.first_intended_ns) as f64 / 1e9,
            scheduled: s.scheduled,
            offered_per_sec: open_loop.then_some(s.scheduled as f64 / duration_s),
            answered: s.answered(),
            achieved_per_sec: s.answered() as f64 / duration_s,
            ok: s.ok,
            goodput: s.goodput,
            goodput_per_sec: s.goodput as f64 / duration_s,
            slo_violations: s.ok - s.goodput,
            dropped: s.dropped,
            errors: s.errors(),
            errors_by_kind,
            status_errors_by_code,
            responses_by_status,
            skipped: s.skipped,
            skipped_worker_cap: s.skipped - s.skipped_behind - s.late_start,
            skipped_generator_behind: s.skipped_behind,
            skipped_late_start: s.late_start,
            unanswered: s.scheduled - s.answered(),
            bytes: s.bytes,
            max_in_flight: u64::from(s.max_in_flight),
            latency_all: Distribution::of(&latency, s.scheduled - s.answered(), None),
            latency_answered: Distribution::of(&latency, 0, None),
            service: Distribution::of(&s.service.histogram(), 0, None),
            send_lag: Distribution::of(&s.lag.histogram(), 0, None),
            dispatch_lag: Distribution::of(&s.dispatch_lag.histogram(), 0, None),
            steady: None,
            schedule: None,
        }
    }
}

/// `rwg run --check` evaluates against the overall block.
impl CheckSource for Block {
    fn count(&self, metric: CountMetric) -> u64 {
        match metric {
            CountMetric::Total => self.scheduled,
            CountMetric::Ok => self.ok,
            CountMetric::Goodput => self.goodput,
            CountMetric::SloViolations => self.slo_violations,
            CountMetric::Dropped => self.dropped,
            CountMetric::Errors => self.errors,
            CountMetric::Skipped => self.skipped,
            CountMetric::Responses => self.answered,
        }
    }

    fn rate_per_sec(&self, metric: RateMetric) -> f64 {
        match metric {
            RateMetric::Offered => self.offered_per_sec.unwrap_or(0.0),
            RateMetric::Throughput => self.achieved_per_sec,
        }
    }

    fn distribution(&self, series: Series) -> Option<&Distribution> {
        Some(match series {
            Series::Latency => &self.latency_all,
            Series::AnsweredLatency => &self.latency_answered,
            Series::Lag => &self.send_lag,
        })
    }
}
