//! Number formatting for `rwg plot`: every label carries its unit.
//!
//! COLD. Compact forms for ticks and table cells: 3 significant digits,
//! adaptive latency units (µs, ms, s), k/M rates, grouped counts, UTC times.

/// A number with at most 3 significant digits and no trailing zeros.
pub(super) fn num(v: f64) -> String {
    let a = v.abs();
    let decimals = if a == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A latency given in µs, in µs, ms or s.
pub(super) fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{} s", num(us / 1e6))
    } else if us >= 1e3 {
        format!("{} ms", num(us / 1e3))
    } else {
        format!("{} µs", num(us))
    }
}

/// A rate: 950, 12.5k, 1.2M.
pub(super) fn fmt_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", num(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", num(v / 1e3))
    } else {
        num(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(num(2.0), "2");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(1234.4), "1234");
        assert_eq!(fmt_us(500.0), "500 µs");
        assert_eq!(fmt_us(2_000.0), "2 ms");
        assert_eq!(fmt_us(1_250_000.0), "1.25 s");
        assert_eq!(fmt_rate(299.7), "300");
        assert_eq!(fmt_rate(12_500.0), "12.5k");
    }
}
