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
use crate::record::stats::Stats;
use crate::report::check::{pick_quantile_ns, CheckSource, CountMetric, RateMetric, Series};

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
    pub duration_s: f64,
    /// Arrivals scheduled (one CSV row each).
    pub scheduled: u64,
    pub offered_per_sec: f64,
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
    pub bytes: u64,
    pub latency_us: Percentiles,
    pub service_us: Percentiles,
    pub lag_us: Percentiles,
}

impl Block {
    pub fn of(s: &Stats, phase: Option<usize>, planned: Option<u64>, duration_ns: u64) -> Block {
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
            scheduled: s.scheduled,
            offered_per_sec: s.scheduled as f64 / duration_s,
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
            bytes: s.bytes,
            latency_us: Percentiles::of(&s.latency),
            service_us: Percentiles::of(&s.service),
            lag_us: Percentiles::of(&s.lag),
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
    pub csv_path: Option<String>,
    pub csv_rows: u64,
    pub writer_error: Option<String>,
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
        if let Some(path) = &self.csv_path {
            let _ = writeln!(t, "  csv: {} rows -> {path}", self.csv_rows);
        }
        if let Some(e) = &self.writer_error {
            let _ = writeln!(t, "  CSV WRITE FAILED: {e}");
        }
        t
    }

    fn block_text(&self, t: &mut String, b: &Block) {
        let title = match b.phase {
            Some(p) => format!("phase {p}"),
            None => "overall".to_string(),
        };
        let planned = match b.planned_rate_per_sec {
            Some(r) => format!("{r}/s"),
            None if b.phase.is_some() => "closed loop".to_string(),
            None => "-".to_string(),
        };
        let _ = writeln!(
            t,
            "\n{title}: {:.2}s planned {planned}, offered {:.1}/s, achieved {:.1}/s",
            b.duration_s, b.offered_per_sec, b.achieved_per_sec
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
        let l = &b.latency_us;
        if l.count > 0 {
            let _ = writeln!(
                t,
                "  latency   min {}  p50 {}  p90 {}  p95 {}  p99 {}  p99.9 {}  max {}",
                us(l.min),
                us(l.p50),
                us(l.p90),
                us(l.p95),
                us(l.p99),
                us(l.p999),
                us(l.max)
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
            let _ = writeln!(
                t,
                "  send lag  p50 {}  p99 {}  max {}",
                us(g.p50),
                us(g.p99),
                us(g.max)
            );
        }
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
            RateMetric::Offered => self.offered_per_sec,
            RateMetric::Throughput => self.achieved_per_sec,
        }
    }

    fn quantile_ns(&self, series: Series, quantile: f64) -> Option<u64> {
        let p = match series {
            Series::Latency => &self.latency_us,
            Series::Lag => &self.lag_us,
        };
        if p.count == 0 {
            return None;
        }
        pick_quantile_ns(
            &[
                (0.0, p.min),
                (0.5, p.p50),
                (0.75, p.p75),
                (0.9, p.p90),
                (0.95, p.p95),
                (0.99, p.p99),
                (0.999, p.p999),
                (1.0, p.max),
            ],
            quantile,
        )
    }
}
