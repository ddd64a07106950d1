//! The HTML page of `rwg plot`: header, summary table, the table by target
//! (runs of several targets), the four charts and their legends, with
//! inline CSS only.
//!
//! COLD. The charts come from [`super::charts`], drawn by [`super::svg`];
//! numbers are formatted by [`super::fmt`].

use std::fmt::Write as _;

use super::charts::{
    distribution_chart, errors_chart, latency_chart, throughput_chart, Pick, TITLE_DISTRIBUTION,
    TITLE_ERRORS, TITLE_LATENCY, TITLE_THROUGHPUT,
};
use super::fmt::{fmt_rate, fmt_us, group, utc};
use super::svg::{esc, Dash};
use super::Series;
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
    interval_ns: u64,
    slo_ns: Option<u64>,
    warnings: &[String],
) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let names: Vec<&str> = series.iter().map(|x| x.label.as_str()).collect();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>rwg plot: {}</title><style>{CSS}</style></head><body>\n",
        esc(&names.join(", "))
    );
    let files = if series.len() == 1 { "file" } else { "files" };
    let mut sub = format!(
        "{} {files} · interval {} · time axes in seconds since each file's first planned request",
        series.len(),
        fmt_us(interval_ns as f64 / 1e3)
    );
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
    tools_note(&mut s, series);
    summary_table(&mut s, series, slo_ns);
    targets_table(&mut s, series);
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
                (Dash::Dashed, "offered"),
                (Dash::Solid, "achieved (responses)"),
                (Dash::Dotted, good),
            ],
            throughput_chart(series),
            "Offered = scheduled arrivals/s; achieved = responses/s. Vertical lines: phase starts.",
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
        section(&mut s, title, series, styles, &chart.render(), caption);
    }
    section(
        &mut s,
        TITLE_DISTRIBUTION,
        series,
        &[],
        &distribution_chart(series, slo_ns).render(),
        "Whole run, answered requests, from a full latency histogram (3 significant digits); the line ends at the maximum. Bars: 95 % confidence intervals of p50 … p99.9 (order statistics).",
    );
    let _ = writeln!(
        s,
        "<footer>rwg {} plot · self-contained: no scripts, no network</footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

fn section(
    s: &mut String,
    title: &str,
    series: &[Series],
    styles: &[(Dash, &str)],
    svg: &str,
    caption: &str,
) {
    let _ = write!(s, "<section><h2>{}</h2><div class=\"legend\">", esc(title));
    for x in series {
        let _ = write!(
            s,
            "<span><i class=\"sw\" style=\"background:{}\"></i>{}</span>",
            x.colour,
            esc(&x.label)
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

fn summary_table(s: &mut String, series: &[Series], slo_ns: Option<u64>) {
    s.push_str(
        "<div class=\"scroll\"><table><tr><th class=\"l\">file</th><th class=\"l\">start (UTC)</th><th>span</th>\
         <th>total</th><th>ok</th><th>dropped</th><th>errors</th><th>skipped</th>\
         <th>p50</th><th>p99</th><th>max</th><th>offered (req/s)</th><th>achieved (resp/s)</th>",
    );
    if slo_ns.is_some() {
        s.push_str("<th title=\"ok responses at or under the SLO, % of total\">goodput</th>");
    }
    s.push_str("</tr>\n");
    for x in series {
        let o = &x.analysis.overall;
        let lat = |f: Pick| o.latency.as_ref().map_or("-".into(), |l| fmt_us(f(l)));
        let achieved = o
            .achieved_pct()
            .map_or(String::new(), |p| format!(" ({p:.1}%)"));
        let _ = write!(
            s,
            "<tr><td class=\"l\" title=\"{}\"><i class=\"sw\" style=\"background:{}\"></i>{}</td><td class=\"l\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}{achieved}</td>",
            esc(&x.name),
            x.colour,
            esc(&x.label),
            utc(o.start_ns),
            fmt_us(x.span_s() * 1e6),
            group(o.total.count),
            group(o.ok.count),
            group(o.dropped.count),
            group(o.errors.count),
            group(o.skipped.count),
            lat(|l| l.p50_us),
            lat(|l| l.p99_us),
            lat(|l| l.max_us),
            fmt_rate(x.per_sec(o.total.count)),
            fmt_rate(x.per_sec(o.responses.count)),
        );
        if slo_ns.is_some() {
            let pct = crate::report::figures::pct(o.goodput.count, o.total.count);
            let _ = write!(
                s,
                "<td>{}</td>",
                pct.map_or("-".into(), |p| format!("{p:.2}%"))
            );
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table></div>\n");
}

/// One row per file and target, for files whose rows name more than one
/// target (a workload mix, a targets file); nothing otherwise.
fn targets_table(s: &mut String, series: &[Series]) {
    if series.iter().all(|x| x.analysis.targets.len() < 2) {
        return;
    }
    s.push_str(
        "<h2>By target</h2><div class=\"scroll\"><table><tr><th class=\"l\">file</th><th class=\"l\">target</th>\
         <th>total</th><th>% of file</th><th>ok</th><th>dropped</th><th>errors</th><th>skipped</th>\
         <th>p50</th><th>p99</th><th>max</th><th class=\"l\">errors by kind</th></tr>\n",
    );
    for x in series.iter().filter(|x| x.analysis.targets.len() > 1) {
        let all = x.analysis.overall.total.count;
        for t in &x.analysis.targets {
            let f = &t.figures;
            let lat = |p: Pick| f.latency.as_ref().map_or("-".into(), |l| fmt_us(p(l)));
            let share = crate::report::figures::pct(f.total.count, all)
                .map_or("-".into(), |p| format!("{p:.2}%"));
            let kinds: Vec<String> = f
                .error_kinds
                .iter()
                .map(|(k, n)| format!("{k} {}", group(*n)))
                .collect();
            let _ = writeln!(
                s,
                "<tr><td class=\"l\"><i class=\"sw\" style=\"background:{}\"></i>{}</td><td class=\"l\">{}</td>\
                 <td>{}</td><td>{share}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                x.colour,
                esc(&x.label),
                esc(&t.target),
                group(f.total.count),
                group(f.ok.count),
                group(f.dropped.count),
                group(f.errors.count),
                group(f.skipped.count),
                lat(|l| l.p50_us),
                lat(|l| l.p99_us),
                lat(|l| l.max_us),
                esc(&kinds.join(", ")),
            );
        }
    }
    s.push_str("</table></div>\n");
}

/// When the files come from several tools (or another tool), what each
/// one's latency is timed from: the charts put them side by side.
fn tools_note(s: &mut String, series: &[Series]) {
    let mut tools: Vec<Tool> = series.iter().map(|x| x.tool).collect();
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
