//! `--trace FILE`: the trace's arrivals become the plan's instants, and the
//! targets its lines name (workload names, or h2load-style paths on the
//! first target's origin) the arrivals' targets.

use std::path::Path;

use super::run_args::RunArgs;
use super::run_targets::read_text;
use crate::plan::error::ConfigError;
use crate::plan::mix::{Mix, FROM_MIX, MAX_TARGETS};
use crate::plan::target::{parse_target, TargetSpec};
use crate::plan::trace::{self, TraceLine, TracePlan};

impl RunArgs {
    /// Reads the trace; adds a target per new path it names to `targets`,
    /// and makes `mix` follow the lines that name one.
    pub(super) fn trace_plan(
        &self,
        path: &Path,
        targets: &mut Vec<TargetSpec>,
        mix: &mut Mix,
    ) -> Result<TracePlan, ConfigError> {
        let in_file = |e: ConfigError| ConfigError(format!("{}: {e}", path.display()));
        let lines = trace::parse(&read_text(path, "--trace")?).map_err(in_file)?;
        let mut picks = Vec::with_capacity(lines.len());
        for line in &lines {
            picks.push(pick(line, targets).map_err(in_file)?);
        }
        if picks.iter().any(|&p| p != FROM_MIX) {
            *mix = Mix::Trace {
                targets: picks.into(),
                rest: Box::new(mix.clone()),
            };
        }
        TracePlan::new(&lines, path.display().to_string(), self.trace_speed)
    }
}

/// The target a line names ([`FROM_MIX`] when it names none).
fn pick(line: &TraceLine, targets: &mut Vec<TargetSpec>) -> Result<u16, ConfigError> {
    let at = |what: String| ConfigError(format!("trace line {}: {what}", line.line));
    let Some(name) = line.target.as_deref() else {
        return Ok(FROM_MIX);
    };
    let label = match name.starts_with('/') {
        true => format!("{}{name}", origin(&targets[0].target.url)),
        false => name.to_string(),
    };
    if let Some(i) = targets.iter().position(|t| t.label == label) {
        return Ok(i as u16);
    }
    if !name.starts_with('/') {
        let names: Vec<&str> = targets.iter().map(|t| t.label.as_str()).take(8).collect();
        return Err(at(format!(
            "no target named '{name}' (a workload file's names, or a path starting with '/'; targets: {})",
            names.join(", ")
        )));
    }
    if targets.len() >= MAX_TARGETS {
        return Err(at(format!("more than {MAX_TARGETS} distinct targets")));
    }
    let spec = TargetSpec {
        target: parse_target(&label).map_err(|e| at(e.to_string()))?,
        label,
        ..targets[0].clone()
    };
    targets.push(spec);
    Ok((targets.len() - 1) as u16)
}

/// `scheme://authority` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}
