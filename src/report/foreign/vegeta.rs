//! vegeta's per-request CSV (`vegeta encode --to csv`): no header (or, from
//! newer versions with `--csv-header`, one starting `timestamp,code,latency`);
//! columns timestamp (Unix ns of the send), code (0: no response), latency
//! (ns, from the send), bytes out, bytes in, error, base64 body, attack name,
//! sequence number and, in newer versions, method, URL and headers. Quoted
//! as RFC 4180 (an error text may hold commas), read with the `csv` crate.

use super::{kind_of_go_error, Converted};

/// Whether a file's first line is vegeta's header or one of its rows.
pub fn looks_like(first: &[u8]) -> bool {
    if first.len() >= 22 && first[..22].eq_ignore_ascii_case(b"timestamp,code,latency") {
        return true;
    }
    let mut fields = first.split(|&b| b == b',');
    let mut digits = |min: usize, max: usize| {
        fields
            .next()
            .is_some_and(|f| (min..=max).contains(&f.len()) && f.iter().all(u8::is_ascii_digit))
    };
    digits(10, 19) && digits(1, 3) && digits(1, 20) && digits(1, 20) && digits(1, 20)
}

/// Converts the whole file into rwg rows in `out`.
pub fn convert(data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(format!("line {line}: {e}")),
        }
        let header = line == 1
            && record
                .get(0)
                .is_some_and(|f| f.eq_ignore_ascii_case("timestamp"));
        if header || (record.len() == 1 && record[0].is_empty()) {
            continue;
        }
        parse_record(&record)
            .and_then(|row| row.push(out))
            .map_err(|why| format!("line {line}: {why}"))?;
    }
}

fn parse_record(r: &csv::StringRecord) -> Result<Converted<'_>, String> {
    if r.len() < 9 {
        return Err(format!("{} fields, vegeta writes at least 9", r.len()));
    }
    let uint = |i: usize, name: &str| -> Result<u64, String> {
        r[i].parse()
            .map_err(|_| format!("{name} {} is not a whole number", super::go::shorten(&r[i])))
    };
    let sent_ns = uint(0, "timestamp")?;
    let code = uint(1, "code")?;
    let latency_ns = uint(2, "latency")?;
    let bytes = uint(4, "bytes in")?;
    if code >= 1000 {
        return Err(format!("code {code} is not an HTTP status"));
    }
    // The label: the URL (newer versions), else the attack's name.
    let url = match (r.get(10), &r[7]) {
        (Some(u), _) if !u.is_empty() => u,
        (_, name) if !name.is_empty() => name,
        _ => "vegeta",
    };
    let (status, error) = match code {
        0 => (None, kind_of_go_error(&r[5])),
        c => (Some(c as u32), ""),
    };
    Ok(Converted {
        sent_ns,
        url,
        status,
        latency_ns,
        bytes,
        error,
        in_flight: 0,
    })
}
