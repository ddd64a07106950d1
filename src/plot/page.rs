//! The HTML page of `rwg plot`: header, the [`super::tables`], the charts
//! over time (files with per-request rows), the load–latency curve (files
//! with several steady phases) and the distribution chart (every file), with their legends and inline CSS only.
//!
//! COLD. The charts come from [`super::charts`], drawn by [`super::svg`];
//! numbers are formatted by [`super::fmt`].

use std::fmt::Write as _;

use super::charts::{
    distribution_chart, errors_chart, lag_chart, latency_chart, throughput_chart,
    TITLE_DISTRIBUTION, TITLE_ERRORS, TITLE_LAG, TITLE_LATENCY, TITLE_THROUGHPUT,
};
use super::fmt::fmt_us;
use super::svg::{esc, Dash};
use super::{load, tables, Curve, Series, Summary};
use crate::report::foreign::Tool;

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#1d232b;margin:24px auto;max-width:1100px;padding:0 16px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 4px}\
.sub{color:#5b6570;margin:0 0 16px}.warn{color:#9a5b00}\
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}\
th,td{padding:4px 7px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}\
th{background:#f3f5f7;font-weight:600;white-space:normal;vertical-align:bottom}td.l,th.l{text-align:left}.scroll{overflow-x:auto}\
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:6px}\
.legend{margin:2px 0 6px;color:#333}.legend span{margin-right:18px;white-space:nowrap}\
.legend svg{vertical-align:middle;margin-right:4px}\
figure{margin:0}figcaption{color:#5b6570;font-size:12px;margin-top:2px}\
figure>svg{width:100%;height:auto}footer{color:#8a939c;font-size:12px;margin-top:28px}";

/// The whole page.
pub(super) fn render(
    series: &[Series],
    summaries: &[Summary],
    interval_ns: u64,
    slo_ns: Option<u64>,
    warnings: &[String],
) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let legend: Vec<(&'static str, &str)> = series
        .iter()
        .map(|x| (x.colour, x.label.as_str()))
        .chain(summaries.iter().map(|x| (x.colour, x.label.as_str())))
        .collect();
    let names: Vec<&str> = legend.iter().map(|l| l.1).collect();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>rwg plot: {}</title><style>{CSS}</style></head><body>\n",
        esc(&names.join(", "))
    );
    let files = if legend.len() == 1 { "file" } else { "files" };
    let mut sub = format!("{} {files}", legend.len());
    if !series.is_empty() {
        let _ = write!(
            sub,
            " · interval {} · time axes in seconds since each file's first planned request",
            fmt_us(interval_ns as f64 / 1e3)
        );
    }
    if let Some(slo) = slo_ns {
        let _ = write!(sub, " · SLO {}", fmt_us(slo as f64 / 1e3));
    }
    let _ = writeln!(
        s,
        "<h1>rwg load test report</h1><p class=\"sub\">{}</p>",
        esc(&sub)
    );
    for w in warnings {
        let _ = writeln!(s, "<p class=\"warn\">warning: {}</p>", esc(w));
    }
    tools_note(&mut s, series, summaries);
    if !series.is_empty() {
        tables::summary_table(&mut s, series, slo_ns);
        tables::targets_table(&mut s, series);
        tables::settings_table(&mut s, series);
    }
    tables::summaries_table(&mut s, summaries);
    if !series.is_empty() {
        time_charts(&mut s, series, slo_ns);
    }
    if load::has_curve(series) {
        let legend: Vec<(&'static str, &str)> = series
            .iter()
            .map(|x| (x.colour, x.label.as_str()))
            .collect();
        section(
            &mut s,
            load::TITLE_LOAD,
            &legend,
            &[(Dash::Solid, "p50"), (Dash::Dashed, "p99")],
            &load::load_chart(series).render(),
            "One point per steady phase (a measured step of rwg search; warm-ups left out): \
             the responses/s it achieved against its p50 and p99 over all arrivals, joined \
             in order of planned rate. Bars: 95 % confidence intervals. Where the curve \
             turns up, or bends back (achieved below planned), the target has passed its \
             capacity.",
        );
    }
    let mut caption = String::from(
        "Whole run, answered requests, from a full latency histogram (3 significant digits); \
         the line ends at the maximum. Bars: 95 % confidence intervals of p50 … p99.9 \
         (order statistics).",
    );
    if !summaries.is_empty() {
        caption.push_str(
            " A percentile summary's line joins the rows its tool printed; its intervals \
             are those of a histogram rebuilt from them.",
        );
    }
    section(
        &mut s,
        TITLE_DISTRIBUTION,
        &legend,
        &[],
        &distribution_chart(&Curve::all(series, summaries), slo_ns).render(),
        &caption,
    );
    let _ = writeln!(
        s,
        "<footer>rwg {} plot · self-contained: no scripts, no network</footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

/// The charts over time, of the files with per-request rows.
fn time_charts(s: &mut String, series: &[Series], slo_ns: Option<u64>) {
    let legend: Vec<(&'static str, &str)> = series
        .iter()
        .map(|x| (x.colour, x.label.as_str()))
        .collect();
    let good = if slo_ns.is_some() {
        "goodput (ok ≤ SLO)"
    } else {
        "ok"
    };
    let charts = [
        (
            TITLE_LATENCY,
            [
                (Dash::Solid, "p50"),
                (Dash::Dashed, "p99"),
                (Dash::Dotted, "max"),
            ],
            latency_chart(series, slo_ns),
            "Latency = response done − intended send instant, per interval (log scale).",
        ),
        (
            TITLE_THROUGHPUT,
            [
                (Dash::Band, "offered"),
                (Dash::Solid, "achieved (responses)"),
                (Dash::Dotted, good),
            ],
            throughput_chart(series),
            "Offered (the wide pale band) = scheduled arrivals/s; achieved = responses/s: \
             a line inside the band kept up. Vertical lines: phase starts, with the planned \
             rate where the run's settings file is there, else the offered rate measured.",
        ),
        (
            TITLE_LAG,
            [
                (Dash::Solid, "p50"),
                (Dash::Dashed, "p99"),
                (Dash::Dotted, "max"),
            ],
            lag_chart(series),
            "Send lag = actual send − intended send instant, per interval: how late the \
             generator sent (the latency above includes it).",
        ),
        (
            TITLE_ERRORS,
            [
                (Dash::Solid, "errors"),
                (Dash::Dashed, "dropped (503)"),
                (Dash::Dotted, "skipped"),
            ],
            errors_chart(series),
            "Dropped = the server shed load (HTTP 503 / gRPC 8); skipped = no free worker.",
        ),
    ];
    for (title, styles, chart, caption) in &charts {
        section(s, title, &legend, styles, &chart.render(), caption);
    }
}

/// One chart with its legend: a swatch per file, a stroke per metric.
fn section(
    s: &mut String,
    title: &str,
    legend: &[(&'static str, &str)],
    styles: &[(Dash, &str)],
    svg: &str,
    caption: &str,
) {
    let _ = write!(s, "<section><h2>{}</h2><div class=\"legend\">", esc(title));
    for (colour, label) in legend {
        let _ = write!(
            s,
            "<span><i class=\"sw\" style=\"background:{colour}\"></i>{}</span>",
            esc(label)
        );
    }
    for (dash, label) in styles {
        let _ = write!(
            s,
            "<span><svg width=\"30\" height=\"10\"><line x1=\"1\" y1=\"5\" x2=\"29\" y2=\"5\" stroke=\"#444\" {}/></svg>{}</span>",
            dash.attrs(),
            esc(label)
        );
    }
    let _ = writeln!(
        s,
        "</div><figure>{svg}<figcaption>{}</figcaption></figure></section>",
        esc(caption)
    );
}

/// When the files come from several tools (or another tool), what each
/// one's latency is timed from: the charts put them side by side.
fn tools_note(s: &mut String, series: &[Series], summaries: &[Summary]) {
    let mut tools: Vec<Tool> = series
        .iter()
        .map(|x| x.tool)
        .chain(summaries.iter().map(|x| x.analysis.tool))
        .collect();
    tools.dedup();
    if tools.iter().all(|&t| t == Tool::Rwg) {
        return;
    }
    tools.sort_by_key(|t| t.name());
    tools.dedup();
    for t in tools {
        let _ = writeln!(
            s,
            "<p class=\"sub\">{}: latency timed {}.</p>",
            esc(t.name()),
            esc(t.latency_meaning())
        );
    }
}
