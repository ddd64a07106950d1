//! `rwg parse`: the Go tool's analysis command, under its name and with its
//! flags, run as `rwg report`. The Go tool took whole numbers: the SLO and
//! the interval in ms, warm-up and cool-down in s; a bare number here means
//! the same, and a unit may be given (`--slo 2.5ms`).

use std::process::ExitCode;

use super::args::{ParseArgs, ReportArgs};

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
