//! What `rwg search` leaves behind: `-o` (every step's rows in one CSV, a
//! step's warm-up and its measured part each a phase, named in the
//! settings file beside it), the table of steps, and `--json`.
//!
//! COLD: once per step and once at the end.

use std::path::Path;

use serde::Serialize;

use crate::plan::config::Config;
use crate::record::concat::ConcatCsv;
use crate::record::settings::{PhaseSettings, RunSettings};
use crate::report::step::{fmt_rate, StepRecord};
use crate::run::error::RunError;

/// `-o FILE` of a search, and the settings beside it.
pub struct SearchCsv {
    csv: ConcatCsv,
    settings: RunSettings,
}

impl SearchCsv {
    /// Creates `path` now, so a bad path is a usage error before any step.
    pub fn create(path: &Path, base: &Config) -> Result<SearchCsv, RunError> {
        let csv = ConcatCsv::create(path).map_err(|e| {
            RunError::Config(crate::plan::error::ConfigError(format!(
                "cannot create output file '{}': {e}",
                path.display()
            )))
        })?;
        let started_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut settings = RunSettings::of(base, std::env::args().collect(), started_unix_ms);
        // Steps of one search share no single plan to fingerprint.
        settings.fingerprint = None;
        settings.phases.clear();
        Ok(SearchCsv { csv, settings })
    }

    /// Where the next step's run writes its rows.
    pub fn part_path(&self) -> std::path::PathBuf {
        self.csv.part_path()
    }

    /// Appends the rows of step `index`'s run of `cfg` (its `times`-th
    /// length), its phases named, and rewrites the settings file.
    pub fn append(&mut self, cfg: &Config, index: usize, times: u64) -> Result<(), RunError> {
        let phases = cfg.rates.len();
        self.csv
            .append(&self.csv.part_path(), phases as u32)
            .map_err(|e| {
                RunError::Io(format!(
                    "cannot append to '{}': {e}",
                    self.csv.path().display()
                ))
            })?;
        let longer = match times {
            1 => String::new(),
            n => format!(" ({n}× longer)"),
        };
        for (i, (rate, &ns)) in cfg.rates.iter().zip(&cfg.durations_ns).enumerate() {
            let warmup = i + 1 < phases;
            let part = if warmup { " warm-up" } else { "" };
            self.settings.phases.push(PhaseSettings {
                from_per_sec: rate.from_per_sec(),
                to_per_sec: rate.to_per_sec(),
                duration_s: ns as f64 / 1e9,
                label: Some(format!("step {index}{part}{longer}")),
                warmup,
            });
        }
        self.write_settings("running")
    }

    /// Writes the settings file; `stop` says how the search ended.
    pub fn write_settings(&mut self, stop: &str) -> Result<(), RunError> {
        self.settings.stop = Some(stop.to_string());
        self.settings
            .write_beside(self.csv.path())
            .map(|_| ())
            .map_err(RunError::Io)
    }

    pub fn rows(&self) -> u64 {
        self.csv.rows
    }
}

/// The search's JSON document.
#[derive(Serialize)]
pub struct SearchDocument<'a> {
    pub schema_version: u32,
    pub source: &'static str,
    pub checks: &'a [String],
    pub steps: &'a [StepRecord],
    /// The highest rate that passed, and the lowest that failed (`null`:
    /// none did).
    pub highest_pass_per_sec: Option<f64>,
    pub lowest_fail_per_sec: Option<f64>,
    /// The generator fell behind: the search stopped there.
    pub generator_limit: bool,
    /// Ctrl-C or SIGTERM stopped the search (the last step is not judged).
    pub interrupted: bool,
    pub exit_code: u8,
}

/// The steps by planned rate: what was offered, what came back, the
/// latency with 95 % intervals, and the verdict.
pub fn steps_table(steps: &[StepRecord]) -> String {
    let mut order: Vec<(usize, &StepRecord)> = steps.iter().enumerate().collect();
    order.sort_by(|a, b| a.1.planned_per_sec.total_cmp(&b.1.planned_per_sec));
    let mut s = format!(
        "{:>4}  {:>10}  {:>10}  {:<28}  {:<28}  {:>6}  {:>7}  verdict\n",
        "step",
        "rate/s",
        "achieved/s",
        "p50 [95 % interval]",
        "p99 [95 % interval]",
        "errors",
        "skipped"
    );
    for (i, step) in order {
        s.push_str(&format!(
            "{i:>4}  {:>10}  {:>10.1}  {:<28}  {:<28}  {:>6}  {:>7}  {}\n",
            fmt_rate(step.planned_per_sec),
            step.achieved_per_sec,
            step.percentile_cell(0.5),
            step.percentile_cell(0.99),
            step.errors,
            step.skipped,
            step.outcome_word()
        ));
    }
    s
}
