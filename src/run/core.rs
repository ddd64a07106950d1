//! HOT: one core's share of the run on its own monoio runtime: the
//! dispatcher that releases due slots to idle workers (or records them as
//! skipped), the periodic sweep (timeouts, stop, partial-batch flush), and the
//! outbox of records. Everything here is core-local (`Rc`, `Cell`); the only
//! shared state is [`RunControl`]'s atomics.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::cell::{Slot, WorkerCell};
use super::client::{Client, OriginSpec, Target};
use crate::base::clock::{now_ns, yield_to_woken, PreciseTimer};
use crate::base::control::{RunControl, StopReason};
use crate::base::fault::{self, Fault};
use crate::base::kind::ErrorKind;
use crate::base::reap;
use crate::plan::mix::Mix;
use crate::plan::phases::{share, CorePlan};
use crate::plan::schedule::{Schedule, Step};
use crate::protocol::WarmReport;
use crate::record::ring::Outbox;
use crate::record::stats::CoreStats;
use crate::record::{Outcome, Record};

/// `--precise`: the timer wakes this long before a due slot and the
/// dispatcher spins for the rest (covers the timer's wake-up jitter here).
const SPIN_LEAD_NS: u64 = 120_000;
/// The dispatcher re-checks the stop flag at least this often.
const MAX_SLEEP_NS: u64 = 50_000_000;
/// Partial batches older than this are shipped to the writer.
const BATCH_MAX_AGE_NS: u64 = 100_000_000;
/// In-flight requests get at most this long to finish once the run stops.
const STOP_GRACE_NS: u64 = 1_000_000_000;
/// Connections dialled at once per core during warm-up.
const WARM_PARALLEL: usize = 64;

/// What the dispatcher waits for next.
enum Due {
    At(u64),
    ClosedUntil(u64),
    Done,
}

/// What one core needs to run.
pub struct CoreSetup {
    pub plan: CorePlan,
    /// One pool per origin, and each target's `(origin, index)` in them.
    pub origins: Vec<OriginSpec>,
    pub placement: Vec<(usize, usize)>,
    pub mix: Mix,
    pub timeout_ns: u64,
    pub connect_timeout_ns: u64,
    pub slo_ns: Option<u64>,
    pub ignore_errors: bool,
    pub precise: bool,
    /// Fewest ns between two timer wake-ups of the dispatcher (`--send-window`).
    /// A wake-up costs tens of µs of CPU on a VM, so at high rates one wake
    /// releases a window of slots instead of one slot each (wake per window,
    /// not per request).
    pub send_window_ns: u64,
    /// Send lag beyond which a skipped arrival counts as the generator's.
    pub lag_bound_ns: u64,
    /// Leave open-loop responses to the next timer wake-up ([`crate::base::reap`]).
    pub lazy_reap: bool,
    pub outbox: Outbox,
    pub ctl: std::sync::Arc<RunControl>,
    /// Leave the pools open for the next run on this thread (a step of
    /// `rwg search`); else they close when the run ends.
    pub keep_pools: bool,
}

/// A core's pools and the targets that use them, kept from one run to the
/// next on the same thread (the steps of `rwg search`).
#[derive(Clone)]
pub struct Pools {
    clients: Vec<Client>,
    targets: Vec<Target>,
}

impl Pools {
    /// Closes the idle connections (the end of the last run that used them).
    pub fn close_all(&self) {
        for c in &self.clients {
            c.close_all();
        }
    }
}

/// What one core hands back.
pub struct CoreResult {
    pub stats: CoreStats,
    pub warm: WarmReport,
    /// The first error seen on this core, for the summary.
    pub first_error: Option<(ErrorKind, u16)>,
    /// Connections closed for bytes that no request asked for.
    pub unsolicited_closes: u64,
    /// The dispatcher had no timerfd and slept on a 1 ms timer.
    pub timer_fallback: bool,
    /// Connections dialled again after warm-up.
    pub redials: u64,
    /// Responses begun by a lazy read ([`reap`]).
    pub lazy_reads: u64,
}

pub struct Core {
    index: usize,
    sched: RefCell<Schedule>,
    start_ns: Cell<u64>,
    /// Arrivals planned before this instant came before the cores could
    /// send (a late `--start-at`): recorded as `late_start`, never sent.
    ready_ns: Cell<u64>,
    /// One pool per origin.
    clients: Vec<Client>,
    /// What each target sends (indexed by a slot's `target`).
    targets: Vec<Target>,
    mix: Mix,
    pub timeout_ns: u64,
    ignore_errors: bool,
    /// Spin for the last stretch before each due slot (`--precise`).
    precise: bool,
    send_window_ns: u64,
    lag_bound_ns: u64,
    lazy_reap: bool,
    idle: RefCell<Vec<usize>>,
    workers: Box<[WorkerCell]>,
    finished: Cell<bool>,
    in_flight: Cell<u32>,
    outbox: RefCell<Outbox>,
    stats: RefCell<CoreStats>,
    first_error: Cell<Option<(ErrorKind, u16)>>,
    ctl: std::sync::Arc<RunControl>,
    /// No timerfd could be made: the dispatcher sleeps on a 1 ms timer.
    timer_fallback: Cell<bool>,
    /// Worker tasks, spawned during warm-up and awaited by `drive`.
    worker_tasks: RefCell<Vec<monoio::task::JoinHandle<()>>>,
    /// The pools' counts when this run took them over (kept pools count on
    /// from the run before).
    redials_before: u64,
    unsolicited_before: u64,
}

impl Core {
    /// Builds the core and dials its connections (before the first send),
    /// or takes over `kept` pools (of the same origins and targets) and
    /// dials only what they lack; every worker starts idle.
    pub async fn warm(setup: CoreSetup, kept: Option<Pools>) -> (Rc<Core>, WarmReport) {
        let plan = &setup.plan;
        let (Pools { clients, targets }, warm) = match kept {
            Some(pools) => {
                let mut warm = WarmReport::default();
                for (client, origin) in pools.clients.iter().zip(&setup.origins) {
                    let connections = share(origin.connections as u64, plan.cores, plan.core_index);
                    warm.absorb(&client.rewarm(connections as usize, WARM_PARALLEL).await);
                }
                (pools, warm)
            }
            None => dial_pools(&setup).await,
        };
        let redials_before = clients.iter().map(Client::redials).sum();
        let unsolicited_before = clients.iter().map(Client::unsolicited_closes).sum();
        let core = Rc::new(Core {
            index: plan.core_index,
            sched: RefCell::new(Schedule::new(plan)),
            start_ns: Cell::new(0),
            ready_ns: Cell::new(0),
            clients,
            targets,
            mix: setup.mix,
            timeout_ns: setup.timeout_ns,
            ignore_errors: setup.ignore_errors,
            precise: setup.precise,
            send_window_ns: setup.send_window_ns,
            lag_bound_ns: setup.lag_bound_ns,
            lazy_reap: setup.lazy_reap,
            idle: RefCell::new(Vec::with_capacity(plan.workers)),
            workers: (0..plan.workers).map(|_| WorkerCell::default()).collect(),
            finished: Cell::new(false),
            in_flight: Cell::new(0),
            outbox: RefCell::new(setup.outbox),
            stats: RefCell::new(CoreStats::new(plan.phases.len(), setup.slo_ns)),
            first_error: Cell::new(None),
            ctl: setup.ctl,
            timer_fallback: Cell::new(false),
            worker_tasks: RefCell::new(Vec::new()),
            redials_before,
            unsolicited_before,
        });
        core.idle.borrow_mut().extend((0..plan.workers).rev());
        (core, warm)
    }

    /// The pools, to keep for the next run on this thread.
    pub fn pools(&self) -> Pools {
        Pools {
            clients: self.clients.clone(),
            targets: self.targets.clone(),
        }
    }

    /// How many workers this core runs (ids `0..workers()`).
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Keeps the spawned worker tasks so that [`Core::drive`] can await them.
    pub fn hold_workers(&self, tasks: Vec<monoio::task::JoinHandle<()>>) {
        *self.worker_tasks.borrow_mut() = tasks;
    }

    /// Runs the plan from `start_ns` (monotonic) until every slot is
    /// recorded; slots planned before `ready_ns` are recorded as late.
    pub async fn drive(
        self: Rc<Self>,
        start_ns: u64,
        ready_ns: u64,
        warm: WarmReport,
    ) -> CoreResult {
        self.start_ns.set(start_ns);
        self.ready_ns.set(ready_ns);
        reap::take_reads(); // counted per run (a search's crew runs many)
        let workers = std::mem::take(&mut *self.worker_tasks.borrow_mut());
        let sweeper = monoio::spawn(sweep(self.clone()));
        // A task of its own, not part of this (the runtime's main) future:
        // monoio polls the main future before the task queue and enters the
        // kernel once more when tasks are ready, which put a syscall between
        // each release and the workers' sends.
        monoio::spawn(dispatch(self.clone())).await;
        for w in workers {
            w.await;
        }
        sweeper.await;
        // Wait for the writer to take the last batches, unless it is gone.
        while !self.outbox.borrow_mut().flush() && !self.ctl.writer_gone() {
            monoio::time::sleep(Duration::from_millis(1)).await;
        }
        CoreResult {
            stats: self.stats.borrow().clone(),
            warm,
            first_error: self.first_error.get(),
            unsolicited_closes: self
                .clients
                .iter()
                .map(Client::unsolicited_closes)
                .sum::<u64>()
                - self.unsolicited_before,
            timer_fallback: self.timer_fallback.get(),
            redials: self.clients.iter().map(Client::redials).sum::<u64>() - self.redials_before,
            lazy_reads: reap::take_reads(),
        }
    }

    pub fn worker(&self, id: usize) -> &WorkerCell {
        &self.workers[id]
    }

    pub fn target(&self, index: u16) -> &Target {
        &self.targets[usize::from(index)]
    }

    pub fn finished(&self) -> bool {
        self.finished.get()
    }

    /// A worker is free since `now_ns` (its last request's end): release
    /// whatever slots are due by then (possibly to it). A closed-loop slot is
    /// planned at that instant, so the bookkeeping between a response and the
    /// next send counts as dispatch lag; a slot that came due since waits
    /// for the dispatcher's wake-up, which is set for it.
    pub fn go_idle(&self, id: usize, now_ns: u64) {
        self.idle.borrow_mut().push(id);
        self.release_due(now_ns);
    }

    /// Counts a request in flight, begun at `start_ns` for the slot planned
    /// at `intended_ns`; returns the count including it.
    pub fn begin_request(&self, phase: u16, intended_ns: u64, start_ns: u64) -> u32 {
        // How late the generator itself was: the verdict's evidence, apart
        // from waits for a connection, which count in the send lag.
        self.stats
            .borrow_mut()
            .dispatched(phase, start_ns.saturating_sub(intended_ns));
        let n = self.in_flight.get() + 1;
        self.in_flight.set(n);
        n
    }

    pub fn end_request(&self, record: Record, now_ns: u64) {
        self.in_flight.set(self.in_flight.get() - 1);
        self.emit(record, now_ns);
    }

    fn emit(&self, record: Record, now_ns: u64) {
        self.stats.borrow_mut().record(&record);
        self.outbox.borrow_mut().push(record, now_ns);
        if matches!(record.outcome(), Outcome::StatusError | Outcome::Failed) {
            // The stop's own cancellations are no error of the target.
            if self.first_error.get().is_none() && record.error_kind() != ErrorKind::Cancelled {
                self.first_error
                    .set(Some((record.error_kind(), record.status)));
            }
            if !self.ignore_errors && record.error_kind() != ErrorKind::Cancelled {
                self.ctl.request_stop(StopReason::FirstError);
            }
        }
    }

    /// Hands every due slot to an idle worker, or records it as skipped.
    fn release_due(&self, now_ns: u64) -> Due {
        let start_ns = self.start_ns.get();
        if now_ns < start_ns && !self.ctl.stopping() {
            // Nothing is due before the common start instant (closed-loop
            // phases would otherwise start early).
            return Due::At(start_ns);
        }
        loop {
            if self.ctl.stopping() {
                self.cancel_due(now_ns);
                self.finish();
                return Due::Done;
            }
            let (step, seq) = {
                let sched = self.sched.borrow();
                (sched.peek(), sched.seq())
            };
            let target = self.mix.target_of(seq);
            match step {
                Step::Open { offset_ns, phase } => {
                    let intended_ns = start_ns + offset_ns;
                    if intended_ns > now_ns {
                        return Due::At(intended_ns);
                    }
                    let slot = Slot {
                        intended_ns,
                        phase,
                        target,
                        seq,
                    };
                    if intended_ns < self.ready_ns.get() {
                        let late = self.unsent(slot, ErrorKind::LateStart);
                        self.emit(late, now_ns);
                        self.sched.borrow_mut().advance();
                        continue;
                    }
                    let idle = self.idle.borrow_mut().pop();
                    match idle {
                        Some(id) => self.assign(id, slot),
                        None => {
                            let skipped = self.unsent(slot, ErrorKind::Skipped);
                            self.emit(skipped, now_ns);
                            // Due longer ago than the lag bound: the
                            // dispatcher itself was behind, not the target.
                            if now_ns - intended_ns > self.lag_bound_ns {
                                self.stats.borrow_mut().skipped_behind(phase);
                            }
                        }
                    }
                    self.sched.borrow_mut().advance();
                }
                Step::Closed { phase, end_ns } => {
                    if now_ns >= start_ns + end_ns {
                        self.sched.borrow_mut().end_closed_phase();
                        continue;
                    }
                    let idle = self.idle.borrow_mut().pop();
                    let Some(id) = idle else {
                        return Due::ClosedUntil(start_ns + end_ns);
                    };
                    self.assign(
                        id,
                        Slot {
                            intended_ns: now_ns,
                            phase,
                            target,
                            seq,
                        },
                    );
                    self.sched.borrow_mut().advance();
                }
                Step::Done => {
                    self.finish();
                    return Due::Done;
                }
            }
        }
    }

    /// The run stopped: arrivals that came due before now but were not yet
    /// released (they wait for the dispatcher's next wake-up, up to a send
    /// window) still get their row, as `cancelled` and never sent. Once
    /// only: after `finish`, later sweeps add nothing.
    fn cancel_due(&self, now_ns: u64) {
        let start_ns = self.start_ns.get();
        while !self.finished.get() {
            let (step, seq) = {
                let sched = self.sched.borrow();
                (sched.peek(), sched.seq())
            };
            let Step::Open { offset_ns, phase } = step else {
                break;
            };
            let intended_ns = start_ns + offset_ns;
            if intended_ns > now_ns {
                break;
            }
            let slot = Slot {
                intended_ns,
                phase,
                target: self.mix.target_of(seq),
                seq,
            };
            let cancelled = self.unsent(slot, ErrorKind::Cancelled);
            self.emit(cancelled, now_ns);
            self.sched.borrow_mut().advance();
        }
    }

    /// The record of an arrival that was never sent (skipped, cancelled).
    fn unsent(&self, slot: Slot, error: ErrorKind) -> Record {
        Record {
            intended_ns: slot.intended_ns,
            phase: slot.phase,
            target: slot.target,
            grpc: self.target(slot.target).grpc(),
            in_flight: self.in_flight.get(),
            error: error as u8,
            ..Record::default()
        }
    }

    fn assign(&self, id: usize, slot: Slot) {
        let cell = &self.workers[id];
        cell.slot.set(Some(slot));
        if let Some(w) = cell.waker.take() {
            w.wake();
        }
    }

    /// No more slots: wake idle workers so they can exit.
    fn finish(&self) {
        if self.finished.replace(true) {
            return;
        }
        for id in self.idle.borrow_mut().drain(..) {
            if let Some(w) = self.workers[id].waker.take() {
                w.wake();
            }
        }
    }
}

/// Builds one pool per origin and dials its share of the connections.
async fn dial_pools(setup: &CoreSetup) -> (Pools, WarmReport) {
    let plan = &setup.plan;
    let mut clients = Vec::with_capacity(setup.origins.len());
    let mut by_origin = Vec::with_capacity(setup.origins.len());
    let mut warm = WarmReport::default();
    for origin in &setup.origins {
        let connections = share(origin.connections as u64, plan.cores, plan.core_index);
        let (client, targets, w) = Client::warm(
            origin.clone(),
            connections as usize,
            setup.connect_timeout_ns,
            WARM_PARALLEL,
        )
        .await;
        warm.absorb(&w);
        clients.push(client);
        by_origin.push(targets);
    }
    let targets = setup
        .placement
        .iter()
        .map(|&(origin, i)| by_origin[origin][i].clone())
        .collect();
    (Pools { clients, targets }, warm)
}

/// Sleeps until each window of slots is due and releases it.
async fn dispatch(core: Rc<Core>) {
    // Without a timerfd (e.g. no file descriptor left) the dispatcher falls
    // back to monoio's 1 ms timer, and --precise to the window: the summary
    // says so instead of claiming the window.
    let timer = match fault::injected() {
        Fault::NoTimerfd => None,
        _ => PreciseTimer::new().ok(),
    };
    core.timer_fallback.set(timer.is_none());
    let precise = core.precise && timer.is_some();
    let mut last_wake_ns = 0;
    loop {
        let now = now_ns();
        let idle_before = core.idle.borrow().len();
        let wake_ns = match core.release_due(now) {
            Due::Done => {
                reap::set_open(false);
                return;
            }
            Due::At(t) if precise => {
                if t.saturating_sub(now) <= SPIN_LEAD_NS {
                    // Busy-wait the last stretch; I/O waits meanwhile, which
                    // is the price of µs-level send precision.
                    while now_ns() < t {
                        std::hint::spin_loop();
                    }
                    core.release_due(now_ns());
                    if let Some(timer) = &timer {
                        let _ = timer.one_turn().await;
                    }
                    continue;
                }
                t - SPIN_LEAD_NS
            }
            Due::At(t) => {
                let wake_ns = t.max(last_wake_ns + core.send_window_ns);
                reap::set_open(core.lazy_reap && wake_ns <= now + reap::MAX_REAP_GAP_NS);
                wake_ns
            }
            Due::ClosedUntil(t) => {
                // Closed loop: each response releases the next request.
                reap::set_open(false);
                t
            }
        }
        .min(now + MAX_SLEEP_NS);
        // Workers just handed slots stamp and queue their sends before the
        // timer is re-armed (a syscall that reprograms a hardware timer).
        if core.idle.borrow().len() < idle_before {
            yield_to_woken().await;
        }
        match &timer {
            Some(timer) => {
                let _ = timer.sleep_until(wake_ns).await;
            }
            None => monoio::time::sleep(Duration::from_nanos(wake_ns.saturating_sub(now))).await,
        }
        last_wake_ns = now_ns();
        // Responses left for this wake-up are read now, in the same turn as
        // the sends it releases.
        reap::reap();
    }
}

/// Periodic chores: expire overdue requests, cut in-flight work short once
/// the run stops, ship partial batches, publish progress.
async fn sweep(core: Rc<Core>) {
    let period = Duration::from_nanos((core.timeout_ns / 20).clamp(1_000_000, 20_000_000));
    let mut stop_seen = false;
    loop {
        monoio::time::sleep(period).await;
        let now = now_ns();
        if core.ctl.stopping() {
            if !stop_seen {
                stop_seen = true;
                let grace_ns = now + STOP_GRACE_NS.min(core.timeout_ns);
                for w in core.workers.iter() {
                    w.deadline.shorten(grace_ns, ErrorKind::Cancelled);
                }
            }
            // Idle workers must notice the stop even if no slot is due.
            core.release_due(now);
        }
        for w in core.workers.iter() {
            w.deadline.sweep(now);
        }
        core.outbox
            .borrow_mut()
            .flush_if_older(now, BATCH_MAX_AGE_NS);
        core.ctl.in_flight[core.index].store(core.in_flight.get(), Ordering::Relaxed);
        if core.finished() && core.in_flight.get() == 0 {
            return;
        }
    }
}
