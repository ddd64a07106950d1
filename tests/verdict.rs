//! Every run judges its own validity: a generator that cannot keep its
//! schedule exits 4 and says so; arrivals without an answer rank above every
//! answer in the percentiles, the checks, `rwg report` and the interval log.

mod common;

use std::time::Duration;

use common::*;
use rwg::serve::{start, ServeConfig, Stall};

/// A rate no single core can offer: the verdict blames the generator, names
/// what to change, and the exit code is 4 — not a 1.7 s "latency" of the
/// target with exit 0.
#[test]
fn an_impossible_rate_exits_4_and_names_the_generator() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let mut cmd = rwg();
    cmd.args(["run", &url_of(srv.addr), "-r", "100000000", "-d", "1s"])
        .args(["--cpus", &cpus_arg(1), "-q", "--json"])
        .arg(&json);
    let out = finish(cmd, dir, Duration::from_secs(120));
    out.assert_code(4);
    out.assert_no_panic();
    assert!(out.stdout.contains("GENERATOR BEHIND"), "{}", out.stdout);
    assert!(out.stdout.contains("--cpus"), "{}", out.stdout);
    assert!(out.stderr.contains("generator"), "{}", out.stderr);
    let j = read_json(&json);
    assert_eq!(j["verdict"]["generator_behind"], true, "{}", j["verdict"]);
    assert_eq!(j["exit_code"], 4, "the JSON carries the exit code");
    assert!(u(&j["overall"], "skipped_generator_behind") > 0);
    srv.stop();
}

/// A target that freezes for 1 s of every 3 with only 10 workers: a third of
/// the arrivals find every worker waiting and are skipped. They rank above
/// every answer, so p90 over all arrivals is `unanswered` and `p90<20ms`
/// fails (exit 3), while the answered distribution is what it always was.
/// `rwg report` agrees from the CSV and from the interval log.
#[test]
fn a_stalling_target_ranks_unanswered_arrivals_last() {
    let _g = serial();
    let srv = start(ServeConfig {
        stall: Some(Stall {
            every_ns: 3_000_000_000,
            for_ns: 1_000_000_000,
        }),
        ..ServeConfig::default()
    })
    .unwrap();
    let hlog_dir = tempfile::tempdir().unwrap();
    let hlog = hlog_dir.path().join("run.hlog");
    let out = run(
        &url_of(srv.addr),
        &[
            "-r",
            "1000",
            "-d",
            "3s",
            "-w",
            "10",
            "--cpus",
            &cpus_arg(1),
            "--hlog",
            hlog.to_str().unwrap(),
            "--check",
            "p90<20ms",
            "--check",
            "answered_p90<20ms",
        ],
    );
    srv.stop();
    out.assert_code(3);
    let text = &out.stdout;
    assert!(text.contains("p90 unanswered"), "{text}");
    assert!(
        text.contains("check p90<20ms                 FAIL"),
        "{text}"
    );
    assert!(text.contains("answered_p90<20ms        pass"), "{text}");
    assert!(
        text.contains("all 10 workers were waiting on the target"),
        "{text}"
    );
    let j = out.json();
    let o = &j["overall"];
    let skipped = u(o, "skipped");
    assert!(skipped > 200, "{skipped} skipped");
    assert_eq!(u(o, "skipped_worker_cap"), skipped);
    let p90 = |d: &serde_json::Value| d["percentiles"][2].clone();
    assert_eq!(p90(&o["latency_all"])["name"], "p90");
    assert!(
        p90(&o["latency_all"])["us"].is_null(),
        "{}",
        o["latency_all"]
    );
    let answered_us = p90(&o["latency_answered"])["us"].as_f64().unwrap();
    assert!(answered_us < 20_000.0, "{answered_us}");

    // The CSV and the interval log give the same ranking.
    let csv = out.csv_path();
    let mut cmd = rwg();
    cmd.arg("report")
        .arg(&csv)
        .args(["--check", "p90<20ms", "--max-lag", TEST_MAX_LAG]);
    let rep = finish(cmd, tempfile::tempdir().unwrap(), Duration::from_secs(30));
    rep.assert_code(3);
    assert!(rep.stdout.contains("p90 unanswered"), "{}", rep.stdout);
    let mut cmd = rwg();
    cmd.arg("report")
        .arg(&hlog)
        .args(["--check", "p90<20ms", "--max-lag", TEST_MAX_LAG]);
    let rep = finish(cmd, tempfile::tempdir().unwrap(), Duration::from_secs(30));
    rep.assert_code(3);
    assert!(rep.stdout.contains("p90 unanswered"), "{}", rep.stdout);
    assert!(
        rep.stdout
            .contains(&format!("unanswered {}", u(o, "unanswered"))),
        "{}",
        rep.stdout
    );
}

/// A target whose delay grows through the run (0 → 30 ms over 3 s) is
/// flagged not steady; one with a fixed delay is not.
#[test]
fn a_target_getting_slower_is_not_steady_and_a_flat_one_is() {
    use rwg::serve::Delay;
    let _g = serial();
    for (delay, steady) in [
        (
            Delay::Ramp {
                from_ns: 0,
                to_ns: 30_000_000,
                over_ns: 3_000_000_000,
            },
            false,
        ),
        (Delay::Fixed { ns: 1_000_000 }, true),
    ] {
        let srv = start(ServeConfig {
            delay,
            ..ServeConfig::default()
        })
        .unwrap();
        let out = run(
            &url_of(srv.addr),
            &["-r", "300", "-d", "3s", "--cpus", &cpus_arg(1)],
        );
        srv.stop();
        out.assert_code(0);
        let j = out.json();
        let shape = &j["overall"]["steady"];
        assert_eq!(shape["steady"], steady, "{delay:?}: {shape}");
        assert_eq!(
            out.stdout.contains("not steady: queue growing"),
            !steady,
            "{}",
            out.stdout
        );
        assert!(j["overall"]["schedule"]["bins"].as_u64().unwrap() >= 200);
    }
}
