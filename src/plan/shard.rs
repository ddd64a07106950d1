//! One process's share of a plan run by many (`--shard K/N`): global slot
//! i belongs to shard i mod N, and within a shard to core j mod C of its C
//! cores (j = i div N). Both splits together make core k of shard K the
//! "lane" K + N·k of N·C lanes, and lane l takes slots l, l + N·C, … — the
//! single-process interleave, with more cores. So the N shards together
//! send exactly the single-process plan, slot for slot; with exponential
//! gaps each lane runs a Poisson process at rate/(N·C), seeded by its lane.
//! The shards share one start instant on the wall clock (`--start-at`).

use super::error::{err, ConfigError};
use crate::base::civil::{fmt_rfc3339_ns, parse_rfc3339_ns};

/// The most shards one plan may be split into.
pub const MAX_SHARDS: u32 = 65_536;

/// This process's shard: `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Default for Shard {
    /// The whole plan in one process.
    fn default() -> Shard {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// The lane of this shard's core `core` of `cores`, and the lanes of all
    /// shards together.
    pub fn lane(&self, core: usize, cores: usize) -> (usize, usize) {
        let count = self.count as usize;
        (self.index as usize + count * core, count * cores)
    }

    /// Whether the plan is split at all.
    pub fn is_split(&self) -> bool {
        self.count > 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parses `K/N`: shard K (0-based) of N.
pub fn parse_shard(text: &str) -> Result<Shard, ConfigError> {
    let bad = |why: &str| err(format!("invalid --shard '{text}': {why}"));
    let Some((k, n)) = text.split_once('/') else {
        return bad("expected K/N, e.g. 0/3 (shard K of N, counted from 0)");
    };
    let (Ok(index), Ok(count)) = (k.trim().parse::<u32>(), n.trim().parse::<u32>()) else {
        return bad("K and N must be whole numbers, e.g. 0/3");
    };
    if count == 0 || count > MAX_SHARDS {
        return bad(&format!("N must be 1 to {MAX_SHARDS}"));
    }
    if index >= count {
        return bad(&format!(
            "K counts from 0, so shard {index} of {count} does not exist (0 to {})",
            count - 1
        ));
    }
    Ok(Shard { index, count })
}

/// Unix ns before this read as seconds or milliseconds given by mistake
/// (1973-03-03: no run starts that early).
const EARLIEST_START_NS: u64 = 100_000_000_000_000_000;

/// Parses `--start-at`: RFC 3339 (`2026-12-03T15:00:00Z`, fractions and
/// offsets allowed) or Unix-epoch nanoseconds; returns Unix-epoch ns.
pub fn parse_start_at(text: &str) -> Result<u64, ConfigError> {
    let t = text.trim();
    let ns = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let ns: u64 = t.parse().map_err(|_| {
            ConfigError(format!(
                "invalid --start-at '{text}': too large for Unix nanoseconds"
            ))
        })?;
        if ns < EARLIEST_START_NS {
            return err(format!(
                "invalid --start-at '{text}': a bare number is Unix time in nanoseconds, and \
                 this one is {} (seconds? append 000000000)",
                fmt_rfc3339_ns(ns)
            ));
        }
        ns
    } else {
        parse_rfc3339_ns(t).ok_or_else(|| {
            ConfigError(format!(
                "invalid --start-at '{text}': expected RFC 3339 (e.g. 2026-12-03T15:00:00Z) or \
                 Unix nanoseconds"
            ))
        })?
    };
    Ok(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_instants_read_both_ways() {
        let ns = 1_796_312_400_000_000_000;
        assert_eq!(parse_start_at("2026-12-03T15:40:00Z"), Ok(ns));
        assert_eq!(parse_start_at("2026-12-03T16:40:00+01:00"), Ok(ns));
        assert_eq!(parse_start_at(&ns.to_string()), Ok(ns));
        for (bad, says) in [
            ("1796310000", "seconds?"),
            ("tomorrow", "RFC 3339"),
            ("2026-12-03T15:40:00", "RFC 3339"),
            ("99999999999999999999", "too large"),
        ] {
            let e = parse_start_at(bad).unwrap_err().0;
            assert!(e.contains(bad) && e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn parses_and_refuses_with_the_value() {
        assert_eq!(parse_shard("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(parse_shard("0/1"), Ok(Shard::default()));
        for (bad, says) in [
            ("3/3", "does not exist"),
            ("1", "expected K/N"),
            ("a/3", "whole numbers"),
            ("0/0", "N must be"),
            ("-1/3", "whole numbers"),
        ] {
            let e = parse_shard(bad).unwrap_err().0;
            assert!(e.contains(bad) && e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn lanes_interleave_shards_then_cores() {
        let s = Shard { index: 1, count: 3 };
        assert_eq!(s.lane(0, 2), (1, 6));
        assert_eq!(s.lane(1, 2), (4, 6));
        assert_eq!(Shard::default().lane(1, 2), (1, 2));
    }
}
