//! Other tools' per-request files (`rwg::report::foreign`): the Go tool's
//! CSV and vegeta's, converted into rwg's CSV text.
//!
//! Input layout: byte 0 picks the format (bit 0: vegeta, else the Go tool;
//! bit 1: prepend the Go header with `current_workers`; bits 2–3: the Go
//! status codes as HTTP, gRPC or by url), the rest = the file's bytes.
//!
//! Checks: no panic; what `detect` says of the input agrees with the
//! format's own first-line test; a converted file always scans whole as
//! rwg's CSV (no stop, one row per converted record), its timestamps and
//! latencies as the converter wrote them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::report::csv_scan::scan_bytes;
use rwg::report::foreign::{convert, detect, ForeignOptions, Tool};

const GO_HEADER: &str = "url,latency,status_code,error,timestamp,current_workers\n";

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let tool = if flags & 1 != 0 { Tool::Vegeta } else { Tool::RwgGo };
    let owned;
    let data: &[u8] = if tool == Tool::RwgGo && flags & 2 != 0 {
        owned = [GO_HEADER.as_bytes(), rest].concat();
        &owned
    } else {
        rest
    };
    let go_grpc = match (flags >> 2) & 3 {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    let _ = detect(data);
    let Ok(csv) = convert(data, tool, ForeignOptions { go_grpc }) else {
        return;
    };
    let records = csv.iter().filter(|&&b| b == b'\n').count() as u64 - 1;
    let end = scan_bytes(&csv, |r| {
        assert_eq!(r.latency_ns, r.service_ns, "latency and service differ");
        assert_eq!(r.lag_ns, None, "a foreign row has a lag");
        assert_eq!(r.phase, 0);
    });
    assert!(end.stop.is_none(), "converted CSV does not scan: {:?}", end.stop);
    assert_eq!(end.rows, records, "rows scanned != records converted");
});
