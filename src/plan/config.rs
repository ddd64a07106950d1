//! A plain, validated run configuration, and the parsers that turn user text
//! (durations, lists, CPU sets, URLs) into it. Every rejection names the
//! offending value so the CLI can exit with code 2 and a clear message.

use std::fmt;
use std::path::PathBuf;

use super::error::{err, ConfigError};
use super::mix::{Mix, MAX_TARGETS};
use super::target::{Scheme, Target, TargetSpec};
use super::trace::TracePlan;

/// Inter-arrival distribution of an open-loop phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dist {
    Fixed,
    Exp,
}

/// Which HTTP version to speak over TLS (`--http1` / `--http2`); cleartext
/// HTTP/2 needs `--h2c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpVersion {
    /// Offer h2 and http/1.1 by ALPN, speak what the server picks.
    Auto,
    Http1,
    Http2,
}

/// TLS settings from the command line.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Accept any server certificate and name.
    pub insecure: bool,
    /// Trust these PEM certificates instead of the built-in web roots.
    pub cacert: Option<PathBuf>,
    /// Client certificate chain and key (PEM) for mutual TLS.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// Everything `run` needs, already validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// What arrivals send (at least one), and how each arrival picks one.
    pub targets: Vec<TargetSpec>,
    pub mix: Mix,
    /// The rate of each phase (steady, ramp or closed loop); with a trace,
    /// one phase at the trace's mean rate.
    pub rates: Vec<Rate>,
    pub durations_ns: Vec<u64>,
    pub dist: Dist,
    /// Max requests in flight, all cores together.
    pub workers: usize,
    /// Max connections, all cores together.
    pub connections: usize,
    /// `--connections` was given (else HTTP/2 chosen by ALPN uses one per core).
    pub connections_given: bool,
    pub max_requests: Option<u64>,
    pub timeout_ns: u64,
    pub connect_timeout_ns: u64,
    pub output: Option<PathBuf>,
    pub json: Option<PathBuf>,
    /// HdrHistogram interval log of latency.
    pub hlog: Option<PathBuf>,
    pub slo_ns: Option<u64>,
    pub cpus: Vec<usize>,
    pub ignore_errors: bool,
    /// Busy-wait the last stretch before each send for µs-level precision.
    pub precise: bool,
    /// Read open-loop responses at timer wake-ups (`--lazy-reads`).
    pub lazy_reads: bool,
    /// Fewest ns between two timer wake-ups of a core's dispatcher.
    pub send_window_ns: u64,
    /// `--max-lag`; `None` = [`Config::lag_bound_ns`]'s default.
    pub max_lag_ns: Option<u64>,
    pub seed: u64,
    pub quiet: bool,
    pub http: HttpVersion,
    /// Prior-knowledge HTTP/2 over cleartext (`--h2c`).
    pub h2c: bool,
    /// Streams per HTTP/2 connection (capped by the server's SETTINGS).
    pub max_streams: usize,
    pub tls: TlsOptions,
    /// `--trace`: the arrivals' instants, instead of the phases' rates.
    pub trace: Option<TracePlan>,
}

impl Config {
    /// Whether requests to `target` go over HTTP/2 for sure (gRPC, h2c, or
    /// `--http2`).
    pub fn forced_h2(&self, target: &Target) -> bool {
        target.scheme.grpc() || self.h2c || self.http == HttpVersion::Http2
    }

    /// The send lag up to which the generator kept its schedule: `--max-lag`,
    /// else the larger of 1 ms and twice the send window (sends due within
    /// one window go out together by design).
    pub fn lag_bound_ns(&self) -> u64 {
        self.max_lag_ns
            .unwrap_or_else(|| (2 * self.send_window_ns).max(1_000_000))
    }
}

/// Splits a comma-separated list, rejecting empty items.
pub fn split_list<'a>(what: &str, text: &'a str) -> Result<Vec<&'a str>, ConfigError> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().any(|s| s.is_empty()) {
        return err(format!("invalid {what} list '{text}': empty item"));
    }
    Ok(items)
}

/// A phase's planned rate in requests/s: steady (`from == to`), a linear
/// ramp from `from` to `to`, or a closed loop (both 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub from_per_sec: u64,
    pub to_per_sec: u64,
}

impl Rate {
    pub fn steady(rate_per_sec: u64) -> Rate {
        Rate {
            from_per_sec: rate_per_sec,
            to_per_sec: rate_per_sec,
        }
    }

    /// Back to back, no schedule: `0`. A ramp from 0 is never a closed loop.
    pub fn closed_loop(&self) -> bool {
        self.from_per_sec == 0 && self.to_per_sec == 0
    }

    pub fn is_ramp(&self) -> bool {
        self.from_per_sec != self.to_per_sec
    }

    /// The mean rate over the phase (the ramp's midpoint).
    pub fn mean_per_sec(&self) -> f64 {
        (self.from_per_sec as f64 + self.to_per_sec as f64) / 2.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ramp() {
            write!(f, "{}→{}/s", self.from_per_sec, self.to_per_sec)
        } else {
            write!(f, "{}/s", self.from_per_sec)
        }
    }
}

/// The highest rate a phase may plan: 10^9/s, one arrival per nanosecond.
const MAX_RATE_PER_SEC: u64 = 1_000_000_000;

/// Parses one rate: `N` requests/s (0 = closed loop) or a ramp `FROM:TO`.
pub fn parse_rate(text: &str) -> Result<Rate, ConfigError> {
    let one = |part: &str| {
        match part.parse::<u64>() {
        Ok(v) if v <= MAX_RATE_PER_SEC => Ok(v),
        Ok(_) => err(format!(
            "invalid rate '{text}': more than {MAX_RATE_PER_SEC} requests/s"
        )),
        Err(_) if part.starts_with('-') => err(format!(
            "invalid rate '{text}': must be 0 (closed loop), a positive number of requests/s or a ramp FROM:TO"
        )),
        Err(_) => err(format!(
            "invalid rate '{text}': expected a whole number of requests/s or a ramp FROM:TO"
        )),
    }
    };
    match text.split_once(':') {
        None => one(text).map(Rate::steady),
        Some((from, to)) => {
            let rate = Rate {
                from_per_sec: one(from)?,
                to_per_sec: one(to)?,
            };
            if rate.closed_loop() {
                return err(format!(
                    "invalid rate '{text}': a ramp needs a rate above 0 (write 0 for a closed loop)"
                ));
            }
            Ok(rate)
        }
    }
}

/// The highest CPU number a list may name (a range is expanded in memory).
const MAX_CPU: usize = 65_535;

/// Parses a CPU list such as `0`, `0-3,8`.
pub fn parse_cpus(text: &str) -> Result<Vec<usize>, ConfigError> {
    let mut cpus = Vec::new();
    for item in split_list("CPU", text)? {
        let bad = || ConfigError(format!("invalid CPU list '{text}': bad item '{item}'"));
        match item.split_once('-') {
            Some((a, b)) => {
                let a: usize = a.trim().parse().map_err(|_| bad())?;
                let b: usize = b.trim().parse().map_err(|_| bad())?;
                if a > b {
                    return Err(bad());
                }
                if b > MAX_CPU {
                    return Err(ConfigError(format!(
                        "invalid CPU list '{text}': CPU {b} is beyond any machine (at most {MAX_CPU})"
                    )));
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(item.parse().map_err(|_| bad())?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Largest `--send-window`: beyond it, "open loop" would send in bursts.
const MAX_SEND_WINDOW_NS: u64 = 10_000_000;

impl Config {
    /// Cross-field checks once every field is parsed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.rates.len() != self.durations_ns.len() {
            return err(format!(
                "--rate has {} phase(s) but --duration has {}: give one duration per rate",
                self.rates.len(),
                self.durations_ns.len()
            ));
        }
        if let Some(i) = self.durations_ns.iter().position(|&d| d == 0) {
            return err(format!("invalid duration of phase {}: must be > 0", i + 1));
        }
        if self.send_window_ns > MAX_SEND_WINDOW_NS {
            return err(format!(
                "invalid --send-window: {} us is more than the {} ms allowed",
                self.send_window_ns / 1_000,
                MAX_SEND_WINDOW_NS / 1_000_000
            ));
        }
        if self.workers == 0 {
            return err("invalid --workers 0: must be at least 1".into());
        }
        if self.connections == 0 {
            return err("invalid --connections 0: must be at least 1".into());
        }
        if self.cpus.is_empty() {
            return err("no CPUs selected".into());
        }
        if self.workers < self.cpus.len() {
            return err(format!(
                "--workers {} is less than the {} CPUs selected: each core needs at least one worker (lower --cpus or raise --workers)",
                self.workers,
                self.cpus.len()
            ));
        }
        if self.connections < self.cpus.len() {
            return err(format!(
                "--connections {} is less than the {} CPUs selected: each core needs at least one connection",
                self.connections,
                self.cpus.len()
            ));
        }
        if self.timeout_ns == 0 {
            return err("invalid --timeout 0: must be > 0".into());
        }
        if self.max_requests == Some(0) {
            return err("invalid --requests 0: must be at least 1".into());
        }
        if self.max_streams == 0 {
            return err("invalid --max-streams 0: must be at least 1".into());
        }
        if self.h2c && self.http == HttpVersion::Http1 {
            return err("--h2c and --http1 contradict each other".into());
        }
        if self.targets.is_empty() {
            return err("no target: give a URL or --targets FILE".into());
        }
        if self.targets.len() > MAX_TARGETS {
            return err(format!(
                "{} targets: at most {MAX_TARGETS} are allowed",
                self.targets.len()
            ));
        }
        for t in &self.targets {
            self.validate_target(&t.target)?;
        }
        if self.slo_ns == Some(0) {
            return err("invalid --slo 0: must be > 0".into());
        }
        Ok(())
    }

    /// The protocol flags against one target's scheme.
    fn validate_target(&self, target: &Target) -> Result<(), ConfigError> {
        if self.h2c && target.scheme.tls() {
            return err(format!(
                "--h2c is cleartext HTTP/2: use an http:// URL, not '{}' (over TLS, HTTP/2 is chosen by ALPN or --http2)",
                target.url
            ));
        }
        if target.scheme == Scheme::Http && self.http == HttpVersion::Http2 && !self.h2c {
            return err(format!(
                "--http2 on cleartext '{}': use --h2c for prior-knowledge HTTP/2",
                target.url
            ));
        }
        if target.scheme.grpc() && self.http == HttpVersion::Http1 {
            return err("gRPC needs HTTP/2: drop --http1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_cpus() {
        assert_eq!(parse_rate("0"), Ok(Rate::steady(0)));
        assert!(parse_rate("0").unwrap().closed_loop());
        let ramp = parse_rate("0:1000").unwrap();
        assert!(!ramp.closed_loop() && ramp.is_ramp());
        assert_eq!(ramp.mean_per_sec(), 500.0);
        assert_eq!(parse_rate("7:7"), Ok(Rate::steady(7)));
        assert!(parse_rate("0:0").unwrap_err().0.contains("'0:0'"));
        assert!(parse_rate("1:2:3").unwrap_err().0.contains("'1:2:3'"));
        assert!(parse_rate("5:").unwrap_err().0.contains("'5:'"));
        assert!(parse_rate("2000000000")
            .unwrap_err()
            .0
            .contains("more than"));
        assert!(parse_rate("-5").unwrap_err().0.contains("'-5'"));
        assert!(parse_rate("abc").unwrap_err().0.contains("'abc'"));
        assert_eq!(parse_cpus("0-3,8").unwrap(), vec![0, 1, 2, 3, 8]);
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("1,,2").is_err());
        // Found by fuzzing: a huge range was expanded in memory (8 TB).
        let e = parse_cpus("0-999999999999").unwrap_err().0;
        assert!(e.contains("999999999999"), "{e}");
    }
}
