//! `rwg search` against `rwg serve --max-concurrency 4 --delay 10ms`, a
//! target of 400/s: below it nothing queues, beyond it the queue grows
//! without bound, so with fixed arrivals the knee is 400/s. The search must
//! land near it, say "none" when no rate can pass, and stop with exit 4
//! when the generator is the limit. With `-o`, every step's rows land in
//! one CSV, a phase per warm-up and per measured step, which `rwg report
//! --by-phase` reads and `rwg plot` draws as a load–latency curve.

mod common;

use common::*;
use rwg::serve::{start, Delay, ServeConfig};

fn target_of_400_per_sec() -> rwg::serve::ServerHandle {
    start(ServeConfig {
        delay: Delay::Fixed { ns: 10_000_000 },
        max_concurrency: Some(4),
        ..ServeConfig::default()
    })
    .unwrap()
}

/// `rwg search URL ARGS --json J -o CSV`.
fn search(url: &str, args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = rwg();
    cmd.args(["search", url])
        .args(args)
        .arg("--json")
        .arg(dir.path().join("summary.json"))
        .arg("-o")
        .arg(dir.path().join("out.csv"))
        .args(["--cpus", &cpus_arg(1)]);
    finish(cmd, dir, std::time::Duration::from_secs(120))
}

#[test]
fn finds_the_capacity_of_a_known_target() {
    let _g = serial();
    let srv = target_of_400_per_sec();
    let out = search(
        &url_of(srv.addr),
        &[
            "--check",
            "p99<50ms",
            "--from",
            "100",
            "--step",
            "1s",
            "--warmup",
            "500ms",
            // The machine may be noisy: the generator's lag is not what is
            // tested here.
            "--max-lag",
            "20ms",
        ],
    );
    let text = out.all_output();
    out.assert_code(0);
    let j = out.json();
    let found = f(&j, "highest_pass_per_sec");
    assert!((360.0..=440.0).contains(&found), "found {found}/s:\n{text}");
    let fail = f(&j, "lowest_fail_per_sec");
    assert!(
        fail > found && (fail - found) / found <= 0.02 + 1e-9,
        "{found} {fail}"
    );
    // Growth ×2 from 100, then bisection.
    let rates: Vec<f64> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["planned_per_sec"].as_f64().unwrap())
        .collect();
    assert_eq!(rates[..3], [100.0, 200.0, 400.0], "{rates:?}");
    assert!(text.contains("highest sustainable rate:"), "{text}");
    assert!(
        text.contains("step  0        100/s for 1.0s: achieved 100.0/s"),
        "{text}"
    );
    // The table of steps, by rate.
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("step      rate/s"))
        .skip(1)
        .take(rates.len())
        .collect();
    let mut by_rate = rates.clone();
    by_rate.sort_by(f64::total_cmp);
    assert_eq!(table.len(), rates.len(), "{text}");
    for (line, rate) in table.iter().zip(&by_rate) {
        let cell = line.split_whitespace().nth(1).unwrap();
        assert_eq!(cell.parse::<f64>().unwrap(), *rate, "{line}");
    }
    the_csv_holds_every_step(&out, &j);
}

/// `-o`: every step's rows, its warm-up and its measured part a phase
/// each, as many rows per measured phase as the step scheduled; the
/// report by phase and the plot's load–latency curve read it.
fn the_csv_holds_every_step(out: &Outcome, j: &serde_json::Value) {
    let steps = j["steps"].as_array().unwrap();
    let rows = out.rows();
    let settings = read_json(&out.dir.path().join("out.csv.settings.json"));
    let phases = settings["phases"].as_array().unwrap();
    assert_eq!(settings["stop"], "complete");
    // Each step once at least (a straddling check repeats a step longer).
    assert!(phases.len() >= 2 * steps.len(), "{settings}");
    let last = phases.len() - 1;
    assert_eq!(phases[last]["label"], format!("step {}", steps.len() - 1));
    assert_eq!(phases[last - 1]["warmup"], true);
    let in_phase = |p: usize| rows.iter().filter(|r| r.phase as usize == p).count() as u64;
    assert_eq!(
        in_phase(last),
        steps.last().unwrap()["scheduled"].as_u64().unwrap()
    );
    let total: u64 = (0..phases.len()).map(in_phase).sum();
    assert_eq!(total, rows.len() as u64, "rows outside the named phases");
    let report = rwg()
        .args(["report", "--by-phase"])
        .arg(out.csv_path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains(&format!("\n  {last:>5} ")), "{text}");
    let html = out.dir.path().join("plot.html");
    let plot = rwg()
        .arg("plot")
        .arg(out.csv_path())
        .arg("-o")
        .arg(&html)
        .output()
        .unwrap();
    assert!(plot.status.success(), "{plot:?}");
    let page = std::fs::read_to_string(&html).unwrap();
    let at = page
        .find("aria-label=\"Load–latency curve\"")
        .expect("no curve");
    let svg = &page[at..at + page[at..].find("</svg>").unwrap()];
    // A p50 and a p99 line, each with a dot and a whisker per step.
    let whiskers = svg.matches("class=\"ci\"").count();
    assert!(
        whiskers >= 2 * steps.len(),
        "{whiskers} whiskers, {} steps",
        steps.len()
    );
}

#[test]
fn no_rate_passes_an_slo_below_the_service_time() {
    let _g = serial();
    let srv = target_of_400_per_sec();
    let out = search(
        &url_of(srv.addr),
        &[
            "--check",
            "p50<5ms",
            "--from",
            "50",
            "--step",
            "1s",
            "--warmup",
            "0s",
            "--max-lag",
            "20ms",
        ],
    );
    out.assert_code(3);
    let text = out.all_output();
    assert!(
        text.contains("no rate passes: the first step, 50/s, fails (p50<5ms"),
        "{text}"
    );
    let j = out.json();
    assert!(j["highest_pass_per_sec"].is_null());
    assert_eq!(j["steps"].as_array().unwrap().len(), 1);
    assert_eq!(j["exit_code"], 3);
}

#[test]
fn the_generator_as_the_limit_stops_the_search() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    // Far beyond what one core sends on time.
    let out = search(
        &url_of(srv.addr),
        &[
            "--from", "400000", "--step", "1s", "--warmup", "0s", "-t", "100ms", "-c", "64",
        ],
    );
    let text = out.all_output();
    out.assert_code(4);
    assert!(
        text.contains("GENERATOR LIMIT: rwg could not offer 400000/s"),
        "{text}"
    );
    assert_eq!(out.json()["generator_limit"], true);
}

#[test]
fn an_interrupted_search_keeps_its_steps() {
    let _g = serial();
    let srv = target_of_400_per_sec();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    let json = dir.path().join("summary.json");
    let mut child = KillOnDrop(
        rwg()
            .args(["search", &url_of(srv.addr), "--check", "p99<50ms"])
            .args(["--from", "100", "--step", "1s", "--warmup", "0s"])
            .args(["--max-lag", "20ms", "--cpus", &cpus_arg(1), "-o"])
            .arg(&csv)
            .arg("--json")
            .arg(&json)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // In the third step (each is 1 s after ~0.1 s of dialling).
    std::thread::sleep(std::time::Duration::from_millis(2500));
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(child.0.wait().unwrap().code(), Some(130));
    let j = read_json(&json);
    assert_eq!(j["interrupted"], true);
    assert_eq!(j["exit_code"], 130);
    let judged = j["steps"].as_array().unwrap().len();
    assert!((1..=2).contains(&judged), "{j}");
    // The step cut short is in the CSV too: every row it recorded, in a
    // phase of its own after the judged steps'.
    let settings = read_json(&dir.path().join("out.csv.settings.json"));
    assert_eq!(settings["stop"], "signal");
    let phases = settings["phases"].as_array().unwrap().len();
    assert_eq!(phases, judged + 1, "{settings}");
    let rows = read_csv(&csv);
    for (phase, step) in j["steps"].as_array().unwrap().iter().enumerate() {
        let n = rows.iter().filter(|r| r.phase as usize == phase).count() as u64;
        assert_eq!(n, step["scheduled"].as_u64().unwrap(), "phase {phase}");
    }
    assert!(rows.iter().all(|r| (r.phase as usize) < phases));
}

#[test]
fn search_flags_are_checked() {
    for (args, says) in [
        (vec!["-r", "100"], "--rate: the search plans its rates"),
        (vec!["--from", "0"], "--from"),
        (vec!["--from", "500", "--to", "100"], "below --from"),
        (vec!["--precision", "x"], "invalid --precision 'x'"),
        (vec!["-w", "10"], "--workers: each step's workers are sized"),
    ] {
        let out = search("http://127.0.0.1:9/", &args);
        out.assert_code(2);
        let text = out.all_output();
        assert!(text.contains(says), "{args:?}: {text}");
    }
}
