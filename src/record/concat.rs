//! One CSV made of several runs' CSVs (`rwg search -o`: each step is a run
//! of its own, and the file is one search): each run's rows appended with
//! its phases numbered on from the previous run's, so `rwg report
//! --by-phase` and `rwg plot` see one phase per part of a step.
//!
//! COLD: once per step, a streaming copy of its rows.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::csv::HEADER;
use crate::base::filelock;

/// The CSV being assembled, locked against other rwg processes as `rwg run
/// -o` locks its own.
pub struct ConcatCsv {
    path: PathBuf,
    out: BufWriter<File>,
    /// The phase number the next run's phase 0 gets.
    next_phase: u32,
    pub rows: u64,
}

impl ConcatCsv {
    /// Creates `path` (emptied) with the header.
    pub fn create(path: &Path) -> io::Result<ConcatCsv> {
        let file = filelock::create_exclusive(path)?;
        let mut out = BufWriter::new(file);
        out.write_all(HEADER.as_bytes())?;
        Ok(ConcatCsv {
            path: path.to_path_buf(),
            out,
            next_phase: 0,
            rows: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where one run writes before it is appended: beside the file, so the
    /// copy stays on one file system.
    pub fn part_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".part");
        PathBuf::from(name)
    }

    /// Appends the rows of `part` (a CSV of `phases` phases), renumbering
    /// its phases after the ones before, then removes it. Returns the
    /// number the part's phase 0 got.
    pub fn append(&mut self, part: &Path, phases: u32) -> io::Result<u32> {
        let first = self.next_phase;
        let mut reader = BufReader::new(File::open(part)?);
        let mut line = Vec::with_capacity(256);
        reader.read_until(b'\n', &mut line)?;
        if line != HEADER.as_bytes() {
            return Err(io::Error::other(format!(
                "{}: not an rwg CSV (its header differs)",
                part.display()
            )));
        }
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            renumber(&line, first, &mut self.out).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData => io::Error::other(format!("{}: {e}", part.display())),
                _ => e,
            })?;
            self.rows += 1;
        }
        self.out.flush()?;
        self.next_phase += phases;
        std::fs::remove_file(part)?;
        Ok(first)
    }
}

/// Writes `row` with its phase (the third cell) raised by `offset`; a row
/// that is not rwg's is `InvalidData`.
fn renumber(row: &[u8], offset: u32, out: &mut impl Write) -> io::Result<()> {
    let bad = |what: &str| {
        let row = String::from_utf8_lossy(row);
        io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {row:?}"))
    };
    let mut commas = row
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b',')
        .map(|(i, _)| i);
    let (Some(_), Some(start), Some(end)) = (commas.next(), commas.next(), commas.next()) else {
        return Err(bad("a row without a phase"));
    };
    let phase: u32 = std::str::from_utf8(&row[start + 1..end])
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad("a row with a bad phase"))?;
    out.write_all(&row[..=start])?;
    write!(out, "{}", phase + offset)?;
    out.write_all(&row[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_appended_with_their_phases_numbered_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = ConcatCsv::create(&dir.path().join("all.csv")).unwrap();
        let part = csv.part_path();
        let row = |phase: u32| format!("1000,http://h/,{phase},200,1.000,0.500,0.010,10,,1\n");
        for _ in 0..2 {
            std::fs::write(&part, format!("{HEADER}{}{}", row(0), row(1))).unwrap();
            csv.append(&part, 2).unwrap();
            assert!(!part.exists());
        }
        drop(csv);
        let text = std::fs::read_to_string(dir.path().join("all.csv")).unwrap();
        let want = format!("{HEADER}{}{}{}{}", row(0), row(1), row(2), row(3));
        assert_eq!(text, want);
    }

    #[test]
    fn a_foreign_part_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = ConcatCsv::create(&dir.path().join("all.csv")).unwrap();
        let part = csv.part_path();
        std::fs::write(&part, "a,b\n1,2\n").unwrap();
        let e = csv.append(&part, 1).unwrap_err().to_string();
        assert!(e.contains("all.csv.part") && e.contains("header"), "{e}");
        std::fs::write(&part, format!("{HEADER}1000,http://h/,x,200\n")).unwrap();
        let e = csv.append(&part, 1).unwrap_err().to_string();
        assert!(e.contains("bad phase"), "{e}");
    }
}
