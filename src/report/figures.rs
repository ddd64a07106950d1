//! What `rwg report` is asked ([`ReportOptions`]) and what it answers
//! ([`Analysis`]: [`Figures`] overall, per phase, per target and per interval, with
//! [`Diagnostic`]s), shared by the accumulators, the renderers, the checks
//! and the plot.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::foreign::{ForeignOptions, Tool};
use super::quantile::Distribution;
use super::shards::ShardCheck;
use super::verdict::{judge, Evidence, Verdict};

/// Most interval buckets one analysis will hold (each costs ~0.1–0.3 MB,
/// growing with the largest latency in it).
pub const MAX_BUCKETS: u64 = 20_000;

/// The default `--max-lag` of `rwg report`: `rwg run`'s with the default
/// send window.
pub const DEFAULT_LAG_BOUND_NS: u64 = 1_000_000;

/// What `rwg report` was asked for.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub files: Vec<PathBuf>,
    /// Latency objective: ok rows at or under it are goodput.
    pub slo_ns: Option<u64>,
    /// Drop rows planned before earliest + warmup.
    pub warmup_ns: u64,
    /// Drop rows planned after latest − cooldown.
    pub cooldown_ns: u64,
    /// Time-series bucket length.
    pub interval_ns: Option<u64>,
    pub by_phase: bool,
    /// Figures per target (the CSV's url column).
    pub by_target: bool,
    /// Send lag at p99 beyond which the generator was behind (`--max-lag`).
    pub lag_bound_ns: u64,
    /// How to read other tools' files.
    pub foreign: ForeignOptions,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            files: Vec::new(),
            slo_ns: None,
            warmup_ns: 0,
            cooldown_ns: 0,
            interval_ns: None,
            by_phase: false,
            by_target: false,
            lag_bound_ns: DEFAULT_LAG_BOUND_NS,
            foreign: ForeignOptions::default(),
        }
    }
}

/// A count and its rate over the figures' duration.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Count {
    pub count: u64,
    pub per_sec: f64,
}

/// Latency distribution in microseconds (min and max exact, the rest from the
/// HdrHistogram, clamped to [min, max]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    pub samples: u64,
    pub min_us: f64,
    pub p50_us: f64,
    pub p75_us: f64,
    pub p90_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

/// The status the responses of statuses beyond the first 64 distinct ones
/// count under (`other` in the text; left out of the JSON).
pub const OTHER_STATUS: u32 = u32::MAX;

/// Everything reported for one slice of rows (overall, a phase, an interval).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Overall and phases: first and last planned timestamp (epoch ns).
    /// Interval: the bucket's start and end.
    pub start_ns: u64,
    pub end_ns: u64,
    /// What `per_sec` divides by. Interval: its length. Overall and phases:
    /// the planned duration, estimated as `span_ns` plus one mean gap
    /// between planned arrivals (exact for a fixed schedule).
    pub duration_ns: u64,
    /// `end_ns − start_ns`.
    pub span_ns: u64,
    /// The latest answer (planned timestamp + latency), epoch ns; 0 without
    /// answers.
    pub last_done_ns: u64,
    pub total: Count,
    pub ok: Count,
    pub goodput: Count,
    pub slo_violations: Count,
    pub dropped: Count,
    pub errors: Count,
    /// Errors by kind (the CSV's error column, or `status`).
    pub error_kinds: BTreeMap<String, u64>,
    /// Responses by HTTP status or gRPC code ([`OTHER_STATUS`]: statuses
    /// beyond the first 64 distinct ones).
    pub responses_by_status: BTreeMap<u32, u64>,
    pub skipped: Count,
    /// Of `skipped`: `late_start` rows (planned before a late `--start-at`).
    pub late_start: u64,
    /// Rows that got a response: ok + dropped + status errors.
    pub responses: Count,
    /// Rows (scheduled arrivals) per second.
    pub offered_per_sec: f64,
    /// Responses per second.
    pub throughput_per_sec: f64,
    /// done − intended, over responses.
    pub latency: Option<Percentiles>,
    /// sent − intended, over rows that were sent.
    pub lag: Option<Percentiles>,
    /// done − intended over every row, those without a response ranking
    /// above every answer, with 95 % intervals (overall and phases only).
    pub latency_all: Option<Distribution>,
    /// done − intended over responses, with 95 % intervals (overall and
    /// phases only).
    pub latency_answered: Option<Distribution>,
    /// sent − intended, with 95 % intervals (overall and phases only).
    pub send_lag: Option<Distribution>,
    /// Response bytes, as the CSV's `bytes` column counts them.
    pub bytes: u64,
    pub max_in_flight: u64,
}

impl Figures {
    /// Responses as a percentage of scheduled arrivals (achieved vs offered).
    pub fn achieved_pct(&self) -> Option<f64> {
        pct(self.responses.count, self.total.count)
    }
}

/// `part` as a percentage of `whole`; `None` when `whole` is 0.
pub fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

#[derive(Debug, Clone, PartialEq)]
pub struct PhaseFigures {
    pub phase: u32,
    pub figures: Figures,
}

/// One target's rows: a workload target's name or a URL, as the CSV's url
/// column writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFigures {
    pub target: String,
    pub figures: Figures,
}

/// The result of [`analyze`] (its JSON form: `schema::Document`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    pub files: Vec<String>,
    /// The tool that wrote each file (what its latency means).
    pub tools: Vec<Tool>,
    /// Rows parsed, before trimming.
    pub rows_read: u64,
    /// Rows left after warmup/cooldown trimming.
    pub rows_kept: u64,
    pub slo_ns: Option<u64>,
    pub warmup_ns: u64,
    pub cooldown_ns: u64,
    pub interval_ns: Option<u64>,
    pub overall: Figures,
    /// Empty unless `by_phase`; ordered by phase.
    pub phases: Vec<PhaseFigures>,
    /// Empty unless `by_target`; the most rows first. Rates are over the
    /// overall duration.
    pub targets: Vec<TargetFigures>,
    /// Empty unless `interval_ns`; bucket `i` starts at
    /// earliest + warmup + i × interval.
    pub timeseries: Vec<Figures>,
    /// Whether the figures describe the target or the generator.
    pub verdict: Verdict,
    /// Whether the files are one plan's shards, all there and complete.
    pub shards: ShardCheck,
}

impl Analysis {
    /// Judges the overall figures (the CSV does not say why an arrival was
    /// skipped, nor how many workers there were).
    pub fn judge(&self, lag_bound_ns: u64) -> Verdict {
        let o = &self.overall;
        let empty = Distribution::default();
        let mut verdict = judge(&Evidence {
            scheduled: o.total.count,
            answered: o.responses.count,
            lag: o.send_lag.as_ref().unwrap_or(&empty),
            lag_name: "send lag (which includes waits for a connection)",
            lag_bound_ns,
            skipped_worker_cap: None,
            skipped_generator_behind: None,
            late_start: o.late_start,
            skipped: o.skipped.count,
            workers: None,
            open_loop: true,
            latency_all: o.latency_all.as_ref().unwrap_or(&empty),
        });
        // Arrivals skipped, or cut short by the stop (`cancelled`), reached
        // nothing either.
        let kinds = || o.error_kinds.keys();
        let unreached = kinds().all(|k| ["connect", "cancelled", "skipped"].contains(&k.as_str()))
            && kinds().any(|k| k == "connect");
        if o.responses.count == 0 && unreached {
            verdict.mark_unreached();
        }
        verdict
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Expected leftovers of a killed run (zero-filled tail, partial line).
    Warning,
    /// Malformed input; the analysis covers only the rows before it.
    Error,
}

/// Something the caller should print (to stderr) next to the analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// `FILE:LINE: what`, or a plain sentence.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{tag}: {}", self.message)
    }
}

/// An analysis, possibly partial, with what went wrong on the way.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub analysis: Analysis,
    pub diagnostics: Vec<Diagnostic>,
}

impl Outcome {
    /// True when some input was malformed (the CLI should exit 2 after printing).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Failure before any analysis: bad options or a file that cannot be read.
#[derive(Debug)]
pub struct ReportError(pub String);

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReportError {}
