//! The live progress line (stderr, once a second): elapsed time, phase,
//! planned rate, recorded and OK rates, requests in flight, errors, skipped,
//! and the last second's latency p99. Fed by the writer thread, which sees
//! every record anyway, so the cores pay nothing for it. As soon as more
//! than 1 % of a second's sends are later than the run's lag bound, the line
//! says so, before the verdict at the end judges why: the writer sees the
//! send lag, which also holds waits for a connection, not the dispatch lag
//! the verdict blames the generator by.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hdrhistogram::Histogram;

use super::{Outcome, Record};
use crate::base::control::RunControl;
use crate::plan::phases::Phase;

const TICK_NS: u64 = 1_000_000_000;

pub struct Progress {
    phases: Vec<Phase>,
    /// Run start (monotonic ns); 0 until the engine sets it.
    start_ns: Arc<AtomicU64>,
    next_tick_ns: u64,
    recorded: u64,
    ok: u64,
    errors_total: u64,
    skipped_total: u64,
    latency: Histogram<u64>,
    /// Send lag beyond which the generator is behind its schedule.
    lag_bound_ns: u64,
    /// This second's sent records, those later than the bound, and the
    /// largest lag: more than 1 % late is what the verdict's p99 calls behind.
    sent: u64,
    late: u64,
    max_lag_ns: u64,
}

impl Progress {
    pub fn new(phases: Vec<Phase>, start_ns: Arc<AtomicU64>, lag_bound_ns: u64) -> Progress {
        Progress {
            phases,
            start_ns,
            next_tick_ns: 0,
            recorded: 0,
            ok: 0,
            errors_total: 0,
            skipped_total: 0,
            latency: Histogram::new_with_bounds(1, 3_600_000_000_000, 2)
                .expect("static histogram bounds are valid"),
            lag_bound_ns,
            sent: 0,
            late: 0,
            max_lag_ns: 0,
        }
    }

    #[inline]
    pub fn observe(&mut self, r: &Record) {
        self.recorded += 1;
        if let Some(lag_ns) = r.lag_ns() {
            self.sent += 1;
            self.late += u64::from(lag_ns > self.lag_bound_ns);
            self.max_lag_ns = self.max_lag_ns.max(lag_ns);
        }
        match r.outcome() {
            Outcome::Ok => self.ok += 1,
            Outcome::Skipped => self.skipped_total += 1,
            Outcome::StatusError | Outcome::Failed => self.errors_total += 1,
            Outcome::Dropped => {}
        }
        // Answered requests only (a gRPC OK is status 0, so not `status`).
        if r.answered() {
            if let Some(lat) = r.latency_ns() {
                self.latency.saturating_record(lat.max(1));
            }
        }
    }

    /// Prints a line when a second has passed since the last one.
    pub fn tick(&mut self, now_ns: u64, ctl: &RunControl) {
        let start_ns = self.start_ns.load(Ordering::Acquire);
        if start_ns == 0 || now_ns < start_ns {
            return;
        }
        if self.next_tick_ns == 0 {
            self.next_tick_ns = start_ns + TICK_NS;
        }
        if now_ns < self.next_tick_ns {
            return;
        }
        self.next_tick_ns += TICK_NS;
        let elapsed_ns = now_ns - start_ns;
        let phase = self
            .phases
            .iter()
            .position(|p| elapsed_ns < p.end_ns())
            .unwrap_or(self.phases.len().saturating_sub(1));
        let planned = match self.phases.get(phase) {
            Some(p) if p.traced => "trace".to_string(),
            Some(p) if !p.closed_loop() => p.rate.to_string(),
            _ => "closed".to_string(),
        };
        let in_flight: u64 = ctl
            .in_flight
            .iter()
            .map(|a| a.load(Ordering::Relaxed) as u64)
            .sum();
        let p99 = if self.latency.is_empty() {
            "-".to_string()
        } else {
            crate::base::units::fmt_ns(self.latency.value_at_quantile(0.99))
        };
        let behind = if self.late * 100 > self.sent {
            format!(
                " | SENDS LATE: {:.1}% past the bound {}, up to {} (generator behind, or waits for a connection)",
                100.0 * self.late as f64 / self.sent as f64,
                crate::base::units::fmt_ns(self.lag_bound_ns),
                crate::base::units::fmt_ns(self.max_lag_ns)
            )
        } else {
            String::new()
        };
        let line = format!(
            "[{:>6.1}s] phase {} (of {}) planned {} | recorded {}/s ok {}/s | in-flight {} | errors {} skipped {} | p99 {}{behind}\n",
            elapsed_ns as f64 / 1e9,
            phase,
            self.phases.len(),
            planned,
            self.recorded,
            self.ok,
            in_flight,
            self.errors_total,
            self.skipped_total,
            p99
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
        self.recorded = 0;
        self.ok = 0;
        self.sent = 0;
        self.late = 0;
        self.max_lag_ns = 0;
        self.latency.reset();
    }
}
