//! `rwg serve`: the built-in target in the foreground, until Ctrl-C or
//! `--duration`.

use std::process::ExitCode;
use std::time::Duration;

use super::args::ServeArgs;
use crate::base::units::parse_duration_ns;
use crate::serve;

pub fn main(args: &ServeArgs) -> ExitCode {
    let cfg = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let duration_ns = match args.duration.as_deref().map(parse_duration_ns).transpose() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: --duration: {e}");
            return ExitCode::from(2);
        }
    };
    let handle = match serve::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot serve: {e}");
            return ExitCode::from(1);
        }
    };
    let scheme = match (args.grpc, args.tls) {
        (true, false) => "grpc",
        (true, true) => "grpcs",
        (false, false) => "http",
        (false, true) => "https",
    };
    eprintln!("rwg serve: listening on {scheme}://{}/", handle.addr);
    if args.tls && args.cert.is_none() {
        let trust = match &args.cert_out {
            Some(p) => format!("--cacert {}", p.display()),
            None => "-k (or --cert-out FILE, then --cacert FILE)".to_string(),
        };
        eprintln!(
            "  TLS with a self-signed certificate for localhost and {}: clients need {trust}",
            handle.addr.ip()
        );
    }
    match duration_ns {
        Some(ns) => std::thread::sleep(Duration::from_nanos(ns)),
        None => wait_for_signal(),
    }
    handle.stop();
    ExitCode::SUCCESS
}

fn wait_for_signal() {
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: plain signal-mask calls on a sigset we own; blocking the signals
    // and waiting for them synchronously needs no handler.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let mut sig = 0;
        libc::sigwait(&set, &mut sig);
    }
}
