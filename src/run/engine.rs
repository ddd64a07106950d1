//! Cold orchestration of `rwg run`, as a sequence of named steps: check the
//! configuration and choose CPUs, prepare the client, open the outputs,
//! spawn the writer, hand each pinned core thread its share, start them on
//! one instant, wait (Ctrl-C asks them to stop), join, and summarise.
//!
//! [`run`] hires the core threads for one run; a [`Session`] keeps them,
//! and their connection pools, from one run to the next (the steps of
//! `rwg search`: one pool of warm connections across the search).

use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::core::CoreSetup;
use super::error::{config_error, RunError};
use super::limits;
use super::setup::{self, Prepared};
use super::signals::SignalGuard;
use super::summarize::{summarize, Finished};
use super::thread::{CoreFailure, CoreThreads, Crew};
use crate::base::clock::{now_ns, EpochMap};
use crate::base::control::RunControl;
use crate::plan::config::Config;
use crate::plan::error::ConfigError;
use crate::plan::fingerprint::PlanMark;
use crate::plan::phases::{CorePlan, Plan};
use crate::record::csv::CsvFile;
use crate::record::hlog::HlogWriter;
use crate::record::progress::Progress;
use crate::record::ring::{self, Inbox, Outbox};
use crate::record::seconds::PerSecond;
use crate::record::shape::ShapeCollector;
use crate::record::sink::{self, SinkReport, SinkSetup};
use crate::report::summary::Summary;

/// Runs the configured load and returns its summary.
pub fn run(cfg: &Config) -> Result<Summary, RunError> {
    cfg.validate().map_err(RunError::Config)?;
    let cpus = choose_cpus(&cfg.cpus).map_err(RunError::Config)?;
    let crew = Crew::hire(&cpus, 0).map_err(RunError::Io)?;
    run_on(cfg, &crew, false)
}

/// Core threads that stay from one run to the next, with their pools.
pub struct Session {
    crew: Crew,
}

/// The io_uring size of a session's runtimes: its runs' workers vary, and
/// the runtime is built once.
const SESSION_RING_ENTRIES: u32 = 32_768;

impl Session {
    /// Hires the core threads of `cfg`'s CPUs.
    pub fn start(cfg: &Config) -> Result<Session, RunError> {
        let cpus = choose_cpus(&cfg.cpus).map_err(RunError::Config)?;
        let crew = Crew::hire(&cpus, SESSION_RING_ENTRIES).map_err(RunError::Io)?;
        Ok(Session { crew })
    }

    /// Runs `cfg` (of the same targets and CPUs as every run of this
    /// session) on the kept threads and pools; the pools stay open after.
    pub fn run(&mut self, cfg: &Config) -> Result<Summary, RunError> {
        cfg.validate().map_err(RunError::Config)?;
        let cpus = choose_cpus(&cfg.cpus).map_err(RunError::Config)?;
        if cpus != self.crew.cpus() {
            return Err(RunError::Internal(
                "a session's runs must use the same CPUs".into(),
            ));
        }
        run_on(cfg, &self.crew, true)
    }
}

/// Runs `cfg` on `crew`'s threads; `keep_pools`: leave the connections
/// open for the crew's next run.
fn run_on(cfg: &Config, crew: &Crew, keep_pools: bool) -> Result<Summary, RunError> {
    let cpus = crew.cpus();
    let plan = Plan::from_config(cfg);
    let prepared = setup::prepare(cfg, cpus.len())?;
    let connections = prepared.connections;
    let flag = match cfg.connections_given {
        true => "--connections",
        false => "--connections (by default --workers)",
    };
    limits::check(cfg.workers, connections, flag, prepared.tls).map_err(RunError::Config)?;
    let shared = Shared::new(cpus.len());
    let (outboxes, inboxes): (Vec<_>, Vec<_>) = cpus.iter().map(|_| ring::channel()).unzip();
    // One mapping of the two clocks for the start and the CSV: with
    // --start-at, planned instants are then exactly start_at + offset.
    let epoch = EpochMap::capture();
    let writer = spawn_writer(cfg, &plan, inboxes, &shared, epoch)?;

    let signals = SignalGuard::install();
    let core_plans = plan.split(cpus.len(), cfg.workers);
    let mut setups = core_setups(cfg, &prepared, &cpus, core_plans, outboxes, &shared);
    for (_, setup) in &mut setups {
        setup.keep_pools = keep_pools;
    }
    let cores = CoreThreads::spawn(
        crew,
        setups,
        shared.start_ns.clone(),
        shared.cores_done.clone(),
    )
    .map_err(RunError::Io)?;
    let start = cores.start(cfg.start_at_ns.map(|wall_ns| epoch.to_mono_ns(wall_ns)));
    cores.wait(&signals, &shared.ctl);
    let end_ns = now_ns();

    let joined = cores.join();
    let sink = writer
        .join()
        .map_err(|_| RunError::Internal("the writer thread panicked".into()))?;
    drop(signals);
    let joined = joined.map_err(|f| match f {
        CoreFailure::Failed(e) => RunError::Io(e),
        CoreFailure::Panicked(e) => RunError::Internal(e),
    })?;
    if let Some(e) = sink.internal_error {
        return Err(RunError::Internal(e));
    }
    Ok(summarize(Finished {
        cfg,
        plan: &plan,
        prepared: &prepared,
        cpus,
        connections,
        results: joined.results,
        on_epoll: joined.on_epoll,
        stop: shared.ctl.reason(),
        sink,
        start,
        end_ns,
    }))
}

/// What the main thread, the cores and the writer share.
struct Shared {
    ctl: Arc<RunControl>,
    /// Core threads that have ended (the writer drains until all have).
    cores_done: Arc<AtomicUsize>,
    /// The common start instant (monotonic ns), 0 until the cores are warm.
    start_ns: Arc<AtomicU64>,
}

impl Shared {
    fn new(cores: usize) -> Shared {
        Shared {
            ctl: Arc::new(RunControl::new(cores)),
            cores_done: Arc::new(AtomicUsize::new(0)),
            start_ns: Arc::new(AtomicU64::new(0)),
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

/// Creates the CSV and the interval log (before any thread starts, so a bad
/// path is a usage error) and starts the writer thread.
fn spawn_writer(
    cfg: &Config,
    plan: &Plan,
    inboxes: Vec<Inbox>,
    shared: &Shared,
    epoch: EpochMap,
) -> Result<JoinHandle<SinkReport>, RunError> {
    let csv = match &cfg.output {
        Some(path) => Some(CsvFile::create(path).map_err(|e| {
            config_error(format!(
                "cannot create output file '{}': {e}",
                path.display()
            ))
        })?),
        None => None,
    };
    let hlog = match &cfg.hlog {
        Some(path) => Some(
            HlogWriter::create(path, PlanMark::of(cfg).to_comment()).map_err(|e| {
                config_error(format!(
                    "cannot create --hlog file '{}': {e}",
                    path.display()
                ))
            })?,
        ),
        None => None,
    };
    let progress = (!cfg.quiet).then(|| {
        Progress::new(
            plan.phases.clone(),
            shared.start_ns.clone(),
            cfg.lag_bound_ns(),
        )
    });
    sink::spawn(SinkSetup {
        inboxes,
        csv,
        labels: cfg.targets.iter().map(|t| t.label.clone()).collect(),
        epoch,
        ctl: shared.ctl.clone(),
        cores_done: shared.cores_done.clone(),
        progress,
        hlog,
        // Send counts per 10 send windows (at least 10 ms): coarser than
        // the window, inside which sends go out together by design.
        shape: ShapeCollector::new(&plan.phases, (10 * cfg.send_window_ns).max(10_000_000)),
        per_second: cfg.trace.as_ref().map(|t| PerSecond::new(t.seconds())),
        start_ns: shared.start_ns.clone(),
    })
    .map_err(|e| RunError::Io(format!("cannot start the writer thread: {e}")))
}

/// One `(cpu, setup)` per core.
fn core_setups(
    cfg: &Config,
    prepared: &Prepared,
    cpus: &[usize],
    core_plans: Vec<CorePlan>,
    outboxes: Vec<Outbox>,
    shared: &Shared,
) -> Vec<(usize, CoreSetup)> {
    cpus.iter()
        .copied()
        .zip(core_plans)
        .zip(outboxes)
        .map(|((cpu, plan), outbox)| {
            let setup = CoreSetup {
                plan,
                origins: prepared.origins.clone(),
                placement: prepared.placement.clone(),
                mix: cfg.mix.clone(),
                timeout_ns: cfg.timeout_ns,
                connect_timeout_ns: cfg.connect_timeout_ns,
                slo_ns: cfg.slo_ns,
                ignore_errors: cfg.ignore_errors,
                precise: cfg.precise,
                send_window_ns: cfg.send_window_ns,
                lag_bound_ns: cfg.lag_bound_ns(),
                lazy_reap: cfg.lazy_reads && !cfg.precise,
                outbox,
                ctl: shared.ctl.clone(),
                keep_pools: false,
            };
            (cpu, setup)
        })
        .collect()
}
