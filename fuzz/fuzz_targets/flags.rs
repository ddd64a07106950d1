//! The command line's string parsers: `parse_duration_ns`, `split_list`,
//! `parse_rate`, `parse_cpus`, `parse_shard`, `parse_start_at`, a plan
//! mark's comment (`PlanMark::from_comment`), `parse_header`,
//! `parse_target` (IP literals only, see below), `Check::parse` and
//! `parse_checks`, and `rwg serve`'s
//! `parse_delays` (fixed, `exp:`, `ramp:`, rules by path), `parse_stall`,
//! `parse_status_mix`, and `parse_method`.
//!
//! Input: UTF-8 text (other inputs are skipped). Every parser gets the whole
//! text and each of its lines; `parse_checks` gets all the lines at once.
//!
//! No network: `parse_target` resolves its host with `ToSocketAddrs`, which
//! for a host that is not an IP literal calls `getaddrinfo` (DNS). The harness
//! only calls it when the host, extracted exactly as `parse_target` does, is
//! an IP literal (std then parses it and resolves nothing). As a second
//! guard, this binary defines `getaddrinfo` itself, which aborts: any lookup
//! that slips through is a crash, never a packet.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use rwg::base::units::{fmt_ns, parse_duration_ns};
use rwg::plan::config::{parse_cpus, parse_rate, split_list};
use rwg::base::civil::fmt_rfc3339_ns;
use rwg::plan::fingerprint::PlanMark;
use rwg::plan::shard::{parse_shard, parse_start_at, MAX_SHARDS};
use rwg::plan::target::{parse_header, parse_method, parse_target};
use rwg::report::check::{evaluate_all, parse_checks, Check};
use rwg::report::figures::Figures;
use rwg::serve::{parse_delays, parse_stall, parse_status_mix};

/// Replaces libc's resolver in this executable: the fuzzer must never look a
/// name up.
#[no_mangle]
pub extern "C" fn getaddrinfo(
    _node: *const std::ffi::c_char,
    _service: *const std::ffi::c_char,
    _hints: *const std::ffi::c_void,
    _res: *mut *mut std::ffi::c_void,
) -> std::ffi::c_int {
    eprintln!("rwg-fuzz flags: getaddrinfo called: a name lookup would have left this machine");
    std::process::abort();
}

/// The host `parse_target` would hand to `to_socket_addrs`, if it would get
/// that far.
fn target_host(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    match uri.scheme_str() {
        Some("http" | "https" | "grpc" | "grpcs") => {}
        _ => return None,
    }
    let host = uri.host().filter(|h| !h.is_empty())?;
    Some(host.trim_start_matches('[').trim_end_matches(']').to_string())
}

fn one(s: &str) {
    // Durations.
    if let Ok(ns) = parse_duration_ns(s) {
        assert!(ns <= u64::MAX / 2 + 1, "{s:?} -> {ns} beyond the documented cap");
        let _ = fmt_ns(ns);
        if s.trim() == s && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            // A bare integer is seconds.
            if let Ok(secs) = s.parse::<u64>() {
                if secs <= 1_000_000 {
                    assert_eq!(ns, secs * 1_000_000_000, "{s:?}");
                }
            }
        }
    }

    // Lists.
    if let Ok(items) = split_list("fuzz", s) {
        assert_eq!(items.len(), s.split(',').count());
        for item in &items {
            assert!(!item.is_empty() && item.trim() == *item && !item.contains(','));
        }
    }

    // Rates: decimals with at most three places (digits on both sides of
    // the point) up to 10^9, in thousandths; or two of them as a ramp
    // FROM:TO (not 0:0). The oracle goes through f64 (exact at this size).
    let rate = |t: &str| {
        let (whole, frac) = t.split_once('.').unwrap_or((t, "0"));
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(frac) || frac.len() > 3 {
            return None;
        }
        let v: f64 = t.parse().ok()?;
        (v <= 1e9).then(|| (v * 1000.0).round() as u64)
    };
    let expected = match s.split_once(':') {
        None => rate(s).map(|r| (r, r)),
        Some((a, b)) => rate(a).zip(rate(b)).filter(|&(a, b)| a > 0 || b > 0),
    };
    let got = parse_rate(s)
        .ok()
        .map(|r| (r.from_milli_per_sec, r.to_milli_per_sec));
    assert_eq!(got, expected, "parse_rate({s:?})");

    // CPU lists.
    if let Ok(cpus) = parse_cpus(s) {
        assert!(!cpus.is_empty());
        assert!(cpus.windows(2).all(|w| w[0] < w[1]), "not sorted and deduplicated");
    }

    // Shards: K of N, K < N, and the text says them back.
    if let Ok(shard) = parse_shard(s) {
        assert!(shard.index < shard.count && shard.count <= MAX_SHARDS);
        let back = parse_shard(&shard.to_string()).expect("a shard reads back");
        assert_eq!(back, shard);
    }

    // Start instants and plan marks read back what they write.
    if let Ok(ns) = parse_start_at(s) {
        assert_eq!(parse_start_at(&fmt_rfc3339_ns(ns)), Ok(ns), "{s:?}");
    }
    if let Some(mark) = PlanMark::from_comment(s) {
        assert_eq!(PlanMark::from_comment(&mark.to_comment()), Some(mark), "{s:?}");
    }

    // Headers.
    if let Ok((name, value)) = parse_header(s) {
        assert!(!name.is_empty() && !name.contains(char::is_whitespace) && !name.contains(':'));
        assert_eq!(value.trim(), value);
    }

    // rwg serve's flags: an error or a value, never a panic.
    if let Ok((_, rules)) = parse_delays(s) {
        assert!(rules.iter().all(|(path, _)| path.starts_with('/')), "{s:?}");
    }
    if let Ok(method) = parse_method(s) {
        assert!(!method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase()));
    }
    let _ = parse_stall(s);
    let _ = parse_status_mix(s);

    // Targets: IP literals only (see the module comment).
    if let Some(host) = target_host(s) {
        if let Ok(ip) = host.parse::<IpAddr>() {
            if let Ok(t) = parse_target(s) {
                assert_eq!(t.addr.ip(), ip, "{s:?}");
                assert_eq!(t.url, s);
                // The request line's target: origin-form (or `*`).
                assert!(
                    t.path_and_query.starts_with('/') || t.path_and_query == "*",
                    "{s:?} gives the request target {:?}",
                    t.path_and_query
                );
                assert!(!s.contains(','));
            }
        }
    }

    // Checks.
    if let Ok(c) = Check::parse(s) {
        assert_eq!(c.expr(), s.trim());
        let again = Check::parse(c.expr()).expect("a parsed check's expr parses");
        assert_eq!(again, c, "re-parsing {s:?} gives another check");
        let r = c.evaluate(&Figures::default());
        assert_eq!(r.expr, c.expr());
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    one(text);
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() > 1 {
        for line in &lines {
            one(line);
        }
    }
    match parse_checks(&lines) {
        Ok(checks) => {
            assert_eq!(checks.len(), lines.len());
            for (c, line) in checks.iter().zip(&lines) {
                assert_eq!(c.expr(), line.trim());
            }
            let results = evaluate_all(&checks, &Figures::default());
            assert_eq!(results.len(), checks.len());
        }
        Err(e) => {
            let first = lines
                .iter()
                .find_map(|l| Check::parse(l).err())
                .expect("parse_checks failed but every line parses");
            assert_eq!(e, first);
        }
    }
});
