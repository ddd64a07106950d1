//! `rwg search`: the highest rate a target sustains within its checks. Open
//! loop steps at growing rates (×2 from `--from`) until one fails, then
//! bisection between the highest pass and the lowest fail until they are
//! within `--precision`; each step is warmed up, then measured for
//! `--step`, and a step whose percentile interval straddles a check's
//! threshold is repeated longer (2×, then 3×). A step fails on a failed
//! check, errors or skips above the allowed, achieved below 99 % of
//! offered, or a growing queue; when the generator itself falls behind,
//! the search stops (exit 4). No rate passing exits 3.
//!
//! Each step is one run of the engine on one [`Session`]: the same core
//! threads and one pool of warm connections across the search (a step
//! needing more connections dials them before its warm-up, outside the
//! measurement); workers are sized per step from the rate and the timeout
//! (Little's law), so the worker cap never decides.
//! What the search writes (`-o`, the table, `--json`) is [`super::search_out`].

use std::process::ExitCode;

use clap::Args;

use super::run_args::{dur, RunArgs};
use super::search_out::{steps_table, SearchCsv, SearchDocument};
use crate::base::control::StopReason;
use crate::plan::config::{parse_rate, Config, Rate};
use crate::plan::error::ConfigError;
use crate::plan::search::Bracket;
use crate::report::check::{evaluate_all, parse_checks, Check};
use crate::report::step::{fmt_rate, judge_step, StepLimits, StepRecord};
use crate::run::engine::Session;
use crate::run::error::RunError;
use crate::run::limits;
use crate::run::signals::SignalGuard;

/// The longest a step may be repeated, in multiples of `--step`.
const MAX_STEP_REPEAT: u64 = 3;

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// The first rate tried, requests/s.
    #[arg(long, default_value = "100")]
    pub from: String,
    /// The highest rate tried, requests/s.
    #[arg(long, default_value = "1000000")]
    pub to: String,
    /// How long each step is measured (after its --warmup).
    #[arg(long, default_value = "10s")]
    pub step: String,
    /// How long each step runs at its rate before it is measured.
    #[arg(long, default_value = "2s")]
    pub warmup: String,
    /// Stop when the lowest failing rate is within this of the highest
    /// passing one.
    #[arg(long, default_value = "2%")]
    pub precision: String,
    /// Errors a step may have, as a share of its arrivals.
    #[arg(long, default_value = "0.1%")]
    pub max_errors: String,
    /// Skipped arrivals a step may have.
    #[arg(long, default_value_t = 0)]
    pub max_skipped: u64,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn main(args: &SearchArgs) -> ExitCode {
    match search(args) {
        Ok(code) => ExitCode::from(code),
        Err(RunError::Config(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `2%` or `2` → 2.0 (percent).
fn percent(flag: &str, text: &str) -> Result<f64, ConfigError> {
    text.trim()
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| {
            ConfigError(format!(
                "invalid {flag} '{text}': expected a percentage, e.g. 2%"
            ))
        })
}

/// A rate flag's value, requests/s (> 0).
fn rate_flag(flag: &str, text: &str) -> Result<f64, ConfigError> {
    let rate = parse_rate(text).map_err(|e| ConfigError(format!("{flag}: {e}")))?;
    if rate.closed_loop() || rate.is_ramp() {
        return Err(ConfigError(format!(
            "invalid {flag} '{text}': a steady rate above 0 requests/s"
        )));
    }
    Ok(rate.from_per_sec())
}

/// What `rwg run`'s options may not say here, with why.
fn refuse_run_flags(run: &RunArgs) -> Result<(), ConfigError> {
    let given = |id: &str| run.given.iter().any(|g| g == id);
    for (id, flag, why) in [
        (
            "rate",
            "--rate",
            "the search plans its rates: use --from and --to",
        ),
        ("duration", "--duration", "use --step and --warmup"),
        ("trace", "--trace", "a search offers steady rates"),
        ("requests", "--requests", "each step runs for its duration"),
        (
            "workers",
            "--workers",
            "each step's workers are sized from its rate and --timeout",
        ),
        ("hlog", "--hlog", "not written by rwg search yet"),
        ("shard", "--shard", "a search runs in one process"),
        ("start_at", "--start-at", "a search runs in one process"),
    ] {
        if given(id) {
            return Err(ConfigError(format!("rwg search: {flag}: {why}")));
        }
    }
    Ok(())
}

fn search(args: &SearchArgs) -> Result<u8, RunError> {
    refuse_run_flags(&args.run).map_err(RunError::Config)?;
    let (base, check_exprs) = args.run.resolve().map_err(RunError::Config)?;
    let checks = parse_checks(&check_exprs)
        .map_err(|e| RunError::Config(ConfigError(format!("--check: {e}"))))?;
    let from = rate_flag("--from", &args.from).map_err(RunError::Config)?;
    let to = rate_flag("--to", &args.to).map_err(RunError::Config)?;
    if to < from {
        return Err(RunError::Config(ConfigError(format!(
            "--to {} is below --from {}",
            args.to, args.from
        ))));
    }
    let step_ns = dur("--step", &args.step).map_err(RunError::Config)?.max(1);
    let warmup_ns = dur("--warmup", &args.warmup).map_err(RunError::Config)?;
    let precision = percent("--precision", &args.precision).map_err(RunError::Config)? / 100.0;
    let limits = StepLimits {
        max_errors_pct: percent("--max-errors", &args.max_errors).map_err(RunError::Config)?,
        max_skipped: args.max_skipped,
    };
    println!(
        "rwg search {}: from {}/s to {}/s, steps of {} after {} warm-up, until within {}; checks: {}",
        base.targets.first().map_or("", |t| t.label.as_str()),
        fmt_rate(from),
        fmt_rate(to),
        args.step,
        args.warmup,
        args.precision,
        if check_exprs.is_empty() { "none".to_string() } else { check_exprs.join(", ") }
    );
    let mut csv = match &base.output {
        Some(path) => Some(SearchCsv::create(path, &base)?),
        None => None,
    };
    // One guard for the whole search, so a Ctrl-C between two steps is
    // not lost (each step's run holds its own inside it).
    let signals = SignalGuard::install();
    // One set of core threads and connection pools for every step.
    let mut session = Session::start(&base)?;
    let mut bracket = Bracket::new(from, to, precision);
    let mut steps: Vec<StepRecord> = Vec::new();
    let mut stopped = Stopped::No;
    while let Some(rate) = bracket.next_per_sec() {
        let plan = StepPlan {
            index: steps.len(),
            rate,
            warmup_ns,
            step_ns,
        };
        let step = match run_step(
            &mut session,
            &base,
            &plan,
            &checks,
            limits,
            &mut csv,
            &signals,
        )? {
            StepEnd::Judged(step) => step,
            StepEnd::Interrupted => {
                stopped = Stopped::Interrupted;
                break;
            }
            StepEnd::Unreached(why) => {
                println!(
                    "step {:>2} {}/s: the target was never reached: {why}",
                    steps.len(),
                    fmt_rate(rate)
                );
                stopped = Stopped::Unreached;
                break;
            }
        };
        println!("step {:>2} {}", steps.len(), step.to_line());
        let behind = step.verdict.generator_behind;
        bracket.record(rate, step.verdict.passed);
        steps.push(step);
        if behind {
            stopped = Stopped::GeneratorLimit;
            break;
        }
    }
    drop(signals);
    if !steps.is_empty() {
        print!("\n{}", steps_table(&steps));
    }
    let code = match stopped {
        Stopped::Interrupted => {
            println!(
                "INTERRUPTED after {} step(s): the step under way is not judged (exit 130)",
                steps.len()
            );
            130
        }
        Stopped::Unreached => {
            println!("NOTHING MEASURED: the target was never reached; the search stops (exit 1)");
            1
        }
        _ => conclude(&bracket, &steps, stopped == Stopped::GeneratorLimit, to),
    };
    if let Some(csv) = &mut csv {
        csv.write_settings(match stopped {
            Stopped::Interrupted => "signal",
            _ => "complete",
        })?;
        println!(
            "wrote {} rows to {} (a phase per warm-up and per measured step)",
            csv.rows(),
            base.output
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        );
    }
    if let Some(path) = &base.json {
        let doc = SearchDocument {
            schema_version: 1,
            source: "search",
            checks: &check_exprs,
            steps: &steps,
            highest_pass_per_sec: bracket.passed_per_sec,
            lowest_fail_per_sec: bracket.failed_per_sec,
            generator_limit: stopped == Stopped::GeneratorLimit,
            interrupted: stopped == Stopped::Interrupted,
            exit_code: code,
        };
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("error: cannot write --json '{}': {e}", path.display());
            return Ok(1);
        }
    }
    Ok(code)
}

/// How a step ended.
enum StepEnd {
    Judged(StepRecord),
    /// A signal cut it short: it is not judged.
    Interrupted,
    /// No connection was ever made (the first error, in words).
    Unreached(String),
}

/// How the search ended, when not by its bracket.
#[derive(Clone, Copy, PartialEq)]
enum Stopped {
    No,
    GeneratorLimit,
    Interrupted,
    Unreached,
}

/// One step to run: its place in the search, its rate and its lengths.
struct StepPlan {
    index: usize,
    rate: f64,
    warmup_ns: u64,
    step_ns: u64,
}

/// Runs one step, longer while a check's interval straddles its threshold
/// (up to [`MAX_STEP_REPEAT`] × the step).
fn run_step(
    session: &mut Session,
    base: &Config,
    plan: &StepPlan,
    checks: &[Check],
    limits: StepLimits,
    csv: &mut Option<SearchCsv>,
    signals: &SignalGuard,
) -> Result<StepEnd, RunError> {
    let mut times = 1;
    loop {
        let mut cfg = step_config(base, plan.rate, plan.warmup_ns, plan.step_ns * times)?;
        cfg.output = csv.as_ref().map(SearchCsv::part_path);
        let summary = session.run(&cfg)?;
        if let Some(csv) = csv {
            csv.append(&cfg, plan.index, times)?;
        }
        if signals.fired() || summary.run.plan.stop == StopReason::Signal.word() {
            return Ok(StepEnd::Interrupted);
        }
        if summary.verdict.target_unreached {
            let why = summary.run.first_error.clone();
            return Ok(StepEnd::Unreached(
                why.unwrap_or_else(|| "no connection".into()),
            ));
        }
        let block = summary
            .phases
            .last()
            .ok_or_else(|| RunError::Internal("a step without phases".into()))?;
        let results = evaluate_all(checks, block);
        let verdict = judge_step(block, &summary.verdict, &results, limits);
        if verdict.not_conclusive && !verdict.generator_behind && times < MAX_STEP_REPEAT {
            times += 1;
            println!(
                "         {}/s: a check is not conclusive: measuring {times}× longer",
                fmt_rate(plan.rate)
            );
            continue;
        }
        return Ok(StepEnd::Judged(StepRecord::of(
            block,
            &summary.run,
            results,
            verdict,
        )));
    }
}

/// The plan of one step: a warm-up phase, then the measured one, at `rate`,
/// with enough workers that only the target's own time decides.
fn step_config(base: &Config, rate: f64, warmup_ns: u64, step_ns: u64) -> Result<Config, RunError> {
    let mut cfg = base.clone();
    let r = Rate::steady_milli((rate * 1000.0).round() as u64);
    (cfg.rates, cfg.durations_ns) = if warmup_ns > 0 {
        (vec![r, r], vec![warmup_ns, step_ns])
    } else {
        (vec![r], vec![step_ns])
    };
    let h2 = cfg.targets.iter().any(|t| cfg.forced_h2(&t.target));
    // Little's law: in flight = rate × time in the system, and no request
    // stays longer than its timeout.
    let mut workers = ((rate * cfg.timeout_ns as f64 / 1e9).ceil() as usize).max(cfg.cpus.len());
    // HTTP/1.1: a connection per worker, up to half the local ports (the
    // pool is kept across steps; closed connections hold their port a
    // while, so more would fail to dial, and read as the target's errors).
    let port_cap = limits::local_ports().map_or(usize::MAX, |ports| ports / 2);
    loop {
        let connections = if cfg.connections_given || h2 {
            cfg.connections
        } else {
            workers.min(port_cap)
        };
        match limits::check(workers, connections, "--connections", false) {
            Ok(()) => {
                cfg.workers = workers;
                cfg.connections = connections;
                break;
            }
            // The machine cannot hold that many: as many as it can.
            Err(_) if workers > cfg.cpus.len() * 2 => workers /= 2,
            Err(e) => return Err(RunError::Config(e)),
        }
    }
    // Errors are judged by --max-errors: a step runs its whole time.
    cfg.ignore_errors = true;
    cfg.quiet = true;
    cfg.json = None;
    cfg.hlog = None;
    Ok(cfg)
}

/// Prints the result; returns the exit code (0 found, 3 none, 4 generator).
fn conclude(bracket: &Bracket, steps: &[StepRecord], generator_limit: bool, to: f64) -> u8 {
    let why_failed = |rate: f64| {
        steps
            .iter()
            .rev()
            .find(|s| s.planned_per_sec == rate)
            .map(|s| s.verdict.reasons.join("; "))
            .unwrap_or_default()
    };
    if generator_limit {
        let at = steps.last().map_or(0.0, |s| s.planned_per_sec);
        println!(
            "GENERATOR LIMIT: rwg could not offer {}/s on time, so the search stops there \
             (exit 4); give it more --cpus{}",
            fmt_rate(at),
            bracket
                .passed_per_sec
                .map(|p| format!("; the target sustained {}/s", fmt_rate(p)))
                .unwrap_or_default()
        );
        return 4;
    }
    match (bracket.passed_per_sec, bracket.failed_per_sec) {
        (None, Some(fail)) => {
            println!(
                "no rate passes: the first step, {}/s, fails ({}) (exit 3); try a lower --from",
                fmt_rate(fail),
                why_failed(fail)
            );
            3
        }
        (Some(pass), Some(fail)) => {
            println!(
                "highest sustainable rate: {}/s; {}/s fails ({}); bracket {}–{}/s ({:.1} %)",
                fmt_rate(pass),
                fmt_rate(fail),
                why_failed(fail),
                fmt_rate(pass),
                fmt_rate(fail),
                100.0 * (fail - pass) / pass
            );
            0
        }
        (Some(pass), None) => {
            println!(
                "every rate tried passes, up to --to {}/s: the target sustains at least {}/s",
                fmt_rate(to),
                fmt_rate(pass)
            );
            0
        }
        (None, None) => 0,
    }
}
