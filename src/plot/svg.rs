//! A tiny SVG line-chart renderer for `rwg plot`: linear or log₁₀ axes, tick
//! labels, polylines with gaps, vertical (phase) and horizontal (SLO) markers.
//!
//! COLD. Output is plain SVG markup with inline attributes only (no scripts,
//! no external references), so the page it lands in stays self-contained.

use std::fmt::Write as _;

/// Width and height of every chart, in SVG user units (≈ CSS px).
pub(super) const WIDTH_PX: f64 = 960.0;
pub(super) const HEIGHT_PX: f64 = 330.0;
const LEFT_PX: f64 = 78.0;
const RIGHT_PX: f64 = 18.0;
const TOP_PX: f64 = 14.0;
const BOTTOM_PX: f64 = 50.0;
/// Lines with at most this many points also get a dot per point.
const DOTS_UP_TO: usize = 60;

/// How a line is stroked; each metric of a chart gets its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dash {
    Solid,
    Dashed,
    Dotted,
    /// A wide translucent stroke: a line drawn on it stays visible, and
    /// where both coincide the band shows around it (offered vs achieved).
    Band,
}

impl Dash {
    /// The SVG stroke attributes (dash pattern, width) of this style.
    pub(super) fn attrs(self) -> &'static str {
        match self {
            Dash::Solid => r#"stroke-width="2""#,
            Dash::Dashed => r#"stroke-width="1.6" stroke-dasharray="7 4""#,
            Dash::Dotted => {
                r#"stroke-width="1.8" stroke-dasharray="1.5 3.5" stroke-linecap="round""#
            }
            Dash::Band => r#"stroke-width="8" stroke-opacity="0.25" stroke-linejoin="round""#,
        }
    }
}

/// One polyline; `None` points break it (an interval with no data).
pub(super) struct Line {
    pub points: Vec<Option<(f64, f64)>>,
    pub colour: &'static str,
    pub dash: Dash,
    /// Dots at these data points regardless of the point count.
    pub dots: Vec<(f64, f64)>,
    /// Vertical bars `(x, y_low, y_high)`: 95 % confidence intervals.
    pub whiskers: Vec<(f64, f64, f64)>,
}

/// A labelled marker across the plot: vertical at an x value (phase start)
/// or horizontal at a y value (SLO).
pub(super) struct Marker {
    pub at: f64,
    pub label: String,
    pub colour: &'static str,
    /// Label row (0 = top), so several files' markers do not overlap.
    pub row: usize,
}

/// An axis: data range, scale and tick labels (value, text).
pub(super) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    pub ticks: Vec<(f64, String)>,
    pub label: String,
}

impl Axis {
    /// Position of `v` in [0, 1] along the axis.
    fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.max(f64::MIN_POSITIVE).log10() - self.lo.log10())
                / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if f.is_finite() {
            f
        } else {
            0.0
        }
    }
}

pub(super) struct Chart {
    /// Accessible name of the SVG.
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub lines: Vec<Line>,
    pub x_markers: Vec<Marker>,
    pub y_markers: Vec<Marker>,
    /// Shown in the middle of the plot (e.g. "no errors").
    pub note: Option<String>,
}

impl Chart {
    fn px_x(&self, v: f64) -> f64 {
        LEFT_PX + self.x.frac(v).clamp(-0.01, 1.01) * (WIDTH_PX - LEFT_PX - RIGHT_PX)
    }

    fn px_y(&self, v: f64) -> f64 {
        let f = self.y.frac(v).clamp(-0.01, 1.01);
        HEIGHT_PX - BOTTOM_PX - f * (HEIGHT_PX - TOP_PX - BOTTOM_PX)
    }

    /// The chart as one `<svg>` element.
    pub(super) fn render(&self) -> String {
        let mut s = String::with_capacity(16 * 1024);
        let (w, h) = (WIDTH_PX, HEIGHT_PX);
        let _ = write!(
            s,
            r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{}" font-family="system-ui, sans-serif" font-size="12">"#,
            esc(&self.title)
        );
        let (x0, x1) = (LEFT_PX, w - RIGHT_PX);
        let (y0, y1) = (h - BOTTOM_PX, TOP_PX);
        let _ = write!(
            s,
            r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="#fcfcfd" stroke="#c8ccd2"/>"##,
            x1 - x0,
            y0 - y1
        );
        for (v, label) in &self.y.ticks {
            let y = r1(self.px_y(*v));
            let _ = write!(
                s,
                r##"<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="#e6e8eb"/><text x="{}" y="{}" text-anchor="end" fill="#444">{}</text>"##,
                x0 - 6.0,
                y + 4.0,
                esc(label)
            );
        }
        for (v, label) in &self.x.ticks {
            let x = r1(self.px_x(*v));
            let _ = write!(
                s,
                r##"<line x1="{x}" x2="{x}" y1="{y1}" y2="{y0}" stroke="#eef0f2"/><text x="{x}" y="{}" text-anchor="middle" fill="#444">{}</text>"##,
                y0 + 16.0,
                esc(label)
            );
        }
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#222">{}</text>"##,
            (x0 + x1) / 2.0,
            h - 10.0,
            esc(&self.x.label)
        );
        let _ = write!(
            s,
            r##"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle" fill="#222">{}</text>"##,
            (y0 + y1) / 2.0,
            esc(&self.y.label)
        );
        for m in &self.y_markers {
            let y = r1(self.px_y(m.at));
            let _ = write!(
                s,
                r#"<line x1="{x0}" x2="{x1}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="1.2" stroke-dasharray="4 3"/><text x="{}" y="{}" text-anchor="end" fill="{c}">{}</text>"#,
                x1 - 4.0,
                y - 4.0,
                esc(&m.label),
                c = m.colour
            );
        }
        for m in &self.x_markers {
            let x = r1(self.px_x(m.at));
            let _ = write!(
                s,
                r#"<line x1="{x}" x2="{x}" y1="{y1}" y2="{y0}" stroke="{c}" stroke-opacity="0.55" stroke-width="1.2" stroke-dasharray="3 3"/><text x="{}" y="{}" fill="{c}" font-size="11">{}</text>"#,
                x + 4.0,
                y1 + 13.0 + 13.0 * m.row as f64,
                esc(&m.label),
                c = m.colour
            );
        }
        for line in &self.lines {
            self.render_line(&mut s, line);
        }
        if let Some(note) = &self.note {
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" text-anchor="middle" fill="#888" font-size="14">{}</text>"##,
                (x0 + x1) / 2.0,
                (y0 + y1) / 2.0,
                esc(note)
            );
        }
        s.push_str("</svg>");
        s
    }

    fn render_line(&self, s: &mut String, line: &Line) {
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut run = Vec::new();
        for p in &line.points {
            match p {
                Some((x, y)) => run.push((r1(self.px_x(*x)), r1(self.px_y(*y)))),
                None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                None => {}
            }
        }
        runs.push(run);
        for run in runs.iter().filter(|r| !r.is_empty()) {
            if run.len() == 1 {
                let (x, y) = run[0];
                let _ = write!(
                    s,
                    r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{}"/>"#,
                    line.colour
                );
                continue;
            }
            let _ = write!(s, r#"<polyline fill="none" stroke="{}" "#, line.colour);
            s.push_str(line.dash.attrs());
            s.push_str(r#" stroke-linejoin="round" points=""#);
            for (x, y) in run {
                let _ = write!(s, "{x},{y} ");
            }
            s.push_str(r#""/>"#);
        }
        let few = line.dash != Dash::Band && line.points.iter().flatten().count() <= DOTS_UP_TO;
        let dots = line
            .dots
            .iter()
            .chain(line.points.iter().flatten().filter(|_| few));
        for (x, y) in dots {
            let _ = write!(
                s,
                r#"<circle cx="{}" cy="{}" r="2.4" fill="{}"/>"#,
                r1(self.px_x(*x)),
                r1(self.px_y(*y)),
                line.colour
            );
        }
        for &(x, lo, hi) in &line.whiskers {
            let (x, lo, hi) = (r1(self.px_x(x)), r1(self.px_y(lo)), r1(self.px_y(hi)));
            let _ = write!(
                s,
                r#"<path class="ci" fill="none" stroke-width="1.3" stroke="{}" d="M{x},{lo}V{hi}M{},{lo}h6M{},{hi}h6"/>"#,
                line.colour,
                x - 3.0,
                x - 3.0
            );
        }
    }
}

/// Rounded to 0.1 user unit: plenty for a screen, and a third of the bytes.
fn r1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Escapes text for HTML/SVG content and double-quoted attributes.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A linear axis over [lo, hi] with 1-2-5 ticks labelled by `fmt`; unless
/// `tight`, its ends are widened to the ticks around them.
pub(super) fn linear_axis(
    lo: f64,
    hi: f64,
    tight: bool,
    label: &str,
    fmt: fn(f64) -> String,
) -> Axis {
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let step = nice_step((hi - lo) / 6.0);
    // The slack keeps float noise (2.0000001) from adding a whole step.
    let tick_hi = (hi / step - 1e-6).ceil() * step;
    let tick_lo = (lo / step + 1e-6).floor() * step;
    let n = ((tick_hi - tick_lo) / step).round() as usize;
    let (lo, hi) = if tight { (lo, hi) } else { (tick_lo, tick_hi) };
    let ticks = (0..=n)
        .map(|i| tick_lo + i as f64 * step)
        .filter(|v| *v >= lo - step * 1e-6 && *v <= hi + step * 1e-6)
        .map(|v| (v, fmt(v)))
        .collect();
    Axis {
        lo,
        hi,
        log: false,
        ticks,
        label: label.into(),
    }
}

/// The smallest 1, 2 or 5 × 10^k at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * mag)
}

/// A log₁₀ axis covering [lo, hi] (both > 0) widened to whole decades, with
/// ticks at each decade (and at 2 and 5 × when it spans few decades).
pub(super) fn log_axis(lo: f64, hi: f64, label: &str, fmt: fn(f64) -> String) -> Axis {
    let lo = if lo > 0.0 && lo.is_finite() { lo } else { 1.0 };
    let hi = if hi > lo { hi } else { lo * 10.0 };
    let d_lo = lo.log10().floor() as i32;
    let d_hi = (hi.log10().ceil() as i32).max(d_lo + 1);
    let fine = d_hi - d_lo <= 3;
    let mut ticks = Vec::new();
    for d in d_lo..=d_hi {
        let base = 10f64.powi(d);
        for m in [1.0, 2.0, 5.0] {
            let v = m * base;
            if (m == 1.0 || fine) && v <= 10f64.powi(d_hi) * 1.0001 {
                ticks.push((v, fmt(v)));
            }
        }
    }
    Axis {
        lo: 10f64.powi(d_lo),
        hi: 10f64.powi(d_hi),
        log: true,
        ticks,
        label: label.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_axes() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(42.0), 50.0);
        let a = linear_axis(0.0, 310.0, false, "rate", |v| format!("{v}"));
        assert_eq!((a.lo, a.hi), (0.0, 400.0));
        assert_eq!(a.ticks.len(), 5);
        let t = linear_axis(0.0, 6.3, true, "s", |v| format!("{v}"));
        assert_eq!((t.lo, t.hi, t.ticks.len()), (0.0, 6.3, 4));
        let l = log_axis(120.0, 45_000.0, "lat", |v| format!("{v}"));
        assert_eq!((l.lo, l.hi), (100.0, 100_000.0));
        assert_eq!(l.ticks.first().map(|t| t.0), Some(100.0));
        assert_eq!(l.ticks.last().map(|t| t.0), Some(100_000.0));
        assert!((l.frac(10_000.0) - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
