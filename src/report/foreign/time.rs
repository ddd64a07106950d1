//! RFC 3339 timestamps as Go's `time.RFC3339Nano` writes them
//! (`2025-10-01T12:34:56.123456789-07:00`, trailing zeros of the fraction
//! dropped, `Z` for UTC) → Unix-epoch nanoseconds.

/// Parses one timestamp; `None` when it is not RFC 3339 or before 1970.
pub fn parse_rfc3339_ns(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let s = b.get(from..to)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // A leap second (60) is read as the next second's start.
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = num(i + 1, i + 1 + digits)? * 10i64.pow(9 - digits as u32);
        i += 1 + digits;
    }
    let offset_s = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let s = h * 3600 + m * 60;
            if *sign == b'-' {
                -s
            } else {
                s
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    let ns = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    u64::try_from(ns).ok()
}

/// Days from 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339_ns;

    #[test]
    fn reads_go_rfc3339nano() {
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        // date -d 2025-10-01T12:34:56Z +%s = 1759322096
        assert_eq!(
            parse_rfc3339_ns("2025-10-01T12:34:56.123456789Z"),
            Some(1_759_322_096_123_456_789)
        );
        assert_eq!(
            parse_rfc3339_ns("2025-10-01T05:34:56.5-07:00"),
            Some(1_759_322_096_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("2024-02-29T23:59:59+01:00"),
            Some(1_709_247_599_000_000_000)
        );
        for bad in [
            "",
            "2025-10-01",
            "2025-13-01T00:00:00Z",
            "2025-10-01T00:00:00",
            "2025-10-01T00:00:00.Z",
            "2025-10-01T00:00:00.1234567890Z",
            "1969-12-31T23:59:59Z",
            "2025-10-01T00:00:00+0100",
            "２025-10-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_ns(bad), None, "{bad}");
        }
    }
}
