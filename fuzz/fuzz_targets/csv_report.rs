//! `rwg report` over per-request CSVs: `rwg::report::analyze::analyze_bytes`
//! with the default options and with fuzzer-chosen ones (by phase, interval,
//! SLO, warmup, cooldown), then the renderers (`to_text`, the JSON
//! document, `write_timeseries_csv`) and a few `--check`s on the result.
//!
//! Input layout: byte 0 = flags (bit 0: prepend the CSV header to every file,
//! bit 1: by phase, bit 2: interval, bit 3: SLO, bit 4: warmup, bit 5:
//! cooldown), bytes 1..=4 = picks of the interval, SLO, warmup and cooldown
//! from a table of durations, the rest = the files' bytes, split into up to 4
//! files at 0xFF bytes.
//!
//! Checks: the counts add up (overall, per phase, per interval); rows kept <=
//! rows read = rows the scanner visits; percentiles are ordered; the JSON
//! parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::report::analyze::analyze_bytes;
use rwg::report::check::{evaluate_all, parse_checks};
use rwg::report::csv_scan::{scan_bytes, HEADER};
use rwg::report::figures::{Analysis, Figures, Outcome, ReportOptions};
use rwg::report::render::{to_text, write_timeseries_csv};
use rwg::report::schema::Document;

/// Durations (ns) the options pick from.
const DURATIONS: [u64; 16] = [
    0,
    1,
    7,
    999,
    1_000,
    1_000_000,
    250_000_000,
    1_000_000_000,
    60_000_000_000,
    3_600_000_000_000,
    86_400_000_000_000,
    1 << 40,
    1 << 53,
    u64::MAX / 2,
    u64::MAX - 1,
    u64::MAX,
];

const CHECKS: [&str; 12] = [
    "total>0",
    "ok>=1",
    "errors<1%",
    "goodput>99%",
    "achieved>=99.9%",
    "offered>10",
    "throughput<=1000000",
    "p99<50ms",
    "p99.9<=1s",
    "min>0",
    "lag_p50<1ms",
    "lag_max=0",
];

fn check_figures(f: &Figures, what: &str) {
    let total = f.ok.count + f.dropped.count + f.skipped.count + f.errors.count;
    assert_eq!(f.total.count, total, "{what}: total != ok + dropped + skipped + errors");
    assert_eq!(
        f.goodput.count + f.slo_violations.count,
        f.ok.count,
        "{what}: goodput + slo_violations != ok"
    );
    assert!(f.responses.count <= f.total.count, "{what}: responses > total");
    let kinds: u64 = f.error_kinds.values().sum();
    assert_eq!(kinds, f.errors.count, "{what}: error kinds do not add up to errors");
    assert!(f.start_ns <= f.end_ns || f.duration_ns == 0, "{what}: start after end");
    for (name, p) in [("latency", &f.latency), ("lag", &f.lag)] {
        if let Some(p) = p {
            let seq = [
                p.min_us, p.p50_us, p.p75_us, p.p90_us, p.p95_us, p.p99_us, p.p999_us, p.max_us,
            ];
            assert!(
                seq.windows(2).all(|w| w[0] <= w[1]),
                "{what}: {name} percentiles out of order: {seq:?}"
            );
            assert!(p.samples > 0);
        }
    }
    if let Some(p) = &f.latency {
        assert!(p.samples <= f.responses.count, "{what}: more latencies than responses");
    }
    if let Some(p) = &f.lag {
        assert!(p.samples <= f.total.count, "{what}: more lags than rows");
    }
}

fn check_analysis(a: &Analysis, files: &[(&str, &[u8])], opts: &ReportOptions) {
    assert_eq!(a.files.len(), files.len());
    let scanned: u64 = files.iter().map(|(_, d)| scan_bytes(d, |_| {}).rows).sum();
    assert_eq!(a.rows_read, scanned, "rows_read != rows the scanner visits");
    assert!(a.rows_kept <= a.rows_read);
    assert_eq!(a.overall.total.count, a.rows_kept);
    if opts.warmup_ns == 0 && opts.cooldown_ns == 0 {
        assert_eq!(a.rows_kept, a.rows_read, "rows dropped without warmup/cooldown");
    }
    check_figures(&a.overall, "overall");
    if opts.by_phase {
        assert!(a.phases.windows(2).all(|w| w[0].phase < w[1].phase), "phases not sorted");
        let sum: u64 = a.phases.iter().map(|p| p.figures.total.count).sum();
        if a.phases.len() < 4_096 {
            assert_eq!(sum, a.rows_kept, "phase totals != rows kept");
        } else {
            assert!(sum <= a.rows_kept);
        }
        for p in &a.phases {
            check_figures(&p.figures, "phase");
        }
    } else {
        assert!(a.phases.is_empty());
    }
    if opts.interval_ns.is_some() {
        assert!(a.timeseries.len() <= 20_000);
        if !a.timeseries.is_empty() {
            let sum: u64 = a.timeseries.iter().map(|f| f.total.count).sum();
            assert_eq!(sum, a.rows_kept, "interval totals != rows kept");
        }
        for f in &a.timeseries {
            check_figures(f, "interval");
        }
    } else {
        assert!(a.timeseries.is_empty());
    }
}

fn run(files: &[(&str, &[u8])], opts: &ReportOptions) {
    let Ok(Outcome { analysis, diagnostics }) = analyze_bytes(files, opts) else {
        return;
    };
    for d in &diagnostics {
        let _ = d.to_string();
    }
    check_analysis(&analysis, files, opts);
    let _ = to_text(&analysis);
    let mut csv = Vec::new();
    write_timeseries_csv(&analysis, &mut csv).expect("writing to a Vec cannot fail");
    assert_eq!(
        csv.iter().filter(|&&b| b == b'\n').count(),
        analysis.timeseries.len() + 1,
        "one time-series line per interval, plus the header"
    );
    let checks = parse_checks(&CHECKS).expect("the fixed checks parse");
    let results = evaluate_all(&checks, &analysis.overall);
    assert_eq!(results.len(), CHECKS.len());
    let json = Document::of_csv(&analysis, &results, 0).to_json();
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
        panic!("the JSON document is invalid ({e}): {json}");
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 5 {
        return;
    }
    let (head, data) = input.split_at(5);
    let flags = head[0];
    let pick = |b: u8| DURATIONS[(b & 15) as usize];
    let prepend = flags & 1 != 0;

    let mut owned: Vec<Vec<u8>> = Vec::new();
    for part in data.splitn(4, |&b| b == 0xFF) {
        let mut f = Vec::with_capacity(part.len() + HEADER.len() + 1);
        if prepend {
            f.extend_from_slice(HEADER.as_bytes());
            f.push(b'\n');
        }
        f.extend_from_slice(part);
        owned.push(f);
    }
    const NAMES: [&str; 4] = ["a.csv", "b.csv", "c.csv", "d.csv"];
    let files: Vec<(&str, &[u8])> = owned
        .iter()
        .enumerate()
        .map(|(i, f)| (NAMES[i], f.as_slice()))
        .collect();

    run(&files, &ReportOptions::default());

    let opts = ReportOptions {
        files: Vec::new(),
        by_phase: flags & 2 != 0,
        interval_ns: (flags & 4 != 0).then(|| pick(head[1])),
        slo_ns: (flags & 8 != 0).then(|| pick(head[2])),
        warmup_ns: if flags & 16 != 0 { pick(head[3]) } else { 0 },
        cooldown_ns: if flags & 32 != 0 { pick(head[4]) } else { 0 },
        ..ReportOptions::default()
    };
    run(&files, &opts);
});
