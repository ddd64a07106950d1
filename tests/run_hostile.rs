//! `rwg run` against HTTP/1.1 servers that break the protocol on purpose
//! (`tests/hostile`, independent of rwg's own client and server code). For
//! every behaviour: the run ends within its deadline with a documented exit
//! code, never a crash; exactly one row per planned arrival, each with a
//! status or an error kind; the JSON's counts equal the CSV's; memory stays
//! bounded; and no request is credited with bytes it did not ask for.

mod common;
mod hostile;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use hostile::{all_modes, Hostile, Mode};

/// The largest resident set a run against a hostile server may reach.
const MAX_RSS_KIB: i64 = 256 * 1024;

/// `rwg run` against `srv` with `--ignore-errors` and a 1 s timeout.
fn run_against(srv: &Hostile, args: &[&str]) -> Outcome {
    let cpus = cpus_arg(1);
    let mut all = vec!["--ignore-errors", "-t", "1s", "--cpus", &cpus];
    all.extend_from_slice(args);
    run_with_env(&srv.url(), &all, &[], Duration::from_secs(30))
}

/// The largest resident set of any child this test process has waited for.
fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage fills a struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss
}

/// Counts of the CSV, by the README's semantics, to compare with the JSON.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    scheduled: u64,
    ok: u64,
    dropped: u64,
    skipped: u64,
    errors: u64,
}

fn csv_counts(rows: &[Row]) -> Counts {
    let mut c = Counts::default();
    for r in rows {
        c.scheduled += 1;
        match (r.status, r.error.as_str()) {
            (_, "skipped") => c.skipped += 1,
            (Some(200..=299), "") => c.ok += 1,
            (Some(503), "") => c.dropped += 1,
            _ => c.errors += 1,
        }
    }
    c
}

fn json_counts(j: &serde_json::Value) -> Counts {
    let o = &j["overall"];
    Counts {
        scheduled: u(o, "scheduled"),
        ok: u(o, "ok"),
        dropped: u(o, "dropped"),
        skipped: u(o, "skipped"),
        errors: u(o, "errors"),
    }
}

/// What every run against a hostile server must satisfy.
fn assert_honest(mode: Mode, out: &Outcome, planned: usize) -> Vec<Row> {
    let name = mode.name();
    out.assert_no_panic();
    assert!(
        matches!(out.code, Some(0 | 1)),
        "{name}: exit code {:?}\n{}",
        out.code,
        out.all_output()
    );
    let rows = out.rows();
    assert_eq!(rows.len(), planned, "{name}: one row per planned arrival");
    for r in &rows {
        assert!(
            r.status.is_some() || !r.error.is_empty(),
            "{name}: row with neither status nor error: {r:?}"
        );
    }
    let j = out.json();
    assert_eq!(json_counts(&j), csv_counts(&rows), "{name}: JSON vs CSV");
    assert_eq!(u(&j["run"], "csv_rows"), planned as u64, "{name}: csv_rows");
    rows
}

#[test]
fn every_hostile_server_gets_one_honest_row_per_arrival() {
    let _g = serial();
    for mode in all_modes() {
        let srv = Hostile::start(mode);
        let out = run_against(&srv, &["-r", "50", "-d", "1s", "-w", "8", "-c", "2"]);
        assert_honest(mode, &out, 50);
        let rss = children_max_rss_kib();
        assert!(rss < MAX_RSS_KIB, "{}: max RSS {rss} KiB", mode.name());
    }
}

fn error_kinds(rows: &[Row]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r.error.as_str()).or_insert(0) += 1;
    }
    m
}

/// RFC 9112 §6.3: two different lengths make the response unreadable, in
/// either order; nothing is recorded as OK and the next request is not hurt.
#[test]
fn conflicting_content_lengths_are_protocol_errors() {
    let _g = serial();
    for mode in [
        Mode::DuplicateContentLength,
        Mode::DuplicateContentLengthReversed,
    ] {
        let srv = Hostile::start(mode);
        let out = run_against(&srv, &["-r", "20", "-d", "1s", "-w", "2", "-c", "2"]);
        let rows = assert_honest(mode, &out, 20);
        out.assert_code(1);
        assert_eq!(
            error_kinds(&rows).get("protocol"),
            Some(&20),
            "{}: {:?}",
            mode.name(),
            error_kinds(&rows)
        );
    }
}

/// A status outside 100–599 is kept as the row's status and counted as a
/// status error under its own code, in the CSV and the JSON alike.
#[test]
fn status_999_is_kept_and_counted() {
    let _g = serial();
    let srv = Hostile::start(Mode::Status(999));
    let out = run_against(&srv, &["-r", "20", "-d", "1s", "-w", "2", "-c", "2"]);
    let rows = assert_honest(Mode::Status(999), &out, 20);
    out.assert_code(1);
    assert!(rows.iter().all(|r| r.status == Some(999)), "{rows:?}");
    let j = out.json();
    assert_eq!(u(&j["overall"]["status_errors_by_code"], "999"), 20);
}

/// The server answers each request twice (the second response 0 ms after
/// the first, each after 20 ms): the extra response is credited to nothing,
/// so every request's service time still shows the server's 20 ms.
#[test]
fn a_second_response_is_never_credited_to_the_next_request() {
    let _g = serial();
    let srv = Hostile::start(Mode::TwoResponses);
    let out = run_against(&srv, &["-r", "20", "-d", "1s", "-w", "4", "-c", "2"]);
    let rows = assert_honest(Mode::TwoResponses, &out, 20);
    out.assert_code(0);
    for r in &rows {
        assert_eq!(r.status, Some(200), "{r:?}");
        let service_us = r.service_us.unwrap();
        assert!(
            service_us >= 19_000.0,
            "credited with a stale answer: {r:?}"
        );
    }
    assert!(u(&out.json()["run"], "unsolicited_closes") >= 1);
    assert!(out.stdout.contains("SERVER MISBEHAVED"), "{}", out.stdout);
}

/// The server sends `408` on every connection that sits idle for 20 ms: a
/// request never takes it for its answer, and no request fails for it.
#[test]
fn a_response_before_any_request_is_never_credited() {
    let _g = serial();
    let srv = Hostile::start(Mode::ResponseBeforeRequest);
    // 50 ms between requests on one connection: it is idle long enough to
    // get a 408 before every request. Workers to spare (they queue for the
    // one connection): with -w 1 a scheduler hiccup of 80 ms on the shared
    // CI machine turned the next arrival into a skip.
    let out = run_against(&srv, &["-r", "20", "-d", "1s", "-w", "4", "-c", "1"]);
    let rows = assert_honest(Mode::ResponseBeforeRequest, &out, 20);
    out.assert_code(0);
    assert!(rows.iter().all(|r| r.status == Some(200)), "{rows:?}");
    assert!(u(&out.json()["run"], "unsolicited_closes") >= 10);
}

/// A connection lost after the request was written: a GET is sent once more
/// on a fresh connection (RFC 9110 §9.2.2), a POST never is (the server may
/// have applied it), so the server sees each POST exactly once.
#[test]
fn only_idempotent_requests_are_sent_again_after_a_lost_connection() {
    let _g = serial();
    let one_conn = ["-r", "20", "-d", "1s", "-w", "1", "-c", "1"];
    let srv = Hostile::start(Mode::CloseOnSecondRequest);
    let out = run_against(&srv, &one_conn);
    let rows = assert_honest(Mode::CloseOnSecondRequest, &out, 20);
    out.assert_code(0);
    assert!(rows.iter().all(|r| r.status == Some(200)), "{rows:?}");
    assert!(srv.requests_seen() > 20, "GETs were not sent again");

    let srv = Hostile::start(Mode::CloseOnSecondRequest);
    let mut args = one_conn.to_vec();
    args.extend_from_slice(&["-X", "POST", "--body", "x"]);
    let out = run_against(&srv, &args);
    let rows = assert_honest(Mode::CloseOnSecondRequest, &out, 20);
    out.assert_code(1);
    assert_eq!(srv.requests_seen(), 20, "a POST was sent twice");
    let resets = rows.iter().filter(|r| r.error == "reset").count();
    assert!(resets >= 5, "{:?}", error_kinds(&rows));
}
