//! Golden tests of `rwg report` on small hand-written CSVs.

use std::io::Write as _;

use super::analyze::{analyze, analyze_bytes};
use super::csv_scan::HEADER;
use super::figures::{Analysis, Figures, Outcome, ReportOptions, Severity};
use super::{render, schema};

const T0: u64 = 1_764_428_400_000_000_000;
const MS: u64 = 1_000_000;

/// Ten rows 1 ms apart: six ok (100..600 us), a 503, a 500, a timeout, a skip.
/// Rows 0–4 are phase 0, rows 5–9 phase 1. Written out of order.
fn rows() -> Vec<String> {
    let u = "http://127.0.0.1:8080/";
    let mut v = Vec::new();
    for i in 0..10u64 {
        let ts = T0 + i * MS;
        let phase = u64::from(i >= 5);
        let lat = (i + 1) * 100;
        let row = match i {
            0 | 1 | 2 | 3 | 5 | 6 => {
                format!("{ts},{u},{phase},200,{lat}.000,{lat}.500,10.000,112,,{i}")
            }
            4 => format!("{ts},{u},{phase},503,{lat}.000,{lat}.000,1.000,80,,2"),
            7 => format!("{ts},{u},{phase},500,{lat}.000,{lat}.000,2.000,80,,2"),
            8 => format!("{ts},{u},{phase},,5000123.000,5000100.000,23.000,0,timeout,20"),
            _ => format!("{ts},{u},{phase},,,,,0,skipped,64"),
        };
        v.push(row);
    }
    v.reverse();
    v
}

fn csv(rows: &[String]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn run(data: &str, opts: &ReportOptions) -> Outcome {
    analyze_bytes(&[("t.csv", data.as_bytes())], opts).expect("analysis")
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= expected.abs() * 1e-3 + 1e-9
}

#[test]
fn golden_overall() {
    let opts = ReportOptions {
        slo_ns: Some(450_000),
        ..ReportOptions::default()
    };
    let out = run(&csv(&rows()), &opts);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let a = &out.analysis;
    let o = &a.overall;
    assert_eq!((a.rows_read, a.rows_kept), (10, 10));
    assert_eq!(
        (o.start_ns, o.end_ns, o.duration_ns),
        (T0, T0 + 9 * MS, 10 * MS)
    );
    let counts = [
        o.total,
        o.ok,
        o.goodput,
        o.slo_violations,
        o.dropped,
        o.errors,
        o.skipped,
    ];
    let counts: Vec<u64> = counts.iter().map(|c| c.count).collect();
    assert_eq!(counts, [10, 6, 4, 2, 1, 2, 1]);
    assert_eq!(o.responses.count, 8);
    let kinds: Vec<(&str, u64)> = o
        .error_kinds
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    assert_eq!(kinds, [("status", 1), ("timeout", 1)]);
    assert!(close(o.total.per_sec, 10.0 / 0.010), "{}", o.total.per_sec);
    assert!(close(o.offered_per_sec, 10.0 / 0.010));
    assert!(close(o.throughput_per_sec, 8.0 / 0.010));
    assert!(close(o.goodput.per_sec, 4.0 / 0.010));
    assert_eq!(o.max_in_flight, 64);
    assert_eq!(o.achieved_pct(), Some(80.0));
    // Responses: 100..=800 us (the timeout has no response).
    let l = o.latency.expect("latency");
    assert_eq!(l.samples, 8);
    assert_eq!((l.min_us, l.max_us), (100.0, 800.0));
    for (got, want) in [
        (l.p50_us, 400.0),
        (l.p75_us, 600.0),
        (l.p90_us, 800.0),
        (l.p99_us, 800.0),
    ] {
        assert!(close(got, want), "{got} vs {want}");
    }
    let lag = o.lag.expect("lag");
    assert_eq!((lag.samples, lag.min_us, lag.max_us), (9, 1.0, 23.0));
    let no_slo = run(&csv(&rows()), &ReportOptions::default()).analysis;
    assert_eq!(
        (
            no_slo.overall.goodput.count,
            no_slo.overall.slo_violations.count
        ),
        (6, 0)
    );
}

#[test]
fn grpc_statuses() {
    let g = "grpc://h:50051/pkg.Svc/Call";
    let data = csv(&[
        format!("{T0},{g},0,0,10.0,9.0,1.0,5,,1"),
        format!("{},{g},0,8,10.0,9.0,1.0,5,,1", T0 + 1),
        format!("{},{g},0,14,10.0,9.0,1.0,5,,1", T0 + 2),
        format!("{},{g},0,16,10.0,9.0,1.0,5,,1", T0 + 3),
    ]);
    let o = run(&data, &ReportOptions::default()).analysis.overall;
    assert_eq!((o.ok.count, o.dropped.count, o.errors.count), (1, 1, 2));
}

#[test]
fn trimming() {
    let opts = ReportOptions {
        warmup_ns: 2 * MS,
        cooldown_ns: 3 * MS,
        ..ReportOptions::default()
    };
    let a = run(&csv(&rows()), &opts).analysis;
    // Kept: rows 2..=6 (planned T0+2ms ..= T0+6ms).
    assert_eq!((a.rows_read, a.rows_kept), (10, 5));
    let o = &a.overall;
    assert_eq!((o.start_ns, o.end_ns), (T0 + 2 * MS, T0 + 6 * MS));
    assert_eq!((o.ok.count, o.dropped.count, o.errors.count), (4, 1, 0));
    let all = ReportOptions {
        warmup_ns: 5 * MS,
        cooldown_ns: 5 * MS,
        ..ReportOptions::default()
    };
    let out = run(&csv(&rows()), &all);
    assert_eq!(out.analysis.rows_kept, 0);
    assert_eq!(out.diagnostics.len(), 1);
    assert!(!out.has_errors());
}

#[test]
fn interval_boundaries() {
    let opts = ReportOptions {
        interval_ns: Some(3 * MS),
        ..ReportOptions::default()
    };
    let a = run(&csv(&rows()), &opts).analysis;
    let ts: Vec<(u64, u64, u64)> = a
        .timeseries
        .iter()
        .map(|f| (f.start_ns - T0, f.duration_ns, f.total.count))
        .collect();
    assert_eq!(
        ts,
        [
            (0, 3 * MS, 3),
            (3 * MS, 3 * MS, 3),
            (6 * MS, 3 * MS, 3),
            (9 * MS, 3 * MS, 1)
        ]
    );
    let b1 = &a.timeseries[1];
    // Rows 3 (ok), 4 (503), 5 (ok); 3 rows over 3 ms.
    assert_eq!((b1.ok.count, b1.dropped.count), (2, 1));
    assert!(close(b1.total.per_sec, 1000.0));
    let mut out = Vec::new();
    render::write_timeseries_csv(&a, &mut out).expect("write");
    let text = String::from_utf8(out).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], render::TIMESERIES_HEADER);
    let cols = render::TIMESERIES_HEADER.split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == cols), "{text}");
    assert!(
        lines[3].starts_with(&format!("{},{},3,", T0 + 6 * MS, 3 * MS)),
        "{}",
        lines[3]
    );
    assert!(lines[3].ends_with(",20,status:1;timeout:1"), "{}", lines[3]);
    // Trimmed: buckets start at earliest + warmup.
    let opts = ReportOptions {
        warmup_ns: MS,
        ..opts
    };
    let a = run(&csv(&rows()), &opts).analysis;
    assert_eq!(a.timeseries[0].start_ns, T0 + MS);
    assert_eq!(
        a.timeseries
            .iter()
            .map(|f| f.total.count)
            .collect::<Vec<_>>(),
        [3, 3, 3]
    );
}

#[test]
fn by_phase() {
    let opts = ReportOptions {
        by_phase: true,
        ..ReportOptions::default()
    };
    let a = run(&csv(&rows()), &opts).analysis;
    let p: Vec<(u32, u64, u64, u64, u64)> = a
        .phases
        .iter()
        .map(|p| {
            (
                p.phase,
                p.figures.total.count,
                p.figures.ok.count,
                p.figures.errors.count,
                p.figures.duration_ns,
            )
        })
        .collect();
    // 5 arrivals 1 ms apart: planned over 5 ms (the span is 4 ms).
    assert_eq!(p, [(0, 5, 4, 0, 5 * MS), (1, 5, 2, 2, 5 * MS)]);
    let text = render::to_text(&a);
    assert!(text.contains("by phase"), "{text}");
    let doc = schema::Document::of_csv(&a, &[], 0).to_json();
    let json: serde_json::Value = serde_json::from_str(&doc).expect("json");
    assert_eq!(json["schema_version"], schema::SCHEMA_VERSION);
    assert_eq!(json["source"], "report");
    assert_eq!(json["phases"][1]["phase"], 1);
    assert_eq!(json["phases"][1]["skipped"], 1);
    assert_eq!(json["overall"]["scheduled"], 10);
    assert_eq!(json["overall"]["duration_s"], 0.01);
    assert!(json["overall"]["dispatch_lag"].is_null(), "a CSV has none");
    assert!(json.get("timeseries").is_none());
}

/// Rows of two targets (one a name with a comma, percent-encoded as the
/// run writes it): counts, latencies and errors split by the url column,
/// the busiest target first.
#[test]
fn by_target() {
    let opts = ReportOptions {
        by_target: true,
        ..ReportOptions::default()
    };
    let renamed: Vec<String> = rows()
        .iter()
        .map(|r| {
            let ts: u64 = r.split(',').next().unwrap().parse().unwrap();
            if (ts - T0) / MS % 3 == 0 {
                r.replace("http://127.0.0.1:8080/", "log%2Cin")
            } else {
                r.clone()
            }
        })
        .collect();
    let out = run(&csv(&renamed), &opts);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let a = out.analysis;
    let t: Vec<(&str, u64, u64, u64, u64)> = a
        .targets
        .iter()
        .map(|t| {
            let f = &t.figures;
            (
                t.target.as_str(),
                f.total.count,
                f.ok.count,
                f.errors.count,
                f.skipped.count,
            )
        })
        .collect();
    // Rows 0, 3, 6, 9 are "log,in": ok, ok, ok, skipped.
    assert_eq!(
        t,
        [
            ("http://127.0.0.1:8080/", 6, 3, 2, 0),
            ("log%2Cin", 4, 3, 0, 1)
        ]
    );
    let login = &a.targets[1].figures;
    assert_eq!(login.latency.map(|p| p.max_us), Some(700.0));
    assert_eq!(login.duration_ns, 10 * MS, "the run's duration");
    assert!(close(login.total.per_sec, 400.0), "{}", login.total.per_sec);
    let text = render::to_text(&a);
    assert!(text.contains("by target"), "{text}");
    assert!(text.contains("log%2Cin"), "{text}");
    let doc = schema::Document::of_csv(&a, &[], 0).to_json();
    let json: serde_json::Value = serde_json::from_str(&doc).expect("json");
    assert_eq!(json["targets"][1]["target"], "log%2Cin");
    assert_eq!(json["targets"][1]["skipped"], 1);
    assert!(json["targets"][0]["phase"].is_null());
    assert!(json["overall"]["target"].is_null());
}

fn comparable(a: &Analysis) -> (Figures, Vec<(u32, Figures)>, Vec<Figures>) {
    let phases = a
        .phases
        .iter()
        .map(|p| (p.phase, p.figures.clone()))
        .collect();
    (a.overall.clone(), phases, a.timeseries.clone())
}

#[test]
fn merge_equals_concatenation() {
    let all = rows();
    let (x, y) = all.split_at(4);
    let opts = ReportOptions {
        slo_ns: Some(450_000),
        warmup_ns: MS,
        interval_ns: Some(2 * MS),
        by_phase: true,
        ..ReportOptions::default()
    };
    let (cx, cy) = (csv(x), csv(y));
    let two =
        analyze_bytes(&[("x.csv", cx.as_bytes()), ("y.csv", cy.as_bytes())], &opts).expect("two");
    let one = run(&csv(&[y, x].concat()), &opts);
    assert_eq!(comparable(&two.analysis), comparable(&one.analysis));
    assert_eq!(two.analysis.rows_read, 10);
    assert_eq!(two.analysis.files, ["x.csv", "y.csv"]);
}

#[test]
fn crash_leftovers_are_warnings() {
    let good = csv(&rows());
    let zeros = format!("{good}{}{}", &rows()[0][..20], "\0".repeat(4096));
    let out = run(&zeros, &ReportOptions::default());
    assert_eq!(out.analysis.rows_kept, 10);
    assert_eq!(out.diagnostics.len(), 1);
    assert_eq!(out.diagnostics[0].severity, Severity::Warning);
    assert!(
        out.diagnostics[0]
            .message
            .starts_with("t.csv:12: zero-filled"),
        "{}",
        out.diagnostics[0]
    );
    let partial = format!("{good}{}", &rows()[0][..30]);
    let out = run(&partial, &ReportOptions::default());
    assert_eq!(out.analysis.rows_kept, 10);
    assert!(!out.has_errors());
    assert!(
        out.diagnostics[0].message.starts_with("t.csv:12: partial"),
        "{}",
        out.diagnostics[0]
    );
}

#[test]
fn bad_input_is_an_error_with_partial_result() {
    let mut r = rows();
    r.insert(3, format!("{T0},http://h/,0,200,abc,1.0,1.0,5,,1"));
    let out = run(&csv(&r), &ReportOptions::default());
    assert!(out.has_errors());
    assert_eq!(out.analysis.rows_kept, 3);
    let msg = &out.diagnostics[0].message;
    assert!(
        msg.starts_with("t.csv:5: bad latency_us") && msg.contains("\"abc\""),
        "{msg}"
    );
    let out = run("time,url\n1,u\n", &ReportOptions::default());
    assert!(out.has_errors());
    assert!(
        out.diagnostics[0]
            .message
            .starts_with("t.csv:1: bad header"),
        "{}",
        out.diagnostics[0]
    );
    assert_eq!(out.analysis.rows_read, 0);
}

#[test]
fn files_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.csv");
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(csv(&rows()).as_bytes()).expect("write");
    let empty = dir.path().join("empty.csv");
    std::fs::File::create(&empty).expect("create");
    let opts = ReportOptions {
        files: vec![path.clone(), empty],
        ..ReportOptions::default()
    };
    let out = analyze(&opts).expect("analyze");
    assert_eq!(out.analysis.rows_kept, 10);
    assert_eq!(out.diagnostics.len(), 1);
    assert!(out.diagnostics[0]
        .message
        .contains("empty.csv:1: file is empty"));
    let text = render::to_text(&out.analysis);
    assert!(text.contains("goodput") && text.contains("p99.9"), "{text}");
    let missing = ReportOptions {
        files: vec![dir.path().join("nope.csv")],
        ..ReportOptions::default()
    };
    let err = analyze(&missing).expect_err("missing file");
    assert!(err.to_string().contains("nope.csv"), "{err}");
    assert!(analyze(&ReportOptions::default()).is_err());
    let zero = ReportOptions {
        files: vec![path],
        interval_ns: Some(0),
        ..ReportOptions::default()
    };
    assert!(analyze(&zero).is_err());
}

#[test]
fn checks_on_figures() {
    use crate::report::check::{evaluate_all, parse_checks};
    let opts = ReportOptions {
        slo_ns: Some(450_000),
        ..ReportOptions::default()
    };
    let a = run(&csv(&rows()), &opts).analysis;
    let checks = parse_checks(&[
        "goodput>=40%",
        "errors<2",
        "dropped<=10%",
        "achieved>=80%",
        "p50<1ms",
        "lag_max<20us",
    ])
    .expect("checks");
    let results = evaluate_all(&checks, &a.overall);
    let passed: Vec<bool> = results.iter().map(|r| r.passed).collect();
    assert_eq!(
        passed,
        [true, false, true, true, true, false],
        "{results:?}"
    );
}

/// Found by fuzzing: a file with no rows and `--interval 1ns` overflowed
/// computing its buckets (no rows gave the window 0..u64::MAX).
#[test]
fn no_rows_with_an_interval_is_an_empty_report() {
    let data = format!("{HEADER}\n");
    let opts = ReportOptions {
        interval_ns: Some(1),
        ..Default::default()
    };
    let out = analyze_bytes(&[("a.csv", data.as_bytes())], &opts).unwrap();
    assert_eq!(out.analysis.overall.total.count, 0);
}
