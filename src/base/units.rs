//! Durations in and out: the parser every flag and file uses (`30s`,
//! `500ms`, `2m`, a bare number of seconds) and the readable form every
//! summary prints (`812.3us`, `12.40ms`, `5.000s`).

/// Parses `30s`, `500ms`, `2m`, `1h`, `250us`, `10ns`, or a bare number of seconds
/// (fractions allowed: `1.5s`). Zero and negative values are accepted here;
/// callers decide whether zero makes sense.
pub fn parse_duration_ns(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale_ns: f64 = match unit {
        "" | "s" => 1e9,
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "invalid duration '{text}': unknown unit '{unit}' (use ns, us, ms, s, m, h)"
            ))
        }
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{text}': expected e.g. 30s, 500ms, 2m"))?;
    let ns = value * scale_ns;
    if !ns.is_finite() || ns > u64::MAX as f64 / 2.0 {
        return Err(format!("invalid duration '{text}': too large"));
    }
    Ok(ns.round() as u64)
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Microseconds in a readable unit: `812.3us`, `12.40ms`, `5.000s`.
pub fn fmt_us(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.1}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1_000.0)
    } else {
        format!("{:.3}s", us / 1_000_000.0)
    }
}

/// Nanoseconds in a readable unit.
pub fn fmt_ns(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns}ns")
    } else {
        fmt_us(ns as f64 / 1_000.0)
    }
}

/// Bytes in decimal units, as network rates are quoted: `812 B`,
/// `12.4 kB`, `1.23 MB`, `4.56 GB`.
pub fn fmt_bytes(bytes: f64) -> String {
    match bytes {
        b if b < 1e3 => format!("{b:.0} B"),
        b if b < 1e6 => format!("{:.1} kB", b / 1e3),
        b if b < 1e9 => format!("{:.2} MB", b / 1e6),
        b => format!("{:.2} GB", b / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn bytes_in_decimal_units() {
        assert_eq!(fmt_bytes(812.0), "812 B");
        assert_eq!(fmt_bytes(12_400.0), "12.4 kB");
        assert_eq!(fmt_bytes(1_234_567.0), "1.23 MB");
        assert_eq!(fmt_bytes(4.56e9), "4.56 GB");
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_us(512.25), "512.2us");
        assert_eq!(fmt_us(12_400.0), "12.40ms");
        assert_eq!(fmt_us(5_000_123.0), "5.000s");
        assert_eq!(fmt_ns(50_000_000), "50.00ms");
        assert_eq!(fmt_ns(0), "0ns");
    }

    #[test]
    fn durations() {
        let cases = [
            ("30s", 30_000_000_000),
            ("500ms", 500_000_000),
            ("2m", 120_000_000_000),
            ("1.5", 1_500_000_000),
            ("250us", 250_000),
            ("7ns", 7),
        ];
        for (text, ns) in cases {
            assert_eq!(parse_duration_ns(text), Ok(ns), "{text}");
        }
        assert!(parse_duration_ns("10x").unwrap_err().contains("'10x'"));
        assert!(parse_duration_ns("-1s").is_err());
        assert!(parse_duration_ns("").is_err());
    }
}
