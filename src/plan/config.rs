//! A plain, validated run configuration, and the parsers that turn user text
//! (durations, lists, CPU sets, URLs) into it. Every rejection names the
//! offending value so the CLI can exit with code 2 and a clear message.

use std::fmt;
use std::path::PathBuf;

use super::error::{err, ConfigError};
use super::mix::{Mix, MAX_TARGETS};
use super::shard::Shard;
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
    /// Read open-loop responses at timer wake-ups (the default; off with
    /// `--eager-reads`, and wherever lazy reads do not apply).
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
    /// `--h2-crate`: HTTP/2 through the h2 crate's client, not the lean one.
    pub h2_crate: bool,
    pub tls: TlsOptions,
    /// `--trace`: the arrivals' instants, instead of the phases' rates.
    pub trace: Option<TracePlan>,
    /// `--shard K/N`: this process offers shard K of the plan's N.
    pub shard: Shard,
    /// `--start-at`: the plan's start on the wall clock (Unix-epoch ns),
    /// shared by every shard; `None`: as soon as this process is warm.
    pub start_at_ns: Option<u64>,
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

/// A phase's planned rate: steady (`from == to`), a linear ramp from `from`
/// to `to`, or a closed loop (both 0). Held in thousandths of a request per
/// second, so a fractional rate (`-r 0.5`, a slow soak) keeps the fixed
/// schedule's instants exact integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub from_milli_per_sec: u64,
    pub to_milli_per_sec: u64,
}

impl Rate {
    /// A steady whole rate.
    pub fn steady(rate_per_sec: u64) -> Rate {
        Rate::steady_milli(rate_per_sec * 1000)
    }

    pub fn steady_milli(milli_per_sec: u64) -> Rate {
        Rate {
            from_milli_per_sec: milli_per_sec,
            to_milli_per_sec: milli_per_sec,
        }
    }

    pub fn from_per_sec(&self) -> f64 {
        self.from_milli_per_sec as f64 / 1000.0
    }

    pub fn to_per_sec(&self) -> f64 {
        self.to_milli_per_sec as f64 / 1000.0
    }

    /// Back to back, no schedule: `0`. A ramp from 0 is never a closed loop.
    pub fn closed_loop(&self) -> bool {
        self.from_milli_per_sec == 0 && self.to_milli_per_sec == 0
    }

    pub fn is_ramp(&self) -> bool {
        self.from_milli_per_sec != self.to_milli_per_sec
    }

    /// One `parts`-th of this rate (a shard's share), to the thousandth.
    pub fn divided(&self, parts: u32) -> Rate {
        let parts = u64::from(parts.max(1));
        Rate {
            from_milli_per_sec: self.from_milli_per_sec / parts,
            to_milli_per_sec: self.to_milli_per_sec / parts,
        }
    }

    /// The mean rate over the phase (the ramp's midpoint).
    pub fn mean_per_sec(&self) -> f64 {
        (self.from_per_sec() + self.to_per_sec()) / 2.0
    }
}

/// Thousandths of a request per second as a rate: `500`, `0.5`, `2.25`.
fn fmt_milli(milli: u64) -> String {
    match milli % 1000 {
        0 => (milli / 1000).to_string(),
        frac => {
            let digits = format!("{frac:03}");
            format!("{}.{}", milli / 1000, digits.trim_end_matches('0'))
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = fmt_milli(self.from_milli_per_sec);
        if self.is_ramp() {
            write!(f, "{from}→{}/s", fmt_milli(self.to_milli_per_sec))
        } else {
            write!(f, "{from}/s")
        }
    }
}

/// The highest rate a phase may plan: 10^9/s, one arrival per nanosecond.
const MAX_RATE_PER_SEC: u64 = 1_000_000_000;

/// One rate of a list: requests/s with at most three decimals, in
/// thousandths.
fn parse_milli(text: &str, part: &str) -> Result<u64, ConfigError> {
    let bad = |why: &str| err(format!("invalid rate '{text}': {why}"));
    if part.starts_with('-') {
        return bad("must be 0 (closed loop), a positive number of requests/s or a ramp FROM:TO");
    }
    let (whole, frac) = part.split_once('.').unwrap_or((part, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return bad("expected a number of requests/s (e.g. 100 or 0.5) or a ramp FROM:TO");
    }
    if frac.len() > 3 {
        return bad("finer than 0.001 requests/s");
    }
    let whole: u64 = match whole.parse() {
        Ok(w) if w <= MAX_RATE_PER_SEC => w,
        _ => return bad(&format!("more than {MAX_RATE_PER_SEC} requests/s")),
    };
    let frac_milli = format!("{frac:0<3}").parse::<u64>().unwrap_or(0);
    let milli = whole * 1000 + frac_milli;
    if milli > MAX_RATE_PER_SEC * 1000 {
        return bad(&format!("more than {MAX_RATE_PER_SEC} requests/s"));
    }
    Ok(milli)
}

/// Parses one rate: `N` requests/s (0 = closed loop; decimals allowed,
/// e.g. `0.5`) or a ramp `FROM:TO`.
pub fn parse_rate(text: &str) -> Result<Rate, ConfigError> {
    match text.split_once(':') {
        None => parse_milli(text, text).map(Rate::steady_milli),
        Some((from, to)) => {
            let rate = Rate {
                from_milli_per_sec: parse_milli(text, from)?,
                to_milli_per_sec: parse_milli(text, to)?,
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
        // Fractional rates, for slow soaks: thousandths at most.
        let half = parse_rate("0.5").unwrap();
        assert_eq!(
            (half.from_milli_per_sec, half.to_string()),
            (500, "0.5/s".into())
        );
        assert_eq!(parse_rate("0.25:2").unwrap().to_string(), "0.25→2/s");
        assert!(parse_rate("0.0001")
            .unwrap_err()
            .0
            .contains("finer than 0.001"));
        for bad in ["1.", ".5", "1.2.3", "1e3", "+5", "0x10"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_cpus("0-3,8").unwrap(), vec![0, 1, 2, 3, 8]);
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("1,,2").is_err());
        // Found by fuzzing: a huge range was expanded in memory (8 TB).
        let e = parse_cpus("0-999999999999").unwrap_err().0;
        assert!(e.contains("999999999999"), "{e}");
    }
}
