//! `rwg report` analysis: per-request CSV files → [`Analysis`] (entry: [`analyze`]).
//!
//! COLD, bulk. Files are scanned in place ([`super::csv_scan`]); each row is
//! classified (ok, dropped, error, skipped; goodput vs SLO) and added to
//! accumulators: overall, per phase (`by_phase`) and per interval bucket
//! (`interval_ns`). Latency and lag go into HdrHistograms (ns, 3 significant
//! digits, auto-resize), so memory depends on phases and buckets, not rows.
//!
//! Trimming and buckets are by planned timestamp relative to the earliest and
//! latest planned timestamp of all files, so when they are asked for, a first
//! pass finds those two (rows are in any order); a second pass accumulates.
//! Several files merge into one analysis (as if concatenated).

use super::accumulate::{Accumulators, MAX_PHASES, MAX_TARGETS};
use super::csv_row::Row;
use super::csv_scan;
use super::figures::{Diagnostic, Outcome, ReportError, ReportOptions, Severity};
use super::foreign::{Source, Tool};
use super::shards;

/// Reads every file in `opts.files` (rwg's CSVs, or another tool's: see
/// [`super::foreign`]) and analyses them together.
pub fn analyze(opts: &ReportOptions) -> Result<Outcome, ReportError> {
    if opts.files.is_empty() {
        return Err(ReportError("no CSV files given".into()));
    }
    let mut sources = Vec::with_capacity(opts.files.len());
    for path in &opts.files {
        let source = Source::open(path, opts.foreign).map_err(ReportError)?;
        sources.push((path.display().to_string(), source));
    }
    let inputs: Vec<(&str, Input<'_>)> = sources
        .iter()
        .map(|(n, s)| (n.as_str(), Input::Source(s)))
        .collect();
    let mut outcome = analyze_inputs(&inputs, opts)?;
    let origins: Vec<_> = opts.files.iter().map(|p| shards::of_csv(p)).collect();
    outcome.analysis.shards = shards::check(&origins);
    Ok(outcome)
}

/// Like [`analyze`], over `(name, contents)` pairs; `opts.files` is ignored.
pub fn analyze_bytes(
    inputs: &[(&str, &[u8])],
    opts: &ReportOptions,
) -> Result<Outcome, ReportError> {
    let inputs: Vec<(&str, Input<'_>)> =
        inputs.iter().map(|(n, b)| (*n, Input::Bytes(b))).collect();
    analyze_inputs(&inputs, opts)
}

enum Input<'a> {
    Bytes(&'a [u8]),
    Source(&'a Source),
}

impl Input<'_> {
    fn scan<F: FnMut(&Row<'_>)>(&self, visit: F) -> csv_scan::ScanEnd {
        match self {
            Input::Bytes(data) => csv_scan::scan_bytes(data, visit),
            Input::Source(source) => source.scan(visit),
        }
    }

    fn tool(&self) -> Tool {
        match self {
            Input::Bytes(_) => Tool::Rwg,
            Input::Source(source) => source.tool(),
        }
    }
}

fn analyze_inputs(
    inputs: &[(&str, Input<'_>)],
    opts: &ReportOptions,
) -> Result<Outcome, ReportError> {
    if opts.interval_ns == Some(0) {
        return Err(ReportError("interval must be greater than 0".into()));
    }
    let needs_bounds = opts.warmup_ns > 0 || opts.cooldown_ns > 0 || opts.interval_ns.is_some();
    let (mut lo, mut hi) = (0, u64::MAX);
    if needs_bounds {
        let (mut min, mut max) = (u64::MAX, 0);
        for (_, input) in inputs {
            input.scan(|r| {
                min = min.min(r.timestamp_ns);
                max = max.max(r.timestamp_ns);
            });
        }
        if min <= max {
            lo = min.saturating_add(opts.warmup_ns);
            hi = max.saturating_sub(opts.cooldown_ns);
        } else {
            // No row at all: an empty window (and no interval buckets).
            (lo, hi) = (1, 0);
        }
    }
    let mut acc = Accumulators::new(opts, lo, hi)?;
    let mut diagnostics = Vec::new();
    for (name, input) in inputs {
        let end = input.scan(|r| acc.add(r));
        acc.rows_read += end.rows;
        if let Some(stop) = end.stop {
            let severity = if stop.kind.is_error() {
                Severity::Error
            } else {
                Severity::Warning
            };
            let message = format!("{name}:{}: {}", stop.line, stop.message);
            diagnostics.push(Diagnostic { severity, message });
        }
    }
    if acc.rows_read > 0 && acc.rows_kept() == 0 {
        diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            message: "warmup and cooldown trimmed away every row".into(),
        });
    }
    if acc.phases.as_ref().is_some_and(|g| g.overflowed) {
        diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            message: format!("more than {MAX_PHASES} phases: per-phase figures incomplete"),
        });
    }
    if acc.targets.as_ref().is_some_and(|g| g.overflowed) {
        diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            message: format!(
                "more than {MAX_TARGETS} distinct targets: rows of the others are left out of the per-target figures"
            ),
        });
    }
    let mut analysis = acc.finish(inputs.iter().map(|(n, _)| n.to_string()).collect());
    analysis.tools = inputs.iter().map(|(_, i)| i.tool()).collect();
    analysis.verdict = analysis.judge(opts.lag_bound_ns);
    analysis.verdict.schedule_unknown = analysis.tools.iter().any(|t| !t.from_intended());
    Ok(Outcome {
        analysis,
        diagnostics,
    })
}
