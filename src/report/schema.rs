//! The one JSON document `rwg run --json` and `rwg report --json` write
//! (schema version [`SCHEMA_VERSION`]): what both share, and where each
//! source's own facts go. `null` always means "this source does not know"
//! (an `.hlog` file holds no status codes, a CSV no dispatch lag), never 0.
//!
//! Later versions only add fields; a field that changes meaning or goes
//! away raises the version. The README's "The JSON" section lists the
//! fields for readers; this file is the definition.

use std::collections::BTreeMap;

use serde::Serialize;

use super::block::Block as RunBlock;
use super::check::CheckResult;
use super::figures::{Analysis, Figures};
use super::foreign::Tool;
use super::hlog_read::HlogAnalysis;
use super::quantile::Distribution;
use super::shape::{Conformance, Steadiness};
use super::shards::ShardCheck;
use super::spectrum::SpectrumAnalysis;
use super::summary::{RunInfo, Summary};
use super::verdict::Verdict;
use crate::plan::config::Rate;

/// The version in every document's `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub schema_version: u32,
    /// `run`, `report` (CSV files), `report-hlog` (interval logs) or
    /// `report-wrk2` (a wrk2 summary).
    pub source: &'static str,
    /// `rwg run` only: settings and what happened to the connections.
    pub run: Option<&'a RunInfo>,
    /// `rwg report` only: the files read and how they were trimmed.
    pub input: Option<Input>,
    /// The latency objective goodput is counted against.
    pub slo_ms: Option<f64>,
    pub overall: Block,
    /// One per phase, numbered from 0 as in the CSV's `phase` column
    /// (`rwg report`: only with `--by-phase`).
    pub phases: Vec<Block>,
    /// One per target, the most arrivals first (`rwg report --by-target`
    /// only; `rwg run` leaves it empty).
    pub targets: Vec<Block>,
    /// Whether the figures describe the target or the generator (`null`
    /// for interval logs: they hold no send lag).
    pub verdict: Option<&'a Verdict>,
    /// Each `--check`, in the order given.
    pub checks: &'a [CheckResult],
    /// The exit code rwg ends with (see the README's exit codes).
    pub exit_code: u8,
}

/// What `rwg report` read.
#[derive(Debug, Serialize)]
pub struct Input {
    pub files: Vec<String>,
    /// The tool that wrote each file, and what its latency is timed from:
    /// `intended` (rwg: the planned instant) or `send` (the actual send).
    pub tools: Vec<InputTool>,
    /// CSV: rows parsed, and rows left after `--warmup` / `--cooldown`.
    pub rows_read: Option<u64>,
    pub rows_kept: Option<u64>,
    pub warmup_s: Option<f64>,
    pub cooldown_s: Option<f64>,
    /// Interval logs: intervals read.
    pub intervals: Option<u64>,
    /// Whether the files are one plan's shards, all there and complete
    /// (from their plan marks; `null` for a wrk2 summary).
    pub shards: Option<ShardCheck>,
}

/// A planned rate in requests/s: a whole number as a JSON integer (as
/// before fractional rates), else a decimal.
#[derive(Clone, Copy, Debug)]
pub struct PerSec(pub f64);

impl Serialize for PerSec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0 >= 0.0 && self.0 < 1e15 {
            s.serialize_u64(self.0 as u64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

/// Who wrote one input file.
#[derive(Debug, Serialize)]
pub struct InputTool {
    pub tool: &'static str,
    pub latency_from: &'static str,
}

impl InputTool {
    fn of(tool: Tool) -> InputTool {
        InputTool {
            tool: tool.name(),
            latency_from: if tool.from_intended() {
                "intended"
            } else {
                "send"
            },
        }
    }
}

/// The figures of one phase or of the whole run, whichever source.
#[derive(Debug, Serialize)]
pub struct Block {
    /// `null` for the whole run.
    pub phase: Option<usize>,
    /// The target's name or URL, as the CSV's url column writes it; `null`
    /// outside `targets`.
    pub target: Option<String>,
    /// The steady rate planned for the phase (`rwg run`; `null` in a closed
    /// loop, on a ramp, for several phases, or when unknown).
    pub planned_rate_per_sec: Option<PerSec>,
    /// A ramp's planned rates at its start and end (`rwg run`; else `null`).
    pub planned_ramp_per_sec: Option<[PerSec; 2]>,
    /// What the rates divide by: the planned duration (up to an early
    /// stop); from a CSV, the planned span plus one mean gap.
    pub duration_s: f64,
    /// Measured: from the first planned send to the last answer.
    pub span_s: f64,
    /// Arrivals scheduled; in a closed loop, requests sent.
    pub scheduled: u64,
    /// Scheduled per planned second; `null` in a closed loop.
    pub offered_per_sec: Option<f64>,
    /// Responses of any status.
    pub answered: u64,
    pub achieved_per_sec: f64,
    /// Arrivals without an answer (skipped, timeouts, failures, cancelled).
    pub unanswered: u64,
    pub ok: Option<u64>,
    /// OK responses within the SLO (all OK responses without one).
    pub goodput: Option<u64>,
    pub goodput_per_sec: Option<f64>,
    pub slo_violations: Option<u64>,
    /// Load shed by the server: HTTP 503, gRPC RESOURCE_EXHAUSTED.
    pub dropped: Option<u64>,
    pub errors: Option<u64>,
    pub errors_by_kind: Option<BTreeMap<String, u64>>,
    pub status_errors_by_code: Option<BTreeMap<u16, u64>>,
    /// Every response by its HTTP status or gRPC code.
    pub responses_by_status: Option<BTreeMap<u16, u64>>,
    pub skipped: Option<u64>,
    /// Skipped because every worker was waiting on the target.
    pub skipped_worker_cap: Option<u64>,
    /// Skipped while the generator was behind its schedule.
    pub skipped_generator_behind: Option<u64>,
    /// Planned before a late `--start-at` start: never sent.
    pub skipped_late_start: Option<u64>,
    pub bytes: Option<u64>,
    pub max_in_flight: Option<u64>,
    /// done − intended over all arrivals, the unanswered ranking last.
    pub latency_all: Option<Distribution>,
    /// done − intended over answered requests.
    pub latency_answered: Option<Distribution>,
    /// done − sent over answered requests.
    pub service: Option<Distribution>,
    /// sent − intended over sent requests.
    pub send_lag: Option<Distribution>,
    /// A worker began − intended: the generator's own lateness.
    pub dispatch_lag: Option<Distribution>,
    pub steady: Option<Steadiness>,
    pub schedule: Option<Conformance>,
}

/// A distribution, or `null` when nothing was measured.
fn measured(d: &Distribution) -> Option<Distribution> {
    (d.samples > 0).then(|| d.clone())
}

impl Block {
    fn of_run(b: &RunBlock) -> Block {
        Block {
            phase: b.phase,
            target: None,
            planned_rate_per_sec: b
                .planned_rate
                .filter(|r| !r.is_ramp())
                .map(|r| PerSec(r.from_per_sec())),
            planned_ramp_per_sec: b
                .planned_rate
                .filter(Rate::is_ramp)
                .map(|r| [PerSec(r.from_per_sec()), PerSec(r.to_per_sec())]),
            duration_s: b.duration_s,
            span_s: b.span_s,
            scheduled: b.scheduled,
            offered_per_sec: b.offered_per_sec,
            answered: b.answered,
            achieved_per_sec: b.achieved_per_sec,
            unanswered: b.unanswered,
            ok: Some(b.ok),
            goodput: Some(b.goodput),
            goodput_per_sec: Some(b.goodput_per_sec),
            slo_violations: Some(b.slo_violations),
            dropped: Some(b.dropped),
            errors: Some(b.errors),
            errors_by_kind: Some(b.errors_by_kind.clone()),
            status_errors_by_code: Some(b.status_errors_by_code.clone()),
            responses_by_status: Some(b.responses_by_status.clone()),
            skipped: Some(b.skipped),
            skipped_worker_cap: Some(b.skipped_worker_cap),
            skipped_generator_behind: Some(b.skipped_generator_behind),
            skipped_late_start: Some(b.skipped_late_start),
            bytes: Some(b.bytes),
            max_in_flight: Some(b.max_in_flight),
            latency_all: measured(&b.latency_all),
            latency_answered: measured(&b.latency_answered),
            service: measured(&b.service),
            send_lag: measured(&b.send_lag),
            dispatch_lag: measured(&b.dispatch_lag),
            steady: b.steady.clone(),
            schedule: b.schedule.clone(),
        }
    }

    fn of_csv(f: &Figures, phase: Option<usize>, target: Option<&str>) -> Block {
        Block {
            phase,
            target: target.map(str::to_owned),
            planned_rate_per_sec: None,
            planned_ramp_per_sec: None,
            duration_s: f.duration_ns as f64 / 1e9,
            span_s: f.last_done_ns.max(f.end_ns).saturating_sub(f.start_ns) as f64 / 1e9,
            scheduled: f.total.count,
            offered_per_sec: Some(f.offered_per_sec),
            answered: f.responses.count,
            achieved_per_sec: f.throughput_per_sec,
            unanswered: f.total.count.saturating_sub(f.responses.count),
            ok: Some(f.ok.count),
            goodput: Some(f.goodput.count),
            goodput_per_sec: Some(f.goodput.per_sec),
            slo_violations: Some(f.slo_violations.count),
            dropped: Some(f.dropped.count),
            errors: Some(f.errors.count),
            errors_by_kind: Some(f.error_kinds.clone()),
            status_errors_by_code: None,
            responses_by_status: Some(
                f.responses_by_status
                    .iter()
                    .filter_map(|(&s, &n)| Some((u16::try_from(s).ok()?, n)))
                    .collect(),
            ),
            skipped: Some(f.skipped.count),
            skipped_worker_cap: None,
            skipped_generator_behind: None,
            skipped_late_start: None,
            bytes: Some(f.bytes),
            max_in_flight: Some(f.max_in_flight),
            latency_all: f.latency_all.clone(),
            latency_answered: f.latency_answered.clone(),
            service: None,
            send_lag: f.send_lag.clone(),
            dispatch_lag: None,
            steady: None,
            schedule: None,
        }
    }

    /// A wrk2 summary: scheduled = answered = its completed requests (wrk2
    /// counts no other); latency over the answered only.
    fn of_spectrum(a: &SpectrumAnalysis) -> Block {
        let e = &a.run.socket_errors;
        let kinds = [
            ("connect", e.connect),
            ("read", e.read),
            ("write", e.write),
            ("timeout", e.timeout),
            ("status", a.run.status_errors),
        ];
        let duration_s = a.duration_s().unwrap_or(0.0);
        Block {
            phase: None,
            target: a.run.url.clone(),
            planned_rate_per_sec: None,
            planned_ramp_per_sec: None,
            duration_s,
            span_s: duration_s,
            scheduled: a.requests(),
            offered_per_sec: None,
            answered: a.requests(),
            achieved_per_sec: a.achieved_per_sec().unwrap_or(0.0),
            unanswered: 0,
            ok: Some(a.requests().saturating_sub(a.run.status_errors)),
            goodput: None,
            goodput_per_sec: None,
            slo_violations: None,
            dropped: None,
            errors: Some(a.errors()),
            errors_by_kind: Some(
                kinds
                    .iter()
                    .filter(|k| k.1 > 0)
                    .map(|&(k, n)| (k.to_string(), n))
                    .collect(),
            ),
            status_errors_by_code: None,
            responses_by_status: None,
            skipped: None,
            skipped_worker_cap: None,
            skipped_generator_behind: None,
            skipped_late_start: None,
            bytes: None,
            max_in_flight: None,
            latency_all: None,
            latency_answered: measured(&a.latency),
            service: None,
            send_lag: None,
            dispatch_lag: None,
            steady: None,
            schedule: None,
        }
    }

    fn of_hlog(a: &HlogAnalysis) -> Block {
        let span_s = (a.end_s - a.start_s).max(0.0);
        let answered = a.overall.len();
        Block {
            phase: None,
            target: None,
            planned_rate_per_sec: None,
            planned_ramp_per_sec: None,
            duration_s: span_s,
            span_s,
            scheduled: answered + a.unanswered,
            offered_per_sec: None,
            answered,
            achieved_per_sec: answered as f64 / span_s.max(1e-9),
            unanswered: a.unanswered,
            ok: None,
            goodput: None,
            goodput_per_sec: None,
            slo_violations: None,
            dropped: None,
            errors: None,
            errors_by_kind: None,
            status_errors_by_code: None,
            responses_by_status: None,
            skipped: None,
            skipped_worker_cap: None,
            skipped_generator_behind: None,
            skipped_late_start: None,
            bytes: None,
            max_in_flight: None,
            latency_all: measured(&a.latency_all),
            latency_answered: measured(&a.latency_answered),
            service: None,
            send_lag: None,
            dispatch_lag: None,
            steady: None,
            schedule: None,
        }
    }
}

impl<'a> Document<'a> {
    /// `rwg run --json`.
    pub fn of_run(s: &'a Summary, checks: &'a [CheckResult], exit_code: u8) -> Document<'a> {
        Document {
            schema_version: SCHEMA_VERSION,
            source: "run",
            run: Some(&s.run),
            input: None,
            slo_ms: s.slo_ms,
            overall: Block::of_run(&s.overall),
            phases: s.phases.iter().map(Block::of_run).collect(),
            targets: Vec::new(),
            verdict: Some(&s.verdict),
            checks,
            exit_code,
        }
    }

    /// `rwg report --json` over CSV files.
    pub fn of_csv(a: &'a Analysis, checks: &'a [CheckResult], exit_code: u8) -> Document<'a> {
        let s = |ns: u64| Some(ns as f64 / 1e9);
        Document {
            schema_version: SCHEMA_VERSION,
            source: "report",
            run: None,
            input: Some(Input {
                files: a.files.clone(),
                tools: a.tools.iter().map(|&t| InputTool::of(t)).collect(),
                rows_read: Some(a.rows_read),
                rows_kept: Some(a.rows_kept),
                warmup_s: s(a.warmup_ns),
                cooldown_s: s(a.cooldown_ns),
                intervals: None,
                shards: Some(a.shards.clone()),
            }),
            slo_ms: a.slo_ns.map(|ns| ns as f64 / 1e6),
            overall: Block::of_csv(&a.overall, None, None),
            phases: a
                .phases
                .iter()
                .map(|p| Block::of_csv(&p.figures, Some(p.phase as usize), None))
                .collect(),
            targets: a
                .targets
                .iter()
                .map(|t| Block::of_csv(&t.figures, None, Some(&t.target)))
                .collect(),
            verdict: Some(&a.verdict),
            checks,
            exit_code,
        }
    }

    /// `rwg report --json` over interval logs.
    pub fn of_hlog(a: &'a HlogAnalysis, checks: &'a [CheckResult], exit_code: u8) -> Document<'a> {
        Document {
            schema_version: SCHEMA_VERSION,
            source: "report-hlog",
            run: None,
            input: Some(Input {
                files: a.files.clone(),
                // Interval logs come from `rwg run --hlog`.
                tools: a.files.iter().map(|_| InputTool::of(Tool::Rwg)).collect(),
                rows_read: None,
                rows_kept: None,
                warmup_s: None,
                cooldown_s: None,
                intervals: Some(a.intervals),
                shards: Some(a.shards.clone()),
            }),
            slo_ms: None,
            overall: Block::of_hlog(a),
            phases: Vec::new(),
            targets: Vec::new(),
            verdict: None,
            checks,
            exit_code,
        }
    }

    pub fn of_spectrum(
        a: &'a SpectrumAnalysis,
        checks: &'a [CheckResult],
        exit_code: u8,
    ) -> Document<'a> {
        Document {
            schema_version: SCHEMA_VERSION,
            source: "report-wrk2",
            run: None,
            input: Some(Input {
                files: vec![a.file.clone()],
                tools: vec![InputTool::of(a.tool)],
                rows_read: None,
                rows_kept: None,
                warmup_s: None,
                cooldown_s: None,
                intervals: None,
                shards: None,
            }),
            slo_ms: None,
            overall: Block::of_spectrum(a),
            phases: Vec::new(),
            targets: Vec::new(),
            verdict: None,
            checks,
            exit_code,
        }
    }

    pub fn to_json(&self) -> String {
        // Only numbers, strings, and maps with string or integer keys.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}
