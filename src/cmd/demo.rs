//! `rwg demo`: the built-in target plus a short two-phase open-loop run
//! against it, with nothing else needed on the machine; `--search`: a
//! target of known capacity (400/s) and a short `rwg search` of it.

use std::process::ExitCode;

use super::args::DemoArgs;
use super::run::run_and_report;
use super::run_args::{ProtoArgs, RunArgs, DEFAULT_SEND_WINDOW};
use super::search::{self, SearchArgs};
use crate::plan::config::parse_cpus;
use crate::serve::{self, Delay, ServeConfig, ServeProtocol, ServeTls};

/// The search demo's target: 4 requests in service at once, 10 ms each.
const SEARCH_CONCURRENCY: usize = 4;
const SEARCH_DELAY_NS: u64 = 10_000_000;

pub fn main(args: &DemoArgs) -> ExitCode {
    let (delay, status_mix, max_concurrency) = match args.search {
        true => (
            Delay::Fixed {
                ns: SEARCH_DELAY_NS,
            },
            Vec::new(),
            Some(SEARCH_CONCURRENCY),
        ),
        false => (Delay::Exp { mean_ns: 1_000_000 }, vec![(503, 0.01)], None),
    };
    let handle = match serve::start(ServeConfig {
        delay,
        status_mix,
        max_concurrency,
        cpus: target_cpus(&args.cpus),
        protocol: if args.grpc {
            ServeProtocol::Grpc
        } else if args.h2c {
            ServeProtocol::H2c
        } else {
            ServeProtocol::Http1
        },
        tls: match args.tls {
            true => match ServeTls::self_signed(&["localhost".into(), "127.0.0.1".into()]) {
                Ok(t) => Some(t),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            },
            false => None,
        },
        ..ServeConfig::default()
    }) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot start the built-in target: {e}");
            return ExitCode::from(1);
        }
    };
    let s = if args.tls { "s" } else { "" };
    let url = if args.grpc {
        format!("grpc{s}://{}/rwg.echo.v1.Echo/Call", handle.addr)
    } else {
        format!("http{s}://{}/demo", handle.addr)
    };
    let run = demo_run(url.clone(), args);
    let code = if args.search {
        eprintln!(
            "rwg demo --search: built-in target on {url}: {SEARCH_CONCURRENCY} requests at once, \
             {} ms each, the rest queue: a capacity of 400/s. The search should find it.",
            SEARCH_DELAY_NS / 1_000_000
        );
        search::main(&SearchArgs {
            from: "100".into(),
            to: "1000000".into(),
            step: "1s".into(),
            warmup: "500ms".into(),
            precision: "2%".into(),
            max_errors: "0.1%".into(),
            max_skipped: 0,
            run: RunArgs {
                checks: vec!["p99<50ms".into()],
                slo: None,
                dist: "fixed".into(),
                // HTTP/1.1: a connection per worker, sized per step.
                connections: run.connections.filter(|_| args.grpc || args.h2c),
                ..run
            },
        })
    } else {
        eprintln!(
            "rwg demo: built-in target on {url} (exponential 1 ms delay, 1% 503 / RESOURCE_EXHAUSTED); phases {} req/s for {}",
            args.rate, args.duration
        );
        match run.resolve() {
            Ok((cfg, _)) => run_and_report(&cfg, &[]),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        }
    };
    handle.stop();
    code
}

/// The CPUs the generator leaves to the built-in target (none pinned on a
/// one-CPU machine, or when `--cpus` does not parse: the run says why).
fn target_cpus(generator: &str) -> Vec<usize> {
    let Ok(taken) = parse_cpus(generator) else {
        return Vec::new();
    };
    core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .filter(|id| !taken.contains(id))
        .collect()
}

/// The demo's `rwg run` options against `url`.
fn demo_run(url: String, args: &DemoArgs) -> RunArgs {
    RunArgs {
        url: Some(url),
        url_flag: None,
        targets: None,
        file: None,
        rate: args.rate.clone(),
        duration: args.duration.clone(),
        dist: "exp".into(),
        trace: None,
        trace_speed: 1.0,
        workers: Some(256),
        connections: Some(if args.grpc || args.h2c { 1 } else { 64 }),
        requests: None,
        timeout: "2s".into(),
        connect_timeout: "1s".into(),
        output: args.output.clone(),
        json: None,
        hlog: None,
        slo: Some("5ms".into()),
        cpus: Some(args.cpus.clone()),
        ignore_errors: true,
        precise: false,
        eager_reads: false,
        lazy_reads: false,
        send_window: DEFAULT_SEND_WINDOW.into(),
        max_lag: None,
        method: "GET".into(),
        headers: Vec::new(),
        body: None,
        body_file: None,
        seed: 1,
        shard: None,
        start_at: None,
        quiet: false,
        checks: Vec::new(),
        given: Vec::new(),
        proto: ProtoArgs {
            // Over TLS, HTTP/2 is asked for by ALPN, not prior knowledge.
            h2c: args.h2c && !args.tls,
            http2: args.h2c && args.tls,
            // The target's own self-signed certificate.
            insecure: args.tls,
            data: args.grpc.then(|| r#"{"message":"demo"}"#.to_string()),
            max_streams: 100,
            ..Default::default()
        },
    }
}
