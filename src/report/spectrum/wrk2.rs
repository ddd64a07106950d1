//! wrk2's text summary with `--latency` (`-L`): its "Detailed Percentile
//! spectrum" (HdrHistogram's classic percentile output: value in ms,
//! percentile as a fraction, cumulative count, 1/(1 − percentile)) under
//! the heading "Latency Distribution (HdrHistogram - Recorded Latency)"
//! (latency from wrk2's planned send instant) or, with `-U`, "…
//! Uncorrected Latency …" (from the actual send); and the lines around it:
//! `Running 30s test @ URL`, `N threads and M connections`, `N requests in
//! 30.00s, …`, `Socket errors: connect a, read b, write c, timeout d`,
//! `Non-2xx or 3xx responses: N` and `Requests/sec: X`.
//!
//! Any other line is ignored, so a summary pasted with surrounding shell
//! text reads too; a spectrum row that does not parse is an error naming
//! its line.

/// One row of the spectrum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectrumRow {
    pub value_ns: u64,
    /// A fraction in [0, 1].
    pub percentile: f64,
    /// Responses at or below `value_ns`.
    pub total_count: u64,
}

/// wrk2's socket error counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    /// Connections found waiting longer than wrk2's `--timeout` at its
    /// periodic checks (not requests).
    pub timeout: u64,
}

/// What one wrk2 summary says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wrk2Run {
    pub url: Option<String>,
    pub threads: Option<u64>,
    pub connections: Option<u64>,
    /// The spectrum read is the corrected "Recorded Latency" (from the
    /// planned instant); `false`: only an uncorrected one was there.
    pub corrected: bool,
    pub spectrum: Vec<SpectrumRow>,
    /// From the `#[Mean …]` and `#[Max …, Total count …]` trailer.
    pub mean_ns: Option<u64>,
    pub max_ns: Option<u64>,
    /// Responses in the histogram (wrk2 resets it after its calibration,
    /// so this may be fewer than `requests`).
    pub histogram_count: u64,
    /// `N requests in T`: every completed request, calibration included.
    pub requests: Option<u64>,
    pub duration_ns: Option<u64>,
    pub socket_errors: SocketErrors,
    /// wrk2's "Non-2xx or 3xx responses": statuses above 399.
    pub status_errors: u64,
    pub requests_per_sec: Option<f64>,
}

/// The spectrum's first line, which no CSV holds.
const SPECTRUM_HEADING: &str = "Detailed Percentile spectrum:";
/// The longest latency wrk2 records: one day (its `MAX_LATENCY`), with room.
const MAX_VALUE_NS: u64 = 10 * 86_400 * 1_000_000_000;

/// Whether the start of a file looks like a wrk2 (or wrk) summary.
pub fn looks_like(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    first.is_some_and(|l| l.starts_with("Running ") && l.contains(" test @ "))
        || text.contains(SPECTRUM_HEADING)
}

/// Which spectrum the lines being read belong to.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    Corrected,
    Uncorrected,
}

/// Reads a whole summary. An error when it holds no spectrum (wrk's own
/// `--latency` prints four percentiles only) or a row that does not parse.
pub fn parse(text: &str) -> Result<Wrk2Run, String> {
    let mut run = Wrk2Run::default();
    let mut section = Section::Corrected;
    let mut in_spectrum = false;
    let mut spectra: Vec<Found> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = |e: String| format!("line {}: {e}", i + 1);
        if line.starts_with("Latency Distribution (HdrHistogram") {
            section = if line.contains("Uncorrected") {
                Section::Uncorrected
            } else {
                Section::Corrected
            };
        } else if line.starts_with(SPECTRUM_HEADING) {
            in_spectrum = true;
            spectra.push(Found {
                section,
                rows: Vec::new(),
                mean_ns: None,
                max_ns: None,
                count: 0,
            });
        } else if in_spectrum {
            let Some(last) = spectra.last_mut() else {
                continue;
            };
            if line.starts_with('-') {
                in_spectrum = false;
            } else if let Some(trailer) = line.strip_prefix("#[") {
                read_trailer(trailer, last).map_err(at)?;
            } else if !line.is_empty() && !line.starts_with("Value") {
                let row = read_row(line).map_err(at)?;
                check_order(&last.rows, &row).map_err(at)?;
                last.rows.push(row);
            }
        } else {
            read_context(line, &mut run).map_err(at)?;
        }
    }
    let pick = spectra
        .iter()
        .position(|s| s.section == Section::Corrected && !s.rows.is_empty())
        .or_else(|| spectra.iter().position(|s| !s.rows.is_empty()));
    let Some(pick) = pick else {
        return Err(format!(
            "no \"{SPECTRUM_HEADING}\" with rows: run wrk2 with --latency \
             (wrk's own --latency prints four percentiles, too few to compare)"
        ));
    };
    let found = spectra.swap_remove(pick);
    let last_count = found.rows.last().map_or(0, |r| r.total_count);
    run.corrected = found.section == Section::Corrected;
    run.histogram_count = if found.count > 0 {
        found.count
    } else {
        last_count
    };
    if last_count > run.histogram_count {
        return Err(format!(
            "the spectrum counts {last_count} responses, its trailer {}",
            run.histogram_count
        ));
    }
    run.spectrum = found.rows;
    run.mean_ns = found.mean_ns;
    run.max_ns = found.max_ns;
    Ok(run)
}

/// `value percentile total_count 1/(1-percentile)`.
fn read_row(line: &str) -> Result<SpectrumRow, String> {
    let cells: Vec<&str> = line.split_whitespace().collect();
    let [value, percentile, count, _inverse] = cells[..] else {
        return Err(format!(
            "expected 4 columns (Value Percentile TotalCount 1/(1-Percentile)), got {:?}",
            line
        ));
    };
    let percentile: f64 = number(percentile, "percentile")?;
    if !(0.0..=1.0).contains(&percentile) {
        return Err(format!("percentile {percentile} is outside 0…1"));
    }
    let total_count = count
        .parse()
        .map_err(|_| format!("total count {count:?} is not a whole number"))?;
    Ok(SpectrumRow {
        value_ns: ms_to_ns(value)?,
        percentile,
        total_count,
    })
}

/// Rows rise in value, percentile and count, as HdrHistogram prints them.
fn check_order(rows: &[SpectrumRow], row: &SpectrumRow) -> Result<(), String> {
    let Some(prev) = rows.last() else {
        return Ok(());
    };
    if row.value_ns < prev.value_ns
        || row.percentile < prev.percentile
        || row.total_count < prev.total_count
    {
        return Err("a spectrum row below the one before it".into());
    }
    Ok(())
}

/// One spectrum met in the text, with its `#[…]` trailer.
struct Found {
    section: Section,
    rows: Vec<SpectrumRow>,
    mean_ns: Option<u64>,
    max_ns: Option<u64>,
    count: u64,
}

/// `Mean = a, StdDeviation = b]`, `Max = a, Total count = n]` or
/// `Buckets = …]`.
fn read_trailer(trailer: &str, spectrum: &mut Found) -> Result<(), String> {
    let body = trailer.trim_end_matches(']');
    for pair in body.split(',') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Mean" => spectrum.mean_ns = Some(ms_to_ns(value)?),
            "Max" => spectrum.max_ns = Some(ms_to_ns(value)?),
            "Total count" => {
                spectrum.count = value
                    .parse()
                    .map_err(|_| format!("total count {value:?} is not a whole number"))?
            }
            _ => {}
        }
    }
    Ok(())
}

/// The lines around the spectrum.
fn read_context(line: &str, run: &mut Wrk2Run) -> Result<(), String> {
    if let Some(rest) = line.strip_prefix("Running ") {
        if let Some((_, url)) = rest.split_once(" test @ ") {
            run.url = Some(url.trim().to_string());
        }
    } else if let Some((threads, rest)) = line.split_once(" threads and ") {
        run.threads = threads.trim().parse().ok();
        run.connections = rest.trim_end_matches(" connections").trim().parse().ok();
    } else if let Some((count, rest)) = line.split_once(" requests in ") {
        let count = count.trim();
        run.requests = Some(
            count
                .parse()
                .map_err(|_| format!("request count {count:?} is not a whole number"))?,
        );
        let time = rest.split(',').next().unwrap_or_default().trim();
        run.duration_ns = Some(wrk_time_ns(time)?);
    } else if let Some(rest) = line.strip_prefix("Socket errors:") {
        run.socket_errors = socket_errors(rest)?;
    } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
        let rest = rest.trim();
        run.status_errors = rest
            .parse()
            .map_err(|_| format!("response count {rest:?} is not a whole number"))?;
    } else if let Some(rest) = line.strip_prefix("Requests/sec:") {
        let rate: f64 = number(rest.trim(), "Requests/sec")?;
        run.requests_per_sec = Some(rate);
    }
    Ok(())
}

/// `connect a, read b, write c, timeout d`.
fn socket_errors(text: &str) -> Result<SocketErrors, String> {
    let mut e = SocketErrors::default();
    for part in text.split(',') {
        let mut words = part.split_whitespace();
        let (Some(name), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        let n: u64 = n
            .parse()
            .map_err(|_| format!("socket error count {n:?} is not a whole number"))?;
        match name {
            "connect" => e.connect = n,
            "read" => e.read = n,
            "write" => e.write = n,
            "timeout" => e.timeout = n,
            _ => {}
        }
    }
    Ok(e)
}

fn number(text: &str, what: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{what} {text:?} is not a number"))
}

/// Milliseconds with decimals (the spectrum's unit) → ns.
fn ms_to_ns(text: &str) -> Result<u64, String> {
    let ms = number(text, "latency")?;
    let ns = ms * 1e6;
    if !(0.0..=MAX_VALUE_NS as f64).contains(&ns) {
        return Err(format!("latency {text:?} ms is outside 0 … 10 days"));
    }
    Ok(ns.round() as u64)
}

/// wrk's `format_time_us` text (`30.00s`, `1.00m`, `250.00ms`, `2.00h`,
/// `800.00us`) → ns.
fn wrk_time_ns(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("duration {text:?} has no unit"))?;
    let (value, unit) = text.split_at(split);
    let scale_ns = match unit {
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return Err(format!("duration {text:?}: unknown unit {unit:?}")),
    };
    let ns = number(value, "duration")? * scale_ns;
    if !(0.0..=MAX_VALUE_NS as f64 * 100.0).contains(&ns) {
        return Err(format!("duration {text:?} is out of range"));
    }
    Ok(ns.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 10s test @ http://127.0.0.1:8080/\n  \
        2 threads and 10 connections\n  \
        Thread calibration: mean lat.: 1.2ms, rate sampling interval: 10ms\n  \
        Latency Distribution (HdrHistogram - Recorded Latency)\n 50.000%    1.00ms\n\n  \
        Detailed Percentile spectrum:\n       Value   Percentile   TotalCount 1/(1-Percentile)\n\n       \
        0.500     0.000000            1         1.00\n       \
        1.000     0.500000           50         2.00\n       \
        2.000     0.900000           90        10.00\n       \
        4.000     1.000000          100          inf\n\
        #[Mean    =        1.250, StdDeviation   =        0.500]\n\
        #[Max     =        4.000, Total count    =          100]\n\
        #[Buckets =           27, SubBuckets     =         2048]\n\
        ----------------------------------------------------------\n  \
        150 requests in 10.00s, 1.00MB read\n  \
        Socket errors: connect 1, read 2, write 3, timeout 4\n  \
        Non-2xx or 3xx responses: 5\nRequests/sec:     15.00\nTransfer/sec:    100.00KB\n";

    #[test]
    fn reads_every_line_of_a_summary() {
        let run = parse(SAMPLE).unwrap();
        assert_eq!(run.url.as_deref(), Some("http://127.0.0.1:8080/"));
        assert_eq!((run.threads, run.connections), (Some(2), Some(10)));
        assert!(run.corrected);
        assert_eq!(run.spectrum.len(), 4);
        assert_eq!(
            run.spectrum[2],
            SpectrumRow {
                value_ns: 2_000_000,
                percentile: 0.9,
                total_count: 90
            }
        );
        assert_eq!(
            (run.mean_ns, run.max_ns),
            (Some(1_250_000), Some(4_000_000))
        );
        assert_eq!(run.histogram_count, 100);
        assert_eq!(run.requests, Some(150));
        assert_eq!(run.duration_ns, Some(10_000_000_000));
        assert_eq!(
            run.socket_errors,
            SocketErrors {
                connect: 1,
                read: 2,
                write: 3,
                timeout: 4
            }
        );
        assert_eq!(run.status_errors, 5);
        assert_eq!(run.requests_per_sec, Some(15.0));
        assert!(looks_like(SAMPLE.as_bytes()));
        assert!(!looks_like(b"timestamp_ns,url,phase\n1,a,0\n"));
    }

    #[test]
    fn the_corrected_spectrum_wins_over_the_uncorrected() {
        let uncorrected = SAMPLE
            .replace(
                "Recorded Latency",
                "Uncorrected Latency (measured without …)",
            )
            .replace("4.000     1.0", "3.000     1.0");
        let only_u = parse(&uncorrected).unwrap();
        assert!(!only_u.corrected);
        let both = parse(&format!("{SAMPLE}\n{uncorrected}")).unwrap();
        assert!(both.corrected);
        assert_eq!(both.spectrum[3].value_ns, 4_000_000);
        let u_first = parse(&format!("{uncorrected}\n{SAMPLE}")).unwrap();
        assert!(u_first.corrected);
    }

    #[test]
    fn bad_input_names_its_line() {
        let no_spectrum = "Running 1s test @ http://x/\n  Latency Distribution\n 50%  1ms\n";
        assert!(parse(no_spectrum).unwrap_err().contains("--latency"));
        let bad = SAMPLE.replace("2.000     0.900000", "2.000     1.900000");
        assert_eq!(
            parse(&bad).unwrap_err(),
            "line 12: percentile 1.9 is outside 0…1"
        );
        let falling = SAMPLE.replace("2.000     0.900000", "0.100     0.900000");
        assert!(parse(&falling)
            .unwrap_err()
            .starts_with("line 12: a spectrum row below"));
        let minutes = SAMPLE.replace("in 10.00s", "in 1.50m");
        assert_eq!(parse(&minutes).unwrap().duration_ns, Some(90_000_000_000));
        let unit = SAMPLE.replace("in 10.00s", "in 10.00d");
        assert!(parse(&unit).unwrap_err().contains("unknown unit"));
    }
}
