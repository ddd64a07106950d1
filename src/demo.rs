//! The binary's commands besides parsing: run-and-report, `serve` in the
//! foreground, and `demo` (built-in target + a short two-phase open-loop run).

use std::process::ExitCode;
use std::time::Duration;

use rwg::check::{evaluate_all, parse_checks, Check, CheckSource};
use rwg::cli::{
    DemoArgs, PlotArgs, ProtoArgs, ReportArgs, RunArgs, ServeArgs, DEFAULT_SEND_WINDOW,
};
use rwg::config::parse_duration_ns;
use rwg::report::{analyze, hlog_read, render};
use rwg::serve::{self, Delay, ServeConfig, ServeProtocol};
use rwg::{Config, RunError};

/// Prints each check as pass/fail; true when all passed.
fn print_checks(checks: &[Check], src: &dyn CheckSource) -> bool {
    let mut all = true;
    for r in evaluate_all(checks, src) {
        println!(
            "check {:<24} {} (actual {})",
            r.expr,
            if r.passed { "pass" } else { "FAIL" },
            r.actual
        );
        all &= r.passed;
    }
    all
}

/// Runs, prints the summary, writes `--json`, evaluates `--check`s and picks
/// the exit code (1 errors, 3 a check failed, 130 interrupted).
pub fn run_and_report(cfg: &Config, checks: &[Check]) -> ExitCode {
    let summary = match rwg::run(cfg) {
        Ok(s) => s,
        Err(RunError::Config(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
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
    if summary.overall.errors > 0 || summary.writer_error.is_some() {
        ExitCode::from(1)
    } else if summary.stopped.is_some() {
        ExitCode::from(130)
    } else if !checks_ok {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn serve(args: &ServeArgs) -> ExitCode {
    let cfg = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let duration_ns = match args.duration.as_deref().map(parse_duration_ns).transpose() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: --duration: {e}");
            return ExitCode::from(2);
        }
    };
    let handle = match serve::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot serve: {e}");
            return ExitCode::from(1);
        }
    };
    let scheme = if args.grpc { "grpc" } else { "http" };
    eprintln!("rwg serve: listening on {scheme}://{}/", handle.addr);
    match duration_ns {
        Some(ns) => std::thread::sleep(Duration::from_nanos(ns)),
        None => wait_for_signal(),
    }
    handle.stop();
    ExitCode::SUCCESS
}

fn wait_for_signal() {
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: plain signal-mask calls on a sigset we own; blocking the signals
    // and waiting for them synchronously needs no handler.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let mut sig = 0;
        libc::sigwait(&set, &mut sig);
    }
}

pub fn demo(args: &DemoArgs) -> ExitCode {
    let handle = match serve::start(ServeConfig {
        delay: Delay::Exp { mean_ns: 1_000_000 },
        status_mix: vec![(503, 0.01)],
        protocol: if args.grpc {
            ServeProtocol::Grpc
        } else if args.h2c {
            ServeProtocol::H2c
        } else {
            ServeProtocol::Http1
        },
        ..ServeConfig::default()
    }) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot start the built-in target: {e}");
            return ExitCode::from(1);
        }
    };
    let url = if args.grpc {
        format!("grpc://{}/rwg.echo.v1.Echo/Call", handle.addr)
    } else {
        format!("http://{}/demo", handle.addr)
    };
    eprintln!(
        "rwg demo: built-in target on {url} (exponential 1 ms delay, 1% 503 / RESOURCE_EXHAUSTED); phases {} req/s for {}",
        args.rate, args.duration
    );
    let run = RunArgs {
        url,
        rate: args.rate.clone(),
        duration: args.duration.clone(),
        dist: "exp".into(),
        workers: Some(256),
        connections: Some(if args.grpc || args.h2c { 1 } else { 64 }),
        requests: None,
        timeout: "2s".into(),
        connect_timeout: "1s".into(),
        output: args.output.clone(),
        json: None,
        hlog: None,
        slo: Some("5ms".into()),
        cpus: Some(args.cpus.clone()),
        ignore_errors: true,
        precise: false,
        lazy_reads: false,
        send_window: DEFAULT_SEND_WINDOW.into(),
        method: "GET".into(),
        headers: Vec::new(),
        body: None,
        body_file: None,
        seed: 1,
        quiet: false,
        checks: Vec::new(),
        proto: ProtoArgs {
            h2c: args.h2c,
            data: args.grpc.then(|| r#"{"message":"demo"}"#.to_string()),
            max_streams: 100,
            ..Default::default()
        },
    };
    let code = match run.to_config() {
        Ok(cfg) => run_and_report(&cfg, &[]),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    };
    handle.stop();
    code
}

/// `rwg report`: analyse CSVs, print the table, write JSON / time series,
/// evaluate checks. Exit 2 on malformed input (after reporting the rows
/// before it), 3 when a check fails.
pub fn report(args: &ReportArgs) -> ExitCode {
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
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, render::to_json(a)) {
            eprintln!("error: cannot write --json '{}': {e}", path.display());
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
    let checks_ok = print_checks(&checks, &a.overall);
    if outcome.has_errors() {
        ExitCode::from(2)
    } else if !checks_ok {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
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
    print!("{}", a.to_text());
    let writes = [
        (args.json.as_ref(), a.to_json()),
        (args.timeseries.as_ref(), a.timeseries_csv()),
    ];
    for (path, text) in writes {
        if let Some(path) = path {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write '{}': {e}", path.display());
                return ExitCode::from(1);
            }
        }
    }
    if print_checks(checks, &a) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

/// `rwg plot`: one self-contained HTML file.
pub fn plot(args: &PlotArgs) -> ExitCode {
    let parsed = parse_duration_ns(&args.interval).and_then(|i| {
        let slo = args.slo.as_deref().map(parse_duration_ns).transpose()?;
        Ok((i, slo))
    });
    let (interval_ns, slo_ns) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match rwg::plot::plot(&args.files, &args.output, interval_ns, slo_ns) {
        Ok(summary) => {
            for w in &summary.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "wrote {} ({} bytes)",
                summary.out.display(),
                summary.html_bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
