//! Parsing of the server's command-line knobs, with messages that name the
//! offending value.

use super::{Delay, Stall};
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

/// Parses `"0"`, `"2ms"` (fixed), `"exp:2ms"` (exponential with that mean)
/// or `"ramp:0:20ms:3s"` (from 0 to 20 ms over the first 3 s).
pub fn parse_delay(s: &str) -> Result<Delay, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") {
        return Ok(Delay::None);
    }
    if let Some(spec) = s.strip_prefix("ramp:") {
        let parts: Vec<&str> = spec.split(':').collect();
        let [from, to, over] = parts[..] else {
            return Err(format!(
                "ramp '{s}': expected ramp:FROM:TO:OVER, e.g. ramp:0:20ms:3s"
            ));
        };
        return Ok(Delay::Ramp {
            from_ns: parse_duration_ns(from)?,
            to_ns: parse_duration_ns(to)?,
            over_ns: parse_duration_ns(over)?,
        });
    }
    let delay = match s.strip_prefix("exp:") {
        Some(mean) => Delay::Exp {
            mean_ns: parse_duration_ns(mean)?,
        },
        None => Delay::Fixed {
            ns: parse_duration_ns(s)?,
        },
    };
    Ok(match delay {
        Delay::Fixed { ns: 0 } | Delay::Exp { mean_ns: 0 } => Delay::None,
        d => d,
    })
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

    #[test]
    fn delay() {
        assert_eq!(parse_delay("0"), Ok(Delay::None));
        assert_eq!(parse_delay("2ms"), Ok(Delay::Fixed { ns: 2_000_000 }));
        assert_eq!(
            parse_delay("ramp:0:20ms:3s"),
            Ok(Delay::Ramp {
                from_ns: 0,
                to_ns: 20_000_000,
                over_ns: 3_000_000_000
            })
        );
        assert!(parse_delay("ramp:1ms:2ms")
            .unwrap_err()
            .contains("ramp:FROM:TO:OVER"));
        assert_eq!(
            parse_delay("exp:2ms"),
            Ok(Delay::Exp { mean_ns: 2_000_000 })
        );
        assert!(parse_delay("exp:").is_err());
        assert!(parse_delay("fast").unwrap_err().contains("fast"));
    }
}
