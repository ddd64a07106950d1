//! Parsing of the server's command-line knobs, with messages that name the
//! offending value.

use super::Stall;
use crate::base::units::parse_duration_ns;

pub(crate) fn validate_mix(mix: &[(u16, f64)]) -> Result<(), String> {
    let mut sum = 0.0;
    for &(code, frac) in mix {
        if !(200..=599).contains(&code) {
            return Err(format!(
                "status {code} is not a final HTTP status (200-599)"
            ));
        }
        if !(0.0..=1.0).contains(&frac) {
            return Err(format!(
                "fraction {frac} for status {code} is not in [0, 1]"
            ));
        }
        sum += frac;
    }
    // A little slack so "0.7,0.3"-style lists that round above 1 still pass.
    if sum > 1.0 + 1e-9 {
        return Err(format!("status fractions sum to {sum}, more than 1"));
    }
    Ok(())
}

pub(crate) fn validate_stall(s: Stall) -> Result<(), String> {
    if s.for_ns >= s.every_ns {
        return Err("stall length must be shorter than its period".into());
    }
    Ok(())
}

/// Parses `"503:0.1,500:0.05"`; the rest of the responses are 200.
pub fn parse_status_mix(s: &str) -> Result<Vec<(u16, f64)>, String> {
    let mut mix = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (code, frac) = item
            .split_once(':')
            .ok_or_else(|| format!("status mix entry '{item}' is not STATUS:FRACTION"))?;
        let code = code
            .trim()
            .parse()
            .map_err(|_| format!("bad status '{code}' in '{item}'"))?;
        let frac = frac
            .trim()
            .parse()
            .map_err(|_| format!("bad fraction '{frac}' in '{item}'"))?;
        mix.push((code, frac));
    }
    validate_mix(&mix)?;
    Ok(mix)
}

/// Parses `"5s:1s"`: every 5 s, freeze for 1 s.
pub fn parse_stall(s: &str) -> Result<Stall, String> {
    let (every, for_) = s
        .split_once(':')
        .ok_or_else(|| format!("stall '{s}' is not EVERY:FOR, e.g. 5s:1s"))?;
    let stall = Stall {
        every_ns: parse_duration_ns(every)?,
        for_ns: parse_duration_ns(for_)?,
    };
    validate_stall(stall).map_err(|e| format!("stall '{s}': {e}"))?;
    Ok(stall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mix() {
        assert_eq!(
            parse_status_mix("503:0.1,500:0.05"),
            Ok(vec![(503, 0.1), (500, 0.05)])
        );
        assert_eq!(parse_status_mix(""), Ok(vec![]));
        assert_eq!(parse_status_mix("503:1"), Ok(vec![(503, 1.0)]));
        let err = parse_status_mix("503:0.7,500:0.4").unwrap_err();
        assert!(err.contains("sum"), "{err}");
        let err = parse_status_mix("503:1.5").unwrap_err();
        assert!(err.contains("1.5"), "{err}");
        let err = parse_status_mix("abc:0.1").unwrap_err();
        assert!(err.contains("abc"), "{err}");
        assert!(parse_status_mix("503").unwrap_err().contains("'503'"));
        assert!(parse_status_mix("99:0.1").unwrap_err().contains("99"));
    }

    #[test]
    fn stall() {
        assert_eq!(
            parse_stall("5s:1s"),
            Ok(Stall {
                every_ns: 5_000_000_000,
                for_ns: 1_000_000_000
            })
        );
        assert!(parse_stall("1s:1s").is_err());
        assert!(parse_stall("5s").unwrap_err().contains("'5s'"));
        assert!(parse_stall("5s:zz").unwrap_err().contains("zz"));
    }
}
