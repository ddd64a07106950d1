//! The end-of-run summary: merged statistics turned into the figures a
//! performance engineer reads (offered vs achieved rate, outcome counts,
//! latency / service / lag percentiles, goodput under the SLO), per phase and
//! overall, as an aligned text table or as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::base::kind::{grpc_code_name, GRPC_DEADLINE_EXCEEDED, GRPC_OK, GRPC_RESOURCE_EXHAUSTED};
use crate::base::units::fmt_ns;
use crate::record::shape::PhaseShape;
use crate::record::stats::Stats;
use crate::report::check::{CheckSource, CountMetric, RateMetric, Series};
use crate::report::quantile::Distribution;
use crate::report::shape::{conformance, steadiness, Conformance, Steadiness};
use crate::report::verdict::{judge, Evidence, Verdict};

/// Percentiles of one histogram, in microseconds.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let us = |ns: u64| ns as f64 / 1e3;
        Percentiles {
            count: h.len(),
            min: us(h.min()),
            mean: h.mean() / 1e3,
            p50: us(h.value_at_quantile(0.50)),
            p75: us(h.value_at_quantile(0.75)),
            p90: us(h.value_at_quantile(0.90)),
            p95: us(h.value_at_quantile(0.95)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
        }
    }
}

/// The figures of one phase, or of the whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Block {
    /// Phase index as in the CSV's `phase` column (0-based); `None` for the whole run.
    pub phase: Option<usize>,
    /// Planned requests/s (None = closed loop or mixed).
    pub planned_rate_per_sec: Option<u64>,
    /// The planned duration (up to the stop, if the run stopped early):
    /// what the rates divide by.
    pub duration_s: f64,
    /// Measured: from the first planned send to the last answer.
    pub span_s: f64,
    /// Arrivals scheduled (one CSV row each); in a closed loop, requests sent.
    pub scheduled: u64,
    /// Scheduled per planned second; `None` in a closed loop (nothing is
    /// offered: each request waits for the one before).
    pub offered_per_sec: Option<f64>,
    /// Responses of any status per second.
    pub achieved_per_sec: f64,
    pub ok: u64,
    pub goodput: u64,
    pub goodput_per_sec: f64,
    pub slo_violations: u64,
    pub dropped: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub status_errors_by_code: BTreeMap<u16, u64>,
    pub skipped: u64,
    /// Skipped because every worker was waiting on the target (raise `-w`).
    pub skipped_worker_cap: u64,
    /// Skipped while the dispatcher was behind its schedule by more than
    /// the lag bound: the generator, not the target.
    pub skipped_generator_behind: u64,
    /// Arrivals without an answer (skipped, timeouts, failures, cancelled).
    pub unanswered: u64,
    pub bytes: u64,
    /// Answered requests only (kept for older readers; see `latency_answered`).
    pub latency_us: Percentiles,
    pub service_us: Percentiles,
    pub lag_us: Percentiles,
    /// done − intended over all arrivals, the unanswered ranking above every
    /// answer, with 95 % intervals: what `pNN` checks use.
    pub latency_all: Distribution,
    /// done − intended over answered requests, with 95 % intervals.
    pub latency_answered: Distribution,
    /// sent − intended over sent requests, with 95 % intervals.
    pub send_lag: Distribution,
    /// A worker began − intended over started requests: the generator's own
    /// lateness, without waits for a connection; what the verdict judges.
    pub dispatch_lag: Distribution,
    /// Open-loop phases: first vs last third (queue growing or not).
    pub steady: Option<Steadiness>,
    /// Open-loop phases: the sends against the planned distribution.
    pub schedule: Option<Conformance>,
}

impl Block {
    /// Judges the phase's shape (`exponential`: planned with `--dist exp`).
    pub fn with_shape(mut self, shape: &PhaseShape, exponential: bool) -> Block {
        self.steady = steadiness(shape);
        self.schedule = conformance(shape, exponential);
        self
    }

    /// Notes for the verdict: a queue growing, sends off their schedule.
    pub fn shape_notes(&self, name: &str) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(s) = self.steady.as_ref().filter(|s| !s.steady) {
            notes.push(format!(
                "{name} not steady: queue growing (median {} → {}, in flight {:.1} → {:.1} \
                 from the first to the last third) — the target is past its capacity at this \
                 rate, and its percentiles depend on how long the phase ran",
                p50_text(&s.first_p50),
                p50_text(&s.last_p50),
                s.first_mean_in_flight,
                s.last_mean_in_flight
            ));
        }
        if let Some(c) = self.schedule.as_ref().filter(|c| !c.conforms) {
            notes.push(format!(
                "{name}: the sends do not follow the exponential schedule (dispersion {:.2}, \
                 p = {:.4} over {} bins of {}): the load offered was not the one planned",
                c.dispersion,
                c.p_value.unwrap_or(0.0),
                c.bins,
                fmt_ns((c.bin_us * 1e3) as u64)
            ));
        }
        notes
    }

    /// The verdict on this block: `lag_bound_ns` from the run's settings,
    /// `workers` its `-w`.
    pub fn judge(&self, lag_bound_ns: u64, workers: usize) -> Verdict {
        judge(&Evidence {
            scheduled: self.scheduled,
            answered: self.scheduled - self.unanswered,
            lag: &self.dispatch_lag,
            lag_name: "dispatch lag",
            lag_bound_ns,
            skipped_worker_cap: Some(self.skipped_worker_cap),
            skipped_generator_behind: Some(self.skipped_generator_behind),
            skipped: self.skipped,
            workers: Some(workers),
            open_loop: self.offered_per_sec.is_some(),
            latency_all: &self.latency_all,
        })
    }

    /// `open_loop`: a rate was planned (for the whole run: in some phase).
    pub fn of(
        s: &Stats,
        phase: Option<usize>,
        planned: Option<u64>,
        open_loop: bool,
        duration_ns: u64,
    ) -> Block {
        let duration_s = (duration_ns as f64 / 1e9).max(1e-9);
        let mut errors_by_kind: BTreeMap<String, u64> = s
            .failures_by_kind()
            .map(|(k, n)| (k.as_str().to_string(), n))
            .collect();
        let status_errors_by_code: BTreeMap<u16, u64> = s
            .statuses
            .iter()
            .enumerate()
            .filter(|&(code, &n)| {
                let fine = if s.grpc {
                    code == GRPC_OK as usize || code == GRPC_RESOURCE_EXHAUSTED as usize
                } else {
                    (200..300).contains(&code) || code == 503
                };
                n > 0 && !fine
            })
            .map(|(code, &n)| (code as u16, n))
            .collect();
        if s.grpc {
            // gRPC errors by name (DEADLINE_EXCEEDED is already a timeout).
            for (&code, &n) in &status_errors_by_code {
                if code != GRPC_DEADLINE_EXCEEDED {
                    errors_by_kind.insert(grpc_code_name(code).to_string(), n);
                }
            }
        } else if s.status_errors > 0 {
            errors_by_kind.insert("status".into(), s.status_errors);
        }
        Block {
            phase,
            planned_rate_per_sec: planned,
            duration_s,
            span_s: s.last_done_ns.saturating_sub(s.first_intended_ns) as f64 / 1e9,
            scheduled: s.scheduled,
            offered_per_sec: open_loop.then_some(s.scheduled as f64 / duration_s),
            achieved_per_sec: s.answered() as f64 / duration_s,
            ok: s.ok,
            goodput: s.goodput,
            goodput_per_sec: s.goodput as f64 / duration_s,
            slo_violations: s.ok - s.goodput,
            dropped: s.dropped,
            errors: s.errors(),
            errors_by_kind,
            status_errors_by_code,
            skipped: s.skipped,
            skipped_worker_cap: s.skipped - s.skipped_behind,
            skipped_generator_behind: s.skipped_behind,
            unanswered: s.scheduled - s.answered(),
            bytes: s.bytes,
            latency_us: Percentiles::of(&s.latency),
            service_us: Percentiles::of(&s.service),
            lag_us: Percentiles::of(&s.lag),
            latency_all: Distribution::of(&s.latency, s.scheduled - s.answered(), None),
            latency_answered: Distribution::of(&s.latency, 0, None),
            send_lag: Distribution::of(&s.lag, 0, None),
            dispatch_lag: Distribution::of(&s.dispatch_lag, 0, None),
            steady: None,
            schedule: None,
        }
    }
}

/// Everything `rwg run` reports at the end.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
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
    /// The protocol the server chose by TLS ALPN (`h2c` for prior
    /// knowledge, `http/1.1` in cleartext).
    pub alpn: Option<String>,
    /// Whether connections use TLS.
    pub tls: bool,
    /// Mean time to dial one connection (TCP + TLS + h2 handshakes).
    pub handshake_ms: f64,
    pub slo_ms: Option<f64>,
    /// Why the run ended early, if it did.
    pub stopped: Option<String>,
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
    pub overall: Block,
    pub phases: Vec<Block>,
    /// Whether the figures describe the target or the generator.
    pub verdict: Verdict,
    pub csv_path: Option<String>,
    pub csv_rows: u64,
    pub writer_error: Option<String>,
}

/// The median of a one-percentile distribution, as text.
fn p50_text(d: &Distribution) -> String {
    match d.percentiles.first().map(|p| p.us) {
        Some(Some(us)) => crate::base::units::fmt_us(us),
        Some(None) => "unanswered".to_string(),
        None => "-".to_string(),
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn us(v: f64) -> String {
    fmt_ns((v * 1e3).round() as u64)
}

impl Summary {
    /// The run ended cleanly: no errors, no early stop, CSV complete.
    pub fn clean(&self) -> bool {
        self.overall.errors == 0 && self.stopped.is_none() && self.writer_error.is_none()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "rwg run {}", self.url);
        let _ = writeln!(
            t,
            "  driver {} on {} core(s) {:?}, {} workers, {} connections, send {}",
            self.driver,
            self.cpus.len(),
            self.cpus,
            self.workers,
            self.connections,
            self.send_mode
        );
        let _ = writeln!(
            t,
            "  warm-up: {} connection(s) in {:.1} ms{}",
            self.warmup_connected,
            self.warmup_ms,
            match (&self.warmup_error, self.warmup_failed) {
                (Some(e), n) if n > 0 => format!(", {n} failed ({e})"),
                _ => String::new(),
            }
        );
        let _ = writeln!(
            t,
            "  protocol {}{} (ALPN {}), handshake {:.2} ms per connection",
            self.protocol,
            if self.tls { " over TLS" } else { "" },
            self.alpn.as_deref().unwrap_or("-"),
            self.handshake_ms
        );
        if let Some(why) = &self.stopped {
            let _ = writeln!(t, "  STOPPED EARLY: {why}");
        }
        if let Some(e) = &self.first_error {
            let _ = writeln!(t, "  first error: {e}");
        }
        if self.redials > 0 {
            let _ = writeln!(
                t,
                "  re-dialled {} connection(s) after warm-up",
                self.redials
            );
        }
        if self.unsolicited_closes > 0 {
            let _ = writeln!(
                t,
                "  SERVER MISBEHAVED: {} connection(s) closed for bytes no request asked for \
                 (an extra response, or one before any request); credited to no request",
                self.unsolicited_closes
            );
        }
        if self.phases.len() > 1 {
            for b in &self.phases {
                self.block_text(&mut t, b);
            }
        }
        self.block_text(&mut t, &self.overall);
        t.push('\n');
        t.push_str(&self.verdict.to_text());
        if let Some(path) = &self.csv_path {
            let _ = writeln!(t, "  csv: {} rows -> {path}", self.csv_rows);
        }
        if let Some(e) = &self.writer_error {
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
                p50_text(&s.first_p50),
                p50_text(&s.last_p50),
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
        let planned = match (b.planned_rate_per_sec, b.offered_per_sec) {
            (Some(r), _) => format!("planned {r}/s"),
            (None, Some(_)) => format!("{} phases", self.phases.len()),
            (None, None) => "closed loop".to_string(),
        };
        let offered = match b.offered_per_sec {
            Some(r) => format!(", offered {r:.1}/s"),
            None => String::new(),
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
            let kinds: Vec<String> = b
                .errors_by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let codes: Vec<String> = b
                .status_errors_by_code
                .iter()
                .map(|(c, n)| format!("{c}×{n}"))
                .collect();
            let _ = writeln!(t, "  errors    {}  {}", kinds.join(", "), codes.join(" "));
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
        if b.latency_us.count > 0 {
            let _ = writeln!(
                t,
                "  latency (answered)  {}",
                b.latency_answered.to_text(false)
            );
            let s = &b.service_us;
            let _ = writeln!(
                t,
                "  service   p50 {}  p99 {}  max {}",
                us(s.p50),
                us(s.p99),
                us(s.max)
            );
        }
        let g = &b.lag_us;
        if g.count > 0 {
            let d = &b.dispatch_lag;
            let dispatch_p99 = d.find(0.99).and_then(|p| p.us).unwrap_or(0.0);
            let _ = writeln!(
                t,
                "  send lag  p50 {}  p99 {}  max {}  (dispatch lag p99 {}, max {})",
                us(g.p50),
                us(g.p99),
                us(g.max),
                us(dispatch_p99),
                us(d.max_us.unwrap_or(0.0))
            );
        }
        Self::shape_text(t, b);
    }
}

/// `rwg run --check` evaluates against the overall block.
impl CheckSource for Block {
    fn count(&self, metric: CountMetric) -> u64 {
        match metric {
            CountMetric::Total => self.scheduled,
            CountMetric::Ok => self.ok,
            CountMetric::Goodput => self.goodput,
            CountMetric::SloViolations => self.slo_violations,
            CountMetric::Dropped => self.dropped,
            CountMetric::Errors => self.errors,
            CountMetric::Skipped => self.skipped,
            CountMetric::Responses => self.latency_us.count,
        }
    }

    fn rate_per_sec(&self, metric: RateMetric) -> f64 {
        match metric {
            RateMetric::Offered => self.offered_per_sec.unwrap_or(0.0),
            RateMetric::Throughput => self.achieved_per_sec,
        }
    }

    fn distribution(&self, series: Series) -> Option<&Distribution> {
        Some(match series {
            Series::Latency => &self.latency_all,
            Series::AnsweredLatency => &self.latency_answered,
            Series::Lag => &self.send_lag,
        })
    }
}
