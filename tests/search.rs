//! `rwg search` against `rwg serve --max-concurrency 4 --delay 10ms`, a
//! target of 400/s: below it nothing queues, beyond it the queue grows
//! without bound, so with fixed arrivals the knee is 400/s. The search must
//! land near it, say "none" when no rate can pass, and stop with exit 4
//! when the generator is the limit.

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

/// `rwg search URL ARGS --json J`.
fn search(url: &str, args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let mut cmd = rwg();
    cmd.args(["search", url])
        .args(args)
        .arg("--json")
        .arg(&json)
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
fn search_flags_are_checked() {
    for (args, says) in [
        (vec!["-r", "100"], "--rate: the search plans its rates"),
        (vec!["--from", "0"], "--from"),
        (vec!["--from", "500", "--to", "100"], "below --from"),
        (vec!["--precision", "x"], "invalid --precision 'x'"),
    ] {
        let out = search("http://127.0.0.1:9/", &args);
        out.assert_code(2);
        let text = out.all_output();
        assert!(text.contains(says), "{args:?}: {text}");
    }
}
