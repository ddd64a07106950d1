//! `rwg plot`: per-request CSV files → one self-contained HTML page of charts
//! (entry: [`plot`]).
//!
//! COLD. Each file is analysed on its own ([`crate::report::analyze`], by
//! phase, by target and per interval) and becomes one series with its own colour, its
//! time axis relative to its own first planned request, so runs overlay for
//! comparison. A second pass over each file fills a full latency histogram
//! for the percentile-distribution chart (the analysis keeps only fixed
//! percentiles). The page ([`page`]) holds the table and the [`charts`],
//! inline SVG drawn from Rust ([`svg`]): no scripts, no network, one file.

mod charts;
mod fmt;
mod load;
mod page;
mod svg;
mod tables;

use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use crate::record::settings::RunSettings;
use crate::report::analyze::analyze;
use crate::report::csv_scan;
use crate::report::figures::{Analysis, Figures, Percentiles, ReportOptions, Severity};
use crate::report::foreign::{ForeignOptions, Source, Tool};
use crate::report::quantile::Distribution;
use crate::report::spectrum::{self, SpectrumAnalysis};

/// Series colours, in file order (colour-blind-friendly; repeats after 8).
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#e69f00", "#17becf", "#8c564b", "#e377c2",
];
/// The distribution chart goes at most to the 99.9999th percentile.
const MAX_NINES: f64 = 6.0;
/// Distribution sample spacing along −log₁₀(1 − p).
const NINES_STEP: f64 = 0.025;

/// What [`plot`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotSummary {
    pub out: PathBuf,
    pub html_bytes: u64,
    pub files: Vec<PlottedFile>,
    /// Non-fatal diagnostics (e.g. the zero-filled tail of a killed run),
    /// as `FILE:LINE: what`; also shown on the page.
    pub warnings: Vec<String>,
}

/// One input file as plotted.
#[derive(Debug, Clone, PartialEq)]
pub struct PlottedFile {
    pub file: String,
    pub rows: u64,
    pub intervals: usize,
}

/// Writes one HTML page charting `files` (one series each) to `out`:
/// latency over time, offered vs achieved throughput with phase boundaries,
/// errors/dropped/skipped over time, the latency percentile distribution, a
/// summary table and, when a file holds several targets, a table by target. `interval_ns` is the time-series bucket; `slo_ns` marks
/// the objective and turns "ok" into "goodput" (ok at or under the SLO).
///
/// Errors (a file that cannot be read, a malformed row or header, a file
/// with no rows, a bad interval, an unwritable `out`) come back as one
/// sentence naming the file.
pub fn plot(
    files: &[PathBuf],
    out: &Path,
    interval_ns: u64,
    slo_ns: Option<u64>,
) -> Result<PlotSummary, String> {
    if files.is_empty() {
        return Err("no CSV files given".into());
    }
    if interval_ns == 0 {
        return Err("interval must be greater than 0".into());
    }
    let mut series = Vec::with_capacity(files.len());
    let mut summaries = Vec::new();
    let mut warnings = Vec::new();
    let labels = labels(files);
    for (i, (path, label)) in files.iter().zip(labels).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        if spectrum::is_spectrum(path) {
            let analysis = spectrum::analyze_file(path).map_err(|e| e.0)?;
            summaries.push(Summary::new(analysis, label, colour));
            continue;
        }
        let mut s = load(path, colour, interval_ns, slo_ns, &mut warnings)?;
        s.label = label;
        series.push(s);
    }
    // Runs of several tools overlay: each series names its tool.
    if !summaries.is_empty() || series.iter().any(|s| s.tool != Tool::Rwg) {
        for s in &mut series {
            s.label = format!("{}: {}", s.tool.name(), s.label);
        }
        for s in &mut summaries {
            s.label = format!("{}: {}", s.analysis.tool.name(), s.label);
        }
    }
    let html = page::render(&series, &summaries, interval_ns, slo_ns, &warnings);
    std::fs::write(out, &html).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(PlotSummary {
        out: out.to_path_buf(),
        html_bytes: html.len() as u64,
        files: series
            .iter()
            .map(|s| PlottedFile {
                file: s.name.clone(),
                rows: s.analysis.rows_kept,
                intervals: s.points.len(),
            })
            .chain(summaries.iter().map(|s| PlottedFile {
                file: s.analysis.file.clone(),
                rows: 0,
                intervals: 0,
            }))
            .collect(),
        warnings,
    })
}

/// What the page calls each file: its file name when those are distinct,
/// else the path as given.
fn labels(files: &[PathBuf]) -> Vec<String> {
    let short: Vec<String> = files
        .iter()
        .map(|p| match p.file_name() {
            Some(n) => n.to_string_lossy().into_owned(),
            None => p.display().to_string(),
        })
        .collect();
    let mut sorted = short.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() == short.len() {
        short
    } else {
        files.iter().map(|p| p.display().to_string()).collect()
    }
}

/// One file, ready to draw.
struct Series {
    /// The path as given.
    name: String,
    /// Shown in legends and the table (see [`labels`]).
    label: String,
    colour: &'static str,
    /// The tool that wrote the file.
    tool: Tool,
    analysis: Analysis,
    /// What the run's `FILE.settings.json` says, when there is one.
    settings: Option<RunSettings>,
    points: Vec<Point>,
    /// (−log₁₀(1 − p), latency µs) from the full histogram, p rising to
    /// 1 − 1/samples, then the exact maximum.
    distribution: Vec<(f64, f64)>,
}

/// One percentile summary (wrk2), ready to draw: a distribution only.
struct Summary {
    /// Shown in legends and the table.
    label: String,
    colour: &'static str,
    analysis: SpectrumAnalysis,
    /// (−log₁₀(1 − p), latency µs): the rows as the tool printed them,
    /// then its maximum.
    distribution: Vec<(f64, f64)>,
}

impl Summary {
    fn new(analysis: SpectrumAnalysis, label: String, colour: &'static str) -> Summary {
        let count = analysis.run.histogram_count.max(1) as f64;
        let nines = count.log10().min(MAX_NINES);
        let mut distribution: Vec<(f64, f64)> = analysis
            .run
            .spectrum
            .iter()
            .filter(|r| r.percentile < 1.0)
            .map(|r| (-(1.0 - r.percentile).log10(), r.value_ns as f64 / 1e3))
            .filter(|p| p.0 <= nines)
            .collect();
        if let Some(max_us) = analysis.latency.max_us {
            distribution.push((nines, max_us));
        }
        Summary {
            label,
            colour,
            analysis,
            distribution,
        }
    }
}

/// One latency distribution curve of the distribution chart.
struct Curve<'a> {
    colour: &'static str,
    /// (−log₁₀(1 − p), latency µs).
    points: &'a [(f64, f64)],
    /// 95 % intervals: (−log₁₀(1 − p), low µs, high µs).
    whiskers: Vec<(f64, f64, f64)>,
}

impl<'a> Curve<'a> {
    /// Every file's curve, row files first.
    fn all(series: &'a [Series], summaries: &'a [Summary]) -> Vec<Curve<'a>> {
        let rows = series.iter().map(|x| Curve {
            colour: x.colour,
            points: &x.distribution,
            whiskers: intervals(x.analysis.overall.latency_answered.as_ref()),
        });
        let spectra = summaries.iter().map(|x| Curve {
            colour: x.colour,
            points: &x.distribution,
            whiskers: intervals(Some(&x.analysis.latency)),
        });
        rows.chain(spectra).collect()
    }
}

/// The 95 % intervals of a distribution's percentiles, placed along
/// −log₁₀(1 − p).
fn intervals(d: Option<&Distribution>) -> Vec<(f64, f64, f64)> {
    let Some(d) = d else {
        return Vec::new();
    };
    d.percentiles
        .iter()
        .filter_map(|p| match (p.ci95_low_us, p.ci95_high_us) {
            (Some(lo), Some(hi)) => Some((-(1.0 - p.quantile).log10(), lo, hi)),
            _ => None,
        })
        .collect()
}

/// One interval bucket, rates over the part of it the file covers.
struct Point {
    /// Middle of the covered part, seconds since the file's first row.
    t_s: f64,
    latency: Option<Percentiles>,
    /// Send lag (sent − intended) of the sent requests.
    lag: Option<Percentiles>,
    offered_per_sec: f64,
    achieved_per_sec: f64,
    /// Goodput when an SLO is set, else ok responses.
    good_per_sec: f64,
    errors_per_sec: f64,
    dropped_per_sec: f64,
    skipped_per_sec: f64,
}

impl Series {
    /// Seconds from the file's first planned row to one mean spacing past
    /// its last: the span its rates are over.
    fn span_s(&self) -> f64 {
        span_ns(&self.analysis) as f64 / 1e9
    }

    /// `count` per second of [`Series::span_s`].
    fn per_sec(&self, count: u64) -> f64 {
        count as f64 / self.span_s()
    }

    /// A phase's rate for its marker: as planned (from the settings file),
    /// else as offered (measured).
    fn phase_rate_text(&self, phase: u32, offered_per_sec: f64) -> String {
        let planned = self
            .settings
            .as_ref()
            .and_then(|s| s.phases.get(phase as usize));
        match planned {
            Some(p) => format!("{} planned", p.rate_text()),
            None => format!("{} req/s offered", fmt::fmt_rate(offered_per_sec)),
        }
    }

    /// Phase starts as (seconds since the file's first row, phase, offered/s).
    fn phase_starts(&self) -> Vec<(f64, u32, f64)> {
        let start = self.analysis.overall.start_ns;
        let mut v: Vec<_> = self
            .analysis
            .phases
            .iter()
            .map(|p| {
                let f = &p.figures;
                let t = f.start_ns.saturating_sub(start) as f64 / 1e9;
                (
                    t,
                    p.phase,
                    f.total.count as f64 * 1e9 / covered_ns(f) as f64,
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }
}

fn load(
    path: &Path,
    colour: &'static str,
    interval_ns: u64,
    slo_ns: Option<u64>,
    warnings: &mut Vec<String>,
) -> Result<Series, String> {
    let name = path.display().to_string();
    let opts = ReportOptions {
        files: vec![path.to_path_buf()],
        slo_ns,
        warmup_ns: 0,
        cooldown_ns: 0,
        interval_ns: Some(interval_ns),
        by_phase: true,
        by_target: true,
        ..ReportOptions::default()
    };
    let source = Source::open(path, ForeignOptions::default())?;
    // The histogram pass comes first: it names a bad header or row exactly.
    let (distribution, end) = distribution(&source)?;
    if let Some(stop) = end.stop.as_ref().filter(|s| s.kind.is_error()) {
        return Err(format!("{name}:{}: {}", stop.line, stop.message));
    }
    if end.rows == 0 {
        let why = end
            .stop
            .map_or(String::new(), |s| format!(" ({})", s.message));
        return Err(format!("{name}: no rows to plot{why}"));
    }
    let outcome = analyze(&opts).map_err(|e| format!("{name}: {e}"))?;
    for d in outcome.diagnostics {
        match d.severity {
            Severity::Error => return Err(d.message),
            Severity::Warning => warnings.push(d.message),
        }
    }
    let analysis = outcome.analysis;
    let points = points(&analysis, interval_ns, slo_ns.is_some());
    let settings = match RunSettings::read_beside(path) {
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            warnings.push(format!("run settings not shown: {e}"));
            None
        }
        None => None,
    };
    Ok(Series {
        label: name.clone(),
        name,
        colour,
        tool: source.tool(),
        analysis,
        settings,
        points,
        distribution,
    })
}

/// Mean planned spacing of a slice's rows; one second for a single row.
fn mean_gap_ns(f: &Figures) -> u64 {
    match f.total.count {
        0 | 1 => 1_000_000_000,
        n => (f.span_ns / (n - 1)).max(1),
    }
}

/// The span a slice of rows covers: first planned row to one mean spacing
/// past the last (so n rows at a fixed rate r cover exactly n / r).
fn covered_ns(f: &Figures) -> u64 {
    f.span_ns + mean_gap_ns(f)
}

/// A whole file's span: like [`covered_ns`], with the spacing of its last
/// phase (phases may differ in rate).
fn span_ns(a: &Analysis) -> u64 {
    let last = a.phases.iter().map(|p| &p.figures).max_by_key(|f| f.end_ns);
    a.overall.span_ns + mean_gap_ns(last.unwrap_or(&a.overall))
}

/// Per-bucket rates. The last bucket usually covers only part of an
/// interval; its rates are over the part covered ([`covered_ns`]), so a
/// run's tail does not look like a collapse.
fn points(a: &Analysis, interval_ns: u64, goodput: bool) -> Vec<Point> {
    let o = &a.overall;
    let reach_ns = o.start_ns.saturating_add(span_ns(a));
    a.timeseries
        .iter()
        .map(|f| {
            let covered_ns = reach_ns.saturating_sub(f.start_ns).clamp(1, interval_ns);
            let rate = |n: u64| n as f64 * 1e9 / covered_ns as f64;
            let since_ns = f.start_ns.saturating_sub(o.start_ns);
            Point {
                t_s: (since_ns as f64 + covered_ns as f64 / 2.0) / 1e9,
                latency: f.latency,
                lag: f.lag,
                offered_per_sec: rate(f.total.count),
                achieved_per_sec: rate(f.responses.count),
                good_per_sec: rate(if goodput { f.goodput.count } else { f.ok.count }),
                errors_per_sec: rate(f.errors.count),
                dropped_per_sec: rate(f.dropped.count),
                skipped_per_sec: rate(f.skipped.count),
            }
        })
        .collect()
}

/// The latency distribution of `source` (rows with a response, as in the
/// analysis) sampled along −log₁₀(1 − p), and how the scan ended.
fn distribution(source: &Source) -> Result<(Vec<(f64, f64)>, csv_scan::ScanEnd), String> {
    let mut hist = Histogram::<u64>::new(3).map_err(|e| format!("histogram: {e}"))?;
    let (mut min_ns, mut max_ns) = (u64::MAX, 0);
    let end = source.scan(|r| {
        if let (Some(_), Some(ns)) = (r.status, r.latency_ns) {
            // Only values beyond the histogram's range (centuries) can fail.
            let _ = hist.record(ns);
            min_ns = min_ns.min(ns);
            max_ns = max_ns.max(ns);
        }
    });
    let samples = hist.len();
    if samples == 0 {
        return Ok((Vec::new(), end));
    }
    let nines = (samples as f64).log10().min(MAX_NINES);
    let steps = (nines / NINES_STEP).floor() as usize;
    let mut v: Vec<(f64, f64)> = (0..=steps)
        .map(|i| {
            let x = i as f64 * NINES_STEP;
            let q = 1.0 - 10f64.powf(-x);
            let ns = hist.value_at_quantile(q).clamp(min_ns, max_ns);
            (x, ns as f64 / 1e3)
        })
        .collect();
    v.push((nines, max_ns as f64 / 1e3));
    Ok((v, end))
}
