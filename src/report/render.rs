//! Presenting an [`Analysis`]: aligned text for stdout (overall, then per
//! phase and per target when asked) and a time-series CSV (one row per
//! interval). The JSON is `schema::Document`.
//!
//! COLD. Latencies in text use adaptive units (`us`, `ms`, `s`); JSON and CSV
//! keep microseconds and nanoseconds as numbers.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::figures::{pct, Analysis, Count, Figures, Percentiles, OTHER_STATUS};
use super::foreign::Tool;
use crate::base::units::{fmt_bytes, fmt_ns, fmt_us, group};

/// The report a performance engineer reads: totals, rates, percentiles and,
/// when analysed by phase, one line per phase (offered vs achieved).
pub fn to_text(a: &Analysis) -> String {
    let mut s = String::new();
    let o = &a.overall;
    let files = if a.files.len() == 1 { "file" } else { "files" };
    let _ = writeln!(
        s,
        "{} {files}, {} rows read, {} analysed over {} planned (span of planned arrivals {})",
        a.files.len(),
        group(a.rows_read),
        group(a.rows_kept),
        fmt_ns(o.duration_ns),
        fmt_ns(o.span_ns),
    );
    for (file, tool) in a.files.iter().zip(&a.tools) {
        if *tool != Tool::Rwg {
            let _ = writeln!(
                s,
                "  {file}: written by {}; its latency is timed {}",
                tool.name(),
                tool.latency_meaning()
            );
        }
    }
    let mut notes = Vec::new();
    if a.warmup_ns > 0 {
        notes.push(format!("warmup {} trimmed", fmt_ns(a.warmup_ns)));
    }
    if a.cooldown_ns > 0 {
        notes.push(format!("cooldown {} trimmed", fmt_ns(a.cooldown_ns)));
    }
    if let Some(slo) = a.slo_ns {
        notes.push(format!("SLO {}", fmt_ns(slo)));
    }
    if !notes.is_empty() {
        let _ = writeln!(s, "{}", notes.join(", "));
    }
    s.push('\n');
    counts_table(&mut s, a, o);
    s.push('\n');
    let achieved = o.achieved_pct().map_or("-".into(), |p| format!("{p:.2}%"));
    let _ = writeln!(s, "  offered        {:>12} req/s", rate(o.offered_per_sec));
    let _ = writeln!(
        s,
        "  throughput     {:>12} resp/s   achieved {achieved}",
        rate(o.throughput_per_sec)
    );
    let _ = writeln!(s, "  max in flight  {:>12}", group(o.max_in_flight));
    if !o.responses_by_status.is_empty() {
        let by: Vec<String> = o
            .responses_by_status
            .iter()
            .map(|(&status, n)| match status {
                OTHER_STATUS => format!("other ×{}", group(*n)),
                _ => format!("{status} ×{}", group(*n)),
            })
            .collect();
        let _ = writeln!(s, "  responses by status  {}", by.join("  "));
    }
    let secs = o.duration_ns as f64 / 1e9;
    if o.bytes > 0 && secs > 0.0 {
        let _ = writeln!(
            s,
            "  bytes received {:>12} ({}/s)",
            fmt_bytes(o.bytes as f64),
            fmt_bytes(o.bytes as f64 / secs)
        );
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "  {:<20}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "", "min", "p50", "p75", "p90", "p95", "p99", "p99.9", "max"
    );
    percentile_line(&mut s, "latency (answered)", o.latency.as_ref());
    percentile_line(&mut s, "lag (send - plan)", o.lag.as_ref());
    if let Some(d) = &o.latency_all {
        let unanswered = match d.unanswered {
            0 => String::new(),
            n => format!(", {} without an answer rank last", group(n)),
        };
        let _ = writeln!(
            s,
            "\n  latency over all arrivals ({} rows{unanswered}; 95% CI):\n    {}",
            group(d.samples),
            d.to_text(true)
        );
    }
    if !a.phases.is_empty() {
        s.push('\n');
        phases_table(&mut s, a);
    }
    if !a.targets.is_empty() {
        s.push('\n');
        targets_table(&mut s, a);
    }
    s.push('\n');
    for n in &a.shards.notes {
        let _ = writeln!(s, "warning: {n}");
    }
    s.push_str(&a.verdict.to_text());
    s
}

fn counts_table(s: &mut String, a: &Analysis, o: &Figures) {
    let _ = writeln!(
        s,
        "  {:<20}{:>14}{:>14}{:>10}",
        "", "count", "per sec", "% total"
    );
    let total = o.total.count;
    let line = |s: &mut String, name: &str, c: &Count| {
        let share = pct(c.count, total).map_or("-".into(), |p| format!("{p:.2}%"));
        let _ = writeln!(
            s,
            "  {name:<20}{:>14}{:>14}{share:>10}",
            group(c.count),
            rate(c.per_sec)
        );
    };
    line(s, "total", &o.total);
    line(s, "ok", &o.ok);
    match a.slo_ns {
        Some(slo) => {
            line(s, &format!("goodput (<={})", fmt_ns(slo)), &o.goodput);
            line(s, "slo violations", &o.slo_violations);
        }
        None => line(s, "goodput (no SLO)", &o.goodput),
    }
    line(s, "dropped (shed)", &o.dropped);
    line(s, "errors", &o.errors);
    let mut kinds: Vec<_> = o.error_kinds.iter().collect();
    kinds.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
    for (kind, n) in kinds {
        let c = Count {
            count: *n,
            per_sec: per_sec_like(*n, &o.errors),
        };
        line(s, &format!("  {kind}"), &c);
    }
    line(s, "skipped", &o.skipped);
}

/// The rate of a part of `whole`, over the same duration.
fn per_sec_like(n: u64, whole: &Count) -> f64 {
    if whole.count == 0 {
        return 0.0;
    }
    whole.per_sec * n as f64 / whole.count as f64
}

fn percentile_line(s: &mut String, name: &str, p: Option<&Percentiles>) {
    let Some(p) = p else {
        let _ = writeln!(s, "  {name:<20}{:>10}", "-");
        return;
    };
    let _ = write!(s, "  {name:<20}");
    for v in [
        p.min_us, p.p50_us, p.p75_us, p.p90_us, p.p95_us, p.p99_us, p.p999_us, p.max_us,
    ] {
        let _ = write!(s, "{:>10}", fmt_us(v));
    }
    s.push('\n');
}

fn phases_table(s: &mut String, a: &Analysis) {
    let _ = writeln!(
        s,
        "  by phase (rates per planned second: span of planned arrivals + one mean gap):"
    );
    let _ = writeln!(
        s,
        "  {:>5}{:>10}{:>12}{:>12}{:>10}{:>10}{:>9}{:>9}{:>9}{:>10}{:>10}{:>10}",
        "phase",
        "planned",
        "offered/s",
        "achieved/s",
        "achieved",
        "goodput",
        "dropped",
        "errors",
        "skipped",
        "p50",
        "p99",
        "max"
    );
    for ph in &a.phases {
        let f = &ph.figures;
        let share = |n: u64| pct(n, f.total.count).map_or("-".into(), |p| format!("{p:.2}%"));
        let lat = |get: fn(&Percentiles) -> f64| {
            f.latency.as_ref().map_or("-".into(), |p| fmt_us(get(p)))
        };
        let _ = writeln!(
            s,
            "  {:>5}{:>10}{:>12}{:>12}{:>10}{:>10}{:>9}{:>9}{:>9}{:>10}{:>10}{:>10}",
            ph.phase,
            fmt_ns(f.duration_ns),
            rate(f.offered_per_sec),
            rate(f.throughput_per_sec),
            share(f.responses.count),
            share(f.goodput.count),
            share(f.dropped.count),
            share(f.errors.count),
            share(f.skipped.count),
            lat(|p| p.p50_us),
            lat(|p| p.p99_us),
            lat(|p| p.max_us),
        );
    }
}

/// Widest target name shown; longer names keep their start and end.
const TARGET_WIDTH: usize = 40;

fn targets_table(s: &mut String, a: &Analysis) {
    let width = a
        .targets
        .iter()
        .map(|t| t.target.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("target".len(), TARGET_WIDTH);
    let _ = writeln!(
        s,
        "  by target (ok, errors, dropped, skipped: % of the target's arrivals):"
    );
    let _ = writeln!(
        s,
        "  {:<width$}{:>12}{:>9}{:>12}{:>9}{:>9}{:>9}{:>9}{:>10}{:>10}{:>10}",
        "target",
        "total",
        "% all",
        "per sec",
        "ok",
        "errors",
        "dropped",
        "skipped",
        "p50",
        "p99",
        "max"
    );
    let all = a.overall.total.count;
    for t in &a.targets {
        let f = &t.figures;
        let share = |n: u64, of: u64| pct(n, of).map_or("-".into(), |p| format!("{p:.2}%"));
        let lat = |get: fn(&Percentiles) -> f64| {
            f.latency.as_ref().map_or("-".into(), |p| fmt_us(get(p)))
        };
        let _ = writeln!(
            s,
            "  {:<width$}{:>12}{:>9}{:>12}{:>9}{:>9}{:>9}{:>9}{:>10}{:>10}{:>10}",
            shorten(&t.target, width),
            group(f.total.count),
            share(f.total.count, all),
            rate(f.total.per_sec),
            share(f.ok.count, f.total.count),
            share(f.errors.count, f.total.count),
            share(f.dropped.count, f.total.count),
            share(f.skipped.count, f.total.count),
            lat(|p| p.p50_us),
            lat(|p| p.p99_us),
            lat(|p| p.max_us),
        );
    }
}

/// `name` in at most `width` characters: its start, `…`, its end.
fn shorten(name: &str, width: usize) -> String {
    let n = name.chars().count();
    if n <= width {
        return name.to_owned();
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let start: String = name.chars().take(head).collect();
    let end: String = name.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// The time-series CSV header (see [`write_timeseries_csv`]).
pub const TIMESERIES_HEADER: &str = "interval_start_ns,duration_ns,total,offered_per_sec,\
ok,ok_per_sec,goodput,goodput_per_sec,slo_violations,dropped,dropped_per_sec,\
errors,errors_per_sec,skipped,responses,throughput_per_sec,\
latency_min_us,latency_p50_us,latency_p75_us,latency_p90_us,latency_p95_us,\
latency_p99_us,latency_p999_us,latency_max_us,lag_p50_us,lag_p99_us,lag_max_us,\
max_in_flight,error_kinds";

/// One row per interval bucket: its start (epoch ns), then its figures.
/// Percentiles are empty when the interval has no responses; `error_kinds`
/// reads `kind:count;kind:count`.
pub fn write_timeseries_csv<W: Write>(a: &Analysis, mut w: W) -> io::Result<()> {
    writeln!(w, "{TIMESERIES_HEADER}")?;
    let mut line = String::new();
    for f in &a.timeseries {
        line.clear();
        let _ = write!(
            line,
            "{},{},{},{:.3},{},{:.3},{},{:.3},{},{},{:.3},{},{:.3},{},{},{:.3}",
            f.start_ns,
            f.duration_ns,
            f.total.count,
            f.offered_per_sec,
            f.ok.count,
            f.ok.per_sec,
            f.goodput.count,
            f.goodput.per_sec,
            f.slo_violations.count,
            f.dropped.count,
            f.dropped.per_sec,
            f.errors.count,
            f.errors.per_sec,
            f.skipped.count,
            f.responses.count,
            f.throughput_per_sec,
        );
        let l = f.latency.as_ref();
        for get in [
            |p: &Percentiles| p.min_us,
            |p: &Percentiles| p.p50_us,
            |p: &Percentiles| p.p75_us,
            |p: &Percentiles| p.p90_us,
            |p: &Percentiles| p.p95_us,
            |p: &Percentiles| p.p99_us,
            |p: &Percentiles| p.p999_us,
            |p: &Percentiles| p.max_us,
        ] {
            cell(&mut line, l.map(get));
        }
        let g = f.lag.as_ref();
        cell(&mut line, g.map(|p| p.p50_us));
        cell(&mut line, g.map(|p| p.p99_us));
        cell(&mut line, g.map(|p| p.max_us));
        let kinds: Vec<String> = f
            .error_kinds
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect();
        // Kinds come from the CSV's error column, which holds no commas.
        let _ = writeln!(line, ",{},{}", f.max_in_flight, kinds.join(";"));
        w.write_all(line.as_bytes())?;
    }
    w.flush()
}

fn cell(line: &mut String, v: Option<f64>) {
    match v {
        Some(v) => {
            let _ = write!(line, ",{v:.3}");
        }
        None => line.push(','),
    }
}

/// A rate with one decimal and thousands separators.
fn rate(per_sec: f64) -> String {
    let tenths = (per_sec * 10.0).round().max(0.0) as u64;
    format!("{}.{}", group(tenths / 10), tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rate(19_950.24), "19,950.2");
    }
}
