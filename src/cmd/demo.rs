//! `rwg demo`: the built-in target plus a short two-phase open-loop run
//! against it, with nothing else needed on the machine.

use std::process::ExitCode;

use super::args::DemoArgs;
use super::run::run_and_report;
use super::run_args::{ProtoArgs, RunArgs, DEFAULT_SEND_WINDOW};
use crate::serve::{self, Delay, ServeConfig, ServeProtocol, ServeTls};

pub fn main(args: &DemoArgs) -> ExitCode {
    let handle = match serve::start(ServeConfig {
        delay: Delay::Exp { mean_ns: 1_000_000 },
        status_mix: vec![(503, 0.01)],
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
    eprintln!(
        "rwg demo: built-in target on {url} (exponential 1 ms delay, 1% 503 / RESOURCE_EXHAUSTED); phases {} req/s for {}",
        args.rate, args.duration
    );
    let run = RunArgs {
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
    };
    let code = match run.resolve() {
        Ok((cfg, _)) => run_and_report(&cfg, &[]),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    };
    handle.stop();
    code
}
