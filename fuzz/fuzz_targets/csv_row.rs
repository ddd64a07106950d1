//! The per-request CSV row scanner, `rwg::report::csv_scan::scan_bytes`,
//! touching every field of every row it visits.
//!
//! Input layout: byte 0 bit 0 = prepend the CSV header (so the fuzzer need
//! not find it), the rest = the file's bytes.
//!
//! Checks: `ScanEnd::rows` = rows visited; text fields borrow the input and
//! hold no separator; a stop's line is after the rows visited; an empty input
//! stops as `Empty`; scanning a prefix that ends at a row's end visits the
//! same rows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::report::csv_row::parse_u64;
use rwg::report::csv_scan::{scan_bytes, StopKind, HEADER};

/// Whether `part` lies inside `whole` (a borrowed sub-slice).
fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    p >= w && p + part.len() <= w + whole.len()
}

/// A digest of one row, touching every field.
fn digest(r: &rwg::report::csv_scan::Row<'_>) -> u64 {
    let mut h = r.timestamp_ns;
    h = h.wrapping_mul(31).wrapping_add(r.url.iter().map(|&b| b as u64).sum::<u64>());
    h = h.wrapping_mul(31).wrapping_add(r.phase as u64);
    h = h.wrapping_mul(31).wrapping_add(r.status.map_or(1 << 40, u64::from));
    h = h.wrapping_mul(31).wrapping_add(r.latency_ns.unwrap_or(7));
    h = h.wrapping_mul(31).wrapping_add(r.service_ns.unwrap_or(11));
    h = h.wrapping_mul(31).wrapping_add(r.lag_ns.unwrap_or(13));
    h = h.wrapping_mul(31).wrapping_add(r.bytes);
    h = h.wrapping_mul(31).wrapping_add(r.error.iter().map(|&b| b as u64).sum::<u64>());
    h.wrapping_mul(31).wrapping_add(r.in_flight)
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let owned;
    let data: &[u8] = if flags & 1 != 0 {
        let mut v = Vec::with_capacity(HEADER.len() + 1 + rest.len());
        v.extend_from_slice(HEADER.as_bytes());
        v.push(b'\n');
        v.extend_from_slice(rest);
        owned = v;
        &owned
    } else {
        rest
    };

    let mut visited = 0u64;
    let mut digests = Vec::new();
    let end = scan_bytes(data, |r| {
        visited += 1;
        for (name, field) in [("url", r.url), ("error", r.error)] {
            assert!(inside(field, data), "{name} does not borrow the input");
            assert!(
                !field.iter().any(|&b| matches!(b, b',' | b'\n' | b'\r' | 0)),
                "{name} holds a separator: {field:?}"
            );
        }
        assert!(r.url.first() != Some(&b'"'), "quoted url accepted");
        digests.push(digest(r));
    });
    assert_eq!(end.rows, visited, "ScanEnd::rows != rows visited");
    if data.is_empty() {
        assert!(matches!(end.stop, Some(ref s) if s.kind == StopKind::Empty));
    }
    if let Some(stop) = &end.stop {
        assert!(stop.line >= 1);
        assert!(!stop.message.is_empty());
        if stop.kind == StopKind::BadHeader || stop.kind == StopKind::Empty {
            assert_eq!(visited, 0);
        } else if stop.line > 1 {
            // Line 1 is the header; each row takes at least one line.
            assert!(stop.line > visited, "stop at line {} after {visited} rows", stop.line);
        }
    }

    // Cut after the last newline: the same complete rows again (when the
    // header line was whole and no stop came before that point).
    if end.stop.is_none() && visited > 0 {
        if let Some(last_nl) = data.iter().rposition(|&b| b == b'\n') {
            let again = scan_bytes(&data[..=last_nl], |_| {});
            assert_eq!(again.rows, visited, "a whole-line prefix visits other rows");
        }
    }

    // The integer parser shared with the row scanner agrees with std.
    for field in data.split(|&b| matches!(b, b',' | b'\n')).take(64) {
        let ours = parse_u64(field);
        let std = std::str::from_utf8(field)
            .ok()
            .filter(|s| !s.starts_with('+'))
            .and_then(|s| s.parse::<u64>().ok());
        assert_eq!(ours, std, "parse_u64({field:?})");
    }
});
