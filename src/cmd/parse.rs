//! `rwg parse`: the Go tool's analysis command, under its name and with its
//! flags, run as `rwg report`. The Go tool took whole numbers: the SLO and
//! the interval in ms, warm-up and cool-down in s; a bare number here means
//! the same, and a unit may be given (`--slo 2.5ms`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::args::ReportArgs;

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

impl ParseArgs {
    /// The `rwg report` these flags ask for.
    pub fn to_report(&self) -> ReportArgs {
        ReportArgs {
            files: vec![self.rwg_output.clone()],
            slo: self.slo.as_deref().map(ms),
            warmup: self.warmup.clone(),
            cooldown: self.cooldown.clone(),
            json: self.overall_output.clone(),
            timeseries: self.realtime_output.clone(),
            interval: ms(&self.freq),
            by_phase: false,
            by_target: false,
            max_lag: "1ms".into(),
            checks: Vec::new(),
            go_grpc: self.http_version.as_deref().map(|v| v == "2"),
        }
    }
}

/// A bare number as milliseconds, as the Go tool read it.
fn ms(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(_) => format!("{text}ms"),
        Err(_) => text.to_string(),
    }
}

pub fn main(args: &ParseArgs) -> ExitCode {
    super::report::main(&args.to_report())
}
