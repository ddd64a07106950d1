//! Bad input to `rwg run`: exit 2, a message naming the offending value, no
//! panic, no output file, no load.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// An address nothing should answer on: if validation wrongly let a case
/// through, `-n 1` keeps the run to a single (failing) request.
const URL: &str = "http://127.0.0.1:9/";

/// Runs `rwg run ARGS -n 1 -o DIR/out.csv` and checks the bad-input contract.
fn bad(args: &[&str], names: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    let mut cmd = rwg();
    cmd.arg("run")
        .args(args)
        .arg("-n")
        .arg("1")
        .arg("-o")
        .arg(&csv);
    let out = finish(cmd, dir, Duration::from_secs(20));
    out.assert_code(2);
    out.assert_no_panic();
    for n in names {
        assert!(
            out.stderr.contains(n),
            "{args:?}: stderr should name {n:?}:\n{}",
            out.stderr
        );
    }
    assert!(
        !Path::new(&csv).exists(),
        "{args:?}: CSV created despite bad input"
    );
}

#[test]
fn rate_and_duration_counts_differ() {
    let c = cpus_arg(1);
    bad(
        &[URL, "-r", "100,200", "-d", "1s", "--cpus", &c],
        &["--rate", "--duration"],
    );
}

#[test]
fn negative_rate() {
    let c = cpus_arg(1);
    bad(&[URL, "--rate=-5", "-d", "1s", "--cpus", &c], &["-5"]);
    // As two words, too: the rate's own message, not clap's `-- -5` tip.
    bad(
        &[URL, "-r", "-5", "-d", "1s", "--cpus", &c],
        &["invalid rate '-5'"],
    );
}

#[test]
fn non_numeric_rate() {
    let c = cpus_arg(1);
    bad(&[URL, "-r", "abc", "-d", "1s", "--cpus", &c], &["abc"]);
    // Decimals are rates (0.5/s), to the thousandth.
    bad(&[URL, "-r", "1.5x", "-d", "1s", "--cpus", &c], &["1.5x"]);
    bad(
        &[URL, "-r", "0.0001", "-d", "1s", "--cpus", &c],
        &["0.0001", "finer than 0.001"],
    );
}

#[test]
fn bad_duration_unit() {
    let c = cpus_arg(1);
    bad(&[URL, "-d", "10x", "--cpus", &c], &["10x"]);
    bad(&[URL, "-r", "1,2", "-d", "1s,-1s", "--cpus", &c], &["-1s"]);
}

#[test]
fn zero_duration() {
    let c = cpus_arg(1);
    bad(&[URL, "-d", "0", "--cpus", &c], &["duration"]);
}

#[test]
fn bad_url() {
    let c = cpus_arg(1);
    bad(&["not a url", "--cpus", &c], &["not a url"]);
    bad(&["not_a_url", "--cpus", &c], &["not_a_url"]);
}

#[test]
fn a_url_without_scheme_suggests_one() {
    let c = cpus_arg(1);
    bad(
        &["127.0.0.1:9/api", "--cpus", &c],
        &["'127.0.0.1:9/api'", "try 'http://127.0.0.1:9/api'"],
    );
    // The Go tool's --url, too; and not both.
    bad(&["--url", "127.0.0.1:9", "--cpus", &c], &["try 'http://"]);
    bad(&[URL, "--url", URL, "--cpus", &c], &["--url"]);
}

#[test]
fn unknown_distribution() {
    let c = cpus_arg(1);
    bad(&[URL, "--dist", "weird", "--cpus", &c], &["weird"]);
}

#[test]
fn fewer_workers_than_cpus() {
    if allowed_cpus().len() < 2 {
        eprintln!("only one CPU allowed: nothing to check");
        return;
    }
    let c = cpus_arg(2);
    bad(&[URL, "-w", "1", "--cpus", &c], &["--workers 1"]);
}

#[test]
fn zero_timeout() {
    let c = cpus_arg(1);
    bad(&[URL, "-t", "0", "--cpus", &c], &["--timeout"]);
}

#[test]
fn send_window_too_large_or_malformed() {
    let c = cpus_arg(1);
    bad(
        &[URL, "--send-window", "1s", "--cpus", &c],
        &["--send-window"],
    );
    bad(
        &[URL, "--send-window", "5 parsecs", "--cpus", &c],
        &["--send-window"],
    );
}

#[test]
fn lazy_reads_and_precise_exclude_each_other() {
    bad(
        &[URL, "--precise", "--lazy-reads"],
        &["--lazy-reads", "--precise"],
    );
}

#[test]
fn cpu_not_allowed() {
    bad(&[URL, "--cpus", "100000"], &["100000"]);
}

/// Without `--cpus` (the documented default) a run uses every allowed CPU.
/// (Regression: this once exited 2 with "no CPUs selected".)
#[test]
fn run_without_cpus_uses_all_allowed_cpus() {
    let _g = serial();
    let srv = rwg::serve::start(Default::default()).unwrap();
    let out = run(&url_of(srv.addr), &["-r", "50", "-d", "200ms", "-w", "8"]);
    out.assert_code(0);
    let j = out.json();
    let cpus: Vec<usize> = j["run"]["cpus"]
        .as_array()
        .expect("cpus[]")
        .iter()
        .map(|c| c.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(cpus, allowed_cpus());
    assert_eq!(out.rows().len(), 10);
}

/// Without `--cpus`, a run given fewer connections (or workers) than there
/// are CPUs runs on that many cores instead of being refused: `-c 1` on a
/// machine of several CPUs used to exit 2 ("--workers 1 is less than the N
/// CPUs selected"). With `--cpus` the refusal stands (fewer_workers_than_cpus).
#[test]
fn fewer_connections_than_cpus_without_cpus_runs_on_fewer_cores() {
    if allowed_cpus().len() < 2 {
        eprintln!("only one CPU allowed: nothing to check");
        return;
    }
    let _g = serial();
    let srv = rwg::serve::start(Default::default()).unwrap();
    let out = run(&url_of(srv.addr), &["-r", "0", "-n", "200", "-c", "1"]);
    out.assert_code(0);
    let cpus = out.json()["run"]["cpus"].as_array().expect("cpus[]").len();
    assert_eq!(cpus, 1, "one connection: one core");
    assert_eq!(out.rows().len(), 200);
}

/// Sizes the machine cannot hold are refused before anything is allocated
/// (they used to allocate until the OOM killer struck), naming the value.
#[test]
fn absurd_sizes_are_refused_before_allocating() {
    let c = cpus_arg(1);
    // (workers, connections, what the message must name). The last: more
    // connections than any open-file limit allows (nr_open <= 2^30).
    let cases = [
        ("100000000", "64", &["--workers 100000000", "GiB"][..]),
        ("4294967296", "64", &["--workers 4294967296"][..]),
        (
            "64",
            "2000000000",
            &["--connections 2000000000", "open files"][..],
        ),
    ];
    for (workers, connections, names) in cases {
        let args = [
            "-r",
            "10",
            "-d",
            "1s",
            "--cpus",
            &c,
            "-w",
            workers,
            "-c",
            connections,
        ];
        bad(&[&[URL][..], &args[..]].concat(), names);
    }
}

/// `rwg serve` refuses bad knobs the same way: exit 2 naming the value,
/// before it listens.
#[test]
fn bad_serve_flags_exit_2_naming_the_value() {
    for (args, named) in [
        (&["--delay", "search=5ms"][..], "'search=5ms'"),
        (&["--delay", "/a=1ms,2ms,3ms"][..], "only one"),
        (&["--stall", "1s"][..], "'1s'"),
        (
            &["--capture", "/nonexistent/dir/c.bin"][..],
            "/nonexistent/dir",
        ),
    ] {
        let out = rwg()
            .args(["serve", "-p", "0", "--duration", "1s"])
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        let want = if named.starts_with('/') { 1 } else { 2 };
        assert_eq!(code, Some(want), "{args:?}: {err}");
        assert!(err.contains(named), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
