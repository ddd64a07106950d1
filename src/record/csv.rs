//! The per-request CSV: row encoding (the README's column contract) and the
//! memory-mapped file it goes into. The file grows in large chunks that are
//! allocated with `fallocate` first, so a full disk is an error we can report
//! rather than a SIGBUS on a page of the mapping; it is truncated to the exact
//! length at the end. Only a window at the end of the file is mapped, so the
//! pages already written leave the process's RSS and memory stays flat however
//! long the run.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::base::clock::EpochMap;
use crate::base::filelock;
use crate::record::Record;

pub const HEADER: &str =
    "timestamp_ns,url,phase,status,latency_us,service_us,lag_us,bytes,error,in_flight\n";

/// The file grows by this much at a time.
const GROW_BYTES: u64 = 64 * 1024 * 1024;

/// The mapped window: from the page holding the write position this far on.
const WINDOW_BYTES: u64 = 32 * 1024 * 1024;

const PAGE_BYTES: u64 = 4096;

/// Appends `ns` as microseconds with three decimals (`1234.567`).
#[inline]
fn push_us(out: &mut Vec<u8>, ns: u64) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(ns / 1000).as_bytes());
    let frac = (ns % 1000) as u16;
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

#[inline]
fn push_int(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A target's label as a CSV cell: the bytes that would end the cell or
/// the row (`,` `"` CR LF, and NUL, which a reader takes for the zero-filled
/// tail of a killed run) percent-encoded, as they would be in a URL.
pub fn label_cell(label: &str) -> Vec<u8> {
    let mut cell = Vec::with_capacity(label.len());
    for &b in label.as_bytes() {
        match b {
            b',' | b'"' | b'\r' | b'\n' | 0 => {
                cell.extend_from_slice(format!("%{b:02X}").as_bytes());
            }
            _ => cell.push(b),
        }
    }
    cell
}

/// Encodes one row into `out` (appended).
#[inline]
pub fn encode_row(out: &mut Vec<u8>, r: &Record, url: &[u8], epoch: &EpochMap) {
    push_int(out, epoch.to_wall_ns(r.intended_ns));
    out.push(b',');
    out.extend_from_slice(url);
    out.push(b',');
    push_int(out, r.phase as u64);
    out.push(b',');
    if r.answered() {
        push_int(out, r.status as u64);
    }
    out.push(b',');
    if let Some(v) = r.latency_ns() {
        push_us(out, v);
    }
    out.push(b',');
    if let Some(v) = r.service_ns() {
        push_us(out, v);
    }
    out.push(b',');
    if let Some(v) = r.lag_ns() {
        push_us(out, v);
    }
    out.push(b',');
    push_int(out, r.bytes);
    out.push(b',');
    out.extend_from_slice(r.error_kind().as_str().as_bytes());
    out.push(b',');
    push_int(out, r.in_flight as u64);
    out.push(b'\n');
}

/// A CSV file written through a memory-mapped window that slides along it.
pub struct CsvFile {
    path: PathBuf,
    file: File,
    map: Option<MmapMut>,
    /// File offset of the window's first byte (page-aligned).
    window_start: u64,
    window_end: u64,
    /// Bytes of the file reserved with fallocate so far.
    allocated_len: u64,
    pos: u64,
}

impl CsvFile {
    /// Creates (truncates) the file and writes the header.
    pub fn create(path: &Path) -> io::Result<CsvFile> {
        let file = filelock::create_exclusive(path)?;
        let mut csv = CsvFile {
            path: path.to_path_buf(),
            file,
            map: None,
            window_start: 0,
            window_end: 0,
            allocated_len: 0,
            pos: 0,
        };
        csv.write(HEADER.as_bytes())?;
        Ok(csv)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends bytes, moving the window (and growing the file) when needed.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let end = self.pos + bytes.len() as u64;
        if end > self.window_end {
            self.slide(end)?;
        }
        let map = self
            .map
            .as_mut()
            .ok_or_else(|| io::Error::other("CSV not mapped"))?;
        let at = (self.pos - self.window_start) as usize;
        map[at..at + bytes.len()].copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Maps a new window starting at the page of `pos` and reaching past `end`.
    fn slide(&mut self, end: u64) -> io::Result<()> {
        // Unmapping first hands the written pages to the page cache's
        // write-back; they no longer count in this process's RSS.
        self.map = None;
        let start = self.pos / PAGE_BYTES * PAGE_BYTES;
        let window_end = start + WINDOW_BYTES.max((end - start).next_multiple_of(PAGE_BYTES));
        if window_end > self.allocated_len {
            self.allocate(window_end)?;
        }
        // SAFETY: the file is ours, opened read-write, at least `window_end`
        // long, and nothing else maps or truncates it while the map lives.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(start)
                .len((window_end - start) as usize)
                .map_mut(&self.file)?
        };
        self.map = Some(map);
        self.window_start = start;
        self.window_end = window_end;
        Ok(())
    }

    /// Grows the file in GROW_BYTES steps to at least `at_least` bytes.
    fn allocate(&mut self, at_least: u64) -> io::Result<()> {
        let new_len = at_least.next_multiple_of(GROW_BYTES);
        // Reserve the blocks now: writing to a mapped page of a sparse file on
        // a full disk would kill the process with SIGBUS.
        // SAFETY: plain syscall on our own fd.
        let rc = unsafe {
            libc::posix_fallocate(
                self.file.as_raw_fd(),
                self.allocated_len as libc::off_t,
                (new_len - self.allocated_len) as libc::off_t,
            )
        };
        if rc != 0 && rc != libc::EOPNOTSUPP && rc != libc::EINVAL {
            self.file.set_len(self.pos)?;
            return Err(io::Error::from_raw_os_error(rc));
        }
        self.file.set_len(new_len)?;
        self.allocated_len = new_len;
        Ok(())
    }

    /// Truncates to the exact length written and schedules write-back.
    pub fn finish(mut self) -> io::Result<u64> {
        self.close()?;
        Ok(self.pos)
    }

    /// Flushes the mapping and cuts the file to the bytes written.
    fn close(&mut self) -> io::Result<()> {
        if let Some(map) = self.map.take() {
            map.flush_async()?;
        }
        self.file.set_len(self.pos)
    }
}

/// A file not finished (its writer thread panicked) still ends at its last
/// whole row instead of a zero-filled tail.
impl Drop for CsvFile {
    fn drop(&mut self) {
        if self.map.is_some() {
            let _ = self.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::kind::ErrorKind;

    #[test]
    fn labels_cannot_break_the_row() {
        assert_eq!(label_cell("http://a/x?q=1,2"), b"http://a/x?q=1%2C2");
        assert_eq!(label_cell("a\"b\r\nc"), b"a%22b%0D%0Ac");
    }

    #[test]
    fn encodes_contract_columns() {
        let epoch = EpochMap::capture();
        let r = Record {
            intended_ns: 1_000_000,
            sent_ns: 1_014_125,
            done_ns: 1_512_250,
            bytes: 112,
            status: 200,
            phase: 1,
            in_flight: 3,
            error: 0,
            ..Record::default()
        };
        let mut out = Vec::new();
        encode_row(&mut out, &r, b"http://h/", &epoch);
        let text = String::from_utf8(out).unwrap();
        let cols: Vec<&str> = text.trim_end().split(',').collect();
        assert_eq!(cols.len(), 10);
        assert_eq!(
            &cols[1..],
            [
                "http://h/",
                "1",
                "200",
                "512.250",
                "498.125",
                "14.125",
                "112",
                "",
                "3"
            ]
        );
        let skipped = Record {
            intended_ns: 5,
            error: ErrorKind::Skipped as u8,
            ..Record::default()
        };
        let mut out = Vec::new();
        encode_row(&mut out, &skipped, b"u", &epoch);
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with(",u,0,,,,,0,skipped,0\n"));
    }

    #[test]
    fn file_is_exact_length_after_growth() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut csv = CsvFile::create(&path).unwrap();
        let row = vec![b'x'; 1000];
        for _ in 0..70_000 {
            csv.write(&row).unwrap();
        }
        let len = csv.finish().unwrap();
        assert_eq!(len, HEADER.len() as u64 + 70_000_000);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    }

    #[test]
    fn rows_straddling_windows_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut csv = CsvFile::create(&path).unwrap();
        let mut expected = HEADER.as_bytes().to_vec();
        let mut n = 0u64;
        while (expected.len() as u64) < 2 * WINDOW_BYTES + 12_345 {
            let row: Vec<u8> = (0..(n % 997 + 1))
                .map(|i| b'a' + ((n + i) % 26) as u8)
                .collect();
            csv.write(&row).unwrap();
            expected.extend_from_slice(&row);
            n += 1;
        }
        csv.finish().unwrap();
        assert!(std::fs::read(&path).unwrap() == expected);
    }
}
