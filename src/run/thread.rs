//! The pinned core threads. Each builds its own monoio runtime inside the
//! thread (io_uring with single-issuer and deferred task running, epoll where
//! io_uring is unavailable), warms its core (connections dialled, workers
//! spawned), waits at the start barrier, then drives its share of the plan.
//! The main thread releases all of them on one instant.

use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::Duration;

use super::core::{Core, CoreResult, CoreSetup};
use super::signals::SignalGuard;
use super::worker;
use crate::base::clock::now_ns;
use crate::base::control::{RunControl, StopReason};
use crate::base::fault::{self, panic_message, Fault};
use crate::protocol::WarmReport;

/// The first planned send comes this long after the last pool is warm, so
/// every core starts on the same instant.
const START_LEAD_NS: u64 = 2_000_000;

/// How often the main thread looks at the signal flag while cores run.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

type Runtime = monoio::FusionRuntime<
    monoio::time::TimeDriver<monoio::IoUringDriver>,
    monoio::time::TimeDriver<monoio::LegacyDriver>,
>;

/// The running core threads and what the main thread shares with them.
pub struct CoreThreads {
    threads: Vec<JoinHandle<Result<CoreResult, CoreFailure>>>,
    /// Passed twice: once all cores are warm, once the start instant is set.
    barrier: Arc<Barrier>,
    start_ns: Arc<AtomicU64>,
    /// When the cores could first send (monotonic ns): after a late
    /// `--start-at`, arrivals planned before it are recorded, not sent.
    ready_ns: Arc<AtomicU64>,
    done: Arc<AtomicUsize>,
    on_epoll: Arc<AtomicBool>,
}

/// What the core threads hand back once joined.
pub struct Joined {
    pub results: Vec<CoreResult>,
    /// Some core ran on the epoll fallback.
    pub on_epoll: bool,
}

impl CoreThreads {
    /// Spawns one pinned thread per `(cpu, setup)`. `start_ns` receives the
    /// common start instant; `done` counts threads that have ended.
    pub fn spawn(
        cores: Vec<(usize, CoreSetup)>,
        start_ns: Arc<AtomicU64>,
        done: Arc<AtomicUsize>,
    ) -> Result<CoreThreads, String> {
        let mut ct = CoreThreads {
            threads: Vec::with_capacity(cores.len()),
            barrier: Arc::new(Barrier::new(cores.len() + 1)),
            start_ns,
            ready_ns: Arc::new(AtomicU64::new(0)),
            done,
            on_epoll: Arc::new(AtomicBool::new(false)),
        };
        for (cpu, setup) in cores {
            let ctl = setup.ctl.clone();
            match ct.spawn_one(cpu, setup) {
                Ok(t) => ct.threads.push(t),
                Err(e) => {
                    ctl.request_stop(StopReason::WriterFailed);
                    return Err(format!("cannot spawn a core thread: {e}"));
                }
            }
        }
        Ok(ct)
    }

    fn spawn_one(
        &self,
        cpu: usize,
        setup: CoreSetup,
    ) -> std::io::Result<JoinHandle<Result<CoreResult, CoreFailure>>> {
        let (barrier, start_ns, ready_ns, done, on_epoll, main_thread) = (
            self.barrier.clone(),
            self.start_ns.clone(),
            self.ready_ns.clone(),
            self.done.clone(),
            self.on_epoll.clone(),
            std::thread::current(),
        );
        std::thread::Builder::new()
            .name(format!("rwg-core-{cpu}"))
            .spawn(move || {
                let ctl = setup.ctl.clone();
                let gate = StartGate::new(&barrier);
                let instants = (&*start_ns, &*ready_ns);
                let run = || core_main(cpu, setup, &gate, instants, &on_epoll);
                let result = match std::panic::catch_unwind(AssertUnwindSafe(run)) {
                    Ok(r) => r.map_err(CoreFailure::Failed),
                    Err(payload) => {
                        // A bug, not the target's fault: stop the others
                        // (the gate's drop has let the main thread on).
                        ctl.request_stop(StopReason::Internal);
                        Err(CoreFailure::Panicked(format!(
                            "the core thread rwg-core-{cpu} panicked: {}",
                            panic_message(&*payload)
                        )))
                    }
                };
                done.fetch_add(1, Ordering::Release);
                main_thread.unpark();
                result
            })
    }

    /// Waits until every core is warm, sets the common start instant
    /// (`at_ns` when given, else a moment from now) and releases them.
    pub fn start(&self, at_ns: Option<u64>) -> Start {
        self.barrier.wait();
        let ready_ns = now_ns() + START_LEAD_NS;
        let t0_ns = at_ns.unwrap_or(ready_ns);
        self.start_ns.store(t0_ns, Ordering::Release);
        self.ready_ns.store(ready_ns, Ordering::Release);
        self.barrier.wait();
        Start {
            t0_ns,
            late_ns: ready_ns.saturating_sub(t0_ns),
        }
    }

    /// Waits for every core to end, turning a signal into a stop request.
    pub fn wait(&self, signals: &SignalGuard, ctl: &RunControl) {
        while self.done.load(Ordering::Acquire) < self.threads.len() {
            if signals.fired() && !ctl.stopping() {
                ctl.request_stop(StopReason::Signal);
            }
            // Woken by each core thread as it ends; the timeout only bounds
            // how late a signal is noticed (a 5 ms poll cost ~2 CPU-us per
            // request at 1 000 req/s).
            std::thread::park_timeout(SIGNAL_POLL);
        }
    }

    /// Joins the threads; a panic outranks other failures.
    pub fn join(self) -> Result<Joined, CoreFailure> {
        let mut results = Vec::with_capacity(self.threads.len());
        let mut failure = None;
        for t in self.threads {
            match t.join() {
                Ok(Ok(r)) => results.push(r),
                Ok(Err(e @ CoreFailure::Panicked(_))) => failure = Some(e),
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(_) => {
                    failure = Some(CoreFailure::Panicked(
                        "a core thread panicked while unwinding".to_string(),
                    ))
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(Joined {
                results,
                on_epoll: self.on_epoll.load(Ordering::Relaxed),
            }),
        }
    }
}

/// The plan's start, monotonic ns.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    pub t0_ns: u64,
    /// How long after `t0_ns` the cores could first send (a `--start-at`
    /// that had passed when they were warm); 0 when on time.
    pub late_ns: u64,
}

/// Why a core thread gave no result.
#[derive(Debug)]
pub enum CoreFailure {
    /// The machine refused (e.g. no runtime could be built).
    Failed(String),
    /// A bug in rwg: the thread panicked.
    Panicked(String),
}

/// The start barrier, passed twice by every core thread (once warm, once
/// the start instant is set) — also when the thread fails or panics before
/// that, so the main thread never waits for a thread that is gone.
struct StartGate<'a> {
    barrier: &'a Barrier,
    passed: std::cell::Cell<u8>,
}

impl<'a> StartGate<'a> {
    fn new(barrier: &'a Barrier) -> Self {
        StartGate {
            barrier,
            passed: std::cell::Cell::new(0),
        }
    }

    /// Waits at the barrier once more.
    fn pass(&self) {
        self.passed.set(self.passed.get() + 1);
        self.barrier.wait();
    }
}

impl Drop for StartGate<'_> {
    fn drop(&mut self) {
        while self.passed.get() < 2 {
            self.pass();
        }
    }
}

/// One core thread, start to end.
fn core_main(
    cpu: usize,
    mut setup: CoreSetup,
    gate: &StartGate<'_>,
    (start_ns, ready_ns): (&AtomicU64, &AtomicU64),
    on_epoll: &AtomicBool,
) -> Result<CoreResult, String> {
    // The CPU was checked against the allowed set; a refusal here only costs
    // precision, so the run goes on unpinned.
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    let entries = (setup.plan.workers as u32 * 2)
        .next_power_of_two()
        .clamp(256, 32_768);
    let mut rt = build_runtime(entries)
        .map_err(|e| format!("cannot build the runtime on CPU {cpu}: {e}"))?;
    let epoll = matches!(rt, monoio::FusionRuntime::Legacy(_));
    on_epoll.fetch_or(epoll, Ordering::Relaxed);
    // epoll keeps every socket registered, so an arriving response wakes the
    // core anyway: lazy reads would save nothing.
    setup.lazy_reap &= !epoll;
    let (core, warm) = rt.block_on(warm_core(setup));
    gate.pass();
    gate.pass();
    let start = start_ns.load(Ordering::Acquire);
    let ready = ready_ns.load(Ordering::Acquire);
    let panic_mid_run = fault::injected() == Fault::CorePanic;
    Ok(rt.block_on(async move {
        if panic_mid_run {
            monoio::spawn(async {
                monoio::time::sleep(Duration::from_millis(300)).await;
                panic!("injected fault (RWG_FAULT=core-panic)");
            });
        }
        core.drive(start, ready, warm).await
    }))
}

/// Builds the core, dials its connections and spawns its workers.
async fn warm_core(setup: CoreSetup) -> (Rc<Core>, WarmReport) {
    let (core, warm) = Core::warm(setup).await;
    // Every worker's task is spawned and polled once now, before the start
    // barrier: with thousands of workers, their first polls would otherwise
    // delay the first planned sends by tens of ms.
    let tasks = (0..core.workers())
        .map(|id| monoio::spawn(worker::run(core.clone(), id)))
        .collect();
    core.hold_workers(tasks);
    monoio::time::sleep(Duration::from_millis(1)).await;
    (core, warm)
}

/// Builds this thread's runtime: io_uring with single-issuer + deferred task
/// running (monoio's default setup was 35 % slower in a closed loop), epoll
/// when io_uring is unavailable.
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
