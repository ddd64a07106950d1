//! SIGINT / SIGTERM mid-run: a prompt, clean stop with exit 130, the summary,
//! and a complete, well-formed CSV.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Starts a 10 s run at 500/s, sends `signal` after `after`, and checks the
/// stop. Returns the number of CSV rows.
fn interrupt(signal: libc::c_int, after: Duration) -> usize {
    let _g = serial();
    let srv = rwg::serve::start(Default::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    let json = dir.path().join("summary.json");
    let out_path = dir.path().join("stdout.txt");
    let err_path = dir.path().join("stderr.txt");
    let cpus = cpus_arg(1);
    let child = rwg()
        .arg("run")
        .arg(url_of(srv.addr))
        .args(["-r", "500", "-d", "10s", "-w", "32", "--cpus", &cpus, "-q"])
        .arg("-o")
        .arg(&csv)
        .arg("--json")
        .arg(&json)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    std::thread::sleep(after);
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "rwg ended before the signal"
    );
    // SAFETY: sends a signal to our own child, which has not been reaped.
    assert_eq!(
        unsafe { libc::kill(child.0.id() as libc::pid_t, signal) },
        0
    );
    let sent = Instant::now();
    let status = wait_timeout(&mut child.0, Duration::from_secs(10));
    let took = sent.elapsed();
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    let status = status.unwrap_or_else(|| panic!("still running 10 s after the signal"));
    assert!(
        took < Duration::from_secs(3),
        "took {took:?} to stop after the signal"
    );
    assert_eq!(
        status.code(),
        Some(130),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.contains("interrupted"), "summary: {stdout}");
    assert!(stdout.contains("scheduled"), "summary: {stdout}");

    let bytes = std::fs::read(&csv).unwrap();
    assert_eq!(bytes.last(), Some(&b'\n'), "CSV's last byte");
    assert!(!bytes.contains(&0), "NUL bytes in the CSV");
    let rows = read_csv(&csv); // also: header, 10 fields a line
    let j = read_json(&json);
    assert_eq!(u(&j["overall"], "scheduled"), rows.len() as u64);
    assert_eq!(u(&j["run"], "csv_rows"), rows.len() as u64);
    let stopped = j["run"]["stopped"].as_str().expect("stopped is a string");
    assert!(stopped.contains("interrupted"), "stopped: {stopped}");
    // Arrivals in flight at the stop may end cancelled; nothing else fails.
    for r in &rows {
        assert!(
            r.status == Some(200) || r.error == "cancelled" || r.error == "skipped",
            "{r:?}"
        );
    }
    // The only errors are the arrivals the stop cut short.
    let cancelled = rows.iter().filter(|r| r.error == "cancelled").count() as u64;
    assert_eq!(u(&j["overall"], "errors"), cancelled, "{}", j["overall"]);
    rows.len()
}

#[test]
fn sigint_stops_cleanly() {
    let n = interrupt(libc::SIGINT, Duration::from_millis(1500));
    assert!((500..=1200).contains(&n), "{n} rows after ~1.5 s at 500/s");
}

#[test]
fn sigterm_stops_cleanly() {
    let n = interrupt(libc::SIGTERM, Duration::from_millis(700));
    assert!((100..=700).contains(&n), "{n} rows after ~0.7 s at 500/s");
}
