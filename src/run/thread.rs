//! The pinned core threads. A [`Crew`] holds one per CPU; each builds its
//! own monoio runtime inside the thread (io_uring with single-issuer and
//! deferred task running, epoll where io_uring is unavailable) and runs
//! one run's share after another on it. For each run it warms its core
//! (connections dialled, or the pools kept from the run before taken over,
//! workers spawned), waits at the start barrier, then drives its share of
//! the plan. The main thread releases all of them on one instant.

use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread::JoinHandle;
use std::time::Duration;

use super::core::{Core, CoreResult, CoreSetup, Pools};
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

/// One run's share of one core thread, sent to the thread.
type Job = Box<dyn FnOnce(&mut Bench) + Send>;

/// Pinned threads that outlive a run: each keeps its runtime and, when the
/// runs ask for it, its connection pools, so the steps of `rwg search` go
/// on with the connections the first one dialled.
pub struct Crew {
    members: Vec<Member>,
}

struct Member {
    cpu: usize,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// What a crew thread keeps between runs.
pub struct Bench {
    cpu: usize,
    /// Built by the first run, with at least `min_entries` ring entries.
    rt: Option<Runtime>,
    min_entries: u32,
    pools: Option<Pools>,
}

impl Crew {
    /// One pinned thread per CPU; `min_entries`: the io_uring size the
    /// runtimes get at least (the steps of a search grow their workers).
    pub fn hire(cpus: &[usize], min_entries: u32) -> Result<Crew, String> {
        let mut crew = Crew {
            members: Vec::with_capacity(cpus.len()),
        };
        for &cpu in cpus {
            let (jobs, inbox) = mpsc::channel::<Job>();
            let thread = std::thread::Builder::new()
                .name(format!("rwg-core-{cpu}"))
                .spawn(move || crew_thread(cpu, min_entries, inbox))
                .map_err(|e| format!("cannot spawn a core thread: {e}"))?;
            crew.members.push(Member {
                cpu,
                jobs: Some(jobs),
                thread: Some(thread),
            });
        }
        Ok(crew)
    }

    /// The CPUs, in order.
    pub fn cpus(&self) -> Vec<usize> {
        self.members.iter().map(|m| m.cpu).collect()
    }
}

impl Drop for Crew {
    /// Ends the threads (closing kept pools inside their runtimes).
    fn drop(&mut self) {
        for m in &mut self.members {
            m.jobs.take();
        }
        for m in &mut self.members {
            if let Some(t) = m.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// A crew thread: pinned, then one job after another until the crew goes.
fn crew_thread(cpu: usize, min_entries: u32, inbox: mpsc::Receiver<Job>) {
    // The CPU was checked against the allowed set; a refusal here only costs
    // precision, so the run goes on unpinned.
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    let mut bench = Bench {
        cpu,
        rt: None,
        min_entries,
        pools: None,
    };
    while let Ok(job) = inbox.recv() {
        job(&mut bench);
    }
    if let (Some(rt), Some(pools)) = (&mut bench.rt, bench.pools.take()) {
        rt.block_on(async move { pools.close_all() });
    }
}

impl Bench {
    /// The thread's runtime, built on first use.
    fn runtime(&mut self, entries: u32) -> Result<&mut Runtime, String> {
        if self.rt.is_none() {
            let entries = entries.max(self.min_entries);
            let rt = build_runtime(entries)
                .map_err(|e| format!("cannot build the runtime on CPU {}: {e}", self.cpu))?;
            self.rt = Some(rt);
        }
        Ok(self.rt.as_mut().expect("built above"))
    }
}

/// The running core threads and what the main thread shares with them.
pub struct CoreThreads {
    /// Each core's result, sent when its share of the run ends.
    threads: Vec<mpsc::Receiver<Result<CoreResult, CoreFailure>>>,
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
    /// Hands each `(cpu, setup)` to the crew's thread on that CPU.
    /// `start_ns` receives the common start instant; `done` counts cores
    /// whose share has ended.
    pub fn spawn(
        crew: &Crew,
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
            let member = crew.members.iter().find(|m| m.cpu == cpu);
            let (job, result) = ct.job(setup);
            match member
                .and_then(|m| m.jobs.as_ref())
                .map(|jobs| jobs.send(job))
            {
                Some(Ok(())) => ct.threads.push(result),
                _ => {
                    ctl.request_stop(StopReason::WriterFailed);
                    return Err(format!("the core thread of CPU {cpu} is gone"));
                }
            }
        }
        Ok(ct)
    }

    /// One core's share of this run, and where its result will come.
    fn job(&self, setup: CoreSetup) -> (Job, mpsc::Receiver<Result<CoreResult, CoreFailure>>) {
        let (barrier, start_ns, ready_ns, done, on_epoll, main_thread) = (
            self.barrier.clone(),
            self.start_ns.clone(),
            self.ready_ns.clone(),
            self.done.clone(),
            self.on_epoll.clone(),
            std::thread::current(),
        );
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |bench: &mut Bench| {
            let ctl = setup.ctl.clone();
            let cpu = bench.cpu;
            let gate = StartGate::new(&barrier);
            let instants = (&*start_ns, &*ready_ns);
            let run = AssertUnwindSafe(|| core_main(bench, setup, &gate, instants, &on_epoll));
            let result = match std::panic::catch_unwind(run) {
                Ok(r) => r.map_err(CoreFailure::Failed),
                Err(payload) => {
                    // A bug, not the target's fault: stop the others
                    // (the gate's drop lets the main thread on), and keep
                    // nothing of this run.
                    bench.pools = None;
                    ctl.request_stop(StopReason::Internal);
                    Err(CoreFailure::Panicked(format!(
                        "the core thread rwg-core-{cpu} panicked: {}",
                        panic_message(&*payload)
                    )))
                }
            };
            drop(gate);
            done.fetch_add(1, Ordering::Release);
            main_thread.unpark();
            let _ = tx.send(result);
        });
        (job, rx)
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

    /// Collects the cores' results; a panic outranks other failures.
    pub fn join(self) -> Result<Joined, CoreFailure> {
        let mut results = Vec::with_capacity(self.threads.len());
        let mut failure = None;
        for t in self.threads {
            match t.recv() {
                Ok(Ok(r)) => results.push(r),
                Ok(Err(e @ CoreFailure::Panicked(_))) => failure = Some(e),
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(_) => {
                    failure = Some(CoreFailure::Panicked(
                        "a core thread ended without its result".to_string(),
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

/// One core's share of a run, on its crew thread: warm (keeping the
/// bench's pools when the run asks), start with the others, drive.
fn core_main(
    bench: &mut Bench,
    mut setup: CoreSetup,
    gate: &StartGate<'_>,
    (start_ns, ready_ns): (&AtomicU64, &AtomicU64),
    on_epoll: &AtomicBool,
) -> Result<CoreResult, String> {
    let entries = (setup.plan.workers as u32 * 2)
        .next_power_of_two()
        .clamp(256, 32_768);
    let keep = setup.keep_pools;
    let kept = if keep { bench.pools.take() } else { None };
    let rt = bench.runtime(entries)?;
    let epoll = matches!(rt, monoio::FusionRuntime::Legacy(_));
    on_epoll.fetch_or(epoll, Ordering::Relaxed);
    // epoll keeps every socket registered, so an arriving response wakes the
    // core anyway: lazy reads would save nothing.
    setup.lazy_reap &= !epoll;
    let (core, warm) = rt.block_on(warm_core(setup, kept));
    gate.pass();
    gate.pass();
    let start = start_ns.load(Ordering::Acquire);
    let ready = ready_ns.load(Ordering::Acquire);
    let panic_mid_run = fault::injected() == Fault::CorePanic;
    let pools = core.pools();
    let result = rt.block_on(async move {
        if panic_mid_run {
            monoio::spawn(async {
                monoio::time::sleep(Duration::from_millis(300)).await;
                panic!("injected fault (RWG_FAULT=core-panic)");
            });
        }
        core.drive(start, ready, warm).await
    });
    if keep {
        bench.pools = Some(pools);
    } else {
        rt.block_on(async move { pools.close_all() });
    }
    Ok(result)
}

/// Builds the core, dials its connections and spawns its workers.
async fn warm_core(setup: CoreSetup, kept: Option<Pools>) -> (Rc<Core>, WarmReport) {
    let (core, warm) = Core::warm(setup, kept).await;
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
