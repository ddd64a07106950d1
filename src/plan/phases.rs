//! WHAT the run offers: phases of {rate, duration, distribution}, the request
//! limit, and how all of it is split across cores. Pure data, no clock.
//!
//! Splitting: with fixed inter-arrivals core k of N takes every
//! N-th slot of the global sequence, offset by k, so the merged stream stays
//! evenly spaced. With exponential inter-arrivals each core runs its own
//! Poisson process at rate/N (their superposition is Poisson at the full rate).

use super::config::{Config, Dist};

/// One phase of the plan; instants are relative to the run's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// Requests per second, all cores together; 0 = closed loop.
    pub rate_per_sec: u64,
    pub start_ns: u64,
    pub duration_ns: u64,
}

impl Phase {
    pub fn end_ns(&self) -> u64 {
        self.start_ns + self.duration_ns
    }

    /// Slots of a fixed-rate phase: round(rate × duration).
    pub fn fixed_slot_count(&self) -> u64 {
        ((self.rate_per_sec as u128 * self.duration_ns as u128 + 500_000_000) / 1_000_000_000)
            as u64
    }

    /// Offset of global slot `i` of a fixed-rate phase.
    pub fn fixed_slot_ns(&self, i: u64) -> u64 {
        self.start_ns + (i as u128 * 1_000_000_000 / self.rate_per_sec as u128) as u64
    }
}

/// The whole run's plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub phases: Vec<Phase>,
    pub dist: Dist,
    pub max_requests: Option<u64>,
    pub seed: u64,
}

/// One core's share of the plan.
#[derive(Clone, Debug)]
pub struct CorePlan {
    pub core_index: usize,
    pub cores: usize,
    pub phases: Vec<Phase>,
    pub dist: Dist,
    /// This core's share of `--requests`.
    pub max_requests: Option<u64>,
    /// Seed of this core's exponential schedule.
    pub seed: u64,
    pub workers: usize,
    pub connections: usize,
}

/// Splits `total` into `parts` shares differing by at most one (the first get more).
pub fn share(total: u64, parts: usize, index: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((index as u64) < total % parts)
}

impl Plan {
    pub fn from_config(cfg: &Config) -> Plan {
        let mut start_ns = 0;
        let phases = cfg
            .rates_per_sec
            .iter()
            .zip(&cfg.durations_ns)
            .map(|(&rate_per_sec, &duration_ns)| {
                let phase = Phase {
                    rate_per_sec,
                    start_ns,
                    duration_ns,
                };
                start_ns += duration_ns;
                phase
            })
            .collect();
        Plan {
            phases,
            dist: cfg.dist,
            max_requests: cfg.max_requests,
            seed: cfg.seed,
        }
    }

    pub fn total_duration_ns(&self) -> u64 {
        self.phases.last().map_or(0, Phase::end_ns)
    }

    /// Scheduled arrivals when every phase is fixed-rate open loop (exact),
    /// else `None` (Poisson counts are random; closed loop has no schedule).
    pub fn exact_total(&self) -> Option<u64> {
        if self.dist != Dist::Fixed || self.phases.iter().any(|p| p.rate_per_sec == 0) {
            return None;
        }
        let total: u64 = self.phases.iter().map(Phase::fixed_slot_count).sum();
        Some(self.max_requests.map_or(total, |n| n.min(total)))
    }

    pub fn split(&self, cores: usize, workers: usize, connections: usize) -> Vec<CorePlan> {
        (0..cores)
            .map(|k| CorePlan {
                core_index: k,
                cores,
                phases: self.phases.clone(),
                dist: self.dist,
                max_requests: self.max_requests.map(|n| share(n, cores, k)),
                seed: self
                    .seed
                    .wrapping_add((k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                workers: share(workers as u64, cores, k) as usize,
                connections: share(connections as u64, cores, k) as usize,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rates: &[u64], durs_s: &[u64]) -> Plan {
        let mut start_ns = 0;
        let phases = rates
            .iter()
            .zip(durs_s)
            .map(|(&r, &d)| {
                let p = Phase {
                    rate_per_sec: r,
                    start_ns,
                    duration_ns: d * 1_000_000_000,
                };
                start_ns += p.duration_ns;
                p
            })
            .collect();
        Plan {
            phases,
            dist: Dist::Fixed,
            max_requests: None,
            seed: 1,
        }
    }

    #[test]
    fn exact_totals() {
        assert_eq!(plan(&[100, 500], &[2, 3]).exact_total(), Some(1700));
        assert_eq!(plan(&[100, 0], &[2, 3]).exact_total(), None);
        let mut p = plan(&[100], &[2]);
        p.max_requests = Some(50);
        assert_eq!(p.exact_total(), Some(50));
    }

    #[test]
    fn split_shares_add_up() {
        let mut p = plan(&[100], &[1]);
        p.max_requests = Some(10);
        let cores = p.split(3, 256, 100);
        assert_eq!(cores.iter().map(|c| c.workers).sum::<usize>(), 256);
        assert_eq!(cores.iter().map(|c| c.connections).sum::<usize>(), 100);
        assert_eq!(
            cores
                .iter()
                .map(|c| c.max_requests.unwrap())
                .collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        assert_ne!(cores[0].seed, cores[1].seed);
    }

    #[test]
    fn fixed_slot_spacing() {
        let p = plan(&[3], &[1]).phases[0];
        assert_eq!(p.fixed_slot_count(), 3);
        assert_eq!(
            (0..3).map(|i| p.fixed_slot_ns(i)).collect::<Vec<_>>(),
            vec![0, 333_333_333, 666_666_666]
        );
    }
}
