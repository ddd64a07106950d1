//! The load–latency chart: one point per steady phase (a measured step of
//! `rwg search`, or a phase of a run at several rates), its achieved rate
//! against its p50 and p99 over all arrivals, with 95 % interval whiskers.
//! Warm-ups, which the settings file names, are left out; so are ramps and
//! closed-loop phases, which have no one rate.
//!
//! COLD.

use super::fmt::{fmt_rate, fmt_us};
use super::svg::{linear_axis, log_axis, Chart, Dash, Line};
use super::Series;

pub(super) const TITLE_LOAD: &str = "Load–latency curve";

/// One steady phase on the curve.
struct LoadPoint {
    /// The planned rate (the offered one measured, without a settings
    /// file): the order the curve joins its points in.
    rate_per_sec: f64,
    achieved_per_sec: f64,
    p50: Option<Estimate>,
    p99: Option<Estimate>,
}

/// (percentile, 95 % interval low, high), µs.
type Estimate = (f64, f64, f64);

/// One of a point's percentiles.
type Pick = fn(&LoadPoint) -> Option<Estimate>;

impl Series {
    /// The curve's points, by rate.
    fn load_points(&self) -> Vec<LoadPoint> {
        let mut v: Vec<LoadPoint> = self
            .analysis
            .phases
            .iter()
            .filter_map(|p| {
                let f = &p.figures;
                let rate_per_sec = match &self.settings {
                    Some(s) => {
                        let planned = s.phases.get(p.phase as usize)?;
                        let steady = planned.from_per_sec == planned.to_per_sec
                            && planned.from_per_sec > 0.0;
                        if planned.warmup || !steady {
                            return None;
                        }
                        planned.from_per_sec
                    }
                    None => f.offered_per_sec,
                };
                let pick = |q: f64| {
                    let e = f.latency_all.as_ref()?.find(q)?;
                    let us = e.us?;
                    Some((
                        us,
                        e.ci95_low_us.unwrap_or(us),
                        e.ci95_high_us.unwrap_or(us),
                    ))
                };
                Some(LoadPoint {
                    rate_per_sec,
                    achieved_per_sec: f.throughput_per_sec,
                    p50: pick(0.5),
                    p99: pick(0.99),
                })
            })
            .collect();
        v.sort_by(|a, b| a.rate_per_sec.total_cmp(&b.rate_per_sec));
        v
    }
}

/// Whether any file has a curve to draw (two steady phases or more).
pub(super) fn has_curve(series: &[Series]) -> bool {
    series.iter().any(|x| x.load_points().len() >= 2)
}

/// p50 (solid) and p99 (dashed) against the achieved rate, per file.
pub(super) fn load_chart(series: &[Series]) -> Chart {
    let curves: Vec<(&Series, Vec<LoadPoint>)> = series
        .iter()
        .map(|x| (x, x.load_points()))
        .filter(|(_, points)| points.len() >= 2)
        .collect();
    let bars = || {
        curves
            .iter()
            .flat_map(|(_, points)| points.iter().flat_map(|p| [p.p50, p.p99]).flatten())
    };
    let lo = bars().map(|b| b.1).fold(f64::INFINITY, f64::min);
    let hi = bars().map(|b| b.2).fold(0.0, f64::max);
    let x_hi = curves
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.achieved_per_sec))
        .fold(0.0, f64::max);
    let mut lines = Vec::new();
    for (x, points) in &curves {
        let metrics: [(Dash, Pick); 2] = [(Dash::Solid, |p| p.p50), (Dash::Dashed, |p| p.p99)];
        for (dash, of) in metrics {
            let at = |p: &LoadPoint| of(p).map(|v| (p.achieved_per_sec, v));
            lines.push(Line {
                points: points
                    .iter()
                    .map(|p| at(p).map(|(r, v)| (r, v.0)))
                    .collect(),
                colour: x.colour,
                dash,
                dots: points
                    .iter()
                    .filter_map(|p| at(p).map(|(r, v)| (r, v.0)))
                    .collect(),
                whiskers: points
                    .iter()
                    .filter_map(at)
                    .map(|(r, v)| (r, v.1, v.2))
                    .collect(),
            });
        }
    }
    Chart {
        title: TITLE_LOAD.into(),
        x: linear_axis(0.0, x_hi * 1.05, false, "achieved (responses/s)", fmt_rate),
        y: log_axis(lo, hi, "latency over all arrivals (log scale)", fmt_us),
        lines,
        x_markers: Vec::new(),
        y_markers: Vec::new(),
        note: bars().next().is_none().then(|| "no answered phases".into()),
    }
}
