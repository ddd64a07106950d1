//! Users coming from the Go tool, vegeta and wrk: the Go tool's command
//! line (`--url`, `rwg parse`), its CSV, vegeta's and wrk2's `--latency`
//! summary read by `rwg report`
//! and overlaid by `rwg plot`, each labelled with its tool and what its
//! latency means. The foreign files in tests/data/ are written in each
//! tool's documented format (see the comments of `report::foreign`).

mod common;

use std::time::Duration;

use common::*;
use rwg::serve::{start, ServeConfig};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `rwg ARGS` in a fresh directory, finished within 30 s.
fn rwg_in(args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = rwg();
    cmd.args(args).current_dir(dir.path());
    finish(cmd, dir, Duration::from_secs(30))
}

fn json_in(out: &Outcome, name: &str) -> serde_json::Value {
    read_json(&out.dir.path().join(name))
}

#[test]
fn the_go_tools_csv_reads_as_rwg_rows() {
    let out = rwg_in(&["report", &data("go_rwg.csv"), "--json", "r.json"]);
    out.assert_code(0);
    let js = json_in(&out, "r.json");
    let o = &js["overall"];
    // 200 rows at 100/s: 4 shed (503), 2 timeouts (status 0 + Go's text).
    assert_eq!(
        (
            u(o, "scheduled"),
            u(o, "ok"),
            u(o, "dropped"),
            u(o, "errors")
        ),
        (200, 194, 4, 2)
    );
    assert_eq!(u(&o["errors_by_kind"], "timeout"), 2);
    assert_eq!(u(o, "max_in_flight"), 4, "current_workers is in flight");
    // Every response by status, in the JSON and the text.
    let by_status = &o["responses_by_status"];
    assert_eq!((u(by_status, "200"), u(by_status, "503")), (194, 4));
    assert!(
        out.stdout.contains("responses by status  200 ×194  503 ×4"),
        "{}",
        out.stdout
    );
    // Latency 1.0–1.9 ms from the send; the timeouts are unanswered.
    let p50 = pctl_us(&o["latency_answered"], "p50").unwrap();
    assert!((1350.0..1450.0).contains(&p50), "p50 {p50}");
    let tools = &js["input"]["tools"][0];
    assert_eq!(
        (tools["tool"].as_str(), tools["latency_from"].as_str()),
        (Some("rwg (Go)"), Some("send"))
    );
    assert_eq!(js["verdict"]["schedule_unknown"], true);
    assert!(out.stdout.contains("written by rwg (Go)"), "{}", out.stdout);
    assert!(out.stdout.contains("NOT VOUCHED FOR"), "{}", out.stdout);
}

/// `rwg parse` takes the Go tool's flags: bare SLO and interval in ms,
/// warm-up in s, `--version 2` for gRPC codes.
#[test]
fn rwg_parse_maps_the_go_tools_flags() {
    let csv = data("go_rwg_grpc.csv");
    let out = rwg_in(&[
        "parse",
        "--rwg_output",
        &csv,
        "--overall_output",
        "o.json",
        "--realtime_output",
        "rt.csv",
        "--freq",
        "500",
        "--warmup",
        "1",
        "--version",
        "2",
        "--slo",
        "0.55",
    ]);
    out.assert_code(0);
    let js = json_in(&out, "o.json");
    assert_eq!(js["slo_ms"].as_f64(), Some(0.55));
    assert_eq!(js["input"]["warmup_s"].as_f64(), Some(1.0));
    // The second second: calls 50–99; 5 RESOURCE_EXHAUSTED, call 50
    // UNAVAILABLE; latency 550–599 µs, so every ok call misses 0.55 ms
    // but call 50 (an error) would not.
    let o = &js["overall"];
    assert_eq!(
        (
            u(o, "scheduled"),
            u(o, "dropped"),
            u(o, "errors"),
            u(o, "goodput")
        ),
        (50, 5, 1, 0)
    );
    // Two 500 ms intervals over the second kept.
    let rt = std::fs::read_to_string(out.dir.path().join("rt.csv")).unwrap();
    assert_eq!(rt.lines().count(), 3, "{rt}");
    // --version 1 reads the same codes as HTTP statuses: 0 is no response.
    let http = rwg_in(&[
        "parse",
        "--rwg_output",
        &csv,
        "--version",
        "1",
        "--slo",
        "5",
        "--overall_output",
        "h.json",
    ]);
    http.assert_code(0);
    assert_eq!(u(&json_in(&http, "h.json")["overall"], "ok"), 0);
}

#[test]
fn vegetas_csv_reads_as_rwg_rows() {
    let out = rwg_in(&[
        "report",
        &data("vegeta.csv"),
        "--json",
        "r.json",
        "--by-target",
    ]);
    out.assert_code(0);
    let js = json_in(&out, "r.json");
    let o = &js["overall"];
    // 300 rows: three 500s, one connection refused (quoted, with commas).
    assert_eq!(
        (u(o, "scheduled"), u(o, "ok"), u(o, "errors")),
        (300, 296, 4)
    );
    assert_eq!(
        (
            u(&o["errors_by_kind"], "status"),
            u(&o["errors_by_kind"], "connect")
        ),
        (3, 1)
    );
    assert_eq!(js["targets"][0]["target"], "http://127.0.0.1:8080/api");
    assert_eq!(js["input"]["tools"][0]["tool"], "vegeta");
}

/// One page overlays rwg, the Go tool and vegeta, each series named by its
/// tool and each tool's latency explained.
#[test]
fn plot_overlays_runs_of_several_tools() {
    let srv = start(ServeConfig::default()).unwrap();
    let run = run(
        &url_of(srv.addr),
        &["-r", "100", "-d", "1s", "--cpus", &cpus_arg(1)],
    );
    run.assert_code(0);
    let rwg_csv = run.csv_path();
    let out = rwg_in(&[
        "plot",
        rwg_csv.to_str().unwrap(),
        &data("vegeta.csv"),
        &data("go_rwg.csv"),
        &data("wrk2.txt"),
        "-o",
        "p.html",
    ]);
    out.assert_code(0);
    let html = std::fs::read_to_string(out.dir.path().join("p.html")).unwrap();
    for label in [
        "rwg: out.csv",
        "vegeta: vegeta.csv",
        "rwg (Go): go_rwg.csv",
        "wrk2: wrk2.txt",
    ] {
        assert!(html.contains(label), "no series {label}");
    }
    assert!(html.contains("vegeta: latency timed from the actual send"));
    assert!(html.contains("rwg: latency timed from the intended send instant"));
    assert!(html.contains("wrk2: latency timed from the instant wrk2"));
    // The summary's own row: its 60 013 requests, 39 999 in percentiles.
    assert!(html.contains("Percentile summaries"));
    assert!(html.contains("60,013") && html.contains("39,999"));
    // Four curves on the distribution chart: the last section's legend.
    let dist = &html[html.rfind("<section>").unwrap()..];
    assert_eq!(dist.matches("class=\"sw\"").count(), 4);
}

/// wrk2's `--latency` summary: its percentiles come back as printed, its
/// request count and errors as stated; checks run on it.
#[test]
fn a_wrk2_summary_reads_as_a_distribution() {
    let out = rwg_in(&[
        "report",
        &data("wrk2.txt"),
        "--json",
        "r.json",
        "--check",
        "p99<3ms",
    ]);
    out.assert_code(0);
    let js = json_in(&out, "r.json");
    assert_eq!(js["source"], "report-wrk2");
    let tools = &js["input"]["tools"][0];
    assert_eq!(
        (tools["tool"].as_str(), tools["latency_from"].as_str()),
        (Some("wrk2"), Some("intended"))
    );
    let o = &js["overall"];
    assert_eq!((u(o, "answered"), u(o, "errors")), (60_013, 12));
    assert_eq!(o["latency_all"], serde_json::Value::Null);
    // p50 is a printed row (0.999 ms); p99 falls between the rows at
    // 0.989063 (2.780 ms) and 0.990625 (2.864 ms) and reads as the upper
    // one (3 significant digits).
    let p50 = pctl_us(&o["latency_answered"], "p50").unwrap();
    let p99 = pctl_us(&o["latency_answered"], "p99").unwrap();
    assert!((998.0..1001.0).contains(&p50), "p50 {p50}");
    assert!((2862.0..2867.0).contains(&p99), "p99 {p99}");
    assert!(out.stdout.contains("wrk2 summary"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "percentiles over 39,999 responses: wrk2 leaves the requests of its calibration out"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("NOT VOUCHED FOR"), "{}", out.stdout);
    let strict = rwg_in(&["report", &data("wrk2.txt"), "--check", "p99<1ms"]);
    strict.assert_code(3);
    // wrk's own --latency (four percentiles) is named, not misread.
    let dir = tempfile::tempdir().unwrap();
    let wrk = dir.path().join("wrk.txt");
    std::fs::write(
        &wrk,
        "Running 10s test @ http://127.0.0.1:8080/\n  Latency Distribution\n     50%  1.00ms\n",
    )
    .unwrap();
    let bad = rwg_in(&["report", wrk.to_str().unwrap()]);
    bad.assert_code(2);
    assert!(bad.stderr.contains("--latency"), "{}", bad.stderr);
}

#[test]
fn a_bad_foreign_row_names_file_line_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("go.csv");
    std::fs::write(
        &bad,
        "url,latency,status_code,error,timestamp\nhttp://h/,12,200,,2025-10-01T12:00:00Z\nhttp://h/,12,200,,noon\n",
    )
    .unwrap();
    let out = rwg_in(&["report", bad.to_str().unwrap()]);
    out.assert_code(2);
    out.assert_no_panic();
    assert!(
        out.stderr.contains("go.csv")
            && out.stderr.contains("line 3")
            && out.stderr.contains("'noon'"),
        "{}",
        out.stderr
    );
}

/// `rwg run --url URL`, as the Go tool took it, and the summary a new user
/// reads: statuses of every response, bytes, cleartext, the -n stop.
#[test]
fn the_go_tools_url_flag_and_a_readable_summary() {
    let srv = start(ServeConfig {
        status_mix: vec![(404, 0.2)],
        ..Default::default()
    })
    .unwrap();
    let out = run_args(&[
        "--url",
        &url_of(srv.addr),
        "-r",
        "200",
        "-d",
        "10s",
        "-n",
        "100",
        "--ignore-errors",
        "--cpus",
        &cpus_arg(1),
    ]);
    out.assert_code(1);
    assert_eq!(out.rows().len(), 100);
    let js = out.json();
    let by_status = &js["overall"]["responses_by_status"];
    assert_eq!(u(by_status, "200") + u(by_status, "404"), 100);
    assert!(u(by_status, "404") > 0);
    assert_eq!(js["run"]["ended_at_requests"], 100);
    assert_eq!(js["run"]["alpn"], serde_json::Value::Null);
    let text = std::process::Command::new(rwg_bin())
        .args([
            "run",
            &url_of(srv.addr),
            "-n",
            "40",
            "-r",
            "200",
            "--ignore-errors",
            "--cpus",
            &cpus_arg(1),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        "(cleartext)",
        "ended at --requests 40",
        "responses HTTP 200 ×",
        "received  ",
        "HTTP 404 ×",
    ] {
        assert!(text.contains(want), "summary lacks {want:?}:\n{text}");
    }
}

/// A vague first error (`protocol`, `reset`) or a failed TLS handshake
/// comes with what the port speaks and the flag or scheme that fits.
#[test]
fn protocol_mismatches_are_named_with_a_fix() {
    use rwg::serve::ServeProtocol;
    let h2c = start(ServeConfig {
        protocol: ServeProtocol::H2c,
        ..Default::default()
    })
    .unwrap();
    let plain = start(ServeConfig::default()).unwrap();
    let c = cpus_arg(1);
    let out = run(&url_of(h2c.addr), &["-n", "3", "--cpus", &c]);
    out.assert_code(1);
    let first = out.json()["run"]["first_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        first.starts_with("protocol")
            && first.contains("HTTP/2 frames")
            && first.contains("try --h2c"),
        "{first}"
    );
    let out = run(&url_of(plain.addr), &["-n", "3", "--h2c", "--cpus", &c]);
    out.assert_code(1);
    assert!(out.stdout.contains("HTTP/1.1-only port"), "{}", out.stdout);
    let tls = url_of(plain.addr).replace("http://", "https://");
    let out = run(&tls, &["-n", "3", "--cpus", &c]);
    assert!(out.code != Some(0), "{}", out.all_output());
    assert!(
        out.stderr
            .contains("the server answered in plain HTTP — try http://"),
        "{}",
        out.stderr
    );
}

/// `rwg serve --tls` (self-signed, or the certificate given) serves
/// HTTP/1.1, h2 and gRPC over TLS, so the README's https:// and grpcs://
/// examples run locally; cleartext sent to it is told to use https://.
#[test]
fn serve_speaks_tls_with_a_certificate_of_its_own() {
    use rwg::serve::{ServeProtocol, ServeTls};
    let dir = tempfile::tempdir().unwrap();
    let tls = ServeTls::self_signed(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &tls.cert_pem).unwrap();
    let c = cpus_arg(1);
    for (protocol, scheme, path, alpn) in [
        (ServeProtocol::Http1, "https", "/", "http/1.1"),
        (ServeProtocol::H2c, "https", "/", "h2"),
        (ServeProtocol::Grpc, "grpcs", "/rwg.echo.v1.Echo/Call", "h2"),
    ] {
        let srv = start(ServeConfig {
            protocol,
            tls: Some(tls.clone()),
            ..Default::default()
        })
        .unwrap();
        let url = format!("{scheme}://localhost:{}{path}", srv.addr.port());
        let out = run(
            &url,
            &[
                "-n",
                "50",
                "-r",
                "500",
                "--cacert",
                ca.to_str().unwrap(),
                "--cpus",
                &c,
            ],
        );
        out.assert_code(0);
        let js = out.json();
        assert_eq!(u(&js["overall"], "ok"), 50, "{url}");
        assert_eq!(
            (js["run"]["tls"].as_bool(), js["run"]["alpn"].as_str()),
            (Some(true), Some(alpn))
        );
        if protocol == ServeProtocol::Http1 {
            let plain = run(
                &format!("http://127.0.0.1:{}/", srv.addr.port()),
                &["-n", "2", "--cpus", &c],
            );
            plain.assert_code(1);
            assert!(
                plain.stdout.contains("the port speaks TLS: try https://"),
                "{}",
                plain.stdout
            );
        }
    }
}

/// The README's first command, over TLS and HTTP/2 too.
#[test]
fn demo_runs_over_tls_and_h2() {
    let out = rwg_in(&["demo", "-d", "0.5s,0.5s", "-r", "200,400", "--tls", "--h2c"]);
    assert!(matches!(out.code, Some(0 | 4)), "{}", out.all_output());
    assert!(
        out.stdout.contains("protocol h2 over TLS (ALPN h2)"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("https://127.0.0.1:"), "{}", out.stderr);
}

/// Fractional rates for slow soaks: `-r 0.5` plans one arrival every 2 s,
/// exactly, and the rates divide by the planned time even though the run
/// ends with its last answer.
#[test]
fn fractional_rates_plan_exact_instants() {
    let srv = start(ServeConfig::default()).unwrap();
    let out = run(
        &url_of(srv.addr),
        &["-r", "0.5,4", "-d", "4s,1s", "--cpus", &cpus_arg(1)],
    );
    out.assert_code(0);
    let mut rows = out.rows();
    rows.sort_by_key(|r| r.timestamp_ns);
    let t0 = rows[0].timestamp_ns;
    let planned: Vec<(u64, u32)> = rows
        .iter()
        .map(|r| (r.timestamp_ns - t0, r.phase))
        .collect();
    let s = 1_000_000_000;
    assert_eq!(
        planned,
        [
            (0, 0),
            (2 * s, 0),
            (4 * s, 1),
            (4 * s + s / 4, 1),
            (4 * s + s / 2, 1),
            (4 * s + 3 * s / 4, 1)
        ]
    );
    let js = out.json();
    assert_eq!(js["phases"][0]["planned_rate_per_sec"].as_f64(), Some(0.5));
    assert_eq!(js["phases"][1]["planned_rate_per_sec"], 4);
    assert_eq!(js["phases"][0]["offered_per_sec"].as_f64(), Some(0.5));
    assert_eq!(js["overall"]["offered_per_sec"].as_f64(), Some(1.2));
}
