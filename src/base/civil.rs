//! Civil (proleptic Gregorian, UTC) dates and RFC 3339 timestamps ↔
//! Unix-epoch nanoseconds: Go's `time.RFC3339Nano` as other tools write it
//! (`2025-10-01T12:34:56.123456789-07:00`, `Z` for UTC), `--start-at`, and
//! the dates rwg prints. Day arithmetic after H. Hinnant's
//! `days_from_civil` / `civil_from_days`.

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

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → (year, month, day); the inverse of the above.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix-epoch ns → `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn fmt_utc_seconds(epoch_ns: u64) -> String {
    let secs = epoch_ns / 1_000_000_000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Unix-epoch ns → RFC 3339 in UTC with the fraction to the nanosecond
/// (`2026-12-03T14:30:00.000000001Z`; none when it is zero), which
/// [`parse_rfc3339_ns`] reads back exactly.
pub fn fmt_rfc3339_ns(epoch_ns: u64) -> String {
    let date = fmt_utc_seconds(epoch_ns).replacen(' ', "T", 1);
    match epoch_ns % 1_000_000_000 {
        0 => format!("{date}Z"),
        ns => format!("{date}.{ns:09}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn formats_and_reads_back() {
        assert_eq!(fmt_rfc3339_ns(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            fmt_rfc3339_ns(1_759_322_096_000_000_001),
            "2025-10-01T12:34:56.000000001Z"
        );
        assert_eq!(
            fmt_utc_seconds(1_709_247_599_000_000_000),
            "2024-02-29 22:59:59"
        );
        assert_eq!(
            fmt_utc_seconds(1_700_000_000_000_000_000),
            "2023-11-14 22:13:20"
        );
        for ns in [0, 1, 951_782_400_123_456_789, 4_102_444_800_000_000_000] {
            assert_eq!(parse_rfc3339_ns(&fmt_rfc3339_ns(ns)), Some(ns));
        }
        for days in [-1, 0, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
    }
}
