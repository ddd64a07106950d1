//! `rwg report`: analyse CSVs, interval logs or a wrk2 summary, print the table, write JSON
//! and time series, evaluate checks.

use std::process::ExitCode;

use super::args::ReportArgs;
use super::run::{print_checks, write_json, GENERATOR_BEHIND};
use crate::report::check::{parse_checks, Check, CheckResult, CheckSource};
use crate::report::schema::Document;
use crate::report::shards::ShardCheck;
use crate::report::{analyze, hlog_read, render, spectrum};

/// `rwg report`: analyse CSVs, print the table, write JSON / time series,
/// evaluate checks. Exit 2 on malformed input (after reporting the rows
/// before it), 4 when the verdict says the generator was behind, 3 when a
/// check fails.
pub fn main(args: &ReportArgs) -> ExitCode {
    let (opts, checks) = match (args.to_options(), parse_checks(&args.checks)) {
        (Ok(o), Ok(c)) => (o, c),
        (Err(e), _) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        (_, Err(e)) => {
            eprintln!("error: --check: {e}");
            return ExitCode::from(2);
        }
    };
    if opts.files.iter().any(|f| spectrum::is_spectrum(f)) {
        if opts.files.len() > 1 {
            eprintln!("error: give one wrk2 summary at a time (`rwg plot` overlays it with CSVs)");
            return ExitCode::from(2);
        }
        return report_spectrum(args, &opts.files[0], &checks);
    }
    let hlogs = opts
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "hlog"))
        .count();
    if hlogs > 0 {
        if hlogs < opts.files.len() {
            eprintln!("error: give either CSV files or .hlog files, not both");
            return ExitCode::from(2);
        }
        return report_hlogs(args, &opts.files, opts.interval_ns, &checks);
    }
    let outcome = match analyze::analyze(&opts) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for d in &outcome.diagnostics {
        eprintln!("{d}");
    }
    let a = &outcome.analysis;
    print!("{}", render::to_text(a));
    let results = print_checks(&checks, &a.overall);
    let judged = shard_code(&a.shards);
    let code = if outcome.has_errors() {
        2
    } else if judged != 0 {
        judged
    } else if a.verdict.generator_behind {
        GENERATOR_BEHIND
    } else if results.iter().any(|r| !r.passed) {
        3
    } else {
        0
    };
    if let Some(path) = &args.json {
        if !write_json(path, &Document::of_csv(a, &results, code)) {
            return ExitCode::from(1);
        }
    }
    if let Some(path) = &args.timeseries {
        let written = std::fs::File::create(path)
            .and_then(|f| render::write_timeseries_csv(a, std::io::BufWriter::new(f)));
        if let Err(e) = written {
            eprintln!("error: cannot write --timeseries '{}': {e}", path.display());
            return ExitCode::from(1);
        }
    }
    ExitCode::from(code)
}

/// The exit code the files' origins decide: 2 when they come from
/// different plans, 4 when shards of the plan are missing, doubled or cut
/// short (the figures are not the planned load's), else 0.
fn shard_code(shards: &ShardCheck) -> u8 {
    if shards.mixed_plans {
        eprintln!("error: the files come from different plans (exit 2)");
        2
    } else if shards.incomplete {
        eprintln!("the files do not hold the whole plan: see the warnings (exit 4)");
        GENERATOR_BEHIND
    } else {
        0
    }
}

/// `rwg report` over HdrHistogram interval logs.
fn report_hlogs(
    args: &ReportArgs,
    files: &[std::path::PathBuf],
    interval_ns: Option<u64>,
    checks: &[Check],
) -> ExitCode {
    let a = match hlog_read::analyze_hlogs(files, interval_ns) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let judged = shard_code(&a.shards);
    let code = print_and_write(args, &a.to_text(), &a, checks, judged, |results, code| {
        Document::of_hlog(&a, results, code).to_json()
    });
    if code == 1 {
        return ExitCode::from(1);
    }
    if let Some(path) = &args.timeseries {
        if let Err(e) = std::fs::write(path, a.timeseries_csv()) {
            eprintln!("error: cannot write --timeseries '{}': {e}", path.display());
            return ExitCode::from(1);
        }
    }
    ExitCode::from(code)
}

/// `rwg report` over another tool's percentile summary (wrk2 `--latency`).
fn report_spectrum(args: &ReportArgs, file: &std::path::Path, checks: &[Check]) -> ExitCode {
    let a = match spectrum::analyze_file(file) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let code = print_and_write(args, &a.to_text(), &a, checks, 0, |results, code| {
        Document::of_spectrum(&a, results, code).to_json()
    });
    if code == 1 {
        return ExitCode::from(1);
    }
    if args.timeseries.is_some() {
        eprintln!("warning: a wrk2 summary has no time series: --timeseries not written");
    }
    ExitCode::from(code)
}

/// Prints `text` and the checks over `src`, then writes `--json` as `json`
/// renders it (from the check results and the exit code). The exit code:
/// 1 when the JSON cannot be written, else `judged` (what the input itself
/// decided) when not 0, else 3 when a check failed, else 0.
fn print_and_write(
    args: &ReportArgs,
    text: &str,
    src: &dyn CheckSource,
    checks: &[Check],
    judged: u8,
    json: impl FnOnce(&[CheckResult], u8) -> String,
) -> u8 {
    print!("{text}");
    let results = print_checks(checks, src);
    let code = if judged != 0 {
        judged
    } else if results.iter().any(|r| !r.passed) {
        3
    } else {
        0
    };
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, json(&results, code)) {
            eprintln!("error: cannot write --json '{}': {e}", path.display());
            return 1;
        }
    }
    code
}
