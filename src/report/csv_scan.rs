//! Streaming reader for the per-request CSV written by `rwg run`.
//!
//! COLD but bulk: `rwg report` reads tens of millions of rows, so rows are
//! parsed in place ([`super::csv_row`]) from a memory-mapped file (or any byte
//! slice) with no allocation per row. Pages already read are released as the
//! scan goes, so memory stays flat in the row count.
//!
//! A file left by a crashed run may end in a zero-filled tail or a partial last
//! line; scanning stops there and says so as a warning ([`StopKind::ZeroFilled`],
//! [`StopKind::PartialLine`]). A bad header or a malformed row stops the scan with
//! an error ([`StopKind::BadHeader`], [`StopKind::BadRow`]); rows before it have
//! already been visited. Blank lines are skipped. Columns after `in_flight` are
//! ignored, so the format can be extended.

use std::fs::File;
use std::io;
use std::path::Path;

pub use super::csv_row::Row;
use super::csv_row::{parse_row, Fault, MISSING};
use crate::base::filelock;

/// The header `rwg run` writes (further columns may follow).
pub const HEADER: &str =
    "timestamp_ns,url,phase,status,latency_us,service_us,lag_us,bytes,error,in_flight";

/// Why a scan ended before the end of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// The file has no bytes at all (warning).
    Empty,
    /// A NUL byte: the zero-filled tail of a crashed run (warning).
    ZeroFilled,
    /// The last line has no newline: cut off by a crash (warning).
    PartialLine,
    /// The first line is not the expected header (error).
    BadHeader,
    /// A complete line that does not parse (error).
    BadRow,
}

impl StopKind {
    /// True for malformed input, false for the expected leftovers of a crash.
    pub fn is_error(self) -> bool {
        matches!(self, StopKind::BadHeader | StopKind::BadRow)
    }
}

/// Where and why a scan stopped early. `line` is 1-based (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub kind: StopKind,
    pub line: u64,
    pub message: String,
}

/// Result of a scan: rows visited, and the reason it stopped early, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEnd {
    pub rows: u64,
    pub stop: Option<Stop>,
}

/// A read-only view of a whole file: memory-mapped, or empty. Holds a
/// shared lock on the file, so a `rwg run` cannot cut it short meanwhile.
pub struct Mapped {
    map: Option<memmap2::Mmap>,
    _lock: File,
}

impl Mapped {
    /// Maps `path` read-only; an error if a `rwg run` is still writing it.
    pub fn open(path: &Path) -> io::Result<Mapped> {
        let file = File::open(path)?;
        filelock::try_lock(&file, false).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => io::Error::other(
                "a running rwg run is still writing it: report it once that run has ended",
            ),
            _ => e,
        })?;
        if file.metadata()?.len() == 0 {
            return Ok(Mapped {
                map: None,
                _lock: file,
            });
        }
        // SAFETY: the mapping is read-only and private to this process, and
        // the shared lock keeps rwg's writer (which truncates) away. Another
        // program could still cut the file: that is outside rwg's reach.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        #[cfg(unix)]
        {
            // Advice only; failure changes nothing but speed.
            let _ = map.advise(memmap2::Advice::Sequential);
        }
        Ok(Mapped {
            map: Some(map),
            _lock: file,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// Like [`scan_bytes`], dropping pages already read from this process's
    /// memory as it goes, so resident memory stays flat however big the file.
    pub fn scan<F: FnMut(&Row<'_>)>(&self, visit: F) -> ScanEnd {
        scan_inner(self.bytes(), visit, |upto| self.release(upto))
    }

    /// Drops the mapped pages below `upto` (rounded down to a page) from
    /// resident memory; the file's page cache keeps them.
    fn release(&self, upto: usize) {
        #[cfg(unix)]
        if let Some(map) = &self.map {
            let len = upto / RELEASE_EVERY * RELEASE_EVERY;
            // SAFETY: the mapping is read-only and never written, so it holds
            // no private pages: a dropped page reads back the same file bytes.
            let _ =
                unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, len) };
        }
        #[cfg(not(unix))]
        let _ = upto;
    }
}

/// How often (bytes) a mapped scan releases what it has read; a multiple of
/// any page size.
const RELEASE_EVERY: usize = 16 << 20;

/// Maps `path` and scans it; see [`scan_bytes`].
pub fn scan_file<F: FnMut(&Row<'_>)>(path: &Path, visit: F) -> io::Result<ScanEnd> {
    Ok(Mapped::open(path)?.scan(visit))
}

/// Checks the header, then calls `visit` for each row in file order until the
/// data ends or a stop condition is met.
pub fn scan_bytes<F: FnMut(&Row<'_>)>(data: &[u8], visit: F) -> ScanEnd {
    scan_inner(data, visit, |_| {})
}

/// [`scan_bytes`], calling `progress(pos)` each time another
/// [`RELEASE_EVERY`] bytes have been consumed.
fn scan_inner<F, P>(data: &[u8], mut visit: F, mut progress: P) -> ScanEnd
where
    F: FnMut(&Row<'_>),
    P: FnMut(usize),
{
    let mut next_progress = RELEASE_EVERY;
    let mut pos = match check_header(data) {
        Ok(pos) => pos,
        Err(stop) => {
            return ScanEnd {
                rows: 0,
                stop: Some(stop),
            }
        }
    };
    let mut rows = 0u64;
    let mut line = 2u64;
    while pos < data.len() {
        match data[pos] {
            b'\n' => {
                pos += 1;
                line += 1;
                continue;
            }
            b'\r' if data.get(pos + 1) == Some(&b'\n') => {
                pos += 2;
                line += 1;
                continue;
            }
            _ => {}
        }
        match parse_row(data, pos) {
            Ok((row, next)) => {
                visit(&row);
                rows += 1;
                pos = next;
                line += 1;
                if pos >= next_progress {
                    progress(pos);
                    next_progress = pos + RELEASE_EVERY;
                }
            }
            Err(fault) => {
                let stop = stop_for(fault, data, pos, line);
                return ScanEnd {
                    rows,
                    stop: Some(stop),
                };
            }
        }
    }
    ScanEnd { rows, stop: None }
}

fn check_header(data: &[u8]) -> Result<usize, Stop> {
    let stop = |kind, message: String| Stop {
        kind,
        line: 1,
        message,
    };
    if data.is_empty() {
        return Err(stop(StopKind::Empty, "file is empty".into()));
    }
    let end = data.iter().position(|&b| b == b'\n' || b == 0);
    let (line, next) = match end {
        Some(i) if data[i] == b'\n' => (&data[..i], i + 1),
        Some(_) => {
            return Err(stop(
                StopKind::ZeroFilled,
                "zero-filled from the header on: no rows".into(),
            ));
        }
        None if HEADER.as_bytes().starts_with(data) => {
            return Err(stop(
                StopKind::PartialLine,
                "partial header line: no rows".into(),
            ));
        }
        None => (data, data.len()),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(HEADER.as_bytes());
    if matches!(rest, Some(r) if r.is_empty() || r[0] == b',') {
        return Ok(next);
    }
    Err(stop(
        StopKind::BadHeader,
        format!("bad header {}; expected {HEADER}", quote(line)),
    ))
}

fn stop_for(fault: Fault, data: &[u8], pos: usize, line: u64) -> Stop {
    let zero = || Stop {
        kind: StopKind::ZeroFilled,
        line,
        message: "zero-filled tail (run killed?); rows from here on ignored".into(),
    };
    let partial = || Stop {
        kind: StopKind::PartialLine,
        line,
        message: "partial last line (run killed?); ignored".into(),
    };
    match fault {
        Fault::Nul => zero(),
        Fault::Eof => partial(),
        Fault::Bad { field, start, why } => {
            // A bad field in a line that is itself cut off is a crash, not bad data.
            let rest = &data[pos..];
            match rest.iter().position(|&b| b == b'\n' || b == 0) {
                Some(i) if rest[i] == 0 => zero(),
                None => partial(),
                Some(_) if why == MISSING => Stop {
                    kind: StopKind::BadRow,
                    line,
                    message: format!("{field} {why}"),
                },
                Some(_) => {
                    let value = &data[start..];
                    let end = value
                        .iter()
                        .position(|&b| matches!(b, b',' | b'\n' | b'\r'))
                        .unwrap_or(value.len());
                    Stop {
                        kind: StopKind::BadRow,
                        line,
                        message: format!("bad {field} {}: {why}", quote(&value[..end])),
                    }
                }
            }
        }
    }
}

/// Shows a field in an error message: quoted, lossy UTF-8, at most 60 bytes.
fn quote(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(60)];
    let more = if cut.len() < bytes.len() { "…" } else { "" };
    format!("\"{}{more}\"", String::from_utf8_lossy(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(data: &[u8]) -> (Vec<u64>, ScanEnd) {
        let mut ts = Vec::new();
        let end = scan_bytes(data, |r| ts.push(r.timestamp_ns));
        (ts, end)
    }

    #[test]
    fn parses_example_rows() {
        let data = format!(
            "{HEADER}\r\n1,http://h/,0,200,512.250,498.125,14.125,112,,3\r\n\
             2,http://h/,1,,,,,0,skipped,64,extra\n"
        );
        let mut rows = Vec::new();
        let end = scan_bytes(data.as_bytes(), |r| {
            rows.push((
                r.status,
                r.latency_ns,
                r.lag_ns,
                r.error.to_vec(),
                r.in_flight,
            ))
        });
        assert_eq!(
            end,
            ScanEnd {
                rows: 2,
                stop: None
            }
        );
        assert_eq!(rows[0], (Some(200), Some(512_250), Some(14_125), vec![], 3));
        assert_eq!(rows[1], (None, None, None, b"skipped".to_vec(), 64));
    }

    #[test]
    fn stops() {
        let ok = format!("{HEADER}\n1,u,0,200,1,1,0,0,,1\n");
        let (ts, end) = rows_of(format!("{ok}2,u,0,20\0\0\0\0").as_bytes());
        assert_eq!(
            (ts.len(), end.stop.map(|s| (s.kind, s.line))),
            (1, Some((StopKind::ZeroFilled, 3)))
        );
        let (ts, end) = rows_of(format!("{ok}2,u,0,200,1,1,0,0,,1").as_bytes());
        assert_eq!(
            (ts.len(), end.stop.map(|s| (s.kind, s.line))),
            (1, Some((StopKind::PartialLine, 3)))
        );
        let (ts, end) =
            rows_of(format!("{ok}\n2,u,0,2x0,1,1,0,0,,1\n3,u,0,200,1,1,0,0,,1\n").as_bytes());
        let stop = end.stop.expect("stop");
        assert_eq!((ts.len(), stop.kind, stop.line), (1, StopKind::BadRow, 4));
        assert!(stop.message.contains("status"), "{}", stop.message);
        let (_, end) = rows_of(format!("{ok}2,u,0\n").as_bytes());
        assert_eq!(end.stop.map(|s| s.kind), Some(StopKind::BadRow));
        let (_, end) = rows_of(b"time,url\n1,u\n");
        assert_eq!(end.stop.map(|s| s.kind), Some(StopKind::BadHeader));
        let (_, end) = rows_of(b"");
        assert_eq!(end.stop.map(|s| s.kind), Some(StopKind::Empty));
        let (_, end) = rows_of(b"\0\0\0");
        assert_eq!(end.stop.map(|s| s.kind), Some(StopKind::ZeroFilled));
        let (_, end) = rows_of(b"timestamp_ns,url,ph");
        assert_eq!(end.stop.map(|s| s.kind), Some(StopKind::PartialLine));
        let (_, end) = rows_of(format!("{HEADER}\n1,\"u\",0,200,1,1,0,0,,1\n").as_bytes());
        assert_eq!(end.stop.map(|s| s.kind), Some(StopKind::BadRow));
    }
}
