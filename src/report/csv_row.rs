//! One row of the per-request CSV: the [`Row`] type and its in-place parser.
//!
//! HOT for `rwg report`: one pass over the row's bytes, each field parsed while
//! it is scanned, no allocation; a malformed row yields a small [`Fault`] that
//! the scanner turns into a message.

/// One parsed row; slices borrow the scanned bytes. Times are converted to ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    /// Intended send instant, Unix-epoch ns.
    pub timestamp_ns: u64,
    pub url: &'a [u8],
    pub phase: u32,
    /// HTTP status or gRPC code; `None` when no response came.
    pub status: Option<u32>,
    /// done − intended. Negative values in the file are clamped to 0.
    pub latency_ns: Option<u64>,
    /// done − sent.
    pub service_ns: Option<u64>,
    /// sent − intended.
    pub lag_ns: Option<u64>,
    pub bytes: u64,
    /// Empty, or an error kind such as `timeout` or `skipped`.
    pub error: &'a [u8],
    pub in_flight: u64,
}

/// Why a row failed to parse. Small and allocation-free: the hot path returns it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fault {
    /// A NUL byte before the end of the row.
    Nul,
    /// The data ended before the row's newline.
    Eof,
    /// The field `field` starting at byte `start` is malformed: `why`.
    Bad {
        field: &'static str,
        start: usize,
        why: &'static str,
    },
}

pub(super) const MISSING: &str = "missing (too few fields)";

/// The fault for byte `b` ending field `field` (started at `start`) too early.
#[cold]
fn unexpected(b: u8, field: &'static str, start: usize) -> Fault {
    let why = match b {
        0 => return Fault::Nul,
        b'\n' | b'\r' => MISSING,
        _ => "not a number",
    };
    Fault::Bad { field, start, why }
}

/// A single pass over one row: each field is parsed while it is scanned.
struct Cursor<'a> {
    data: &'a [u8],
    /// The next byte to read.
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn byte(&self, i: usize) -> Result<u8, Fault> {
        self.data.get(i).copied().ok_or(Fault::Eof)
    }

    /// A text field: the bytes up to the next comma.
    #[inline(always)]
    fn text(&mut self, field: &'static str) -> Result<&'a [u8], Fault> {
        let start = self.i;
        let mut i = start;
        loop {
            match self.byte(i)? {
                b',' => break,
                b @ (b'\n' | b'\r' | 0) => return Err(unexpected(b, field, start)),
                _ => i += 1,
            }
        }
        self.i = i + 1;
        Ok(&self.data[start..i])
    }

    /// An unsigned integer field (`None` when empty). With `last`, it may end
    /// the line; then the rest of the line (extra columns) is skipped.
    #[inline(always)]
    fn uint(&mut self, field: &'static str, last: bool) -> Result<Option<u64>, Fault> {
        let start = self.i;
        let mut i = start;
        let mut v: u64 = 0;
        let end = loop {
            let b = self.byte(i)?;
            let d = b.wrapping_sub(b'0');
            if d < 10 {
                v = v.wrapping_mul(10).wrapping_add(u64::from(d));
                i += 1;
            } else if b == b',' || (last && (b == b'\n' || b == b'\r')) {
                break b;
            } else {
                return Err(unexpected(b, field, start));
            }
        };
        let len = i - start;
        if len >= 20 {
            let bad = Fault::Bad {
                field,
                start,
                why: "number too large",
            };
            v = parse_u64(&self.data[start..i]).ok_or(bad)?;
        }
        self.i = i + 1;
        if last && end != b'\n' {
            self.skip_line()?;
        }
        Ok((len > 0).then_some(v))
    }

    /// Moves past the next newline.
    fn skip_line(&mut self) -> Result<(), Fault> {
        loop {
            match self.byte(self.i)? {
                b'\n' => break,
                0 => return Err(Fault::Nul),
                _ => self.i += 1,
            }
        }
        self.i += 1;
        Ok(())
    }

    /// A microseconds field such as `512.250` as ns (`None` when empty).
    /// Digits past the third decimal are truncated; negatives clamp to 0.
    #[inline(always)]
    fn micros(&mut self, field: &'static str) -> Result<Option<u64>, Fault> {
        let start = self.i;
        let mut i = start;
        let mut b = self.byte(i)?;
        let negative = b == b'-';
        if negative || b == b'+' {
            i += 1;
            b = self.byte(i)?;
        }
        let (mut whole, mut digits) = (0u64, 0usize);
        while let d @ 0..=9 = b.wrapping_sub(b'0') {
            whole = whole.wrapping_mul(10).wrapping_add(u64::from(d));
            digits += 1;
            i += 1;
            b = self.byte(i)?;
        }
        if digits > 16 {
            return Err(Fault::Bad {
                field,
                start,
                why: "number too large",
            });
        }
        let mut ns = whole * 1000;
        if b == b'.' {
            i += 1;
            b = self.byte(i)?;
            let mut scale = 100;
            while let d @ 0..=9 = b.wrapping_sub(b'0') {
                ns += u64::from(d) * scale;
                scale /= 10;
                digits += 1;
                i += 1;
                b = self.byte(i)?;
            }
        }
        if b != b',' {
            return Err(unexpected(b, field, start));
        }
        self.i = i + 1;
        if digits == 0 {
            return match i == start {
                true => Ok(None),
                false => Err(Fault::Bad {
                    field,
                    start,
                    why: "not a number",
                }),
            };
        }
        Ok(Some(if negative { 0 } else { ns }))
    }
}

pub(super) fn parse_row(data: &[u8], pos: usize) -> Result<(Row<'_>, usize), Fault> {
    let mut c = Cursor { data, i: pos };
    let start = c.i;
    let timestamp_ns = c.uint("timestamp_ns", false)?.ok_or(Fault::Bad {
        field: "timestamp_ns",
        start,
        why: "empty",
    })?;
    let start = c.i;
    let url = c.text("url")?;
    if url.first() == Some(&b'"') {
        let why = "quoted fields are not supported";
        return Err(Fault::Bad {
            field: "url",
            start,
            why,
        });
    }
    let start = c.i;
    let phase = c.uint("phase", false)?.ok_or(Fault::Bad {
        field: "phase",
        start,
        why: "empty",
    })?;
    let phase = small("phase", phase, start)?;
    let start = c.i;
    let status = match c.uint("status", false)? {
        Some(s) => Some(small("status", s, start)?),
        None => None,
    };
    let latency_ns = c.micros("latency_us")?;
    let service_ns = c.micros("service_us")?;
    let lag_ns = c.micros("lag_us")?;
    let bytes = c.uint("bytes", false)?.unwrap_or(0);
    let error = c.text("error")?;
    let in_flight = c.uint("in_flight", true)?.unwrap_or(0);
    let row = Row {
        timestamp_ns,
        url,
        phase,
        status,
        latency_ns,
        service_ns,
        lag_ns,
        bytes,
        error,
        in_flight,
    };
    Ok((row, c.i))
}

fn small(field: &'static str, v: u64, start: usize) -> Result<u32, Fault> {
    u32::try_from(v).map_err(|_| Fault::Bad {
        field,
        start,
        why: "number too large",
    })
}

/// Parses an unsigned decimal integer; `None` on empty, non-digit or overflow.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Parses microseconds such as `512.250`, `-3.5` or `7` into nanoseconds, as
/// the row parser does (digits past the third decimal truncated, negatives 0).
#[cfg(test)]
fn parse_micros_ns(s: &[u8]) -> Option<u64> {
    let mut buf = Vec::with_capacity(s.len() + 1);
    buf.extend_from_slice(s);
    buf.push(b',');
    let mut c = Cursor { data: &buf, i: 0 };
    match c.micros("value") {
        Ok(v) if c.i == buf.len() => v,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"1a"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_micros_ns(b"512.250"), Some(512_250));
        assert_eq!(parse_micros_ns(b"7"), Some(7_000));
        assert_eq!(parse_micros_ns(b"0.5"), Some(500));
        assert_eq!(parse_micros_ns(b".5"), Some(500));
        assert_eq!(parse_micros_ns(b"1.23456"), Some(1_234));
        assert_eq!(parse_micros_ns(b"-3.5"), Some(0));
        assert_eq!(parse_micros_ns(b"1e3"), None);
        assert_eq!(parse_micros_ns(b"."), None);
        assert_eq!(parse_micros_ns(b"1.2.3"), None);
    }
}
