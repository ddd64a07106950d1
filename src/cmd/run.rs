//! `rwg run`: run, write the settings beside the CSV, print the summary,
//! evaluate `--check`s, pick the exit code, and write `--json` (which holds
//! both).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::run_args::RunArgs;
use crate::plan::config::Config;
use crate::protocol::diagnose::{self, Spoke};
use crate::record::settings::RunSettings;
use crate::report::check::{evaluate_all, parse_checks, Check, CheckResult, CheckSource};
use crate::report::schema::Document;
use crate::report::summary::Summary;
use crate::run::engine;
use crate::run::error::RunError;

/// `rwg run`: parse the arguments and the checks, then run and report.
pub fn main(args: &RunArgs) -> ExitCode {
    let (cfg, checks) = match args.resolve() {
        Ok(resolved) => resolved,
        Err(e) => return usage_error(&e),
    };
    match parse_checks(&checks) {
        Ok(checks) => run_and_report(&cfg, &checks),
        Err(e) => usage_error(&format!("--check: {e}")),
    }
}

/// Prints a usage error; exit code 2.
fn usage_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// Evaluates and prints each check as pass/fail.
pub fn print_checks(checks: &[Check], src: &dyn CheckSource) -> Vec<CheckResult> {
    let results = evaluate_all(checks, src);
    for r in &results {
        println!("check {:<24} {} (actual {})", r.expr, r.verdict(), r.actual);
    }
    results
}

/// Writes the JSON document to `path`; false (after saying why) when it
/// cannot.
pub fn write_json(path: &Path, doc: &Document<'_>) -> bool {
    match std::fs::write(path, doc.to_json()) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: cannot write --json '{}': {e}", path.display());
            false
        }
    }
}

/// Exit code of a failure inside rwg itself (EX_SOFTWARE of sysexits.h).
const INTERNAL_ERROR: u8 = 70;
/// Exit code of a run whose generator could not offer the planned load.
pub const GENERATOR_BEHIND: u8 = 4;

/// Runs, prints the summary, evaluates `--check`s, picks the exit code and
/// writes `--json` (a JSON that cannot be written: exit 1).
pub fn run_and_report(cfg: &Config, checks: &[Check]) -> ExitCode {
    let started_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut summary = match engine::run(cfg) {
        Ok(s) => s,
        Err(RunError::Internal(e)) => {
            eprintln!("internal error: {e} (a bug in rwg, not the target's fault)");
            return ExitCode::from(INTERNAL_ERROR);
        }
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = explain_failure(cfg) {
                eprintln!("  hint: {hint}");
            }
            let code = if matches!(e, RunError::Config(_)) {
                2
            } else {
                1
            };
            return ExitCode::from(code);
        }
    };
    add_protocol_hint(cfg, &mut summary);
    if let Some(csv) = &cfg.output {
        let mut settings = RunSettings::of(cfg, std::env::args().collect(), started_unix_ms);
        settings.stop = Some(summary.run.plan.stop.clone());
        if let Err(e) = settings.write_beside(csv) {
            eprintln!("warning: the run's settings: {e}");
        }
    }
    print!("{}", summary.to_text());
    let results = print_checks(checks, &summary.overall);
    let code = exit_code(&summary, &results);
    if code == GENERATOR_BEHIND {
        eprintln!(
            "rwg was behind its schedule: the figures describe the generator, not the target \
             (exit 4; see the verdict)"
        );
    }
    if let Some(path) = &cfg.json {
        if !write_json(path, &Document::of_run(&summary, &results, code)) {
            return ExitCode::from(1);
        }
    }
    ExitCode::from(code)
}

/// A first error that says only `protocol` or `reset`, or connections
/// that failed their TLS handshake, get what the port speaks instead. Only
/// when nothing was answered (a protocol mismatch answers nothing): the
/// probe is one more request, which a server that did answer should not see.
fn add_protocol_hint(cfg: &Config, summary: &mut Summary) {
    if summary.overall.answered > 0 {
        return;
    }
    let run = &mut summary.run;
    let vague = matches!(run.first_error.as_deref(), Some("protocol" | "reset"));
    let tls_failed = run.tls && run.warmup_failed > 0;
    if !(vague || tls_failed) {
        return;
    }
    if let Some(hint) = explain_failure(cfg) {
        let slot = match run.first_error.is_some() {
            true => &mut run.first_error,
            false => &mut run.warmup_error,
        };
        if let Some(e) = slot {
            *e = format!("{e} — {hint}");
        }
    }
}

/// Probes the first target for what it speaks (see `protocol::diagnose`).
fn explain_failure(cfg: &Config) -> Option<String> {
    let spec = cfg.targets.first()?;
    let t = &spec.target;
    let spoke = if t.scheme.tls() {
        Spoke::Tls
    } else if t.scheme.grpc() || cfg.h2c {
        Spoke::H2Prior
    } else {
        Spoke::Http1
    };
    diagnose::explain(t.addr, &t.authority, spoke, Duration::from_secs(1))
}

/// Precedence: 130 interrupted, 4 generator behind, 1 errors, 3 checks.
fn exit_code(summary: &Summary, checks: &[CheckResult]) -> u8 {
    // Arrivals cut short by the stop itself (`cancelled`) are counted, but
    // they are not the target's errors.
    let overall = &summary.overall;
    let cancelled = overall.errors_by_kind.get("cancelled").copied();
    let target_errors = overall.errors - cancelled.unwrap_or(0);
    let run = &summary.run;
    if run.interrupted {
        130
    } else if summary.verdict.generator_behind {
        GENERATOR_BEHIND
    } else if target_errors > 0 || run.writer_error.is_some() || run.stopped.is_some() {
        1
    } else if checks.iter().any(|r| !r.passed) {
        3
    } else {
        0
    }
}
