//! gRPC response handling: `rwg::protocol::grpc::unframe` on a body,
//! `status_of` on header and trailer maps built from the input, plus
//! `split_path`, `frame` (round trip through `unframe`) and `timeout_header`.
//!
//! Input layout: byte 0 = flags (bit 0: there are trailers), bytes 1..=2 =
//! the HTTP status (big-endian), bytes 3..=10 = a timeout in ns
//! (big-endian), the rest = lines split at `\n`: `name:value` header lines,
//! a line `--` switches from headers to trailers, and the first line that is
//! not a header (no `:`) is also used as a body and a gRPC path. A name of one
//! digit stands for a well-known gRPC header name (e.g. `0` =
//! `grpc-status`), so the fuzzer reaches them easily. Names and values
//! `http` rejects are skipped.
//!
//! Checks: `unframe` returns exactly the declared length from offset 5;
//! `unframe(frame(m)) == m`; `status_of` succeeds only with a `grpc-status`
//! in the trailers or headers and prefers the trailers; `split_path` gives
//! non-empty parts without `/` in the method; `timeout_header` has at most 8
//! digits and a unit.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use rwg::protocol::grpc::{frame, split_path, status_of, timeout_header, unframe};

const NAMES: [&str; 10] = [
    "grpc-status",
    "grpc-message",
    "content-type",
    "grpc-status-details-bin",
    "grpc-encoding",
    ":status",
    "Grpc-Status",
    "te",
    "content-length",
    "grpc-timeout",
];

fn check_unframe(body: &[u8]) {
    let got = unframe(body);
    if body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        if body.len() - 5 >= len {
            assert_eq!(got, Some(&body[5..5 + len]), "unframe of a complete frame");
        } else {
            assert_eq!(got, None, "unframe of a short frame");
        }
    } else {
        assert_eq!(got, None, "unframe of fewer than 5 bytes");
    }
}

fuzz_target!(|input: &[u8]| {
    check_unframe(input);
    if input.len() < 11 {
        return;
    }
    let (head, rest) = input.split_at(11);
    let flags = head[0];
    let http_status = u16::from_be_bytes([head[1], head[2]]);
    let timeout_ns = u64::from_be_bytes(head[3..11].try_into().unwrap());

    let t = timeout_header(timeout_ns);
    let (digits, unit) = t.split_at(t.len() - 1);
    assert!(unit == "m" || unit == "S", "timeout unit {t:?}");
    assert!(
        !digits.is_empty() && digits.len() <= 8 && digits.bytes().all(|b| b.is_ascii_digit()),
        "timeout {t:?} for {timeout_ns} ns"
    );

    let mut headers = HeaderMap::new();
    let mut trailers = HeaderMap::new();
    let mut in_trailers = false;
    let mut other: Option<&[u8]> = None;
    for line in rest.split(|&b| b == b'\n') {
        if line == b"--" {
            in_trailers = true;
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            other.get_or_insert(line);
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let name = match name {
            [d @ b'0'..=b'9'] => NAMES[(d - b'0') as usize].as_bytes(),
            n => n,
        };
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        else {
            continue;
        };
        if in_trailers {
            trailers.append(name, value);
        } else {
            headers.append(name, value);
        }
    }
    let trailers = (flags & 1 != 0).then_some(&trailers);

    let status = status_of(http_status, &headers, trailers);
    let in_trailers = trailers.and_then(|t| t.get("grpc-status"));
    let in_headers = headers.get("grpc-status");
    match (in_trailers, in_headers) {
        (None, None) => assert!(status.is_err(), "a status without grpc-status: {status:?}"),
        (Some(v), _) | (None, Some(v)) => {
            // The one that counts: trailers first.
            let want = std::str::from_utf8(v.as_bytes())
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok());
            assert_eq!(status.ok(), want, "status_of with grpc-status {v:?}");
        }
    }

    if let Some(line) = other {
        check_unframe(line);
        assert_eq!(unframe(&frame(line)), Some(line), "frame/unframe round trip");
        if let Ok(path) = std::str::from_utf8(line) {
            if let Some((service, method)) = split_path(path) {
                assert!(!service.is_empty() && !method.is_empty());
                assert!(!service.contains('/') && !method.contains('/'));
                assert!(path.ends_with(method));
                assert_eq!(
                    format!("/{service}/{method}"),
                    format!("/{}", path.trim_start_matches('/')),
                );
            }
        }
    }
});
