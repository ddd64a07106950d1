//! The run's settings, written next to its CSV as `FILE.settings.json`, so
//! a CSV read later (`rwg plot`) still says what made it: the command
//! line, the targets, each phase's planned rate and duration, the rwg
//! version, the start date and the host.
//!
//! COLD: written once per run, read once per plotted file. A sidecar that
//! is missing (a CSV from another tool, or an older rwg) is no error; one
//! that does not parse is reported by whoever reads it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::civil::fmt_rfc3339_ns;
use crate::plan::config::Config;
use crate::plan::fingerprint::fingerprint;

/// What `FILE.settings.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub rwg_version: String,
    /// When the run started, Unix-epoch milliseconds.
    pub started_unix_ms: u64,
    pub host: String,
    /// The command line as given, program name first.
    pub command: Vec<String>,
    /// The CSV's `url` column values: URLs, or a workload's target names.
    pub targets: Vec<String>,
    pub phases: Vec<PhaseSettings>,
    /// Connections per origin per core.
    pub connections: usize,
    pub cpus: Vec<usize>,
    /// `--shard K/N`, when the plan was split across processes.
    #[serde(default)]
    pub shard: Option<String>,
    /// The plan's fingerprint (the same for all its shards).
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// `--start-at`, RFC 3339.
    #[serde(default)]
    pub start_at: Option<String>,
    /// How the run ended (`complete`, `signal`, `first_error`, …): the file
    /// is written once the run is over.
    #[serde(default)]
    pub stop: Option<String>,
}

/// One phase as planned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseSettings {
    /// Requests/s at the phase's start; 0 with `to_per_sec` 0: closed loop.
    pub from_per_sec: f64,
    /// Requests/s at its end (the same as `from_per_sec` unless a ramp).
    pub to_per_sec: f64,
    pub duration_s: f64,
    /// What the phase is, when more than its rate (`rwg search`: `step 3`,
    /// `step 3 warm-up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A warm-up: not a point of the load–latency curve.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warmup: bool,
}

impl PhaseSettings {
    /// `1000/s`, `100→1000/s`, or `closed loop`.
    pub fn rate_text(&self) -> String {
        let r = |v: f64| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v}")
            }
        };
        if self.from_per_sec == 0.0 && self.to_per_sec == 0.0 {
            "closed loop".into()
        } else if self.from_per_sec == self.to_per_sec {
            format!("{}/s", r(self.from_per_sec))
        } else {
            format!("{}→{}/s", r(self.from_per_sec), r(self.to_per_sec))
        }
    }
}

impl RunSettings {
    /// The settings of a run of `cfg` started at `started_unix_ms`.
    pub fn of(cfg: &Config, command: Vec<String>, started_unix_ms: u64) -> RunSettings {
        RunSettings {
            rwg_version: env!("CARGO_PKG_VERSION").to_string(),
            started_unix_ms,
            host: host_name(),
            command,
            targets: cfg.targets.iter().map(|t| t.label.clone()).collect(),
            phases: cfg
                .rates
                .iter()
                .zip(&cfg.durations_ns)
                .map(|(rate, &ns)| PhaseSettings {
                    from_per_sec: rate.from_per_sec(),
                    to_per_sec: rate.to_per_sec(),
                    duration_s: ns as f64 / 1e9,
                    label: None,
                    warmup: false,
                })
                .collect(),
            connections: cfg.connections,
            cpus: cfg.cpus.clone(),
            shard: cfg.shard.is_split().then(|| cfg.shard.to_string()),
            fingerprint: Some(fingerprint(cfg)),
            start_at: cfg.start_at_ns.map(fmt_rfc3339_ns),
            stop: None,
        }
    }

    /// The command line as a shell would take it back: an argument with
    /// anything but `[A-Za-z0-9_./:=,@%+-]` in single quotes.
    pub fn command_text(&self) -> String {
        let safe = |c: char| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c);
        let words: Vec<String> = self
            .command
            .iter()
            .map(|w| {
                if !w.is_empty() && w.chars().all(safe) {
                    w.clone()
                } else {
                    format!("'{}'", w.replace('\'', "'\\''"))
                }
            })
            .collect();
        words.join(" ")
    }

    /// Writes the sidecar of `csv`.
    pub fn write_beside(&self, csv: &Path) -> Result<PathBuf, String> {
        let path = sidecar_of(csv);
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&path, json + "\n")
            .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
        Ok(path)
    }

    /// The sidecar of `csv`: `None` when there is none; an error naming
    /// the file when it does not parse.
    pub fn read_beside(csv: &Path) -> Option<Result<RunSettings, String>> {
        let path = sidecar_of(csv);
        let text = std::fs::read_to_string(&path).ok()?;
        Some(RunSettings::parse(&text).map_err(|e| format!("{}: {e}", path.display())))
    }

    /// The settings a sidecar's text holds.
    pub fn parse(text: &str) -> Result<RunSettings, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

/// `run.csv` → `run.csv.settings.json`.
pub fn sidecar_of(csv: &Path) -> PathBuf {
    let mut name = csv.as_os_str().to_owned();
    name.push(".settings.json");
    PathBuf::from(name)
}

/// This machine's name, as the kernel has it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_planned() {
        let p = |from, to| PhaseSettings {
            from_per_sec: from,
            to_per_sec: to,
            duration_s: 1.0,
            label: None,
            warmup: false,
        };
        assert_eq!(p(1000.0, 1000.0).rate_text(), "1000/s");
        assert_eq!(p(0.5, 0.5).rate_text(), "0.5/s");
        assert_eq!(p(100.0, 1000.0).rate_text(), "100→1000/s");
        assert_eq!(p(0.0, 0.0).rate_text(), "closed loop");
        assert_eq!(
            sidecar_of(Path::new("a/run.csv")),
            PathBuf::from("a/run.csv.settings.json")
        );
    }

    #[test]
    fn a_sidecar_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("run.csv");
        assert!(RunSettings::read_beside(&csv).is_none());
        let s = RunSettings {
            rwg_version: "0.1.0".into(),
            started_unix_ms: 1_764_000_000_000,
            host: "h".into(),
            command: vec!["rwg".into(), "run".into()],
            targets: vec!["http://127.0.0.1:1/".into()],
            phases: vec![PhaseSettings {
                from_per_sec: 0.5,
                to_per_sec: 0.5,
                duration_s: 10.0,
                label: Some("step 0".into()),
                warmup: true,
            }],
            connections: 4,
            cpus: vec![0],
            shard: Some("1/3".into()),
            fingerprint: Some("0123456789abcdef".into()),
            start_at: None,
            stop: Some("complete".into()),
        };
        assert_eq!(s.command_text(), "rwg run");
        let quoted = RunSettings {
            command: vec!["rwg".into(), "-H".into(), "X: it's".into()],
            ..s.clone()
        };
        assert_eq!(quoted.command_text(), r"rwg -H 'X: it'\''s'");
        s.write_beside(&csv).unwrap();
        assert_eq!(RunSettings::read_beside(&csv).unwrap().unwrap(), s);
        std::fs::write(sidecar_of(&csv), "{").unwrap();
        let err = RunSettings::read_beside(&csv).unwrap().unwrap_err();
        assert!(err.contains("run.csv.settings.json"), "{err}");
    }
}
