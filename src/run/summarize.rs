//! Cold, after the run: merges what the cores handed back and builds the
//! [`Summary`]: rates per phase over the time each phase ran, the warm-up,
//! how sends were timed, why the run stopped, the first error.

use super::core::CoreResult;
use super::setup::Prepared;
use super::thread::Start;
use crate::base::civil::fmt_rfc3339_ns;
use crate::base::clock::clock_state;
use crate::base::control::StopReason;
use crate::base::kind::{grpc_code_name, ErrorKind};
use crate::base::units::fmt_ns;
use crate::plan::config::{Config, Dist};
use crate::plan::fingerprint::fingerprint;
use crate::plan::phases::{Phase, Plan};
use crate::plan::trace::TracePlan;
use crate::protocol::WarmReport;
use crate::record::seconds::SecondCounts;
use crate::record::sink::SinkReport;
use crate::record::stats::CoreStats;
use crate::report::block::Block;
use crate::report::summary::{ClockInfo, PlanInfo};
use crate::report::summary::{RunInfo, Summary, TraceInfo, TraceSecond};

/// Everything a summary is made of, gathered by the engine.
pub struct Finished<'a> {
    pub cfg: &'a Config,
    pub plan: &'a Plan,
    pub prepared: &'a Prepared,
    pub cpus: Vec<usize>,
    pub connections: usize,
    pub results: Vec<CoreResult>,
    pub on_epoll: bool,
    pub stop: StopReason,
    pub sink: SinkReport,
    /// The common start instant (monotonic ns) and how late the cores were
    /// for it; when the last core ended.
    pub start: Start,
    pub end_ns: u64,
}

/// The cores' results added up.
struct Merged {
    stats: CoreStats,
    warm: WarmReport,
    first_error: Option<(ErrorKind, u16)>,
    unsolicited_closes: u64,
    redials: u64,
    lazy_reads: u64,
}

fn merge(results: &[CoreResult], phases: usize, slo_ns: Option<u64>) -> Merged {
    let mut m = Merged {
        stats: CoreStats::new(phases, slo_ns),
        warm: WarmReport::default(),
        first_error: None,
        unsolicited_closes: 0,
        redials: 0,
        lazy_reads: 0,
    };
    for r in results {
        m.stats.merge(&r.stats);
        let w = &mut m.warm;
        w.connected += r.warm.connected;
        w.failed += r.warm.failed;
        w.elapsed_ns = w.elapsed_ns.max(r.warm.elapsed_ns);
        w.handshake_ns += r.warm.handshake_ns;
        if w.alpn.is_none() {
            w.alpn.clone_from(&r.warm.alpn);
        }
        if w.first_error.is_none() {
            w.first_error.clone_from(&r.warm.first_error);
        }
        m.first_error = m.first_error.or(r.first_error);
        m.unsolicited_closes += r.unsolicited_closes;
        m.redials += r.redials;
        m.lazy_reads += r.lazy_reads;
    }
    m
}

/// The trace's planned arrivals per second beside the sent and answered.
fn trace_info(trace: &TracePlan, done: &[SecondCounts]) -> TraceInfo {
    let seconds = trace
        .per_second()
        .into_iter()
        .enumerate()
        .map(|(i, planned)| {
            let c = done.get(i).copied().unwrap_or_default();
            TraceSecond {
                second: i as u64,
                planned,
                sent: c.sent,
                answered: c.answered,
            }
        })
        .collect();
    TraceInfo {
        file: trace.file.clone(),
        speed: trace.speed,
        arrivals: trace.offsets_ns.len() as u64,
        seconds,
    }
}

/// How sends were timed and responses read, in words. Lazy reads are
/// named with the share of responses they began: they apply to plain
/// HTTP/1.1 on io_uring while the dispatcher wakes at most 2 ms apart.
fn send_mode(cfg: &Config, plan: &Plan, timer_fallback: bool, lazy: (u64, u64)) -> String {
    let (lazy_reads, answered) = lazy;
    if plan.phases.iter().all(Phase::closed_loop) {
        "closed loop".to_string()
    } else if timer_fallback {
        "1 ms timer (no timerfd could be made: sends up to 1 ms late)".to_string()
    } else if cfg.precise {
        "precise".to_string()
    } else if lazy_reads > 0 {
        let share = 100.0 * lazy_reads as f64 / answered.max(lazy_reads) as f64;
        format!(
            "window {}, lazy reads ({share:.0} % of responses)",
            fmt_ns(cfg.send_window_ns)
        )
    } else {
        format!("window {}", fmt_ns(cfg.send_window_ns))
    }
}

fn plan_info(cfg: &Config, start: Start, stop: StopReason, late_start: u64) -> PlanInfo {
    let clock = clock_state();
    PlanInfo {
        fingerprint: fingerprint(cfg),
        shard: cfg.shard.to_string(),
        start_at: cfg.start_at_ns.map(fmt_rfc3339_ns),
        started_late_ms: cfg.start_at_ns.map(|_| start.late_ns as f64 / 1e6),
        late_start,
        stop: stop.word().to_string(),
        clock: ClockInfo {
            synchronised: clock.synchronised,
            max_error_ms: clock.max_error_us as f64 / 1e3,
            est_error_ms: clock.est_error_us as f64 / 1e3,
        },
    }
}

fn stop_text(stop: StopReason) -> Option<String> {
    match stop {
        StopReason::None => None,
        StopReason::Signal => Some("interrupted (SIGINT/SIGTERM)".to_string()),
        StopReason::FirstError => {
            Some("stopped at the first error (use --ignore-errors to keep going)".to_string())
        }
        StopReason::WriterFailed => Some("the CSV writer failed".to_string()),
        StopReason::Internal => Some("a thread of rwg failed (internal error)".to_string()),
    }
}

/// gRPC codes are 0–16, HTTP statuses 100 and up (a run may mix both).
fn first_error_text((kind, status): (ErrorKind, u16)) -> String {
    match kind {
        ErrorKind::None if status < 100 => {
            format!("gRPC status {status} {}", grpc_code_name(status))
        }
        ErrorKind::None => format!("HTTP status {status}"),
        k => k.as_str().to_string(),
    }
}

/// Builds the summary of a finished run.
pub fn summarize(f: Finished<'_>) -> Summary {
    let Finished { cfg, plan, .. } = f;
    let shapes = &f.sink.shapes;
    let exponential = cfg.dist == Dist::Exp;
    let m = merge(&f.results, plan.phases.len(), cfg.slo_ns);
    let all = m.stats.overall();
    let planned_ns = plan.total_duration_ns();
    let elapsed_ns = f.end_ns.saturating_sub(f.start.t0_ns);
    let cut_by_requests = cfg
        .max_requests
        .filter(|&n| f.stop == StopReason::None && all.scheduled >= n)
        .filter(|_| elapsed_ns < planned_ns);
    // What rates divide by. A run that nothing cut short offered its
    // arrivals over the whole planned time, though it ends with its last
    // answer: at 2/s for 1 s, the last arrival is planned at 0.5 s.
    let run_ns = match (f.stop, cut_by_requests) {
        (StopReason::None, None) => planned_ns,
        _ => planned_ns.min(elapsed_ns),
    }
    .max(1);
    let phases: Vec<Block> = plan
        .phases
        .iter()
        .zip(&m.stats.phases)
        .enumerate()
        .map(|(i, (p, s))| {
            let ran_ns = run_ns.saturating_sub(p.start_ns).min(p.duration_ns).max(1);
            // A shard plans its share of each rate.
            let rate = (!p.closed_loop() && !p.traced).then(|| p.rate.divided(plan.shard.count));
            let block = Block::of(s, Some(i), rate, rate.is_some(), ran_ns);
            match shapes.iter().find(|sh| sh.phase == i) {
                Some(shape) => block.with_shape(shape, exponential),
                None => block,
            }
        })
        .collect();
    let single_rate = match plan.phases.as_slice() {
        [p] if !p.closed_loop() && !p.traced => Some(p.rate.divided(plan.shard.count)),
        _ => None,
    };
    let open_loop = plan.phases.iter().any(|p| !p.closed_loop());
    let mut overall = Block::of(&all, None, single_rate, open_loop, run_ns);
    if let ([_], [shape]) = (plan.phases.as_slice(), shapes.as_slice()) {
        overall = overall.with_shape(shape, exponential);
    }
    let mut verdict = overall.judge(cfg.lag_bound_ns(), cfg.workers);
    if m.warm.connected == 0 && m.redials == 0 && overall.answered == 0 && overall.errors > 0 {
        verdict.mark_unreached();
    }
    if phases.len() > 1 {
        for b in &phases {
            verdict
                .notes
                .extend(b.shape_notes(&format!("phase {}", b.phase.unwrap_or(0))));
        }
    } else {
        verdict.notes.extend(overall.shape_notes("the run"));
    }
    let run = RunInfo {
        url: match cfg.targets.as_slice() {
            [one] => one.label.clone(),
            many => format!("{} targets", many.len()),
        },
        driver: if f.on_epoll { "epoll" } else { "io_uring" }.to_string(),
        send_mode: send_mode(
            cfg,
            plan,
            f.results.iter().any(|r| r.timer_fallback),
            (m.lazy_reads, all.answered()),
        ),
        cpus: f.cpus,
        workers: cfg.workers,
        connections: f.connections,
        warmup_connected: m.warm.connected,
        warmup_failed: m.warm.failed,
        warmup_ms: m.warm.elapsed_ns as f64 / 1e6,
        warmup_error: m.warm.first_error,
        protocol: f.prepared.protocol.clone(),
        // Cleartext connections negotiate nothing (prior knowledge or HTTP/1.1).
        alpn: m.warm.alpn.filter(|_| f.prepared.tls),
        tls: f.prepared.tls,
        handshake_ms: m.warm.handshake_ns as f64 / 1e6 / m.warm.connected.max(1) as f64,
        stopped: stop_text(f.stop),
        ended_at_requests: cut_by_requests,
        interrupted: f.stop == StopReason::Signal,
        first_error: m.first_error.map(first_error_text),
        unsolicited_closes: m.unsolicited_closes,
        redials: m.redials,
        shard: plan.shard.is_split().then(|| plan.shard.to_string()),
        plan: plan_info(cfg, f.start, f.stop, all.late_start),
        csv_path: cfg.output.as_ref().map(|p| p.display().to_string()),
        csv_rows: f.sink.csv_rows,
        writer_error: f.sink.error,
        trace: cfg
            .trace
            .as_ref()
            .map(|t| trace_info(t, &f.sink.per_second)),
    };
    Summary {
        run,
        slo_ms: cfg.slo_ns.map(|ns| ns as f64 / 1e6),
        overall,
        phases,
        verdict,
    }
}
