//! Trace replay (`--trace FILE`): the arrivals of a run read from a file,
//! one per line, instead of drawn from rate phases. Pure: parsing and
//! scaling, no clock.
//!
//! A line is `OFFSET [TARGET]`, whitespace-separated; `#` starts a comment
//! line, blank lines are skipped. OFFSET is the arrival's instant from the
//! run's start: a duration with a unit (`1.5ms`, `250us`, `2s`), or a bare
//! number of milliseconds, as in h2load's `--timing-script-file` (`12.5\t/a`).
//! TARGET, when given, is a workload target's name, or a path (starting with
//! `/`) on the command line URL's origin (h2load's format); without it the
//! arrival's target is drawn from the mix. Offsets never go back in time.
//!
//! Arrival `i` of the file is arrival number `i` of the run (`{{seq}}`), so
//! core k of N replays lines k, k + N, k + 2N… (see `schedule`).

use std::sync::Arc;

use super::error::{err, ConfigError};
use crate::base::units::{fmt_ns, parse_duration_ns};

/// The latest offset a replay may reach (11.6 days): bounds the summary's
/// per-second counts.
pub const MAX_OFFSET_NS: u64 = 1_000_000 * 1_000_000_000;

/// One arrival as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// 1-based line in the file, for error messages.
    pub line: usize,
    pub offset_ns: u64,
    /// A target's name or a path; `None`: drawn from the mix.
    pub target: Option<String>,
}

/// Parses a trace file's text.
pub fn parse(text: &str) -> Result<Vec<TraceLine>, ConfigError> {
    let mut lines: Vec<TraceLine> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |what: String| ConfigError(format!("trace line {line_no}: {what}"));
        let mut words = line.split_whitespace();
        let offset = words.next().unwrap_or_default();
        let target = words.next().map(str::to_string);
        if let Some(extra) = words.next() {
            return Err(at(format!(
                "unexpected '{extra}': expected 'OFFSET [TARGET]'"
            )));
        }
        let offset_ns = parse_offset_ns(offset).map_err(at)?;
        if offset_ns > MAX_OFFSET_NS {
            return Err(at(format!(
                "offset '{offset}' is past the {} s a replay may last",
                MAX_OFFSET_NS / 1_000_000_000
            )));
        }
        if let Some(prev) = lines.last().filter(|p| p.offset_ns > offset_ns) {
            return Err(at(format!(
                "offset {} is before line {}'s {}: a trace must be in time order",
                fmt_ns(offset_ns),
                prev.line,
                fmt_ns(prev.offset_ns)
            )));
        }
        lines.push(TraceLine {
            line: line_no,
            offset_ns,
            target,
        });
    }
    if lines.is_empty() {
        return err("the trace holds no arrivals".into());
    }
    Ok(lines)
}

/// A bare number is milliseconds (h2load); anything else needs its unit.
fn parse_offset_ns(text: &str) -> Result<u64, String> {
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let ms: f64 = text
            .parse()
            .map_err(|_| format!("invalid offset '{text}': expected e.g. 12.5 (ms) or 1.5s"))?;
        let ns = ms * 1e6;
        if !ns.is_finite() || ns >= u64::MAX as f64 {
            return Err(format!("invalid offset '{text}': too large"));
        }
        return Ok(ns as u64);
    }
    parse_duration_ns(text).map_err(|e| format!("invalid offset '{text}': {e}"))
}

/// The replayed schedule: every arrival's offset from the run's start,
/// already divided by the speed.
#[derive(Debug, Clone, PartialEq)]
pub struct TracePlan {
    pub offsets_ns: Arc<[u64]>,
    /// The file, as given.
    pub file: String,
    /// `--trace-speed`: 2 replays twice as fast.
    pub speed: f64,
}

impl TracePlan {
    /// Offsets of `lines` divided by `speed` (finite, > 0).
    pub fn new(lines: &[TraceLine], file: String, speed: f64) -> Result<TracePlan, ConfigError> {
        if !(speed.is_finite() && speed > 0.0) {
            return err(format!(
                "invalid --trace-speed {speed}: expected a number > 0"
            ));
        }
        let offsets_ns: Arc<[u64]> = lines
            .iter()
            .map(|l| (l.offset_ns as f64 / speed) as u64)
            .collect();
        if offsets_ns.last().is_some_and(|&ns| ns > MAX_OFFSET_NS) {
            return err(format!(
                "--trace-speed {speed} stretches the trace past the {} s a replay may last",
                MAX_OFFSET_NS / 1_000_000_000
            ));
        }
        Ok(TracePlan {
            offsets_ns,
            file,
            speed,
        })
    }

    /// The replay's planned duration: the last offset plus one mean gap
    /// (n arrivals take n gaps of time), at least 1 ms.
    pub fn duration_ns(&self) -> u64 {
        let n = self.offsets_ns.len() as u64;
        let last_ns = self.offsets_ns.last().copied().unwrap_or(0);
        let gap_ns = if n >= 2 { last_ns / (n - 1) } else { 0 };
        last_ns.saturating_add(gap_ns).max(1_000_000)
    }

    /// The mean rate, rounded, at least 1/s.
    pub fn mean_per_sec(&self) -> u64 {
        let n = self.offsets_ns.len() as f64;
        ((n * 1e9 / self.duration_ns() as f64).round() as u64).max(1)
    }

    /// Whole seconds the replay spans (at least 1).
    pub fn seconds(&self) -> usize {
        (self.duration_ns().div_ceil(1_000_000_000) as usize).max(1)
    }

    /// Planned arrivals in each whole second from the start.
    pub fn per_second(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.seconds()];
        for &ns in self.offsets_ns.iter() {
            let s = ((ns / 1_000_000_000) as usize).min(counts.len() - 1);
            counts[s] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn both_formats_with_and_without_targets() {
        let text = "# offsets\n0 /a\n\n1.5ms search\n  2s\n2500\t/b?x=1\n2500.25 /b\n";
        let t = parse(text).unwrap();
        let got: Vec<(usize, u64, Option<&str>)> = t
            .iter()
            .map(|l| (l.line, l.offset_ns, l.target.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (2, 0, Some("/a")),
                (4, 1_500_000, Some("search")),
                (5, 2_000 * MS, None),
                (6, 2_500 * MS, Some("/b?x=1")),
                (7, 2_500 * MS + 250_000, Some("/b")),
            ]
        );
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, named) in [
            (
                "0\n5ms\n4ms\n",
                "trace line 3: offset 4.00ms is before line 2's 5.00ms",
            ),
            ("1x /a\n", "trace line 1: invalid offset '1x'"),
            ("1..2\n", "trace line 1: invalid offset '1..2'"),
            ("1ms /a b\n", "trace line 1: unexpected 'b'"),
            ("# nothing\n\n", "no arrivals"),
            ("1e400ms\n", "trace line 1"),
            ("300h\n", "trace line 1: offset '300h' is past"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(named), "{text:?}: {e}");
        }
    }

    #[test]
    fn speed_scales_and_seconds_count() {
        let lines = parse("0\n500\n1000\n1500\n2999\n").unwrap();
        let plan = TracePlan::new(&lines, "t".into(), 2.0).unwrap();
        assert_eq!(
            plan.offsets_ns.to_vec(),
            [0, 250 * MS, 500 * MS, 750 * MS, 1_499_500_000]
        );
        // 1.4995 s + a mean gap of 374.875 ms.
        assert_eq!(plan.duration_ns(), 1_874_375_000);
        assert_eq!(plan.per_second(), [4, 1]);
        assert!(TracePlan::new(&lines, "t".into(), 0.0).is_err());
        assert!(TracePlan::new(&lines, "t".into(), f64::NAN).is_err());
        let far = parse("1000000s\n").unwrap();
        let e = TracePlan::new(&far, "t".into(), 0.5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--trace-speed 0.5"), "{e}");
        let one = TracePlan::new(&lines[..1], "t".into(), 1.0).unwrap();
        assert_eq!((one.duration_ns(), one.per_second()), (MS, vec![1]));
    }
}
