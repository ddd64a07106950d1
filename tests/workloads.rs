//! Workloads beyond one steady rate, the real binary against `rwg serve`:
//! rate ramps within a phase (`-r FROM:TO`).

mod common;

use common::*;
use rwg::serve::{start, ServeConfig};

/// `-r 0:400,400 -d 1s,500ms`: the ramp's rows are the integral of its rate
/// (200), its planned gaps shrink, the steady phase follows at 400/s, and
/// the summary and JSON name the ramp.
#[test]
fn a_ramp_plans_the_integral_of_its_rate() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let url = url_of(srv.addr);
    let out = run(&url, &["-r", "0:400,400", "-d", "1s,500ms", "-w", "64"]);
    out.assert_code(0);
    let rows = out.rows();
    let ramp: Vec<u64> = rows
        .iter()
        .filter(|r| r.phase == 0)
        .map(|r| r.timestamp_ns)
        .collect();
    assert_eq!(ramp.len(), 200, "ramp rows");
    assert_eq!(rows.iter().filter(|r| r.phase == 1).count(), 200);
    assert_all_200(&rows, &url);
    let mut planned = ramp.clone();
    planned.sort_unstable();
    let gaps: Vec<i64> = planned.windows(2).map(|w| (w[1] - w[0]) as i64).collect();
    for w in gaps.windows(2) {
        assert!(w[1] <= w[0] + 1, "ramp gaps must shrink: {w:?}");
    }
    // Λ(t) = 200 t²: slot 50 at 0.5 s from the start (slot 0).
    assert_eq!(planned[50] - planned[0], 500_000_000);
    let j = out.json();
    // Two phases: the run as a whole has no single planned rate.
    assert!(j["overall"]["planned_rate_per_sec"].is_null());
    assert_eq!(
        j["phases"][0]["planned_ramp_per_sec"],
        serde_json::json!([0, 400])
    );
    assert!(j["phases"][0]["planned_rate_per_sec"].is_null());
    assert_eq!(j["phases"][1]["planned_rate_per_sec"], 400);
    assert!(j["phases"][1]["planned_ramp_per_sec"].is_null());
    let text = out.all_output();
    assert!(text.contains("planned 0→400/s (mean 200/s)"), "{text}");
}

/// `0:0` is no ramp, and a bad end names the value (exit 2).
#[test]
fn bad_ramps_exit_2_naming_the_value() {
    for (rate, names) in [("0:0", "'0:0'"), ("10:x", "'10:x'"), ("5:6:7", "'5:6:7'")] {
        let out = run("http://127.0.0.1:9/", &["-r", rate, "-d", "1s"]);
        out.assert_code(2);
        assert!(out.all_output().contains(names), "{}", out.all_output());
    }
}
