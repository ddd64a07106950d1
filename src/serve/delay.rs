//! Response delays of `rwg serve`: one [`Delay`] for every request, or
//! [`DelayRules`] by path prefix (`--delay '/search=exp:5ms,/reserve=20ms'`).

use crate::base::units::parse_duration_ns;

/// Per-request service delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    None,
    Fixed {
        ns: u64,
    },
    /// Exponentially distributed with this mean.
    Exp {
        mean_ns: u64,
    },
    /// Growing linearly from `from_ns` to `to_ns` over `over_ns` after the
    /// server starts, then staying at `to_ns` (a target getting slower: the
    /// steady-state check's test).
    Ramp {
        from_ns: u64,
        to_ns: u64,
        over_ns: u64,
    },
}

/// A delay per path prefix, the longest matching prefix winning, and the
/// delay of every other path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DelayRules {
    /// Longest prefix first.
    by_path: Vec<(String, Delay)>,
    default: Delay,
}

impl DelayRules {
    pub(crate) fn new(default: Delay, by_path: &[(String, Delay)]) -> Self {
        let mut by_path = by_path.to_vec();
        by_path.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        DelayRules { by_path, default }
    }

    /// The delay for a request to `path` (the query counts as part of it).
    pub(crate) fn pick(&self, path: &str) -> Delay {
        self.by_path
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map_or(self.default, |(_, d)| *d)
    }
}

/// Parses `--delay`: one delay for every request (`2ms`, `exp:2ms`,
/// `ramp:0:20ms:3s`), or comma-separated `PATH=DELAY` rules by path prefix
/// with at most one bare delay for the other paths (`0` without one), e.g.
/// `/search=exp:5ms,/reserve=20ms,1ms`.
pub fn parse_delays(s: &str) -> Result<(Delay, Vec<(String, Delay)>), String> {
    let mut default = None;
    let mut by_path: Vec<(String, Delay)> = Vec::new();
    for item in s.split(',').map(str::trim) {
        match item.split_once('=') {
            Some((path, delay)) => {
                if !path.starts_with('/') {
                    return Err(format!("delay rule '{item}': the path must start with '/'"));
                }
                if by_path.iter().any(|(p, _)| p == path) {
                    return Err(format!("delay rule '{item}': path '{path}' given twice"));
                }
                let delay = parse_delay(delay).map_err(|e| format!("delay rule '{item}': {e}"))?;
                by_path.push((path.to_string(), delay));
            }
            None if default.is_some() => {
                return Err(format!(
                    "delay '{item}': only one delay without a path (the default) is allowed"
                ))
            }
            None => default = Some(parse_delay(item)?),
        }
    }
    Ok((default.unwrap_or(Delay::None), by_path))
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

    #[test]
    fn rules_by_path_prefix() {
        let ms = |n: u64| Delay::Fixed { ns: n * 1_000_000 };
        let (default, by_path) = parse_delays("/search=exp:5ms, /reserve=20ms,/=1ms").unwrap();
        assert_eq!(default, Delay::None);
        assert_eq!(by_path[1], ("/reserve".to_string(), ms(20)));
        let rules = DelayRules::new(default, &by_path);
        assert_eq!(rules.pick("/reserve?id=3"), ms(20));
        assert_eq!(rules.pick("/search"), Delay::Exp { mean_ns: 5_000_000 });
        assert_eq!(rules.pick("/other"), ms(1), "the longest prefix wins");
        let (default, by_path) = parse_delays("/a=0,3ms").unwrap();
        let rules = DelayRules::new(default, &by_path);
        assert_eq!((rules.pick("/a/b"), rules.pick("/b")), (Delay::None, ms(3)));
        assert_eq!(parse_delays("2ms"), Ok((ms(2), vec![])));
        for (bad, named) in [
            ("search=5ms", "'search=5ms'"),
            ("/a=1ms,/a=2ms", "given twice"),
            ("1ms,2ms", "only one"),
            ("/a=fast", "fast"),
            ("/a=1ms,,", "''"),
        ] {
            let e = parse_delays(bad).unwrap_err();
            assert!(e.contains(named), "{bad}: {e}");
        }
    }
}
