//! The end-of-run summary of `rwg run`: the run's settings and what
//! happened to its connections ([`RunInfo`]), the figures per phase and
//! overall ([`Block`]) and the verdict, as an aligned text table. The JSON
//! form is `schema::Document`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::base::kind::grpc_code_name;
use crate::base::units::{fmt_bytes, fmt_ns, fmt_us};
use crate::report::block::Block;
use crate::report::quantile::Distribution;
use crate::report::verdict::Verdict;

/// The run's settings and what happened around the requests.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub url: String,
    /// `io_uring` or `epoll`.
    pub driver: String,
    /// How open-loop sends are timed and responses read: `window 200us`,
    /// `window 200us, lazy reads` or `precise`.
    pub send_mode: String,
    pub cpus: Vec<usize>,
    pub workers: usize,
    pub connections: usize,
    pub warmup_connected: usize,
    pub warmup_failed: usize,
    pub warmup_ms: f64,
    pub warmup_error: Option<String>,
    /// `http/1.1`, `h2`, `h2c` or `grpc` (over h2 / h2c).
    pub protocol: String,
    /// The protocol the server chose by TLS ALPN; `null` in cleartext
    /// (HTTP/1.1, or HTTP/2 by prior knowledge: no ALPN is sent).
    pub alpn: Option<String>,
    /// Whether connections use TLS.
    pub tls: bool,
    /// Mean time to dial one connection (TCP + TLS + h2 handshakes).
    pub handshake_ms: f64,
    /// Why the run ended early, if it did.
    pub stopped: Option<String>,
    /// `--requests N` ended the run before its planned duration: N.
    pub ended_at_requests: Option<u64>,
    /// Stopped by SIGINT / SIGTERM (exit 130).
    pub interrupted: bool,
    pub first_error: Option<String>,
    /// HTTP/1.1 connections closed because the server sent bytes that no
    /// request asked for (a second response, a response before any
    /// request); those bytes were credited to no request.
    pub unsolicited_closes: u64,
    /// Connections dialled again after warm-up (the server closed them, or
    /// an HTTP/2 connection ended); an HTTP/2 slot whose connections deliver
    /// nothing is re-dialled after a growing, jittered wait (10 ms to 1 s).
    pub redials: u64,
    /// `--shard K/N`: this process offered shard K of N (`null`: the whole
    /// plan); its planned rates are its share.
    pub shard: Option<String>,
    /// The plan's identity, start instant and clock.
    pub plan: PlanInfo,
    pub csv_path: Option<String>,
    pub csv_rows: u64,
    pub writer_error: Option<String>,
    /// The replayed trace (`--trace`), else `null`.
    pub trace: Option<TraceInfo>,
}

/// The plan this process ran and its place among the plan's shards.
#[derive(Clone, Debug, Serialize)]
pub struct PlanInfo {
    /// The same for every shard of one plan (rates, durations, dist, seed,
    /// targets, N).
    pub fingerprint: String,
    /// `K/N` (`0/1`: the whole plan).
    pub shard: String,
    /// `--start-at` (RFC 3339, UTC), else `null`.
    pub start_at: Option<String>,
    /// How long after `start_at` this process could first send (0: on
    /// time); `null` without `--start-at`.
    pub started_late_ms: Option<f64>,
    /// Arrivals planned before then: recorded as `late_start`, never sent.
    pub late_start: u64,
    /// How the run ended: `complete`, `signal`, `first_error`, …
    pub stop: String,
    /// The host clock's synchronisation (`adjtimex`).
    pub clock: ClockInfo,
}

/// The host clock, as the kernel reports it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ClockInfo {
    pub synchronised: bool,
    pub max_error_ms: f64,
    pub est_error_ms: f64,
}

impl PlanInfo {
    /// The summary's lines on the plan's start and the clock, when shards
    /// or a start instant make them matter.
    fn to_text(&self, t: &mut String) {
        let Some(at) = &self.start_at else {
            return;
        };
        let when = match self.started_late_ms {
            Some(ms) if ms > 0.0 => format!(
                "{ms:.1} ms LATE: {} arrival(s) planned before this process was ready recorded \
                 as late_start, never sent",
                self.late_start
            ),
            _ => "on time".to_string(),
        };
        let _ = writeln!(
            t,
            "  start {at} (--start-at), plan {}: {when}",
            self.fingerprint
        );
        let c = &self.clock;
        let _ = writeln!(
            t,
            "  clock {} (adjtimex: max error {:.1} ms, estimated {:.3} ms){}",
            if c.synchronised {
                "synchronised"
            } else {
                "NOT synchronised"
            },
            c.max_error_ms,
            c.est_error_ms,
            if c.synchronised {
                ""
            } else {
                ": shards on other hosts may start apart by more than that"
            }
        );
    }
}

/// A replayed trace, and how each of its seconds went.
#[derive(Clone, Debug, Serialize)]
pub struct TraceInfo {
    pub file: String,
    /// `--trace-speed`.
    pub speed: f64,
    /// Lines replayed (the trace's arrivals).
    pub arrivals: u64,
    /// Per second from the start, by intended instant.
    pub seconds: Vec<TraceSecond>,
}

/// One second of a replayed trace: arrivals the trace planned in it, and
/// how many of them were sent and answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TraceSecond {
    pub second: u64,
    pub planned: u64,
    pub sent: u64,
    pub answered: u64,
}

/// Seconds listed one by one in the text; a longer trace lists its
/// shortfalls (the JSON has every second).
const TRACE_SECONDS_SHOWN: usize = 30;

/// Everything `rwg run` reports at the end.
#[derive(Clone, Debug)]
pub struct Summary {
    pub run: RunInfo,
    pub slo_ms: Option<f64>,
    pub overall: Block,
    /// One block per planned phase, numbered from 0 as in the CSV.
    pub phases: Vec<Block>,
    /// Whether the figures describe the target or the generator.
    pub verdict: Verdict,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// A distribution's value at `quantile` as text (`-` without samples).
fn at(d: &Distribution, quantile: f64) -> String {
    match d.find(quantile).map(|p| p.us) {
        Some(Some(us)) => fmt_us(us),
        Some(None) => "unanswered".to_string(),
        None => "-".to_string(),
    }
}

/// A distribution's maximum as text.
fn max_text(d: &Distribution) -> String {
    d.max_us.map(fmt_us).unwrap_or_else(|| "-".to_string())
}

impl Summary {
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "rwg run {}", self.run.url);
        let _ = writeln!(
            t,
            "  driver {} on {} core(s) {:?}, {} workers, {} connections, send {}",
            self.run.driver,
            self.run.cpus.len(),
            self.run.cpus,
            self.run.workers,
            self.run.connections,
            self.run.send_mode
        );
        if let Some(shard) = &self.run.shard {
            let (k, n) = shard.split_once('/').unwrap_or(("K", "N"));
            let _ = writeln!(
                t,
                "  shard {shard}: the plan's arrivals numbered {k} mod {n}; the planned rates below \
                 are this shard's share"
            );
        }
        self.run.plan.to_text(&mut t);
        let _ = writeln!(
            t,
            "  warm-up: {} connection(s) in {:.1} ms{}",
            self.run.warmup_connected,
            self.run.warmup_ms,
            match (&self.run.warmup_error, self.run.warmup_failed) {
                (Some(e), n) if n > 0 => format!(", {n} failed ({e})"),
                _ => String::new(),
            }
        );
        let transport = match (self.run.tls, &self.run.alpn) {
            (true, Some(alpn)) => format!("over TLS (ALPN {alpn})"),
            (true, None) => "over TLS (no ALPN)".to_string(),
            (false, _) if self.run.protocol == "http/1.1" => "(cleartext)".to_string(),
            (false, _) => "(cleartext, prior knowledge)".to_string(),
        };
        let handshake = match self.run.warmup_connected {
            0 => "no connection made".to_string(),
            _ => format!("handshake {:.2} ms per connection", self.run.handshake_ms),
        };
        let _ = writeln!(
            t,
            "  protocol {} {transport}, {handshake}",
            self.run.protocol
        );
        if let Some(why) = &self.run.stopped {
            let _ = writeln!(t, "  STOPPED EARLY: {why}");
        }
        if let Some(n) = self.run.ended_at_requests {
            let _ = writeln!(
                t,
                "  ended at --requests {n}, after {:.2}s of the planned time",
                self.overall.duration_s
            );
        }
        if let Some(e) = &self.run.first_error {
            let _ = writeln!(t, "  first error: {e}");
        }
        if self.run.redials > 0 {
            let _ = writeln!(
                t,
                "  re-dialled {} connection(s) after warm-up",
                self.run.redials
            );
        }
        if self.run.unsolicited_closes > 0 {
            let _ = writeln!(
                t,
                "  SERVER MISBEHAVED: {} connection(s) closed for bytes no request asked for \
                 (an extra response, or one before any request); credited to no request",
                self.run.unsolicited_closes
            );
        }
        if self.phases.len() > 1 {
            for b in &self.phases {
                self.block_text(&mut t, b);
            }
        }
        self.block_text(&mut t, &self.overall);
        if let Some(trace) = &self.run.trace {
            trace_text(&mut t, trace);
        }
        t.push('\n');
        t.push_str(&self.verdict.to_text());
        if let Some(path) = &self.run.csv_path {
            let _ = writeln!(t, "  csv: {} rows -> {path}", self.run.csv_rows);
        }
        if let Some(e) = &self.run.writer_error {
            let _ = writeln!(t, "  CSV WRITE FAILED: {e}");
        }
        t
    }

    fn shape_text(t: &mut String, b: &Block) {
        if let Some(s) = &b.steady {
            let word = if s.steady {
                "steady"
            } else {
                "NOT STEADY (queue growing)"
            };
            let _ = writeln!(
                t,
                "  shape     {word}: median {} → {}, in flight {:.1} → {:.1} (first → last third)",
                s.first_p50.p50_text(),
                s.last_p50.p50_text(),
                s.first_mean_in_flight,
                s.last_mean_in_flight
            );
        }
        if let Some(c) = &b.schedule {
            let test = match c.p_value {
                Some(p) if c.conforms => format!(", Poisson p = {p:.3}"),
                Some(p) => format!(", NOT POISSON: p = {p:.4}"),
                None => String::new(),
            };
            let _ = writeln!(
                t,
                "  schedule  {}: {:.1} sends per {} (dispersion {:.2} over {} bins{test})",
                c.dist,
                c.mean_per_bin,
                fmt_ns((c.bin_us * 1e3) as u64),
                c.dispersion,
                c.bins
            );
        }
    }

    fn block_text(&self, t: &mut String, b: &Block) {
        let title = match b.phase {
            Some(p) => format!("phase {p}"),
            None => "overall".to_string(),
        };
        let planned = match (b.planned_rate, b.offered_per_sec) {
            (Some(r), _) if r.is_ramp() => format!("planned {r} (mean {}/s)", r.mean_per_sec()),
            (Some(r), _) => format!("planned {r}"),
            (None, Some(_)) if self.run.trace.is_some() => "planned by the trace".to_string(),
            (None, Some(_)) => format!("{} phases", self.phases.len()),
            (None, None) => "closed loop".to_string(),
        };
        let offered = match b.offered_per_sec {
            // One arrival makes no rate.
            Some(_) if b.scheduled < 2 => format!(", offered {} arrival(s)", b.scheduled),
            Some(r) => format!(", offered {r:.1}/s"),
            None => format!(", sent {:.1}/s", b.scheduled as f64 / b.duration_s),
        };
        let _ = writeln!(
            t,
            "\n{title}: {:.2}s {planned}{offered}, achieved {:.1}/s (measured span {:.3}s)",
            b.duration_s, b.achieved_per_sec, b.span_s
        );
        let _ = writeln!(
            t,
            "  requests  {:>10} scheduled  {:>10} ok  {:>8} dropped  {:>8} errors  {:>8} skipped",
            b.scheduled, b.ok, b.dropped, b.errors, b.skipped
        );
        if !b.errors_by_kind.is_empty() {
            let http_codes: Vec<String> = b
                .status_errors_by_code
                .iter()
                .filter(|(&c, _)| c >= 100)
                .map(|(c, n)| format!("HTTP {c} ×{n}"))
                .collect();
            let kinds: Vec<String> = b
                .errors_by_kind
                .iter()
                .map(|(k, n)| match k.as_str() {
                    "status" => format!("status {n} ({})", http_codes.join(", ")),
                    _ => format!("{k} {n}"),
                })
                .collect();
            let _ = writeln!(t, "  errors    {}", kinds.join(", "));
        }
        if !b.responses_by_status.is_empty() {
            let codes: Vec<String> = b
                .responses_by_status
                .iter()
                .map(|(&c, n)| match c < 100 {
                    true => format!("gRPC {} ×{n}", grpc_code_name(c)),
                    false => format!("HTTP {c} ×{n}"),
                })
                .collect();
            let _ = writeln!(t, "  responses {}", codes.join(", "));
            let _ = writeln!(
                t,
                "  received  {} in responses, {}/s",
                fmt_bytes(b.bytes as f64),
                fmt_bytes(b.bytes as f64 / b.duration_s)
            );
        }
        if let Some(slo) = self.slo_ms {
            let _ = writeln!(
                t,
                "  goodput   {} ({:.2}% of scheduled) within {slo} ms, {:.1}/s; {} SLO violations",
                b.goodput,
                pct(b.goodput, b.scheduled),
                b.goodput_per_sec,
                b.slo_violations
            );
        }
        if b.latency_all.samples > 0 {
            let unanswered = match b.unanswered {
                0 => String::new(),
                n => format!(", {n} unanswered rank last"),
            };
            let _ = writeln!(
                t,
                "  latency (all arrivals{unanswered}; 95% CI)\n            {}",
                b.latency_all.to_text(true)
            );
        }
        if b.answered > 0 {
            let _ = writeln!(
                t,
                "  latency (answered)  {}",
                b.latency_answered.to_text(false)
            );
            let s = &b.service;
            let _ = writeln!(
                t,
                "  service   p50 {}  p99 {}  max {}",
                at(s, 0.50),
                at(s, 0.99),
                max_text(s)
            );
        }
        let g = &b.send_lag;
        if g.samples > 0 {
            let d = &b.dispatch_lag;
            let _ = writeln!(
                t,
                "  send lag  p50 {}  p99 {}  max {}  (dispatch lag p99 {}, max {})",
                at(g, 0.50),
                at(g, 0.99),
                max_text(g),
                at(d, 0.99),
                max_text(d)
            );
        }
        Self::shape_text(t, b);
    }
}

/// The trace's seconds: planned, sent and answered arrivals.
fn trace_text(t: &mut String, trace: &TraceInfo) {
    let _ = writeln!(
        t,
        "  trace     {} at speed {}: {} arrivals over {} s",
        trace.file,
        trace.speed,
        trace.arrivals,
        trace.seconds.len()
    );
    let short: Vec<&TraceSecond> = trace
        .seconds
        .iter()
        .filter(|s| s.answered < s.planned)
        .collect();
    let shown: Vec<&TraceSecond> = if trace.seconds.len() <= TRACE_SECONDS_SHOWN {
        trace.seconds.iter().collect()
    } else {
        let _ = writeln!(
            t,
            "  {} of {} seconds answered every planned arrival{}",
            trace.seconds.len() - short.len(),
            trace.seconds.len(),
            if short.is_empty() { "" } else { "; short:" }
        );
        short.into_iter().take(TRACE_SECONDS_SHOWN).collect()
    };
    if shown.is_empty() {
        return;
    }
    let _ = writeln!(
        t,
        "  {:>8}{:>10}{:>10}{:>10}",
        "second", "planned", "sent", "answered"
    );
    for s in shown {
        let _ = writeln!(
            t,
            "  {:>8}{:>10}{:>10}{:>10}",
            s.second, s.planned, s.sent, s.answered
        );
    }
}
