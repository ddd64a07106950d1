//! The four charts of `rwg plot`, built from the series: latency over
//! time, offered vs achieved throughput (phase starts marked), errors /
//! dropped / skipped over time, and the latency percentile distribution.
//!
//! COLD. Each function returns an [`svg::Chart`](super::svg::Chart); one
//! colour per file, one line style per metric (the page draws the legend).

use super::fmt::{fmt_rate, fmt_us, num};
use super::svg::{linear_axis, log_axis, Axis, Chart, Dash, Line, Marker};
use super::{Curve, Percentiles, Point, Series, MAX_NINES};

pub(super) const TITLE_LATENCY: &str = "Latency over time";
pub(super) const TITLE_THROUGHPUT: &str = "Throughput: offered vs achieved";
pub(super) const TITLE_ERRORS: &str = "Errors and dropped over time";
pub(super) const TITLE_LAG: &str = "Send lag over time";
pub(super) const TITLE_DISTRIBUTION: &str = "Latency percentile distribution";

const SLO_COLOUR: &str = "#c0392b";

/// One latency percentile of an interval.
pub(super) type Pick = fn(&Percentiles) -> f64;

fn time_axis(series: &[Series]) -> Axis {
    let end_s = series.iter().map(Series::span_s).fold(0.0, f64::max);
    linear_axis(0.0, end_s, true, "time since start (s)", num)
}

/// Phase starts of every file, in its colour, labelled with the planned
/// (else the offered) rate.
fn phase_markers(series: &[Series], labels: bool) -> Vec<Marker> {
    let mut v = Vec::new();
    for (row, x) in series.iter().enumerate() {
        let phases = x.phase_starts();
        if phases.len() < 2 && !labels {
            continue;
        }
        for (t_s, phase, offered) in phases {
            v.push(Marker {
                at: t_s,
                label: if labels {
                    format!("phase {phase}: {}", x.phase_rate_text(phase, offered))
                } else {
                    String::new()
                },
                colour: x.colour,
                row,
            });
        }
    }
    v
}

/// p50 (solid), p99 (dashed) and max (dotted) over time, per file, of the
/// per-interval percentiles `of` picks.
fn percentile_lines(series: &[Series], of: fn(&Point) -> Option<Percentiles>) -> Vec<Line> {
    let mut lines = Vec::new();
    for x in series {
        let metrics: [(Dash, Pick); 3] = [
            (Dash::Solid, |l| l.p50_us),
            (Dash::Dashed, |l| l.p99_us),
            (Dash::Dotted, |l| l.max_us),
        ];
        for (dash, f) in metrics {
            lines.push(Line {
                points: x
                    .points
                    .iter()
                    .map(|p| of(p).map(|l| (p.t_s, f(&l))))
                    .collect(),
                colour: x.colour,
                dash,
                dots: Vec::new(),
                whiskers: Vec::new(),
            });
        }
    }
    lines
}

pub(super) fn latency_chart(series: &[Series], slo_ns: Option<u64>) -> Chart {
    let all = || {
        series
            .iter()
            .flat_map(|x| x.points.iter().filter_map(|p| p.latency))
    };
    let lo = all().map(|l| l.p50_us).fold(f64::INFINITY, f64::min);
    let mut hi = all().map(|l| l.max_us).fold(0.0, f64::max);
    let slo_us = slo_ns.map(|ns| ns as f64 / 1e3);
    hi = hi.max(slo_us.unwrap_or(0.0));
    Chart {
        title: TITLE_LATENCY.into(),
        x: time_axis(series),
        y: log_axis(lo, hi, "latency (log scale)", fmt_us),
        lines: percentile_lines(series, |p| p.latency),
        x_markers: phase_markers(series, false),
        y_markers: slo_marker(slo_us),
        note: all().next().is_none().then(|| "no responses".into()),
    }
}

/// Send lag (sent − intended) over time: how late the generator sent. A
/// linear axis from 0, where a punctual generator's lines lie.
pub(super) fn lag_chart(series: &[Series]) -> Chart {
    let all = || {
        series
            .iter()
            .flat_map(|x| x.points.iter().filter_map(|p| p.lag))
    };
    let hi = all().map(|l| l.max_us).fold(0.0, f64::max);
    Chart {
        title: TITLE_LAG.into(),
        x: time_axis(series),
        y: linear_axis(0.0, (hi * 1.1).max(1.0), false, "send lag", fmt_us),
        lines: percentile_lines(series, |p| p.lag),
        x_markers: phase_markers(series, false),
        y_markers: Vec::new(),
        note: all()
            .next()
            .is_none()
            .then(|| "no send lag recorded (another tool's files hold none)".into()),
    }
}

fn slo_marker(slo_us: Option<f64>) -> Vec<Marker> {
    slo_us
        .map(|us| Marker {
            at: us,
            label: format!("SLO {}", fmt_us(us)),
            colour: SLO_COLOUR,
            row: 0,
        })
        .into_iter()
        .collect()
}

type Metric = fn(&Point) -> f64;

/// A per-second chart over time: one line per (series, metric).
fn rate_chart(
    series: &[Series],
    title: &str,
    y_label: &str,
    metrics: [(Dash, Metric); 3],
) -> Chart {
    let mut lines = Vec::new();
    let mut hi: f64 = 0.0;
    for x in series {
        for (dash, f) in metrics {
            let points: Vec<_> = x.points.iter().map(|p| Some((p.t_s, f(p)))).collect();
            hi = points.iter().flatten().map(|p| p.1).fold(hi, f64::max);
            lines.push(Line {
                points,
                colour: x.colour,
                dash,
                dots: Vec::new(),
                whiskers: Vec::new(),
            });
        }
    }
    Chart {
        title: title.into(),
        x: time_axis(series),
        y: linear_axis(0.0, hi * 1.2, false, y_label, fmt_rate),
        lines,
        x_markers: Vec::new(),
        y_markers: Vec::new(),
        note: None,
    }
}

pub(super) fn throughput_chart(series: &[Series]) -> Chart {
    let mut c = rate_chart(
        series,
        TITLE_THROUGHPUT,
        "requests per second (req/s)",
        // The offered band first, under the lines: where achieved equals
        // offered, the band still shows around the achieved line.
        [
            (Dash::Band, |p| p.offered_per_sec),
            (Dash::Solid, |p| p.achieved_per_sec),
            (Dash::Dotted, |p| p.good_per_sec),
        ],
    );
    c.x_markers = phase_markers(series, true);
    c
}

pub(super) fn errors_chart(series: &[Series]) -> Chart {
    let mut c = rate_chart(
        series,
        TITLE_ERRORS,
        "requests per second (req/s)",
        [
            (Dash::Solid, |p| p.errors_per_sec),
            (Dash::Dashed, |p| p.dropped_per_sec),
            (Dash::Dotted, |p| p.skipped_per_sec),
        ],
    );
    let o = |x: &Series| {
        let o = &x.analysis.overall;
        o.errors.count + o.dropped.count + o.skipped.count
    };
    if series.iter().map(o).sum::<u64>() == 0 {
        c.note = Some("no errors, dropped or skipped requests".into());
    }
    c.x_markers = phase_markers(series, false);
    c
}

/// Percentiles marked with a dot and an x tick: (p %, −log₁₀(1 − p)).
const MARKED: [(&str, f64); 7] = [
    ("0", 0.0),
    ("50", std::f64::consts::LOG10_2),
    ("90", 1.0),
    ("99", 2.0),
    ("99.9", 3.0),
    ("99.99", 4.0),
    ("99.999", 5.0),
];

pub(super) fn distribution_chart(curves: &[Curve<'_>], slo_ns: Option<u64>) -> Chart {
    let all = || curves.iter().flat_map(|x| x.points.iter());
    let bars = || curves.iter().flat_map(|x| x.whiskers.iter());
    let lo = all()
        .map(|p| p.1)
        .chain(bars().map(|w| w.1))
        .fold(f64::INFINITY, f64::min);
    let slo_us = slo_ns.map(|ns| ns as f64 / 1e3);
    let hi = all()
        .map(|p| p.1)
        .chain(bars().map(|w| w.2))
        .fold(slo_us.unwrap_or(0.0), f64::max);
    let nines = all().map(|p| p.0).fold(2.0, f64::max).ceil().min(MAX_NINES);
    let mut ticks: Vec<(f64, String)> = MARKED
        .iter()
        .filter(|m| m.1 <= nines)
        .map(|(l, x)| (*x, l.to_string()))
        .collect();
    if nines > 5.0 {
        ticks.push((6.0, "99.9999".into()));
    }
    let lines = curves
        .iter()
        .map(|x| {
            let at = |nx: f64| x.points.iter().find(|p| p.0 >= nx - 1e-9).copied();
            let mut dots: Vec<_> = MARKED.iter().filter_map(|m| at(m.1)).collect();
            dots.extend(x.points.last().copied());
            Line {
                points: x.points.iter().map(|p| Some(*p)).collect(),
                colour: x.colour,
                dash: Dash::Solid,
                dots,
                whiskers: x.whiskers.clone(),
            }
        })
        .collect();
    Chart {
        title: TITLE_DISTRIBUTION.into(),
        x: Axis {
            lo: 0.0,
            hi: nines,
            log: false,
            ticks,
            label: "percentile (%), spaced as −log₁₀(1 − p)".into(),
        },
        y: log_axis(lo, hi, "latency (log scale)", fmt_us),
        lines,
        x_markers: Vec::new(),
        y_markers: slo_marker(slo_us),
        note: all().next().is_none().then(|| "no responses".into()),
    }
}
