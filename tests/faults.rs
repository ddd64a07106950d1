//! `rwg run` when the target misbehaves: nothing listening, connections
//! closed by the server, garbage answers, slow answers, shed load, errors.
//! Each checks the exit code, the error kinds in CSV and JSON, and that the
//! CSV keeps one row per scheduled arrival.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::*;
use rwg::serve::{start, Delay, ServeConfig};

/// Rows == JSON `scheduled` == JSON `csv_rows`, and every row is accounted
/// for: a status, or an error kind.
fn assert_rows_match_summary(out: &Outcome, rows: &[Row]) {
    let j = out.json();
    assert_eq!(
        u(&j["overall"], "scheduled"),
        rows.len() as u64,
        "rows vs scheduled"
    );
    assert_eq!(
        u(&j["run"], "csv_rows"),
        rows.len() as u64,
        "rows vs csv_rows"
    );
    for r in rows {
        assert!(
            r.status.is_some() || !r.error.is_empty(),
            "row with neither status nor error: {r:?}"
        );
    }
}

fn error_kinds(rows: &[Row]) -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    for r in rows.iter().filter(|r| !r.error.is_empty()) {
        *m.entry(r.error.clone()).or_insert(0) += 1;
    }
    m
}

#[test]
fn nothing_listening_is_a_connect_error() {
    let _g = serial();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // listener dropped: connections are refused
    let url = format!("http://127.0.0.1:{port}/");
    let cpus = cpus_arg(1);
    let out = run(&url, &["-r", "100", "-d", "1s", "-w", "4", "--cpus", &cpus]);
    out.assert_code(1);
    out.assert_no_panic();
    assert!(
        out.all_output().contains("connect"),
        "summary: {}",
        out.all_output()
    );
    assert!(
        out.stdout.contains("stopped at the first error"),
        "summary: {}",
        out.stdout
    );
    let rows = out.rows();
    assert!(!rows.is_empty());
    assert_rows_match_summary(&out, &rows);
    assert!(rows.iter().any(|r| r.error == "connect"), "{rows:?}");
    for r in &rows {
        assert_eq!(r.status, None, "{r:?}");
        assert!(
            r.error == "connect" || r.error == "skipped" || r.error == "cancelled",
            "{r:?}"
        );
    }
    let j = out.json();
    assert!(u(&j["overall"]["errors_by_kind"], "connect") >= 1);
    assert_eq!(u(&j["overall"], "ok"), 0);
    // The verdict says nothing was measured (not "generator behind", which
    // the lag of failing dials could suggest), and no dial counts as made.
    assert_eq!(j["verdict"]["target_unreached"], true);
    assert_eq!(j["verdict"]["generator_behind"], false);
    assert!(out.stdout.contains("NOTHING MEASURED"), "{}", out.stdout);
    assert!(!out.stdout.contains("re-dialled"), "{}", out.stdout);
    let report = rwg_report(&out.csv_path());
    assert!(report.contains("NOTHING MEASURED"), "{report}");
}

/// `rwg report FILE`'s standard output.
fn rwg_report(csv: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rwg"))
        .arg("report")
        .arg(csv)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn server_closing_connections_is_not_an_error() {
    let _g = serial();
    let srv = start(ServeConfig {
        close_every: Some(3),
        ..Default::default()
    })
    .unwrap();
    let url = url_of(srv.addr);
    let cpus = cpus_arg(1);
    // Workers to spare: a scheduler hiccup of the in-process server on this
    // shared machine must not turn into skips (8 workers last 27 ms here).
    let out = run(
        &url,
        &["-r", "300", "-d", "1s", "-w", "64", "--cpus", &cpus],
    );
    out.assert_code(0);
    out.assert_no_panic();
    let rows = out.rows();
    assert_eq!(rows.len(), 300);
    assert_fixed_schedule(&rows, &[300], &[1_000_000_000]);
    assert_no_idle_skips(&rows);
    assert_all_200(&rows, &url);
    let j = out.json();
    assert_eq!(u(&j["overall"], "ok"), 300);
    assert_eq!(u(&j["overall"], "errors"), 0);
}

#[test]
fn malformed_answer_is_a_protocol_error() {
    let _g = serial();
    let srv = start(ServeConfig {
        malformed: true,
        ..Default::default()
    })
    .unwrap();
    let cpus = cpus_arg(1);
    let out = run(
        &url_of(srv.addr),
        &["-r", "100", "-d", "1s", "-w", "4", "--cpus", &cpus],
    );
    out.assert_code(1);
    out.assert_no_panic();
    let rows = out.rows();
    assert_rows_match_summary(&out, &rows);
    assert!(rows.iter().any(|r| r.error == "protocol"), "{rows:?}");
    assert!(rows.iter().all(|r| r.status.is_none()), "{rows:?}");
    let j = out.json();
    assert!(u(&j["overall"]["errors_by_kind"], "protocol") >= 1);
    assert!(out.stdout.contains("protocol"), "summary: {}", out.stdout);
}

/// 50 requests at 50/s with a 100 ms timeout against a server that answers
/// after `delay_ns`.
fn run_against_slow_server(delay_ns: u64) -> Outcome {
    let srv = start(ServeConfig {
        delay: Delay::Fixed { ns: delay_ns },
        ..Default::default()
    })
    .unwrap();
    let cpus = cpus_arg(1);
    let args = [
        "-r",
        "50",
        "-d",
        "1s",
        "-w",
        "64",
        "-t",
        "100ms",
        "--ignore-errors",
    ];
    let out = run(&url_of(srv.addr), &[&args[..], &["--cpus", &cpus]].concat());
    srv.stop();
    out
}

#[test]
fn slow_server_times_out_and_run_goes_on() {
    let _g = serial();
    let out = run_against_slow_server(500_000_000);
    out.assert_code(1); // the run saw errors
    out.assert_no_panic();
    let rows = out.rows();
    assert_eq!(rows.len(), 50, "--ignore-errors runs the whole plan");
    assert_rows_match_summary(&out, &rows);
    assert_no_idle_skips(&rows);
    let timed_out = rows.clone();
    for r in &timed_out {
        assert_eq!(r.error, "timeout", "{r:?}");
        assert_eq!(r.status, None, "{r:?}");
        let lat = r.latency_us.expect("a timed-out request has a latency");
        assert!(
            (99_000.0..450_000.0).contains(&lat),
            "timeout after {lat} µs, -t 100ms (server answers after 500 ms): {r:?}"
        );
    }
    let j = out.json();
    assert!(
        j["run"]["stopped"].is_null(),
        "stopped: {}",
        j["run"]["stopped"]
    );
    assert_eq!(u(&j["overall"]["errors_by_kind"], "timeout"), 50);
    assert_eq!(u(&j["overall"], "errors"), 50);
    assert_eq!(error_kinds(&timed_out).len(), 1);
}

#[test]
fn all_503_is_dropped_not_an_error() {
    let _g = serial();
    let srv = start(ServeConfig {
        status_mix: vec![(503, 1.0)],
        ..Default::default()
    })
    .unwrap();
    let cpus = cpus_arg(1);
    let out = run(
        &url_of(srv.addr),
        &["-r", "200", "-d", "1s", "-w", "8", "--cpus", &cpus],
    );
    out.assert_code(0);
    let rows = out.rows();
    assert_eq!(rows.len(), 200);
    assert_no_idle_skips(&rows);
    for r in &rows {
        assert_eq!(r.status, Some(503), "{r:?}");
        assert_eq!(r.error, "", "503 is dropped, not an error: {r:?}");
    }
    let j = out.json();
    let o = &j["overall"];
    assert_eq!(u(o, "dropped"), 200);
    assert_eq!(u(o, "errors"), 0);
    assert_eq!(u(o, "ok"), 0);
    assert!(j["run"]["stopped"].is_null());
}

/// Without --ignore-errors the first 500 stops the run: exit 1, the summary
/// says so, and the CSV still has one row per arrival scheduled before the stop.
#[test]
fn first_500_stops_the_run() {
    let _g = serial();
    let srv = start(ServeConfig {
        status_mix: vec![(500, 1.0)],
        ..Default::default()
    })
    .unwrap();
    let cpus = cpus_arg(1);
    let out = run(
        &url_of(srv.addr),
        &["-r", "200", "-d", "2s", "-w", "8", "--cpus", &cpus],
    );
    out.assert_code(1);
    out.assert_no_panic();
    assert!(
        out.stdout.contains("stopped at the first error"),
        "{}",
        out.stdout
    );
    let rows = out.rows();
    assert!(
        !rows.is_empty() && rows.len() < 400,
        "{} rows: did it stop?",
        rows.len()
    );
    assert_rows_match_summary(&out, &rows);
    assert!(rows.iter().any(|r| r.status == Some(500)));
    assert!(rows.iter().all(|r| r.status != Some(200)));
    let j = out.json();
    let stopped = j["run"]["stopped"].as_str().expect("stopped is a string");
    assert!(stopped.contains("first error"), "stopped: {stopped}");
    assert!(u(&j["overall"], "errors") >= 1);
}

/// The stop at the first error with requests in flight on two cores: every
/// arrival scheduled before the stop still has its row (answered, or
/// cancelled), and the summary's counts are the CSV's.
#[test]
fn stop_with_requests_in_flight_keeps_every_row() {
    let _g = serial();
    let srv = start(ServeConfig {
        delay: Delay::Fixed { ns: 20_000_000 },
        status_mix: vec![(500, 0.05)],
        ..Default::default()
    })
    .unwrap();
    let cpus = cpus_arg(2);
    let out = run(
        &url_of(srv.addr),
        &["-r", "1000", "-d", "2s", "-w", "64", "--cpus", &cpus],
    );
    out.assert_code(1);
    out.assert_no_panic();
    let rows = out.rows();
    assert!(rows.len() < 2000, "{} rows: did it stop?", rows.len());
    assert_rows_match_summary(&out, &rows);
    let j = out.json();
    let o = &j["overall"];
    let ok = rows.iter().filter(|r| r.status == Some(200)).count() as u64;
    let errs = rows
        .iter()
        .filter(|r| r.status == Some(500) || (!r.error.is_empty() && r.error != "skipped"))
        .count() as u64;
    let skipped = rows.iter().filter(|r| r.error == "skipped").count() as u64;
    assert_eq!(u(o, "ok"), ok);
    assert_eq!(u(o, "errors"), errs);
    assert_eq!(u(o, "skipped"), skipped);
    assert!(rows.iter().any(|r| r.status == Some(500)));
}

/// Unmounts the tmpfs when the test ends, however it ends.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A full disk mid-run: a clear error, exit 1, and a CSV that holds exactly
/// the rows written before the disk filled (whole lines, no zero-filled tail).
/// Needs root to mount a small tmpfs; says so and returns where it cannot.
#[test]
fn full_disk_is_a_clear_error_and_the_csv_stays_whole() {
    let _g = serial();
    let mnt = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=70m", "tmpfs"])
        .arg(mnt.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipping: cannot mount a tmpfs here (needs root)");
        return;
    }
    let _unmount = Mounted(mnt.path().to_path_buf());
    let srv = start(ServeConfig::default()).unwrap();
    // A long path makes ~2 KiB rows, so the 70 MiB disk fills within a second.
    let url = format!("{}{}", url_of(srv.addr), "a".repeat(2000));
    let csv = mnt.path().join("out.csv");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = rwg();
    cmd.args(["run", &url, "-r", "0", "-d", "20s", "-c", "8", "-w", "8"])
        .args([
            "--cpus",
            &cpus_arg(1),
            "--max-lag",
            TEST_MAX_LAG,
            "-q",
            "-o",
        ])
        .arg(&csv)
        .arg("--json")
        .arg(dir.path().join("summary.json"));
    let out = finish(cmd, dir, std::time::Duration::from_secs(60));
    out.assert_code(1);
    out.assert_no_panic();
    assert!(
        out.stdout.contains("CSV WRITE FAILED") && out.stdout.contains("No space left"),
        "{}",
        out.stdout
    );
    let rows = read_csv(&csv);
    assert!(rows.len() > 10_000, "only {} rows", rows.len());
    let j = out.json();
    assert_eq!(
        u(&j["run"], "csv_rows"),
        rows.len() as u64,
        "csv_rows vs the file"
    );
    assert!(u(&j["overall"], "scheduled") >= rows.len() as u64);
    assert!(j["run"]["stopped"]
        .as_str()
        .unwrap_or("")
        .contains("writer"));
}

/// A thread of rwg that panics (injected with RWG_FAULT) ends the run
/// promptly with exit code 70 and a message naming the thread; the CSV keeps
/// whole rows up to the last batch written.
#[test]
fn internal_failure_ends_the_run_with_exit_70() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let url = url_of(srv.addr);
    let cpus = cpus_arg(1);
    for (fault, thread) in [("core-panic", "rwg-core-"), ("writer-panic", "rwg-writer")] {
        let out = run_with_env(
            &url,
            &["-r", "2000", "-d", "3s", "--cpus", &cpus],
            &[("RWG_FAULT", Some(fault))],
            Duration::from_secs(20),
        );
        out.assert_code(70);
        assert!(
            out.stderr.contains("internal error") && out.stderr.contains(thread),
            "{fault}: {}",
            out.stderr
        );
        // Strict parse: header, whole rows, no zero-filled tail.
        let rows = out.rows();
        assert!(rows.len() < 6000, "{fault}: {} rows", rows.len());
    }
    srv.stop();
}

/// An answer that arrives after its deadline but before the next deadline
/// sweep (every timeout/20, at most 20 ms) is a timeout, never OK: here the
/// server answers 5 ms after the 100 ms timeout.
#[test]
fn answers_after_the_deadline_are_timeouts() {
    let _g = serial();
    let out = run_against_slow_server(105_000_000);
    out.assert_no_panic();
    let rows = out.rows();
    assert_eq!(rows.len(), 50);
    for r in &rows {
        assert_eq!(r.error, "timeout", "{r:?}");
        assert!(r.status.is_none(), "{r:?}");
    }
}

/// Without a timerfd (injected) the dispatcher falls back to a 1 ms timer:
/// every arrival still gets its row at its intended instant, and the summary
/// says how sends were timed instead of claiming the send window.
#[test]
fn without_a_timerfd_the_summary_names_the_1ms_timer() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let url = url_of(srv.addr);
    let out = run_with_env(
        &url,
        &["-r", "1000", "-d", "1s", "--cpus", &cpus_arg(1)],
        &[("RWG_FAULT", Some("no-timerfd"))],
        Duration::from_secs(20),
    );
    out.assert_code(0);
    assert!(out.stdout.contains("1 ms timer"), "{}", out.stdout);
    let rows = out.rows();
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r.status == Some(200)));
    srv.stop();
}
