//! The tables of `rwg plot`'s page: one row per file (per-request files),
//! one per file and target (files of several targets), one per percentile
//! summary (wrk2), which holds no per-request rows, and the settings each
//! run wrote beside its CSV.
//!
//! COLD. Numbers are formatted by [`super::fmt`].

use std::fmt::Write as _;

use super::charts::Pick;
use super::fmt::{fmt_rate, fmt_us};
use super::svg::esc;
use super::{Series, Summary};
use crate::base::civil::fmt_utc_seconds;
use crate::base::units::group;

pub(super) fn summary_table(s: &mut String, series: &[Series], slo_ns: Option<u64>) {
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
            fmt_utc_seconds(o.start_ns),
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
pub(super) fn targets_table(s: &mut String, series: &[Series]) {
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

/// One row per percentile summary: what the tool printed.
pub(super) fn summaries_table(s: &mut String, summaries: &[Summary]) {
    if summaries.is_empty() {
        return;
    }
    s.push_str(
        "<h2>Percentile summaries</h2><div class=\"scroll\"><table><tr><th class=\"l\">file</th>\
         <th class=\"l\">target</th><th>duration</th><th>requests</th><th>in percentiles</th>\
         <th>errors</th><th>p50</th><th>p99</th><th>max</th><th>achieved (resp/s)</th></tr>\n",
    );
    for x in summaries {
        let a = &x.analysis;
        let p = |q: f64| {
            a.latency
                .find(q)
                .and_then(|e| e.us)
                .map_or("-".into(), fmt_us)
        };
        let _ = writeln!(
            s,
            "<tr><td class=\"l\" title=\"{}\"><i class=\"sw\" style=\"background:{}\"></i>{}</td>\
             <td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.file),
            x.colour,
            esc(&x.label),
            esc(a.run.url.as_deref().unwrap_or("-")),
            a.duration_s().map_or("-".into(), |d| fmt_us(d * 1e6)),
            group(a.requests()),
            group(a.run.histogram_count),
            group(a.errors()),
            p(0.5),
            p(0.99),
            a.latency.max_us.map_or("-".into(), fmt_us),
            a.achieved_per_sec().map_or("-".into(), fmt_rate),
        );
    }
    s.push_str("</table></div>\n");
}

/// What made each file: the run's settings file, where there is one.
pub(super) fn settings_table(s: &mut String, series: &[Series]) {
    if series.iter().all(|x| x.settings.is_none()) {
        return;
    }
    s.push_str(
        "<h2>Settings</h2><div class=\"scroll\"><table><tr><th class=\"l\">file</th>\
         <th class=\"l\">rwg</th><th class=\"l\">started (UTC)</th><th class=\"l\">host</th>\
         <th class=\"l\">phases (rate × duration)</th><th class=\"l\">targets</th>\
         <th class=\"l\">command</th></tr>\n",
    );
    for x in series {
        let _ = write!(
            s,
            "<tr><td class=\"l\"><i class=\"sw\" style=\"background:{}\"></i>{}</td>",
            x.colour,
            esc(&x.label)
        );
        let Some(set) = &x.settings else {
            s.push_str("<td class=\"l\" colspan=\"6\">no settings file beside it</td></tr>\n");
            continue;
        };
        let phases: Vec<String> = set
            .phases
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{i}: {} × {}", p.rate_text(), fmt_us(p.duration_s * 1e6)))
            .collect();
        let _ = writeln!(
            s,
            "<td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td>\
             <td class=\"l\">{}</td><td class=\"l\">{}</td>\
             <td class=\"l\" style=\"white-space:normal\"><code>{}</code></td></tr>",
            esc(&set.rwg_version),
            fmt_utc_seconds(set.started_unix_ms.saturating_mul(1_000_000)),
            esc(&set.host),
            esc(&phases.join(", ")),
            esc(&set.targets.join(" ")),
            esc(&set.command_text()),
        );
    }
    s.push_str("</table></div>\n");
}
