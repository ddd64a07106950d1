//! `rwg report` and `rwg plot` over a latency percentile spectrum: another
//! tool's distribution without per-request rows (wrk2's `--latency`
//! summary, read by [`wrk2`]).
//!
//! The spectrum is turned back into a histogram: each row's responses
//! (its count minus the row before) are recorded at its value. Quantiles at
//! the printed percentiles come back as printed; between two rows a
//! quantile reads as the upper row's value, an overestimate by at most
//! wrk2's own step (it prints ten rows per halving of 1 − p). The 95 %
//! intervals are then those of that many order statistics.
//!
//! COLD: a summary is a few kilobytes, read whole.

pub mod wrk2;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use hdrhistogram::Histogram;

use super::check::{CheckSource, CountMetric, RateMetric, Series};
use super::figures::ReportError;
use super::foreign::Tool;
use super::quantile::Distribution;
use crate::base::units::{fmt_us, group};
use wrk2::Wrk2Run;

/// How much of a file [`is_spectrum`] looks at.
const HEAD_BYTES: u64 = 64 * 1024;
/// The largest summary read (a spectrum is a few hundred lines).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// One tool's summary, as figures.
#[derive(Debug)]
pub struct SpectrumAnalysis {
    pub file: String,
    pub tool: Tool,
    pub run: Wrk2Run,
    /// Answered requests' latency (the spectrum knows no other).
    pub latency: Distribution,
    /// The rebuilt histogram, ns.
    pub histogram: Histogram<u64>,
}

/// Whether `path` holds a wrk2 (or wrk) text summary rather than a CSV.
pub fn is_spectrum(path: &Path) -> bool {
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(HEAD_BYTES).read_to_end(&mut head));
    read.is_ok() && wrk2::looks_like(&head)
}

/// Reads one summary file.
pub fn analyze_file(path: &Path) -> Result<SpectrumAnalysis, ReportError> {
    let name = path.display().to_string();
    let fail = |e: String| ReportError(format!("{name} (wrk2 summary): {e}"));
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut data))
        .map_err(|e| ReportError(format!("cannot read {name}: {e}")))?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(fail("larger than 16 MiB: not a summary".into()));
    }
    analyze_text(&name, &String::from_utf8_lossy(&data)).map_err(fail)
}

/// Reads one summary's text; `name` labels it.
pub fn analyze_text(name: &str, text: &str) -> Result<SpectrumAnalysis, String> {
    let run = wrk2::parse(text)?;
    let histogram = rebuild(&run)?;
    let min_ns = run.spectrum.first().map_or(0, |r| r.value_ns);
    let top_ns = run.spectrum.last().map_or(0, |r| r.value_ns);
    let max_ns = run.max_ns.unwrap_or(top_ns);
    let mut latency = Distribution::of(&histogram, 0, Some((min_ns, max_ns)));
    if let Some(mean_ns) = run.mean_ns {
        // The tool's own mean is exact; the rebuilt histogram's is not.
        latency.mean_us = Some(mean_ns as f64 / 1e3);
    }
    Ok(SpectrumAnalysis {
        file: name.to_string(),
        tool: if run.corrected {
            Tool::Wrk2
        } else {
            Tool::Wrk2Uncorrected
        },
        run,
        latency,
        histogram,
    })
}

/// The histogram the spectrum was printed from, to its resolution.
fn rebuild(run: &Wrk2Run) -> Result<Histogram<u64>, String> {
    let mut h = Histogram::<u64>::new(3).map_err(|e| format!("histogram: {e}"))?;
    let mut below = 0;
    for row in &run.spectrum {
        let n = row.total_count - below;
        if n > 0 {
            h.record_n(row.value_ns.max(1), n)
                .map_err(|e| format!("latency {} ns: {e}", row.value_ns))?;
        }
        below = row.total_count;
    }
    if h.is_empty() {
        return Err("the spectrum counts no response".into());
    }
    Ok(h)
}

impl SpectrumAnalysis {
    /// Completed requests: wrk2's `N requests in`, else the histogram's.
    pub fn requests(&self) -> u64 {
        self.run.requests.unwrap_or(self.histogram.len())
    }

    /// The run's length, when the summary states it.
    pub fn duration_s(&self) -> Option<f64> {
        self.run.duration_ns.map(|ns| ns as f64 / 1e9)
    }

    /// Completed requests per second: wrk2's own figure, else computed.
    pub fn achieved_per_sec(&self) -> Option<f64> {
        self.run.requests_per_sec.or_else(|| {
            self.duration_s()
                .filter(|&s| s > 0.0)
                .map(|s| self.requests() as f64 / s)
        })
    }

    /// Socket errors and statuses above 399.
    pub fn errors(&self) -> u64 {
        let e = &self.run.socket_errors;
        [
            e.connect,
            e.read,
            e.write,
            e.timeout,
            self.run.status_errors,
        ]
        .iter()
        .fold(0u64, |a, &b| a.saturating_add(b))
    }

    pub fn to_text(&self) -> String {
        let r = &self.run;
        let mut t = String::new();
        let _ = writeln!(t, "{} summary {}", self.tool.name(), self.file);
        if let Some(url) = &r.url {
            let mut line = format!("  target      {url}");
            if let (Some(th), Some(c)) = (r.threads, r.connections) {
                let _ = write!(line, " · {th} threads, {c} connections");
            }
            let _ = writeln!(t, "{line}");
        }
        let _ = writeln!(t, "  latency     timed {}", self.tool.latency_meaning());
        let mut line = format!("  requests    {}", group(self.requests()));
        if let Some(s) = self.duration_s() {
            let _ = write!(line, " in {s:.3}s");
        }
        if let Some(rate) = self.achieved_per_sec() {
            let _ = write!(line, " ({rate:.1}/s)");
        }
        let _ = writeln!(t, "{line}");
        if r.histogram_count < self.requests() {
            let _ = writeln!(
                t,
                "  percentiles over {} responses: wrk2 leaves the requests of its calibration out",
                group(r.histogram_count)
            );
        }
        let e = &r.socket_errors;
        let _ = writeln!(
            t,
            "  errors      socket: connect {}, read {}, write {}, timeout {} · status > 399: {}",
            e.connect, e.read, e.write, e.timeout, r.status_errors
        );
        let _ = writeln!(
            t,
            "  latency (answered, 95% CI; rebuilt from {} spectrum rows)\n    {}",
            r.spectrum.len(),
            self.latency.to_text(true)
        );
        if let Some(mean) = self.latency.mean_us {
            let _ = writeln!(t, "    mean {}", fmt_us(mean));
        }
        let _ = writeln!(
            t,
            "verdict: NOT VOUCHED FOR: a percentile summary holds no send instants, so whether \
             {} kept its schedule is unknown",
            self.tool.name()
        );
        t
    }
}

/// What a summary knows: completed requests, errors, latency of the
/// answered; offered load is not in it (`NaN`, so a check on it fails).
impl CheckSource for SpectrumAnalysis {
    fn count(&self, metric: CountMetric) -> u64 {
        match metric {
            CountMetric::Total | CountMetric::Responses => self.requests(),
            CountMetric::Errors => self.errors(),
            CountMetric::Ok | CountMetric::Goodput => {
                self.requests().saturating_sub(self.run.status_errors)
            }
            CountMetric::SloViolations | CountMetric::Dropped | CountMetric::Skipped => 0,
        }
    }

    fn rate_per_sec(&self, metric: RateMetric) -> f64 {
        match metric {
            RateMetric::Throughput => self.achieved_per_sec().unwrap_or(f64::NAN),
            RateMetric::Offered => f64::NAN,
        }
    }

    fn distribution(&self, series: Series) -> Option<&Distribution> {
        match series {
            Series::Latency | Series::AnsweredLatency => Some(&self.latency),
            Series::Lag => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spectrum(rows: &[(f64, f64, u64)]) -> String {
        let mut t = String::from(
            "  Detailed Percentile spectrum:\n  Value Percentile TotalCount 1/(1-Percentile)\n\n",
        );
        for (ms, p, n) in rows {
            let _ = writeln!(t, "  {ms:.3}  {p:.6}  {n}  1.00");
        }
        t
    }

    #[test]
    fn printed_percentiles_come_back_as_printed() {
        let text = spectrum(&[
            (0.5, 0.0, 1),
            (1.0, 0.5, 500),
            (2.0, 0.9, 900),
            (5.0, 0.99, 990),
            (9.0, 1.0, 1000),
        ]);
        let a = analyze_text("x", &text).unwrap();
        assert_eq!(a.histogram.len(), 1000);
        let p = |q: f64| a.latency.find(q).and_then(|e| e.us).unwrap();
        // 3 significant digits of the ns histogram.
        assert!((p(0.5) - 1000.0).abs() <= 1.0, "{}", p(0.5));
        assert!((p(0.9) - 2000.0).abs() <= 2.0, "{}", p(0.9));
        assert!((p(0.99) - 5000.0).abs() <= 5.0, "{}", p(0.99));
        assert_eq!(a.latency.max_us, Some(9000.0));
        assert_eq!(a.latency.min_us, Some(500.0));
        assert_eq!(a.latency.unanswered, 0);
        assert_eq!(a.tool, Tool::Wrk2);
        assert!(a.to_text().contains("NOT VOUCHED FOR"));
    }

    #[test]
    fn an_empty_spectrum_is_an_error() {
        let text = spectrum(&[(0.5, 0.0, 0), (1.0, 1.0, 0)]);
        assert!(analyze_text("x", &text)
            .unwrap_err()
            .contains("no response"));
    }
}
