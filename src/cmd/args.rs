//! The command line (clap derive): the subcommands and the arguments of
//! `serve`, `demo`, `report` and `plot` (`run`'s are in [`super::run_args`]).
//! Only `cmd` sees clap; arguments become plain configs, and every bad value
//! becomes an error naming it (exit code 2).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::run_args::{dur, RunArgs};
use crate::plan::config::parse_cpus;
use crate::plan::error::ConfigError;
use crate::report::figures::ReportOptions;
use crate::report::foreign::ForeignOptions;
use crate::serve::{
    parse_delays, parse_stall, parse_status_mix, ServeConfig, ServeProtocol, ServeTls,
};

#[derive(Parser, Debug)]
#[command(
    name = "rwg",
    version,
    about = "Request Workload Generator: open-loop HTTP load on pinned io_uring cores",
    long_about = "Offers exactly the planned load (fixed or exponential inter-arrivals, several rate \
phases), measures every request from its intended send time (no coordinated omission), writes \
every request to a CSV and prints a summary.\n\nExit codes: 0 success, 1 the run saw errors, \
2 bad usage or input, 3 a --check failed, 4 the generator fell behind its schedule (the figures \
describe rwg, not the target), 70 internal error (a bug in rwg), 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a load test against a URL.
    #[command(allow_negative_numbers = true)]
    Run(Box<RunArgs>),
    /// Serve the built-in test target: HTTP/1.1, h2c (--h2c) or gRPC (--grpc), with delays, stalls and status mixes (for demos and tests).
    Serve(ServeArgs),
    /// Start the built-in target and run a short two-phase open-loop test against it.
    #[command(allow_negative_numbers = true)]
    Demo(DemoArgs),
    /// Analyse per-request CSV files (several files merge into one report).
    Report(ReportArgs),
    /// The Go tool's analysis under its name and flags: `rwg report` with
    /// --rwg_output, --overall_output, --realtime_output, --freq, --warmup,
    /// --cooldown, --version and --slo mapped onto it.
    Parse(ParseArgs),
    /// Draw a self-contained HTML report of one or more CSVs (overlaid).
    Plot(PlotArgs),
    /// Find the highest rate the target sustains within its --check's:
    /// open-loop steps growing from --from until one fails, then bisection.
    #[command(
        allow_negative_numbers = true,
        mut_arg("rate", |a| a.hide(true)),
        mut_arg("duration", |a| a.hide(true)),
        mut_arg("trace", |a| a.hide(true)),
        mut_arg("requests", |a| a.hide(true)),
        mut_arg("hlog", |a| a.hide(true)),
        mut_arg("shard", |a| a.hide(true)),
        mut_arg("start_at", |a| a.hide(true))
    )]
    Search(Box<super::search::SearchArgs>),
    /// Kubernetes: render the manifests that run one plan as N shards.
    K8s(super::k8s::K8sArgs),
}

#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// CSV files written by `rwg run -o`, the Go tool or `vegeta encode
    /// --to csv` (several overlay for comparison, each named by its tool).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(short = 'o', long, default_value = "rwg-plot.html")]
    pub output: PathBuf,
    /// Time-series interval.
    #[arg(long, default_value = "1s")]
    pub interval: String,
    /// Latency objective drawn on the latency chart and used for goodput.
    #[arg(long)]
    pub slo: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// CSV files written by `rwg run -o`, the Go tool or `vegeta encode
    /// --to csv` (recognised by their first line).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Latency objective for goodput and SLO violations (e.g. 50ms).
    #[arg(long)]
    pub slo: Option<String>,
    /// Drop rows planned in the first DUR.
    #[arg(long, default_value = "0")]
    pub warmup: String,
    /// Drop rows planned in the last DUR.
    #[arg(long, default_value = "0")]
    pub cooldown: String,
    /// Write the figures, verdict, checks and exit code as JSON to FILE
    /// (one schema for `rwg run` and `rwg report`, `schema_version` 1).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write one CSV row per interval to FILE.
    #[arg(long)]
    pub timeseries: Option<PathBuf>,
    /// Time-series interval.
    #[arg(long, default_value = "1s")]
    pub interval: String,
    /// One block per phase: offered vs achieved rate, latency.
    #[arg(long)]
    pub by_phase: bool,
    /// One line per target (the CSV's url column: a URL or a workload
    /// target's name): counts, errors, latency percentiles.
    #[arg(long)]
    pub by_target: bool,
    /// Send lag (send − plan) at p99 beyond which the verdict says the
    /// generator was behind (exit 4), as in `rwg run`.
    #[arg(long, default_value = "1ms")]
    pub max_lag: String,
    /// Pass/fail check, e.g. 'p99<50ms', 'errors<0.1%', 'goodput>99%' (repeatable; exit 3 on failure).
    #[arg(long = "check")]
    pub checks: Vec<String>,
    /// The Go tool's CSV: its status codes are gRPC codes (`rwg parse
    /// --version 2`); unset: decided by each row's url.
    #[arg(skip)]
    pub go_grpc: Option<bool>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Port to listen on (0 = any free port).
    #[arg(short = 'p', long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Response delay: 0, 2ms (fixed), exp:2ms (exponential mean) or ramp:0:20ms:3s (growing from 0 to 20ms over the first 3s);
    /// or rules by path prefix, the longest matching prefix winning, with an optional delay for other paths:
    /// '/search=exp:5ms,/reserve=20ms,1ms'.
    #[arg(long, default_value = "0")]
    pub delay: String,
    /// Serve at most C requests at once, all connections together (--delay
    /// being each one's service time); the rest wait in one FIFO queue. A
    /// target of known capacity: C / delay per second.
    #[arg(long, value_name = "C")]
    pub max_concurrency: Option<usize>,
    /// Freeze all responses: EVERY:FOR, e.g. 5s:1s.
    #[arg(long)]
    pub stall: Option<String>,
    /// Status mix, e.g. 503:0.1,500:0.01 (the rest get 200).
    #[arg(long)]
    pub status_mix: Option<String>,
    /// Response body size in bytes.
    #[arg(long, default_value_t = 12)]
    pub body_bytes: usize,
    /// CPUs to serve on, e.g. 1 or 2-3 [default: one unpinned thread].
    #[arg(long)]
    pub cpus: Option<String>,
    /// Close each connection after N responses (test knob).
    #[arg(long)]
    pub close_every: Option<u64>,
    /// Answer every request with garbage (test knob).
    #[arg(long)]
    pub malformed: bool,
    /// Stop after this long [default: until Ctrl-C].
    #[arg(long)]
    pub duration: Option<String>,
    /// Speak prior-knowledge HTTP/2 over cleartext (h2c) instead of HTTP/1.1.
    #[arg(long, conflicts_with = "grpc")]
    pub h2c: bool,
    /// Serve gRPC over h2c: rwg.echo.v1.Echo/Call (proto/echo.proto) with reflection;
    /// the status mix maps to gRPC codes (503 → RESOURCE_EXHAUSTED).
    #[arg(long)]
    pub grpc: bool,
    /// Write every request to FILE exactly as received (HTTP/2 and gRPC:
    /// as HTTP/1.1-style text), one after another (test knob: one write per request).
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// Speak TLS (https://, grpcs://; ALPN offers http/1.1, or h2 with
    /// --h2c and --grpc), with a self-signed certificate for localhost and
    /// the --host address made at start, or --cert and --key.
    #[arg(long)]
    pub tls: bool,
    /// Certificate chain (PEM) for --tls.
    #[arg(long, value_name = "FILE", requires_all = ["key", "tls"])]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) for --tls.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Write the self-signed certificate to FILE, for clients' --cacert.
    #[arg(long, value_name = "FILE", requires = "tls", conflicts_with = "cert")]
    pub cert_out: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Rates of the two phases.
    #[arg(short = 'r', long = "rate", default_value = "500,2000")]
    pub rate: String,
    /// Durations of the two phases.
    #[arg(short = 'd', long = "duration", default_value = "5s,5s")]
    pub duration: String,
    /// Write the per-request CSV to FILE.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// CPUs for the generator.
    #[arg(long, default_value = "0")]
    pub cpus: String,
    /// Demo HTTP/2 (h2c) instead of HTTP/1.1.
    #[arg(long, conflicts_with = "grpc")]
    pub h2c: bool,
    /// Demo gRPC (unary echo over h2c, described by server reflection).
    #[arg(long)]
    pub grpc: bool,
    /// Over TLS (https://, grpcs://): the target makes a self-signed
    /// certificate, which the run accepts (-k).
    #[arg(long)]
    pub tls: bool,
    /// Demo `rwg search` instead: a target of known capacity (4 requests
    /// at once, 10 ms each: 400/s) and a short search for the highest
    /// rate with p99 < 50 ms.
    #[arg(long, conflicts_with_all = ["rate", "duration"])]
    pub search: bool,
}

impl ReportArgs {
    pub fn to_options(&self) -> Result<ReportOptions, ConfigError> {
        Ok(ReportOptions {
            files: self.files.clone(),
            slo_ns: self.slo.as_deref().map(|s| dur("--slo", s)).transpose()?,
            warmup_ns: dur("--warmup", &self.warmup)?,
            cooldown_ns: dur("--cooldown", &self.cooldown)?,
            interval_ns: match &self.timeseries {
                Some(_) => Some(dur("--interval", &self.interval)?).filter(|&ns| ns > 0),
                None => None,
            },
            by_phase: self.by_phase,
            by_target: self.by_target,
            lag_bound_ns: dur("--max-lag", &self.max_lag)?,
            foreign: ForeignOptions {
                go_grpc: self.go_grpc,
            },
        })
    }
}

impl ServeArgs {
    pub fn to_config(&self) -> Result<ServeConfig, ConfigError> {
        let bad = |flag: &'static str| move |e: String| ConfigError(format!("{flag}: {e}"));
        let ip: std::net::IpAddr = self.host.parse().map_err(|_| {
            ConfigError(format!(
                "invalid --host '{}': expected an IP address",
                self.host
            ))
        })?;
        let (delay, path_delays) = parse_delays(&self.delay).map_err(bad("--delay"))?;
        Ok(ServeConfig {
            addr: std::net::SocketAddr::new(ip, self.port),
            delay,
            path_delays,
            max_concurrency: match self.max_concurrency {
                Some(0) => {
                    return Err(ConfigError(
                        "invalid --max-concurrency 0: must be at least 1".into(),
                    ))
                }
                c => c,
            },
            stall: self
                .stall
                .as_deref()
                .map(parse_stall)
                .transpose()
                .map_err(bad("--stall"))?,
            status_mix: match &self.status_mix {
                Some(s) => parse_status_mix(s).map_err(bad("--status-mix"))?,
                None => Vec::new(),
            },
            body_bytes: self.body_bytes,
            cpus: match &self.cpus {
                Some(c) => parse_cpus(c)?,
                None => Vec::new(),
            },
            close_every: match self.close_every {
                Some(0) => {
                    return Err(ConfigError(
                        "invalid --close-every 0: must be at least 1".into(),
                    ))
                }
                n => n,
            },
            malformed: self.malformed,
            protocol: match (self.h2c, self.grpc) {
                (_, true) => ServeProtocol::Grpc,
                (true, _) => ServeProtocol::H2c,
                _ => ServeProtocol::Http1,
            },
            capture: self.capture.clone(),
            tls: self.tls_config(ip)?,
        })
    }

    /// `--tls`: `--cert`/`--key`, or a self-signed certificate (also
    /// written to `--cert-out`).
    fn tls_config(&self, ip: std::net::IpAddr) -> Result<Option<ServeTls>, ConfigError> {
        if !self.tls {
            return Ok(None);
        }
        let tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => ServeTls::from_files(cert, key),
            _ => ServeTls::self_signed(&["localhost".to_string(), ip.to_string()]),
        }
        .map_err(ConfigError)?;
        if let Some(path) = &self.cert_out {
            std::fs::write(path, &tls.cert_pem).map_err(|e| {
                ConfigError(format!("cannot write --cert-out '{}': {e}", path.display()))
            })?;
        }
        Ok(Some(tls))
    }
}

/// `rwg parse`: the Go tool's analysis flags (mapped onto `report` in
/// `cmd::parse`).
#[derive(Args, Debug, Clone)]
pub struct ParseArgs {
    /// The per-request CSV: rwg's, or the Go tool's
    /// (url,latency,status_code,error,timestamp).
    #[arg(long = "rwg_output", visible_alias = "rwg-output", value_name = "FILE")]
    pub rwg_output: PathBuf,
    /// Write the overall figures as JSON (rwg report --json).
    #[arg(
        long = "overall_output",
        visible_alias = "overall-output",
        value_name = "FILE"
    )]
    pub overall_output: Option<PathBuf>,
    /// Write one CSV row per --freq interval (rwg report --timeseries).
    #[arg(
        long = "realtime_output",
        visible_alias = "realtime-output",
        value_name = "FILE"
    )]
    pub realtime_output: Option<PathBuf>,
    /// Interval of the --realtime_output rows; a bare number is ms.
    #[arg(long, default_value = "1000")]
    pub freq: String,
    /// Drop rows of the first DUR; a bare number is seconds.
    #[arg(long, default_value = "0")]
    pub warmup: String,
    /// Drop rows of the last DUR; a bare number is seconds.
    #[arg(long, default_value = "0")]
    pub cooldown: String,
    /// 1: the Go tool's status_code column holds HTTP statuses; 2: gRPC codes
    /// [default: by each row's url, http(s):// being HTTP]. rwg's own CSVs
    /// say which.
    #[arg(long = "version", value_name = "1|2", value_parser = ["1", "2"])]
    pub http_version: Option<String>,
    /// Latency objective for goodput; a bare number is ms.
    #[arg(long)]
    pub slo: Option<String>,
}
