//! `rwg search` against `rwg serve --max-concurrency 4 --delay 10ms`, a
//! target of 400/s: below it nothing queues, beyond it the queue grows
//! without bound, so with fixed arrivals the knee is 400/s. The search must
//! land near it (with Poisson arrivals, near the rate a simulation of the
//! same M/D/4 queue gives), say "none" when no rate can pass, and stop with exit 4
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
    one_pool_across_the_search(&j);
    the_csv_holds_every_step(&out, &j);
}

/// Every step runs on the pool the steps before it dialled: the search
/// dials each connection once (the most any step asked for), not once per
/// step.
fn one_pool_across_the_search(j: &serde_json::Value) {
    let steps = j["steps"].as_array().unwrap();
    let n = |s: &serde_json::Value, key: &str| s[key].as_u64().unwrap();
    let most = steps.iter().map(|s| n(s, "connections")).max().unwrap();
    let asked: u64 = steps.iter().map(|s| n(s, "connections")).sum();
    let dialled: u64 = steps.iter().map(|s| n(s, "dialled")).sum();
    assert_eq!(n(&steps[0], "dialled"), n(&steps[0], "connections"));
    // A few may be dialled again (a connection the server closed).
    assert!(
        dialled >= most && dialled <= most + most / 20,
        "dialled {dialled}, the most a step asked for {most}, all steps {asked}"
    );
    let after_growth = steps.iter().skip(4);
    assert!(after_growth.map(|s| n(s, "dialled")).sum::<u64>() <= most / 20);
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

/// p99 of the time in system of an M/D/4 FIFO queue (Poisson arrivals at
/// `rate_per_sec`, 10 ms service, 4 servers): `rwg serve --max-concurrency
/// 4 --delay 10ms` fed by `--dist exp`, each answer `overhead_ms` later.
fn md4_p99_ms(rate_per_sec: f64, overhead_ms: f64) -> f64 {
    const ARRIVALS: usize = 200_000;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut uniform = move || {
        // xorshift64*: plenty for a queue's arrivals.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        ((state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (mut now_ms, mut free_ms) = (0.0, [0.0f64; 4]);
    let mut in_system_ms = Vec::with_capacity(ARRIVALS);
    for _ in 0..ARRIVALS {
        now_ms += -uniform().ln() * 1000.0 / rate_per_sec;
        let server = (0..4)
            .min_by(|&a, &b| free_ms[a].total_cmp(&free_ms[b]))
            .unwrap();
        free_ms[server] = free_ms[server].max(now_ms) + 10.0;
        in_system_ms.push(free_ms[server] - now_ms + overhead_ms);
    }
    in_system_ms.sort_by(f64::total_cmp);
    in_system_ms[ARRIVALS * 99 / 100]
}

/// The rate at which the simulated queue's p99 reaches `slo_ms`.
fn md4_rate_at(slo_ms: f64, overhead_ms: f64) -> f64 {
    let (mut lo, mut hi) = (100.0, 400.0);
    while hi - lo > 0.5 {
        let mid = (lo + hi) / 2.0;
        if md4_p99_ms(mid, overhead_ms) < slo_ms {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[test]
fn poisson_arrivals_find_the_simulated_queue_s_rate() {
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
            "2s",
            "--warmup",
            "1s",
            "--dist",
            "exp",
            "--max-lag",
            "20ms",
        ],
    );
    let text = out.all_output();
    out.assert_code(0);
    let j = out.json();
    // What the loopback and rwg add to the 10 ms: the first step's median
    // (at 100/s, a quarter of the capacity, next to nothing queues).
    let p50_us = j["steps"][0]["latency_all"]["percentiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "p50")
        .and_then(|p| p["us"].as_f64())
        .unwrap();
    let overhead_ms = (p50_us / 1000.0 - 10.0).max(0.0);
    let expected = md4_rate_at(50.0, overhead_ms);
    let found = f(&j, "highest_pass_per_sec");
    assert!(
        (found - expected).abs() <= 0.10 * expected,
        "found {found}/s, the simulated M/D/4 queue {expected:.1}/s \
         (overhead {overhead_ms:.2} ms):\n{text}"
    );
    // Random arrivals queue below the capacity: lower than the 400/s knee.
    assert!(found < 380.0, "{found}");
}

#[test]
fn the_simulation_is_the_known_queue() {
    // Fixed points: light load is the service time; near capacity the
    // queue is long; the rate for p99 < 50 ms lies between.
    assert!((md4_p99_ms(50.0, 0.0) - 10.0).abs() < 1.0);
    assert!(md4_p99_ms(390.0, 0.0) > 100.0);
    let at = md4_rate_at(50.0, 0.0);
    assert!((330.0..370.0).contains(&at), "{at}");
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
fn the_demo_searches_a_target_of_400_per_sec() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = rwg();
    cmd.args(["demo", "--search", "--cpus", &cpus_arg(1), "-o"])
        .arg(dir.path().join("out.csv"));
    let out = finish(cmd, dir, std::time::Duration::from_secs(120));
    let text = out.all_output();
    assert!(text.contains("a capacity of 400/s"), "{text}");
    assert!(
        text.contains("step  0        100/s for 1.0s: achieved 100.0/s"),
        "{text}"
    );
    assert!(text.contains("step      rate/s  achieved/s"), "{text}");
    // The verdict is the machine's to give: a noisy one may hold the
    // generator back (exit 4, said as such); else the knee is found.
    match out.code {
        Some(0) => {
            let found = text
                .split("highest sustainable rate: ")
                .nth(1)
                .and_then(|t| t.split("/s").next())
                .and_then(|r| r.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no rate found:\n{text}"));
            assert!((360.0..=440.0).contains(&found), "{found}:\n{text}");
        }
        Some(4) => assert!(
            text.contains("GENERATOR LIMIT: rwg could not offer"),
            "{text}"
        ),
        code => panic!("exit {code:?}:\n{text}"),
    }
    assert!(!out.rows().is_empty());
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
