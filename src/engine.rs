//! Cold orchestration of `rwg run`: choose CPUs, build the plan and the
//! request, spawn one pinned thread per core (each with its own monoio
//! runtime, built inside the thread) and the writer, start every core on the
//! same instant once all pools are warm, watch for Ctrl-C, join, merge the
//! statistics and build the [`Summary`].

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::clock::{now_ns, EpochMap};
use crate::config::{Config, ConfigError};
use crate::core::{Core, CoreResult, CoreSetup, RunControl, StopReason};
use crate::csv::CsvFile;
use crate::hlog::HlogWriter;
use crate::plan::Plan;
use crate::pool::WarmReport;
use crate::progress::Progress;
use crate::record::{grpc_code_name, ErrorKind};
use crate::report::fmt_ns;
use crate::report::summary::{Block, Summary};
use crate::ring;
use crate::setup;
use crate::sink::{self, SinkSetup};
use crate::stats::CoreStats;

/// The first planned send comes this long after the last pool is warm, so
/// every core starts on the same instant.
const START_LEAD_NS: u64 = 2_000_000;

/// Why a run could not happen (as opposed to a run that saw errors).
#[derive(Debug)]
pub enum RunError {
    /// Bad input: exit code 2.
    Config(ConfigError),
    /// The machine refused (threads, runtime, files): exit code 1.
    Io(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Config(e) => write!(f, "{e}"),
            RunError::Io(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for RunError {}

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    // A second Ctrl-C means "now": leave without the summary.
    if SIGNALS.fetch_add(1, Ordering::Relaxed) >= 1 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// SIGINT/SIGTERM handlers for the duration of a run; the previous ones are
/// restored on drop.
struct SignalGuard {
    previous: [libc::sighandler_t; 2],
}

impl SignalGuard {
    fn install() -> SignalGuard {
        SIGNALS.store(0, Ordering::Relaxed);
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: installing a handler that only touches an atomic (or _exits).
        let previous = unsafe {
            [
                libc::signal(libc::SIGINT, handler),
                libc::signal(libc::SIGTERM, handler),
            ]
        };
        SignalGuard { previous }
    }

    fn fired(&self) -> bool {
        SIGNALS.load(Ordering::Relaxed) > 0
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        // SAFETY: restores the handlers that were there before.
        unsafe {
            libc::signal(libc::SIGINT, self.previous[0]);
            libc::signal(libc::SIGTERM, self.previous[1]);
        }
    }
}

/// The CPUs to run on: the requested ones (each must be allowed), or all.
fn choose_cpus(requested: &[usize]) -> Result<Vec<usize>, ConfigError> {
    let allowed: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    if requested.is_empty() {
        return Ok(if allowed.is_empty() { vec![0] } else { allowed });
    }
    if let Some(bad) = requested.iter().find(|c| !allowed.contains(c)) {
        return Err(ConfigError(format!(
            "invalid --cpus: CPU {bad} is not available to this process (allowed: {allowed:?})"
        )));
    }
    Ok(requested.to_vec())
}

/// How often the main thread looks at the signal flag while cores run.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

type Runtime = monoio::FusionRuntime<
    monoio::time::TimeDriver<monoio::IoUringDriver>,
    monoio::time::TimeDriver<monoio::LegacyDriver>,
>;

/// Builds this thread's runtime: io_uring with single-issuer + deferred task
/// running (DESIGN: the default setup is 35 % slower), epoll when io_uring is
/// unavailable.
fn build_runtime(entries: u32) -> std::io::Result<Runtime> {
    let mut urb = io_uring::IoUring::builder();
    urb.setup_single_issuer().setup_defer_taskrun();
    let tuned = monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .with_entries(entries)
        .uring_builder(urb)
        .build();
    match tuned {
        Ok(rt) => Ok(rt),
        // Kernels before 6.1 reject these flags: fall back to the defaults.
        Err(_) => monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
            .enable_timer()
            .with_entries(entries)
            .build(),
    }
}

fn driver_name(rt: &Runtime) -> &'static str {
    match rt {
        monoio::FusionRuntime::Uring(_) => "io_uring",
        monoio::FusionRuntime::Legacy(_) => "epoll",
    }
}

/// Runs the configured load and returns its summary.
pub fn run(cfg: &Config) -> Result<Summary, RunError> {
    cfg.validate().map_err(RunError::Config)?;
    let cpus = choose_cpus(&cfg.cpus).map_err(RunError::Config)?;
    let cores = cpus.len();
    let plan = Plan::from_config(cfg);
    let prepared = setup::prepare(cfg, cores)?;
    let connections = prepared.connections.max(cores);
    let core_plans = plan.split(cores, cfg.workers, connections);
    let csv = match &cfg.output {
        Some(path) => Some(CsvFile::create(path).map_err(|e| {
            RunError::Config(ConfigError(format!(
                "cannot create output file '{}': {e}",
                path.display()
            )))
        })?),
        None => None,
    };
    let csv_path = cfg.output.as_ref().map(|p| p.display().to_string());
    let hlog = match &cfg.hlog {
        Some(path) => Some(HlogWriter::create(path).map_err(|e| {
            RunError::Config(ConfigError(format!(
                "cannot create --hlog file '{}': {e}",
                path.display()
            )))
        })?),
        None => None,
    };

    let ctl = Arc::new(RunControl::new(cores));
    let cores_done = Arc::new(AtomicUsize::new(0));
    let start_ns = Arc::new(AtomicU64::new(0));
    let (outboxes, inboxes): (Vec<_>, Vec<_>) = (0..cores).map(|_| ring::channel()).unzip();
    let writer = sink::spawn(SinkSetup {
        inboxes,
        csv,
        url: cfg.target.url.clone(),
        epoch: EpochMap::capture(),
        ctl: ctl.clone(),
        cores_done: cores_done.clone(),
        progress: (!cfg.quiet).then(|| Progress::new(plan.phases.clone(), start_ns.clone())),
        hlog,
        start_ns: start_ns.clone(),
    })
    .map_err(|e| RunError::Io(format!("cannot start the writer thread: {e}")))?;

    let signals = SignalGuard::install();
    let barrier = Arc::new(Barrier::new(cores + 1));
    let driver = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::with_capacity(cores);
    for ((cpu, core_plan), outbox) in cpus.iter().copied().zip(core_plans).zip(outboxes) {
        let entries = (core_plan.workers as u32 * 2)
            .next_power_of_two()
            .clamp(256, 32_768);
        let setup = CoreSetup {
            plan: core_plan,
            addr: cfg.target.addr,
            client: prepared.spec.clone(),
            tls: prepared.tls.clone(),
            timeout_ns: cfg.timeout_ns,
            connect_timeout_ns: cfg.connect_timeout_ns,
            slo_ns: cfg.slo_ns,
            ignore_errors: cfg.ignore_errors,
            precise: cfg.precise,
            send_window_ns: cfg.send_window_ns,
            lazy_reap: cfg.lazy_reads && !cfg.precise,
            outbox,
            ctl: ctl.clone(),
        };
        let (barrier, start_ns, cores_done, epoll, main_thread) = (
            barrier.clone(),
            start_ns.clone(),
            cores_done.clone(),
            driver.clone(),
            std::thread::current(),
        );
        let spawned = std::thread::Builder::new()
            .name(format!("rwg-core-{cpu}"))
            .spawn(move || {
                // The CPU was checked against the allowed set; a refusal here
                // only costs precision, so the run goes on unpinned.
                core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
                let result = match build_runtime(entries) {
                    Ok(mut rt) => {
                        let on_epoll = driver_name(&rt) == "epoll";
                        epoll.fetch_or(on_epoll, Ordering::Relaxed);
                        let mut setup = setup;
                        // epoll keeps every socket registered, so an arriving
                        // response wakes the core anyway: nothing to save.
                        setup.lazy_reap &= !on_epoll;
                        let (core, warm) = rt.block_on(Core::warm(setup));
                        barrier.wait();
                        barrier.wait();
                        let start = start_ns.load(Ordering::Acquire);
                        Ok(rt.block_on(core.drive(start, warm)))
                    }
                    Err(e) => {
                        barrier.wait();
                        barrier.wait();
                        Err(format!("cannot build the runtime on CPU {cpu}: {e}"))
                    }
                };
                cores_done.fetch_add(1, Ordering::Release);
                main_thread.unpark();
                result
            });
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                ctl.request_stop(StopReason::WriterFailed);
                return Err(RunError::Io(format!("cannot spawn a core thread: {e}")));
            }
        }
    }

    barrier.wait();
    let t0_ns = now_ns() + START_LEAD_NS;
    start_ns.store(t0_ns, Ordering::Release);
    barrier.wait();

    while cores_done.load(Ordering::Acquire) < cores {
        if signals.fired() && !ctl.stopping() {
            ctl.request_stop(StopReason::Signal);
        }
        // Woken by each core thread as it ends; the timeout only bounds how
        // late a signal is noticed (a 5 ms poll cost ~2 CPU-us per request
        // at 1 000 req/s).
        std::thread::park_timeout(SIGNAL_POLL);
    }
    let end_ns = now_ns();
    let mut results: Vec<CoreResult> = Vec::with_capacity(cores);
    let mut failure = None;
    for t in threads {
        match t.join() {
            Ok(Ok(r)) => results.push(r),
            Ok(Err(e)) => failure = Some(e),
            Err(_) => failure = Some("a core thread panicked".to_string()),
        }
    }
    let sink_report = writer
        .join()
        .map_err(|_| RunError::Io("the writer thread panicked".into()))?;
    drop(signals);
    if let Some(e) = failure {
        return Err(RunError::Io(e));
    }

    let mut merged = CoreStats::new(plan.phases.len(), cfg.slo_ns);
    let mut warm = WarmReport::default();
    let mut first_error = None;
    for r in &results {
        merged.merge(&r.stats);
        warm.connected += r.warm.connected;
        warm.failed += r.warm.failed;
        warm.elapsed_ns = warm.elapsed_ns.max(r.warm.elapsed_ns);
        warm.handshake_ns += r.warm.handshake_ns;
        if warm.alpn.is_none() {
            warm.alpn.clone_from(&r.warm.alpn);
        }
        if warm.first_error.is_none() {
            warm.first_error.clone_from(&r.warm.first_error);
        }
        first_error = first_error.or(r.first_error);
    }
    let elapsed_ns = end_ns.saturating_sub(t0_ns);
    let run_ns = plan.total_duration_ns().min(elapsed_ns).max(1);
    let phases: Vec<Block> = plan
        .phases
        .iter()
        .zip(&merged.phases)
        .enumerate()
        .map(|(i, (p, s))| {
            let ran_ns = run_ns.saturating_sub(p.start_ns).min(p.duration_ns).max(1);
            Block::of(
                s,
                Some(i + 1),
                (p.rate_per_sec > 0).then_some(p.rate_per_sec),
                ran_ns,
            )
        })
        .collect();
    let single_rate = match plan.phases.as_slice() {
        [p] if p.rate_per_sec > 0 => Some(p.rate_per_sec),
        _ => None,
    };
    let stopped = match ctl.reason() {
        StopReason::None => None,
        StopReason::Signal => Some("interrupted (SIGINT/SIGTERM)".to_string()),
        StopReason::FirstError => {
            Some("stopped at the first error (use --ignore-errors to keep going)".to_string())
        }
        StopReason::WriterFailed => Some("the CSV writer failed".to_string()),
    };
    let on_epoll = driver.load(Ordering::Relaxed);
    Ok(Summary {
        url: cfg.target.url.clone(),
        driver: if on_epoll { "epoll" } else { "io_uring" }.to_string(),
        send_mode: if plan.phases.iter().all(|p| p.rate_per_sec == 0) {
            "closed loop".to_string()
        } else if cfg.precise {
            "precise".to_string()
        } else if cfg.lazy_reads && !on_epoll {
            format!("window {}, lazy reads", fmt_ns(cfg.send_window_ns))
        } else {
            format!("window {}", fmt_ns(cfg.send_window_ns))
        },
        cpus,
        workers: cfg.workers,
        connections,
        warmup_connected: warm.connected,
        warmup_failed: warm.failed,
        warmup_ms: warm.elapsed_ns as f64 / 1e6,
        warmup_error: warm.first_error,
        protocol: prepared.protocol.to_string(),
        alpn: warm.alpn,
        tls: prepared.tls.is_some(),
        handshake_ms: warm.handshake_ns as f64 / 1e6 / warm.connected.max(1) as f64,
        slo_ms: cfg.slo_ns.map(|ns| ns as f64 / 1e6),
        stopped,
        first_error: first_error.map(|(kind, status)| match kind {
            ErrorKind::None if merged.overall.grpc => {
                format!("gRPC status {status} {}", grpc_code_name(status))
            }
            ErrorKind::None => format!("HTTP status {status}"),
            k => k.as_str().to_string(),
        }),
        overall: Block::of(&merged.overall, None, single_rate, run_ns),
        phases,
        csv_path,
        csv_rows: sink_report.csv_rows,
        writer_error: sink_report.error,
    })
}
