//! The Go tool's per-request CSV: `url,latency,status_code,error,timestamp`
//! and, in its later versions, `,current_workers`. Latency in µs from the
//! actual send; timestamp that send's instant, RFC 3339 with nanoseconds;
//! status 0 with an error text for an HTTP request that failed; for gRPC the
//! status code (0 OK) and `error code: N` for a non-OK one. Fields are not
//! quoted: an error text may hold commas, so it is what lies between the
//! three leading and the trailing fields.

use super::{kind_of_go_error, Converted, ForeignOptions};
use crate::base::civil::parse_rfc3339_ns;

/// The header's first columns (a `current_workers` column may follow).
pub const HEADER: &str = "url,latency,status_code,error,timestamp";

/// Converts the whole file (header included) into rwg rows in `out`.
pub fn convert(data: &[u8], opts: ForeignOptions, out: &mut Vec<u8>) -> Result<(), String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8 ({e})"))?;
    let mut lines = text.split('\n').enumerate();
    let header = lines.next().map(|(_, l)| l.trim_end_matches('\r'));
    let with_workers = header.is_some_and(|h| h.ends_with(",current_workers"));
    for (i, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        parse_line(line, with_workers, opts)
            .and_then(|row| row.push(out))
            .map_err(|why| format!("line {}: {why}: {}", i + 1, shorten(line)))?;
    }
    Ok(())
}

fn parse_line(
    line: &str,
    with_workers: bool,
    opts: ForeignOptions,
) -> Result<Converted<'_>, String> {
    let mut left = line.splitn(4, ',');
    let (url, latency, status) = match (left.next(), left.next(), left.next()) {
        (Some(u), Some(l), Some(s)) => (u, l, s),
        _ => return Err("too few fields".into()),
    };
    let rest = left.next().ok_or("too few fields")?;
    let mut right = rest.rsplitn(if with_workers { 3 } else { 2 }, ',');
    let workers = match with_workers {
        true => Some(right.next().ok_or("too few fields")?),
        false => None,
    };
    let timestamp = right.next().ok_or("too few fields")?;
    let error = right.next().ok_or("too few fields")?;
    let latency_us: u64 = latency
        .parse()
        .map_err(|_| format!("latency '{latency}' is not a whole number of µs"))?;
    let code: u32 = status
        .parse()
        .ok()
        .filter(|&c| c < 1000)
        .ok_or_else(|| format!("status_code '{status}' is not a status"))?;
    let sent_ns = parse_rfc3339_ns(timestamp)
        .ok_or_else(|| format!("timestamp '{timestamp}' is not RFC 3339"))?;
    let in_flight = match workers {
        Some(w) => w
            .parse()
            .map_err(|_| format!("current_workers '{w}' is not a whole number"))?,
        None => 0,
    };
    let grpc = opts
        .go_grpc
        .unwrap_or(!(url.starts_with("http://") || url.starts_with("https://")));
    // gRPC: the code is the status, whatever the text says (a shed request,
    // RESOURCE_EXHAUSTED, has none). HTTP: status 0 is no response.
    let (status, error) = match (grpc, code) {
        (true, _) => (Some(code), ""),
        (false, 0) => (None, kind_of_go_error(error)),
        (false, _) => (Some(code), ""),
    };
    Ok(Converted {
        sent_ns,
        url,
        status,
        latency_ns: latency_us.saturating_mul(1000),
        bytes: 0,
        error,
        in_flight,
    })
}

/// At most 80 characters of a line, for a message.
pub(super) fn shorten(line: &str) -> String {
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("'{}…'", &line[..i]),
        None => format!("'{line}'"),
    }
}
