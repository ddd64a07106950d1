//! The arguments of `rwg run` and their conversion into a validated
//! [`Config`]; every bad value becomes a `ConfigError` naming it (exit 2).

use std::path::PathBuf;

use clap::Args;

use crate::base::units::parse_duration_ns;
use crate::plan::config::{
    parse_cpus, parse_rate, split_list, Config, Dist, HttpVersion, Rate, TlsOptions,
};
use crate::plan::error::ConfigError;
use crate::plan::shard::{parse_shard, parse_start_at};
use crate::plan::target::{parse_header, GrpcOptions};
use crate::plan::workload::WorkloadFile;

/// `--send-window` unless told (also what `rwg demo` runs with).
pub const DEFAULT_SEND_WINDOW: &str = "200us";

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Target URL, e.g. http://127.0.0.1:8080/api (or give --targets, or a
    /// workload file with targets).
    #[arg(required_unless_present_any = ["targets", "file", "url_flag"])]
    pub url: Option<String>,
    /// The target URL as a flag, as the Go tool took it (`--url URL`): the
    /// same as giving it bare.
    #[arg(
        id = "url_flag",
        short = 'u',
        long = "url",
        value_name = "URL",
        conflicts_with = "url"
    )]
    pub url_flag: Option<String>,
    /// vegeta's targets file (HTTP or JSON-lines format): its requests are
    /// sent in turn, in file order. -H headers are added to each.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "url_flag"])]
    pub targets: Option<PathBuf>,
    /// Workload file (TOML): named, weighted targets and the run's settings
    /// ([run]: rate, duration, dist, workers, connections, requests, timeout,
    /// connect_timeout, slo, seed, checks). Flags given here win over it.
    #[arg(short = 'f', long, value_name = "FILE", conflicts_with = "targets")]
    pub file: Option<PathBuf>,
    /// Requests/s per phase, comma-separated (e.g. 100,500,1000); 0 = closed
    /// loop; FROM:TO ramps linearly within the phase (e.g. 0:1000,1000).
    #[arg(
        short = 'r',
        long = "rate",
        visible_alias = "rates",
        default_value = "100"
    )]
    pub rate: String,
    /// Duration of each phase, comma-separated (30s, 500ms, 2m; bare number = seconds).
    #[arg(
        short = 'd',
        long = "duration",
        visible_alias = "durations",
        default_value = "10s"
    )]
    pub duration: String,
    /// Inter-arrival distribution: fixed or exp (Poisson arrivals).
    #[arg(long, default_value = "fixed", value_parser = ["fixed", "exp"])]
    pub dist: String,
    /// Replay the arrivals of FILE instead of rate phases: one per line,
    /// 'OFFSET [TARGET]' (OFFSET from the start with a unit, e.g. 1.5ms; a
    /// bare number is ms, as in h2load's --timing-script-file). TARGET: a
    /// workload target's name, or a path on the URL's origin; none: drawn
    /// from the mix.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rate", "duration", "dist"])]
    pub trace: Option<PathBuf>,
    /// Replay the trace this many times faster (0.5 = half speed).
    #[arg(long, default_value_t = 1.0, requires = "trace")]
    pub trace_speed: f64,
    /// Max requests in flight, all cores together [default: 256 per core;
    /// closed loop over HTTP/1.1 with -c N: N, as wrk -c N].
    #[arg(short = 'w', long)]
    pub workers: Option<usize>,
    /// Max connections, all cores together [default: = workers].
    #[arg(short = 'c', long)]
    pub connections: Option<usize>,
    /// Stop after N scheduled requests.
    #[arg(short = 'n', long = "requests")]
    pub requests: Option<u64>,
    /// Per-request timeout.
    #[arg(short = 't', long, default_value = "5s")]
    pub timeout: String,
    /// Connect timeout.
    #[arg(long, default_value = "3s")]
    pub connect_timeout: String,
    /// Write one CSV row per scheduled request to FILE.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Write the figures, verdict, checks and exit code as JSON to FILE
    /// (one schema for `rwg run` and `rwg report`, `schema_version` 1).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write an HdrHistogram interval log (V2, one interval per second) of latency to FILE.
    #[arg(long)]
    pub hlog: Option<PathBuf>,
    /// Latency objective for goodput (e.g. 50ms).
    #[arg(long)]
    pub slo: Option<String>,
    /// CPUs to run on, e.g. 0 or 0-3,8 [default: all, but no more than the
    /// --connections or --workers given].
    #[arg(long)]
    pub cpus: Option<String>,
    /// Keep going after errors (default: stop at the first error, exit 1).
    #[arg(long)]
    pub ignore_errors: bool,
    /// Busy-wait the last ~120 µs before each planned send: µs-level send
    /// precision at the cost of a busy core.
    #[arg(long)]
    pub precise: bool,
    /// Open loop over plain HTTP/1.1 (io_uring): wake for each response
    /// instead of reading responses at the sender's timer wake-ups (the
    /// default, each ending at the kernel's receive timestamp). Sends then
    /// also go out between wake-ups, when a response frees a worker: lower
    /// send lag (p99 ≈ 190 vs 240 µs at 20 000/s/core), about a third more
    /// CPU.
    #[arg(long)]
    pub eager_reads: bool,
    /// The default since lazy reads became it (kept for old scripts).
    #[arg(long, hide = true, conflicts_with_all = ["precise", "eager_reads"])]
    pub lazy_reads: bool,
    /// Fewest time between two timer wake-ups of a core's sender: slots that
    /// come due meanwhile go out together. Larger saves CPU at high rates and
    /// adds up to this much send lag (measured and reported either way); 0 =
    /// wake for every slot.
    #[arg(long, default_value = DEFAULT_SEND_WINDOW)]
    pub send_window: String,
    /// Largest send lag (send − plan) at p99 for which the figures still
    /// describe the target; beyond it the generator was behind and rwg exits
    /// 4. Default: the larger of 1ms and twice --send-window.
    #[arg(long)]
    pub max_lag: Option<String>,
    /// HTTP method.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,
    /// Request header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body from a file.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// Seed of the exponential schedule.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Offer shard K (0-based) of N of the plan: global arrival i goes to
    /// shard i mod N, so N processes with the same flags and K = 0…N-1 send
    /// exactly the one-process plan. -w and -c are per shard.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Start the plan at this wall-clock instant (RFC 3339, e.g.
    /// 2026-12-03T15:00:00Z, or Unix nanoseconds) after warming up: shards
    /// given the same instant start together, and the CSV's instants are on
    /// that clock. Arrivals planned before this process was ready are
    /// recorded as late_start and never sent.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
    /// No progress line.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Pass/fail check on the summary, e.g. 'p99<50ms', 'errors<0.1%', 'lag_p99<1ms'
    /// (repeatable; exit 3 when one fails).
    #[arg(long = "check")]
    pub checks: Vec<String>,
    #[command(flatten)]
    pub proto: ProtoArgs,
    /// The ids of the arguments given on the command line (not defaults):
    /// what a workload file may not override.
    #[arg(skip)]
    pub given: Vec<String>,
}

/// HTTP/2, TLS and gRPC options of `rwg run`.
#[derive(Args, Debug, Clone, Default)]
pub struct ProtoArgs {
    /// Over TLS, speak HTTP/1.1 only (ALPN offers http/1.1).
    #[arg(long, conflicts_with = "http2")]
    pub http1: bool,
    /// Over TLS, speak HTTP/2 only (ALPN offers h2).
    #[arg(long)]
    pub http2: bool,
    /// Prior-knowledge HTTP/2 over cleartext (http:// URLs).
    #[arg(long)]
    pub h2c: bool,
    /// Max concurrent streams per HTTP/2 connection (capped by the server's SETTINGS).
    #[arg(long, default_value_t = 100)]
    pub max_streams: usize,
    /// Send HTTP/2 and gRPC through the h2 crate's client instead of rwg's
    /// lean one (about 6x the CPU per request): for comparison, or should a
    /// server trip the lean client.
    #[arg(long)]
    pub h2_crate: bool,
    /// Accept any TLS certificate and host name.
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file (instead of the built-in web roots).
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// gRPC: .proto file describing the method (repeatable) [default: server reflection].
    #[arg(long = "proto")]
    pub protos: Vec<PathBuf>,
    /// gRPC: import path for --proto files (repeatable).
    #[arg(short = 'I', long = "import-path")]
    pub includes: Vec<PathBuf>,
    /// gRPC: request message as JSON [default: {}].
    #[arg(long, conflicts_with = "data_file")]
    pub data: Option<String>,
    /// gRPC: request message as JSON from a file.
    #[arg(long)]
    pub data_file: Option<PathBuf>,
    /// gRPC: request metadata 'key:value' (repeatable).
    #[arg(long = "metadata")]
    pub metadata: Vec<String>,
}

impl ProtoArgs {
    fn http_version(&self) -> HttpVersion {
        match (self.http1, self.http2) {
            (true, _) => HttpVersion::Http1,
            (_, true) => HttpVersion::Http2,
            _ => HttpVersion::Auto,
        }
    }

    pub(super) fn grpc(&self) -> Result<GrpcOptions, ConfigError> {
        let data_json = match (&self.data, &self.data_file) {
            (Some(d), _) => d.clone(),
            (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!("cannot read --data-file '{}': {e}", path.display()))
            })?,
            (None, None) => "{}".to_string(),
        };
        let metadata = self
            .metadata
            .iter()
            .map(|m| {
                parse_header(m).map_err(|_| {
                    ConfigError(format!("invalid --metadata '{m}': expected 'key:value'"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GrpcOptions {
            protos: self.protos.clone(),
            includes: self.includes.clone(),
            data_json,
            metadata,
        })
    }
}

/// Every CPU this process may run on (at least CPU 0).
fn all_cpus() -> Vec<usize> {
    let ids: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    if ids.is_empty() {
        vec![0]
    } else {
        ids
    }
}

pub(super) fn dur(flag: &str, text: &str) -> Result<u64, ConfigError> {
    parse_duration_ns(text).map_err(|e| ConfigError(format!("{flag}: {e}")))
}

impl RunArgs {
    /// Without `--cpus`: every CPU, but no more than the workers and
    /// connections given, so `-c 8` on a 16-CPU machine runs on 8 cores
    /// instead of being refused for leaving cores without a connection.
    fn default_cpus(&self) -> Vec<usize> {
        let mut cpus = all_cpus();
        let given = [self.workers, self.connections];
        if let Some(cap) = given.into_iter().flatten().min() {
            cpus.truncate(cap.max(1));
        }
        cpus
    }

    /// The validated configuration and the `--check` expressions, with the
    /// workload file (`-f`) under the command line.
    pub fn resolve(&self) -> Result<(Config, Vec<String>), ConfigError> {
        let (args, file) = self.with_workload()?;
        let cfg = args.to_config(file.as_ref())?;
        Ok((cfg, args.checks))
    }

    fn to_config(&self, file: Option<&WorkloadFile>) -> Result<Config, ConfigError> {
        let (mut targets, mut mix) = self.targets(file)?;
        let trace = match &self.trace {
            Some(path) => Some(self.trace_plan(path, &mut targets, &mut mix)?),
            None => None,
        };
        let (rates, durations_ns) = match &trace {
            Some(t) => (vec![Rate::steady(t.mean_per_sec())], vec![t.duration_ns()]),
            None => self.phases()?,
        };
        let cpus = match &self.cpus {
            Some(text) => parse_cpus(text)?,
            None => self.default_cpus(),
        };
        let p = &self.proto;
        let h2 = targets.iter().any(|t| t.target.scheme.grpc()) || p.h2c || p.http2;
        // Closed loop over HTTP/1.1 with -c N: N workers, as wrk -c N. More
        // would only queue for a connection, and their wait would count in
        // the latency without adding throughput.
        let closed_loop = rates.iter().all(Rate::closed_loop);
        let workers = match (self.workers, self.connections) {
            (Some(w), _) => w,
            (None, Some(c)) if closed_loop && !h2 => c,
            _ => 256 * cpus.len(),
        };
        let cfg = Config {
            targets,
            mix,
            rates,
            durations_ns,
            dist: if self.dist == "exp" && trace.is_none() {
                Dist::Exp
            } else {
                Dist::Fixed
            },
            workers,
            // HTTP/2 multiplexes: one connection per core unless told.
            connections: self
                .connections
                .unwrap_or(if h2 { cpus.len() } else { workers }),
            connections_given: self.connections.is_some(),
            max_requests: self.requests,
            timeout_ns: dur("--timeout", &self.timeout)?,
            connect_timeout_ns: dur("--connect-timeout", &self.connect_timeout)?.max(1),
            output: self.output.clone(),
            json: self.json.clone(),
            hlog: self.hlog.clone(),
            slo_ns: self.slo.as_deref().map(|s| dur("--slo", s)).transpose()?,
            cpus,
            ignore_errors: self.ignore_errors,
            precise: self.precise,
            lazy_reads: !self.eager_reads,
            send_window_ns: dur("--send-window", &self.send_window)?,
            max_lag_ns: self
                .max_lag
                .as_deref()
                .map(|s| dur("--max-lag", s))
                .transpose()?,
            seed: self.seed,
            quiet: self.quiet,
            http: p.http_version(),
            h2c: p.h2c,
            max_streams: p.max_streams,
            h2_crate: p.h2_crate,
            tls: TlsOptions {
                insecure: p.insecure,
                cacert: p.cacert.clone(),
                cert: p.cert.clone(),
                key: p.key.clone(),
            },
            trace,
            shard: self
                .shard
                .as_deref()
                .map(parse_shard)
                .transpose()?
                .unwrap_or_default(),
            start_at_ns: self.start_at.as_deref().map(parse_start_at).transpose()?,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// `--rate` and `--duration`.
    fn phases(&self) -> Result<(Vec<Rate>, Vec<u64>), ConfigError> {
        let rates = split_list("--rate", &self.rate)?
            .into_iter()
            .map(parse_rate)
            .collect::<Result<Vec<_>, _>>()?;
        let durations_ns = split_list("--duration", &self.duration)?
            .into_iter()
            .map(|d| dur("--duration", d))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rates, durations_ns))
    }
}
