//! Per-request results written by other tools, read as rwg rows: the Go
//! tool's CSV (`url,latency,status_code,error,timestamp[,current_workers]`)
//! and vegeta's (`vegeta encode --to csv`). Each file is converted once into
//! rwg's CSV text, so one scanner and one analysis serve every tool; what
//! that tool's latency means travels with it as its [`Tool`].
//!
//! COLD: a foreign file is read whole into memory (they come from tools
//! that keep every result in memory anyway).

mod go;
mod vegeta;

use std::path::Path;

use super::csv_scan::{self, Mapped, Row, ScanEnd, HEADER};

/// The tool that wrote a per-request file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Rwg,
    /// The Go tool rwg replaces.
    RwgGo,
    Vegeta,
    /// wrk2's percentile summary of its corrected "Recorded Latency".
    Wrk2,
    /// wrk2's `-U` "Uncorrected Latency" (when no corrected one was there).
    Wrk2Uncorrected,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Rwg => "rwg",
            Tool::RwgGo => "rwg (Go)",
            Tool::Vegeta => "vegeta",
            Tool::Wrk2 => "wrk2",
            Tool::Wrk2Uncorrected => "wrk2 (uncorrected)",
        }
    }

    /// What a latency figure from this tool's file means.
    pub fn latency_meaning(self) -> &'static str {
        match self {
            Tool::Rwg => "from the intended send instant (queueing in the generator included)",
            Tool::Wrk2 => {
                "from the instant wrk2's per-connection schedule planned (its corrected \
                 \"Recorded Latency\"); a percentile summary, no per-request rows"
            }
            Tool::RwgGo | Tool::Vegeta | Tool::Wrk2Uncorrected => {
                "from the actual send: a request sent late is timed from when it went out \
                 (coordinated omission), and there is no send lag to judge the generator by"
            }
        }
    }

    /// Whether rows carry the intended instant (and so the send lag).
    pub fn from_intended(self) -> bool {
        matches!(self, Tool::Rwg | Tool::Wrk2)
    }
}

/// How to read what a file does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForeignOptions {
    /// The Go tool's `status_code` column holds gRPC codes (`Some(true)`) or
    /// HTTP statuses; `None`: decided per row by the url (`http://` and
    /// `https://` are HTTP, as the Go tool itself decided).
    pub go_grpc: Option<bool>,
}

/// A per-request file ready to scan: rwg's own, mapped, or another tool's,
/// converted.
pub enum Source {
    Rwg(Mapped),
    Converted { tool: Tool, csv: Vec<u8> },
}

impl Source {
    /// Opens `path` and converts it when another tool wrote it; an error
    /// names the file and, for a foreign row that does not parse, its line.
    pub fn open(path: &Path, opts: ForeignOptions) -> Result<Source, String> {
        let map = Mapped::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let tool = detect(map.bytes());
        if tool == Tool::Rwg {
            return Ok(Source::Rwg(map));
        }
        let csv = convert(map.bytes(), tool, opts)
            .map_err(|e| format!("{} ({} CSV): {e}", path.display(), tool.name()))?;
        Ok(Source::Converted { tool, csv })
    }

    pub fn tool(&self) -> Tool {
        match self {
            Source::Rwg(_) => Tool::Rwg,
            Source::Converted { tool, .. } => *tool,
        }
    }

    pub fn scan<F: FnMut(&Row<'_>)>(&self, visit: F) -> ScanEnd {
        match self {
            Source::Rwg(map) => map.scan(visit),
            Source::Converted { csv, .. } => csv_scan::scan_bytes(csv, visit),
        }
    }
}

/// The tool that wrote `data`, from its first line; anything else is
/// taken for rwg's (whose scanner then names a bad header).
pub fn detect(data: &[u8]) -> Tool {
    let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if first.starts_with(go::HEADER.as_bytes()) {
        Tool::RwgGo
    } else if vegeta::looks_like(first) {
        Tool::Vegeta
    } else {
        Tool::Rwg
    }
}

/// Converts a foreign file into rwg's CSV text (header included).
pub fn convert(data: &[u8], tool: Tool, opts: ForeignOptions) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(data.len() + HEADER.len() + 1);
    out.extend_from_slice(HEADER.as_bytes());
    out.push(b'\n');
    match tool {
        Tool::Rwg => out.extend_from_slice(data),
        Tool::Wrk2 | Tool::Wrk2Uncorrected => {
            return Err("a wrk2 summary has no per-request rows to convert".into())
        }
        Tool::RwgGo => go::convert(data, opts, &mut out)?,
        Tool::Vegeta => vegeta::convert(data, &mut out)?,
    }
    Ok(out)
}

/// One converted row: what another tool recorded, as rwg's columns. The
/// instant is the actual send; latency and service time are both the
/// tool's latency; no send lag.
struct Converted<'a> {
    sent_ns: u64,
    url: &'a str,
    status: Option<u32>,
    latency_ns: u64,
    bytes: u64,
    /// An rwg error kind, or empty.
    error: &'static str,
    in_flight: u64,
}

/// The longest latency a foreign row may hold: 10^15 ns (11.6 days), well
/// inside what rwg's CSV reader takes (µs × 1000 must fit 64 bits).
const MAX_LATENCY_NS: u64 = 1_000_000_000_000_000;

impl Converted<'_> {
    /// Appends the row; an error when its latency is out of range.
    fn push(&self, out: &mut Vec<u8>) -> Result<(), String> {
        if self.latency_ns > MAX_LATENCY_NS {
            return Err(format!(
                "latency of {} ns is beyond {MAX_LATENCY_NS} ns",
                self.latency_ns
            ));
        }
        let mut int = itoa::Buffer::new();
        out.extend_from_slice(int.format(self.sent_ns).as_bytes());
        out.push(b',');
        out.extend_from_slice(&crate::record::csv::label_cell(self.url));
        out.extend_from_slice(b",0,");
        if let Some(s) = self.status {
            out.extend_from_slice(int.format(s).as_bytes());
        }
        out.push(b',');
        let us = format!("{}.{:03}", self.latency_ns / 1000, self.latency_ns % 1000);
        for _ in 0..2 {
            out.extend_from_slice(us.as_bytes());
            out.push(b',');
        }
        out.push(b',');
        out.extend_from_slice(int.format(self.bytes).as_bytes());
        out.push(b',');
        out.extend_from_slice(self.error.as_bytes());
        out.push(b',');
        out.extend_from_slice(int.format(self.in_flight).as_bytes());
        out.push(b'\n');
        Ok(())
    }
}

/// The rwg error kind of a Go `net/http` or gRPC client error text.
fn kind_of_go_error(text: &str) -> &'static str {
    let t = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["timeout", "deadline exceeded"]) {
        "timeout"
    } else if has(&["connection refused", "no such host", "dial tcp", "connect:"]) {
        "connect"
    } else if has(&["reset", "eof", "broken pipe", "connection closed"]) {
        "reset"
    } else {
        "io"
    }
}

#[cfg(test)]
mod tests;
