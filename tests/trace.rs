//! Trace replay (`--trace`), the real binary against `rwg serve`: arrivals
//! at exactly the traced instants, split over cores by index, each to the
//! target its line names (or drawn from the mix), h2load's timing-script
//! format, `--trace-speed`, the per-second summary, and bad traces.

mod common;

use common::*;
use rwg::serve::{start, ServeConfig};

const MS: u64 = 1_000_000;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Each row's planned instant relative to the earliest, and its label, in
/// planned order.
fn replayed(out: &Outcome) -> Vec<(u64, String)> {
    let mut rows = out.rows();
    rows.sort_by_key(|r| r.timestamp_ns);
    let t0 = rows[0].timestamp_ns;
    rows.into_iter()
        .map(|r| (r.timestamp_ns - t0, r.url))
        .collect()
}

/// 400 arrivals over two cores, some naming a workload target, the rest
/// left to the mix: every row is planned at its line's offset exactly, goes
/// to the target the line names, and the summary's seconds add up.
#[test]
fn a_trace_is_replayed_at_its_instants() {
    let srv = start(ServeConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = url_of(srv.addr);
    let file = write(
        &dir,
        "w.toml",
        &format!(
            "[[target]]\nname = \"a\"\nurl = \"{base}a\"\n\n\
             [[target]]\nname = \"b\"\nurl = \"{base}b\"\n"
        ),
    );
    // Uneven gaps (1–4 ms, with bursts of equal instants) over ~1 s.
    let mut text = String::from("# offset target\n");
    let mut expected = Vec::new();
    let mut at_us = 0u64;
    for i in 0..400u64 {
        at_us += [1_000, 4_000, 0, 2_500][(i % 4) as usize];
        let name = match i % 3 {
            0 => Some("a"),
            1 => Some("b"),
            _ => None,
        };
        text.push_str(&format!("{at_us}us {}\n", name.unwrap_or("")));
        expected.push((at_us * 1_000, name));
    }
    let trace = write(&dir, "trace.txt", &text);
    let cpus = cpus_arg(2);
    let out = run_args(&["-f", &file, "--trace", &trace, "--cpus", &cpus, "-w", "64"]);
    out.assert_code(0);
    let rows = replayed(&out);
    assert_eq!(rows.len(), 400);
    let first_ns = expected[0].0;
    let instants: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let planned: Vec<u64> = expected.iter().map(|e| e.0 - first_ns).collect();
    assert_eq!(instants, planned, "planned instants are the trace's");
    // Rows at one instant may come in any order: compare them as sets.
    let mut i = 0;
    while i < rows.len() {
        let j = i + rows[i..].iter().take_while(|r| r.0 == rows[i].0).count();
        let mut got: Vec<&str> = rows[i..j].iter().map(|r| r.1.as_str()).collect();
        let mut named: Vec<&str> = expected[i..j].iter().filter_map(|e| e.1).collect();
        got.sort_unstable();
        named.sort_unstable();
        assert!(got.iter().all(|l| *l == "a" || *l == "b"), "{got:?}");
        let mut rest = got.clone();
        for n in &named {
            let k = rest.iter().position(|l| l == n);
            assert!(k.is_some(), "at {} ns: {got:?} lacks {n}", rows[i].0);
            rest.remove(k.unwrap());
        }
        i = j;
    }
    let json = out.json();
    let trace_json = &json["run"]["trace"];
    assert_eq!(trace_json["arrivals"], 400);
    let seconds = trace_json["seconds"].as_array().unwrap();
    let sum = |k: &str| seconds.iter().map(|s| s[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (sum("planned"), sum("sent"), sum("answered")),
        (400, 400, 400)
    );
    assert!(json["overall"]["planned_rate_per_sec"].is_null());
    assert!(pctl_us(&json["overall"]["send_lag"], "p99").is_some());
    assert!(
        out.stdout.contains("planned by the trace"),
        "{}",
        out.stdout
    );
}

/// h2load's `--timing-script-file` format (ms offsets, paths on the URL's
/// origin) at twice the speed: the server sees each path, the CSV names
/// each row's URL, and the gaps are halved.
#[test]
fn an_h2load_timing_script_replays_at_speed() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.bin");
    let srv = start(ServeConfig {
        capture: Some(capture.clone()),
        ..Default::default()
    })
    .unwrap();
    let base = url_of(srv.addr);
    let trace = write(
        &dir,
        "timing.txt",
        "0.0\t/a\n10.0\t/b?x=1\n30.5\t/a\n31\t/c\n",
    );
    let out = run_args(&[
        &base,
        "--trace",
        &trace,
        "--trace-speed",
        "2",
        "--cpus",
        "0",
    ]);
    out.assert_code(0);
    let origin = base.trim_end_matches('/');
    let rows = replayed(&out);
    let want = [
        (0, format!("{origin}/a")),
        (5 * MS, format!("{origin}/b?x=1")),
        (15_250_000, format!("{origin}/a")),
        (15_500_000, format!("{origin}/c")),
    ];
    assert_eq!(rows, want);
    let seen = String::from_utf8(std::fs::read(&capture).unwrap()).unwrap();
    // Requests late behind a slow connect may reach the server on other
    // connections in another order: compare what was seen, not when.
    let mut lines: Vec<&str> = seen.lines().filter(|l| l.starts_with("GET ")).collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "GET /a HTTP/1.1",
            "GET /a HTTP/1.1",
            "GET /b?x=1 HTTP/1.1",
            "GET /c HTTP/1.1"
        ]
    );
}

/// A bad trace exits 2 naming the file and line; so does a name no target
/// has, and --trace beside -r.
#[test]
fn bad_traces_exit_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = "http://127.0.0.1:9/";
    for (text, named) in [
        (
            "0\n5ms\n4ms\n",
            "trace line 3: offset 4.00ms is before line 2's",
        ),
        ("1ms\n2xs\n", "trace line 2: invalid offset '2xs'"),
        ("1ms search\n", "trace line 1: no target named 'search'"),
        ("# empty\n", "no arrivals"),
    ] {
        let trace = write(&dir, "bad.txt", text);
        let out = run_args(&[url, "--trace", &trace, "-n", "1"]);
        out.assert_code(2);
        assert!(out.stderr.contains(named), "{text:?}: {}", out.stderr);
        assert!(out.stderr.contains("bad.txt"), "{}", out.stderr);
    }
    let trace = write(&dir, "ok.txt", "0\n");
    let out = run_args(&[url, "--trace", &trace, "-r", "10"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--rate"), "{}", out.stderr);
    let out = run_args(&[url, "--trace", &trace, "--trace-speed", "0"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--trace-speed 0"), "{}", out.stderr);
}
