//! `rwg run`: run, print the summary, write `--json`, evaluate `--check`s,
//! and pick the exit code.

use std::process::ExitCode;

use super::run_args::RunArgs;
use crate::plan::config::Config;
use crate::report::check::{evaluate_all, parse_checks, Check, CheckSource};
use crate::run::engine;
use crate::run::error::RunError;

/// `rwg run`: parse the arguments and the checks, then run and report.
pub fn main(args: &RunArgs) -> ExitCode {
    match (args.to_config(), parse_checks(&args.checks)) {
        (Ok(cfg), Ok(checks)) => run_and_report(&cfg, &checks),
        (Err(e), _) => usage_error(&e),
        (_, Err(e)) => usage_error(&format!("--check: {e}")),
    }
}

/// Prints a usage error; exit code 2.
fn usage_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// Prints each check as pass/fail; true when all passed.
pub fn print_checks(checks: &[Check], src: &dyn CheckSource) -> bool {
    let mut all = true;
    for r in evaluate_all(checks, src) {
        println!("check {:<24} {} (actual {})", r.expr, r.verdict(), r.actual);
        all &= r.passed;
    }
    all
}

/// Exit code of a failure inside rwg itself (EX_SOFTWARE of sysexits.h).
const INTERNAL_ERROR: u8 = 70;
/// Exit code of a run whose generator could not offer the planned load.
pub const GENERATOR_BEHIND: u8 = 4;

/// Runs, prints the summary, writes `--json`, evaluates `--check`s and picks
/// the exit code (130 interrupted, 4 generator behind, 1 errors, 3 a check
/// failed, 70 internal error).
pub fn run_and_report(cfg: &Config, checks: &[Check]) -> ExitCode {
    let summary = match engine::run(cfg) {
        Ok(s) => s,
        Err(RunError::Config(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Err(RunError::Internal(e)) => {
            eprintln!("internal error: {e} (a bug in rwg, not the target's fault)");
            return ExitCode::from(INTERNAL_ERROR);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    print!("{}", summary.to_text());
    if let Some(path) = &cfg.json {
        if let Err(e) = std::fs::write(path, summary.to_json()) {
            eprintln!("error: cannot write --json '{}': {e}", path.display());
            return ExitCode::from(1);
        }
    }
    let checks_ok = print_checks(checks, &summary.overall);
    // Precedence: 130 interrupted, 4 generator behind, 1 errors, 3 checks.
    // Arrivals cut short by the stop itself (`cancelled`) are counted, but
    // they are not the target's errors.
    let cancelled = summary.overall.errors_by_kind.get("cancelled").copied();
    let target_errors = summary.overall.errors - cancelled.unwrap_or(0);
    if summary.interrupted {
        ExitCode::from(130)
    } else if summary.verdict.generator_behind {
        eprintln!(
            "rwg was behind its schedule: the figures describe the generator, not the target \
             (exit 4; see the verdict)"
        );
        ExitCode::from(GENERATOR_BEHIND)
    } else if target_errors > 0 || summary.writer_error.is_some() || summary.stopped.is_some() {
        ExitCode::from(1)
    } else if !checks_ok {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}
