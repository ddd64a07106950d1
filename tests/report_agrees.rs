//! `rwg report`: it agrees with `rwg run`'s own summary on the same CSV, it
//! classifies rows as the contract says, and its exit codes (3 for a failed
//! --check, 2 for a bad row, naming the line).

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use rwg::serve::{start, Delay, ServeConfig};
use serde_json::Value;

/// `rwg report ARGS --json DIR/report.json`; returns the outcome and the JSON
/// (if written).
fn report(args: &[&str]) -> (Outcome, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut cmd = rwg();
    cmd.arg("report")
        .args(args)
        .args(["--max-lag", TEST_MAX_LAG, "--json"])
        .arg(&json);
    let out = finish(cmd, dir, Duration::from_secs(20));
    out.assert_no_panic();
    let j = json.exists().then(|| read_json(&json));
    (out, j)
}

/// `rwg report CSV`, its whole output.
fn report_output(csv: &std::path::Path) -> std::process::Output {
    rwg()
        .arg("report")
        .arg(csv)
        .args(["--max-lag", TEST_MAX_LAG])
        .output()
        .unwrap()
}

fn within(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

#[test]
fn report_agrees_with_run_summary() {
    let _g = serial();
    let srv = start(ServeConfig {
        delay: Delay::Fixed { ns: 1_000_000 },
        status_mix: vec![(503, 0.1)],
        ..Default::default()
    })
    .unwrap();
    let cpus = cpus_arg(2);
    let out = run(
        &url_of(srv.addr),
        &[
            "-r", "1000", "-d", "2s", "-w", "64", "--cpus", &cpus, "--slo", "2ms",
        ],
    );
    out.assert_code(0);
    let run_json = out.json();
    let a = &run_json["overall"];
    let csv = out.csv_path();
    let (rep, j) = report(&[csv.to_str().unwrap(), "--slo", "2ms"]);
    rep.assert_code(0);
    let j = j.expect("report JSON");
    assert_eq!(u(&j["input"], "rows_read"), 2000);
    // One schema: the same fields, the same meaning.
    for doc in [&run_json, &j] {
        assert_eq!(u(doc, "schema_version"), 1, "{doc}");
        assert_eq!(u(doc, "exit_code"), 0, "{doc}");
    }
    assert_eq!(
        (&run_json["source"], &j["source"]),
        (&"run".into(), &"report".into())
    );
    let r = &j["overall"];
    for key in [
        "scheduled",
        "answered",
        "unanswered",
        "ok",
        "dropped",
        "errors",
        "skipped",
        "goodput",
        "slo_violations",
        "bytes",
    ] {
        assert_eq!(u(r, key), u(a, key), "{key}");
    }
    for key in [
        "duration_s",
        "span_s",
        "offered_per_sec",
        "achieved_per_sec",
    ] {
        assert!(within(f(r, key), f(a, key), 0.01), "{key}: {r} vs {a}");
    }
    // The mix really was mixed (else the comparison proves little).
    assert!(u(a, "dropped") > 50 && u(a, "ok") > 1000, "{a}");
    for dist in ["latency_all", "latency_answered"] {
        let (la, lr) = (&a[dist], &r[dist]);
        assert_eq!(u(la, "samples"), u(lr, "samples"), "{dist}");
        for q in ["p50", "p90", "p99"] {
            let (x, y) = (pctl_us(la, q).unwrap(), pctl_us(lr, q).unwrap());
            assert!(within(x, y, 0.01), "{dist} {q}: run {x} µs, report {y} µs");
        }
    }
    // And the CSV itself agrees with both.
    let rows = out.rows();
    let dropped = rows.iter().filter(|r| r.status == Some(503)).count() as u64;
    let ok = rows.iter().filter(|r| r.status == Some(200)).count() as u64;
    assert_eq!((ok, dropped), (u(a, "ok"), u(a, "dropped")));
}

/// One row of the CSV contract.
fn row(ts: u64, status: Option<u16>, latency_us: Option<f64>, error: &str) -> String {
    let s = status.map(|s| s.to_string()).unwrap_or_default();
    let (lat, svc, lag) = match latency_us {
        Some(l) => (
            format!("{l:.3}"),
            format!("{:.3}", l - 10.0),
            "10.000".to_string(),
        ),
        None => Default::default(),
    };
    let bytes = if status.is_some() { 51 } else { 0 };
    format!("{ts},http://127.0.0.1:1/,0,{s},{lat},{svc},{lag},{bytes},{error},1\n")
}

const T0: u64 = 1_800_000_000_000_000_000;

/// 100 rows answered 200 with latencies 1.0005 .. 100.0005 ms, 10 ms apart.
fn ok_rows() -> Vec<String> {
    (0..100u64)
        .map(|i| {
            row(
                T0 + i * 10_000_000,
                Some(200),
                Some((i + 1) as f64 * 1000.0 + 0.5),
                "",
            )
        })
        .collect()
}

fn write_csv(dir: &Path, name: &str, rows: &[String]) -> String {
    let mut text = String::from(HEADER);
    text.push('\n');
    for r in rows {
        text.push_str(r);
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn report_figures_of_a_known_csv() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = ok_rows();
    let t = T0 + 1_000_000_000;
    for i in 0..5 {
        rows.push(row(t + i, Some(503), Some(900.0), ""));
    }
    rows.push(row(t + 10, Some(500), Some(800.0), ""));
    rows.push(row(t + 11, Some(404), Some(800.0), ""));
    rows.push(row(t + 12, None, Some(100_000.0), "timeout"));
    rows.push(row(t + 13, None, None, "skipped"));
    let csv = write_csv(dir.path(), "known.csv", &rows);
    let (out, j) = report(&[&csv, "--slo", "50ms"]);
    out.assert_code(0);
    let j = j.expect("report JSON");
    assert_eq!(u(&j["input"], "rows_read"), 109);
    let o = &j["overall"];
    assert_eq!(u(o, "scheduled"), 109);
    assert_eq!(u(o, "ok"), 100);
    assert_eq!(u(o, "dropped"), 5);
    assert_eq!(u(o, "errors"), 3, "500, 404 and the timeout");
    assert_eq!(u(o, "skipped"), 1);
    assert_eq!(u(o, "unanswered"), 2, "the timeout and the skipped arrival");
    assert_eq!(u(o, "goodput"), 49, "ok rows with latency ≤ 50 ms");
    let kinds = &o["errors_by_kind"];
    assert_eq!(kinds["timeout"].as_u64(), Some(1), "error_kinds: {kinds}");
}

#[test]
fn report_percentiles_of_a_known_csv_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let rows = ok_rows();
    let whole = write_csv(dir.path(), "whole.csv", &rows);
    let a = write_csv(dir.path(), "a.csv", &rows[..37]);
    let b = write_csv(dir.path(), "b.csv", &rows[37..]);
    let (out, j1) = report(&[&whole]);
    out.assert_code(0);
    let (out2, j2) = report(&[&a, &b]);
    out2.assert_code(0);
    for j in [j1.unwrap(), j2.unwrap()] {
        let o = &j["overall"];
        assert_eq!(u(o, "scheduled"), 100);
        let lat = &o["latency_all"];
        assert_eq!(u(lat, "samples"), 100);
        // Latencies are 1.0005 .. 100.0005 ms: p50 ≈ 50 ms, p99 ≈ 99 ms.
        let (p50, p99) = (pctl_us(lat, "p50").unwrap(), pctl_us(lat, "p99").unwrap());
        assert!(within(p50, 50_000.5, 0.011), "{lat}");
        assert!(within(p99, 99_000.5, 0.011), "{lat}");
        assert!(within(f(lat, "max_us"), 100_000.5, 0.001), "{lat}");
        assert!(within(f(lat, "min_us"), 1_000.5, 0.001), "{lat}");
    }
}

#[test]
fn report_check_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), "ok.csv", &ok_rows());
    let (out, _) = report(&[&csv, "--check", "p99<1ns"]);
    out.assert_code(3);
    let (out, _) = report(&[&csv, "--check", "p99<50ms"]);
    out.assert_code(3);
    let (out, _) = report(&[&csv, "--check", "p99<1s"]);
    out.assert_code(0);
    let (out, _) = report(&[&csv, "--check", "p99<1s", "--check", "p50<10ms"]);
    out.assert_code(3);
}

#[test]
fn report_bad_row_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = ok_rows();
    // Line 1 is the header: the bad row is line 52, after 50 good rows.
    rows.insert(50, "garbage,row\n".to_string());
    let csv = write_csv(dir.path(), "bad.csv", &rows);
    let (out, j) = report(&[&csv]);
    out.assert_code(2);
    assert!(
        out.stderr.contains(&format!("{csv}:52")),
        "stderr should name {csv}:52:\n{}",
        out.stderr
    );
    let j = j.expect("the rows before the bad one are reported (JSON)");
    assert_eq!(u(&j["input"], "rows_read"), 50);
    assert_eq!(u(&j["overall"], "scheduled"), 50);
    assert_eq!(u(&j, "exit_code"), 2);

    // A bad number in an otherwise well-formed row.
    let mut rows = ok_rows();
    let bad_latency = format!(
        "{},http://127.0.0.1:1/,0,200,abc,1.000,1.000,51,,1\n",
        T0 + 1
    );
    rows.insert(10, bad_latency);
    let csv = write_csv(dir.path(), "bad2.csv", &rows);
    let (out, _) = report(&[&csv]);
    out.assert_code(2);
    assert!(out.stderr.contains(&format!("{csv}:12")), "{}", out.stderr);
    assert!(out.stderr.contains("abc"), "{}", out.stderr);
}

/// After a crash the mmap'd CSV ends in a zero-filled tail; the
/// reader ignores it.
#[test]
fn report_ignores_zero_filled_tail() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), "crashed.csv", &ok_rows());
    let mut bytes = std::fs::read(&csv).unwrap();
    bytes.extend_from_slice(&[0u8; 8192]);
    std::fs::write(&csv, bytes).unwrap();
    let (out, j) = report(&[&csv]);
    out.assert_code(0);
    assert_eq!(u(&j.unwrap()["overall"], "scheduled"), 100);
}

/// `rwg report` on a CSV that a `rwg run` is still writing gets a clear
/// error (it used to map the file and could die of SIGBUS when the writer
/// cut it to length at the end).
#[test]
fn report_of_a_csv_still_being_written_is_a_clear_error() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("live.csv");
    let cpus = cpus_arg(1);
    let mut writer = rwg()
        .args([
            "run",
            &url_of(srv.addr),
            "-r",
            "200",
            "-d",
            "3s",
            "-q",
            "--cpus",
            &cpus,
            "--max-lag",
            TEST_MAX_LAG,
            "-o",
        ])
        .arg(&csv)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let out = report_output(&csv);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("still writing"), "{stderr}");
    let status = wait_timeout(&mut writer, std::time::Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(0));
    // Once the run has ended, the same file reports.
    let out = report_output(&csv);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv.stop();
}
