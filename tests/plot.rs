//! `rwg plot` end to end: CSVs from real runs of the binary against the
//! built-in target, and hand-written ones, turned into one HTML page; the page
//! must be self-contained and render in headless Chromium.
//!
//! The Chromium check needs `/usr/bin/chromium` (Debian: `apt-get install -y
//! chromium`); without it that test is skipped with a line saying so, and
//! fails under `CI=true`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rwg::plot::plot;
use rwg::serve::{start, Delay, ServeConfig};

const TITLES: [&str; 6] = [
    "Latency over time",
    "Throughput: offered vs achieved",
    "Send lag over time",
    "Errors and dropped over time",
    "Latency percentile distribution",
    // The two-phase run's two steady phases make a curve.
    "Load–latency curve",
];
const CHROMIUM: &str = "/usr/bin/chromium";
const MS: u64 = 1_000_000;

/// A directory under Cargo's per-target scratch space (kept after the run,
/// so the HTML and screenshot can be looked at).
fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plot")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first CPU this process may run on (`rwg run` wants `--cpus`).
fn first_cpu() -> String {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    ids.first().map_or(0, |c| c.id).to_string()
}

/// Runs `rwg run` against a built-in target answering 10% 503s; returns the CSV.
fn run_csv(dir: &Path, name: &str, rates: &str, durations: &str) -> PathBuf {
    let srv = start(ServeConfig {
        status_mix: vec![(503, 0.1)],
        delay: Delay::Exp { mean_ns: MS },
        ..Default::default()
    })
    .unwrap();
    let csv = dir.join(name);
    let url = format!("http://{}/", srv.addr);
    let out = Command::new(env!("CARGO_BIN_EXE_rwg"))
        .args([
            "run",
            &url,
            "-r",
            rates,
            "-d",
            durations,
            "-q",
            "--ignore-errors",
            "--max-lag",
            common::TEST_MAX_LAG,
        ])
        .args(["--cpus", &first_cpu(), "-o"])
        .arg(&csv)
        .output()
        .unwrap();
    srv.stop();
    assert!(
        csv.exists(),
        "rwg run wrote no CSV ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    csv
}

/// Two real runs (a steady one and a two-phase one), made once per process.
fn real_csvs() -> &'static (PathBuf, PathBuf) {
    static CSVS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    CSVS.get_or_init(|| {
        let dir = work_dir("runs");
        let a = run_csv(&dir, "steady.csv", "300", "2s");
        let b = run_csv(&dir, "two-phase.csv", "150,450", "1s,1s");
        (a, b)
    })
}

/// The page for both real runs, made once per process.
fn real_page() -> &'static (PathBuf, String) {
    static PAGE: OnceLock<(PathBuf, String)> = OnceLock::new();
    PAGE.get_or_init(|| {
        let (a, b) = real_csvs();
        let out = work_dir("page").join("report.html");
        let summary = plot(&[a.clone(), b.clone()], &out, 100 * MS, Some(50 * MS)).unwrap();
        assert_eq!(summary.files.len(), 2);
        assert!(summary
            .files
            .iter()
            .all(|f| f.rows > 100 && f.intervals >= 15));
        assert_eq!(summary.html_bytes, std::fs::metadata(&out).unwrap().len());
        let html = std::fs::read_to_string(&out).unwrap();
        (out, html)
    })
}

/// Values of `attr="…"` / `attr='…'` attributes anywhere in `html`.
fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let mut v = Vec::new();
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices(&format!("{attr}=")) {
        let rest = &html[i + attr.len() + 1..];
        let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            v.push(rest.split([' ', '>']).next().unwrap_or(""));
            continue;
        };
        v.push(rest[1..].split(q).next().unwrap_or(""));
    }
    v
}

fn assert_self_contained(html: &str) {
    for attr in ["src", "href", "xlink:href", "action", "srcset"] {
        for value in attr_values(html, attr) {
            let v = value.trim().to_ascii_lowercase();
            assert!(
                !v.starts_with("http:") && !v.starts_with("https:") && !v.starts_with("//"),
                "external reference {attr}={value}"
            );
        }
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "the page needs no scripts");
    assert!(
        !lower.contains("@import") && !lower.contains("url("),
        "no external CSS"
    );
}

#[test]
fn two_real_runs_overlay_on_one_self_contained_page() {
    let (out, html) = real_page();
    assert_self_contained(html);
    for title in TITLES {
        assert!(html.contains(title), "missing chart {title:?}");
    }
    for name in ["steady.csv", "two-phase.csv"] {
        assert!(html.contains(name), "missing file {name}");
    }
    assert_eq!(html.matches("<svg viewBox").count(), 6);
    // Two phases in the second run, each marked with its planned rate
    // (from the settings rwg run wrote beside the CSV).
    assert!(html.contains("phase 0: 150/s planned"), "{}", out.display());
    assert!(html.contains("phase 1: 450/s planned"));
    // The settings table: version, host, phases and the command line.
    assert!(html.contains("<h2>Settings</h2>"));
    assert!(html.contains("0: 150/s × 1 s, 1: 450/s × 1 s"));
    assert!(html.contains("run http://127.0.0.1:"));
    assert!(html.contains(&format!(
        "<td class=\"l\">{}</td>",
        env!("CARGO_PKG_VERSION")
    )));
    // Offered is the wide band under the achieved line.
    assert!(html.contains(r#"stroke-width="8" stroke-opacity="0.25""#));
    assert!(html.contains("SLO 50 ms"));
    // Axes say their units.
    assert!(html.contains("time since start (s)"));
    assert!(html.contains("requests per second (req/s)"));
    assert!(html.contains("percentile (%)"));
    // Each run's percentiles carry their 95 % intervals (p50 … p99.9 of
    // a few hundred rows at least: p50, p75, p90, p95, p99 have both ends).
    let dist = &html[html
        .find("aria-label=\"Latency percentile distribution\"")
        .unwrap()..];
    let bars = dist[..dist.find("</svg>").unwrap()]
        .matches(r#"class="ci""#)
        .count();
    assert!((10..=12).contains(&bars), "{bars} interval bars");
    // The load–latency curve: p50 and p99 of each of the two phases.
    let load = &html[html.find("aria-label=\"Load–latency curve\"").unwrap()..];
    let bars = load[..load.find("</svg>").unwrap()]
        .matches(r#"class="ci""#)
        .count();
    assert_eq!(bars, 4, "interval bars on the load–latency curve");
}

/// A row of the CSV contract.
fn row(ts_ns: u64, phase: u32, status: &str, latency_us: f64, error: &str) -> String {
    format!("{ts_ns},http://t/,{phase},{status},{latency_us},{latency_us},1.0,10,{error},1\n")
}

const HEADER: &str =
    "timestamp_ns,url,phase,status,latency_us,service_us,lag_us,bytes,error,in_flight\n";

#[test]
fn hand_written_csv_counts_phases_and_warnings() {
    let dir = work_dir("hand");
    let t0 = 1_700_000_000_000_000_000u64;
    let mut csv = HEADER.to_string();
    for i in 0..1000u64 {
        let phase = u32::from(i >= 500);
        let (status, error) = match i % 10 {
            0 => ("503", ""),
            1 if i % 20 == 1 => ("", "timeout"),
            2 if i % 50 == 2 => ("", "skipped"),
            _ => ("200", ""),
        };
        csv += &row(
            t0 + i * 4 * MS,
            phase,
            status,
            100.0 + (i % 97) as f64 * 30.0,
            error,
        );
    }
    csv += "1700000004000000000,http://t/,1,200"; // cut off by a crash
    let path = dir.join("hand <1>.csv");
    std::fs::write(&path, csv).unwrap();
    let out = dir.join("hand.html");
    let summary = plot(std::slice::from_ref(&path), &out, 250 * MS, None).unwrap();
    assert_eq!(summary.files[0].rows, 1000);
    assert_eq!(summary.files[0].intervals, 16);
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    assert!(
        summary.warnings[0].contains(":1002:"),
        "{:?}",
        summary.warnings
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("hand &lt;1&gt;.csv"), "file name escaped");
    assert!(!html.contains("hand <1>"));
    assert!(html.contains("<td>1,000</td>"), "total in the table");
    assert!(html.contains("<td>100</td>"), "dropped in the table");
    // No settings file beside it: the rates offered, as measured.
    assert!(html.contains("phase 0: 250 req/s offered"));
    assert!(html.contains("phase 1: 250 req/s offered"));
    assert!(!html.contains("<h2>Settings</h2>"));
    assert!(html.contains("2023-11-14 22:13:20"), "start in UTC");
    assert!(html.contains("warning: "), "warnings shown on the page");
}

#[test]
fn a_run_without_responses_still_plots() {
    let dir = work_dir("silent");
    let t0 = 1_700_000_000_000_000_000u64;
    let mut csv = HEADER.to_string();
    for i in 0..50u64 {
        csv += &row(t0 + i * 20 * MS, 0, "", 0.0, "connect");
    }
    let path = dir.join("down.csv");
    std::fs::write(&path, csv).unwrap();
    let out = dir.join("down.html");
    let summary = plot(std::slice::from_ref(&path), &out, 100 * MS, Some(MS)).unwrap();
    assert_eq!(summary.files[0].rows, 50);
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        html.matches("no responses").count(),
        2,
        "latency charts say why empty"
    );
    assert!(html.contains("<td>50</td>"), "errors in the table");
    assert!(!html.contains("NaN") && !html.contains("inf"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = work_dir("bad");
    let missing = dir.join("missing.csv");
    let out = dir.join("out.html");
    let err = plot(std::slice::from_ref(&missing), &out, MS, None).unwrap_err();
    assert!(
        err.contains("cannot read") && err.contains("missing.csv"),
        "{err}"
    );

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "time,latency\n1,2\n").unwrap();
    let err = plot(std::slice::from_ref(&bad), &out, MS, None).unwrap_err();
    assert!(err.contains("bad.csv:1:"), "{err}");

    let row3 = dir.join("row3.csv");
    std::fs::write(&row3, format!("{HEADER}{}1,x\n", row(5, 0, "200", 1.0, ""))).unwrap();
    let err = plot(std::slice::from_ref(&row3), &out, MS, None).unwrap_err();
    assert!(err.contains("row3.csv:3:"), "{err}");

    let empty = dir.join("empty.csv");
    std::fs::write(&empty, HEADER).unwrap();
    let err = plot(std::slice::from_ref(&empty), &out, MS, None).unwrap_err();
    assert!(err.contains("empty.csv: no rows"), "{err}");

    let good = dir.join("good.csv");
    std::fs::write(&good, format!("{HEADER}{}", row(5, 0, "200", 1.0, ""))).unwrap();
    assert!(plot(&[], &out, MS, None).unwrap_err().contains("no CSV"));
    let err = plot(std::slice::from_ref(&good), &out, 0, None).unwrap_err();
    assert!(err.contains("interval"), "{err}");
    let err = plot(
        std::slice::from_ref(&good),
        &dir.join("no/such/dir.html"),
        MS,
        None,
    );
    assert!(err.unwrap_err().contains("cannot write"));
    assert!(!out.exists(), "nothing written on error");
}

/// Runs `cmd`, killing it after `limit`; returns (success, stdout, stderr).
fn run_with_limit(cmd: &mut Command, limit: Duration) -> (bool, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{CHROMIUM} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

#[test]
fn renders_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() {
        common::missing_tool(CHROMIUM, "apt-get install chromium");
        return;
    }
    let (html_path, _) = real_page();
    let dir = work_dir("chromium");
    let shot = dir.join("shot.png");
    let url = format!("file://{}", html_path.display());
    let chromium = |extra: &[&str], profile: &str| {
        let mut cmd = Command::new(CHROMIUM);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .args(["--enable-logging=stderr", "--v=0", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", dir.join(profile).display()))
        .args(extra)
        .arg(&url);
        run_with_limit(&mut cmd, Duration::from_secs(90))
    };
    let shot_arg = format!("--screenshot={}", shot.display());
    let (ok, _, stderr) = chromium(&[&shot_arg, "--window-size=1280,2000"], "p1");
    assert!(ok, "chromium --screenshot failed:\n{stderr}");
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    for bad in ["Uncaught", "console.error"] {
        assert!(!stderr.contains(bad), "JS error in chromium log:\n{stderr}");
    }
    eprintln!("screenshot: {}", shot.display());

    let (ok, dom, stderr) = chromium(&["--dump-dom"], "p2");
    assert!(ok, "chromium --dump-dom failed:\n{stderr}");
    assert_eq!(dom.matches("<svg viewBox").count(), 6, "charts in the DOM");
    assert!(TITLES.iter().all(|t| dom.contains(t)));
}
