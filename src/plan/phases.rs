//! WHAT the run offers: phases of {rate, duration, distribution}, the request
//! limit, and how all of it is split across cores. Pure data, no clock.
//!
//! Splitting: with fixed inter-arrivals core k of N takes every
//! N-th slot of the global sequence, offset by k, so the merged stream stays
//! evenly spaced. With exponential inter-arrivals each core runs its own
//! Poisson process at rate/N (their superposition is Poisson at the full rate).
//! A replayed trace is one phase whose instants come from the trace, split
//! the fixed way: core k replays arrivals k, k + N, k + 2N…
//!
//! With `--shard K/S` the same split runs over S·N "lanes" (see
//! [`super::shard`]): core k is lane K + S·k, and lanes, not cores, take the
//! slots, the seeds and the `--requests` shares.

use std::sync::Arc;

use super::config::{Config, Dist, Rate};
use super::shard::Shard;

/// One phase of the plan; instants are relative to the run's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// Requests per second, all cores together: steady, ramp or closed loop.
    pub rate: Rate,
    pub start_ns: u64,
    pub duration_ns: u64,
    /// Replays a trace: the instants come from [`Plan::trace`]; the rate is
    /// the trace's mean, and neither steady nor a ramp.
    pub traced: bool,
}

impl Phase {
    pub fn end_ns(&self) -> u64 {
        self.start_ns + self.duration_ns
    }

    pub fn closed_loop(&self) -> bool {
        self.rate.closed_loop()
    }

    /// Arrivals the rate integrates to over the phase: (from + to)/2 × duration.
    pub fn expected_slots(&self) -> f64 {
        self.rate.mean_per_sec() * self.duration_ns as f64 / 1e9
    }

    /// Slots of a fixed-rate phase: the integral of its rate, rounded.
    pub fn fixed_slot_count(&self) -> u64 {
        // Thousandths of a request per second × ns: 10^12 per arrival.
        let twice_milli = self.rate.from_milli_per_sec as u128 + self.rate.to_milli_per_sec as u128;
        ((twice_milli * self.duration_ns as u128 + 1_000_000_000_000) / 2_000_000_000_000) as u64
    }

    /// Offset of global slot `i` of a fixed-rate phase: exact integers when
    /// steady, the inverted integral of the rate on a ramp.
    pub fn fixed_slot_ns(&self, i: u64) -> u64 {
        if self.rate.is_ramp() {
            return self.start_ns + self.ramp_offset_ns(i as f64);
        }
        self.start_ns
            + (i as u128 * 1_000_000_000_000 / self.rate.from_milli_per_sec as u128) as u64
    }

    /// The instant, from the phase's start, at which the rate has integrated
    /// to `slots` arrivals: t with Λ(t) = slots, Λ(t) = r0·t + (r1 − r0)·t²/2D.
    /// Exponential gaps in this "slot time" make a non-homogeneous Poisson
    /// process (time rescaling).
    pub fn offset_of_slots_ns(&self, slots: f64) -> u64 {
        if self.rate.is_ramp() {
            self.ramp_offset_ns(slots)
        } else {
            (slots * 1e9 / self.rate.from_per_sec()) as u64
        }
    }

    fn ramp_offset_ns(&self, slots: f64) -> u64 {
        if slots <= 0.0 {
            return 0;
        }
        let r0 = self.rate.from_per_sec();
        let r1 = self.rate.to_per_sec();
        let duration_s = self.duration_ns as f64 / 1e9;
        let a = (r1 - r0) / (2.0 * duration_s);
        // The root of a·t² + r0·t − slots in the form that stays accurate when
        // a is small or negative (no cancellation), and finite when r0 = 0.
        let root = (r0 * r0 + 4.0 * a * slots).max(0.0).sqrt();
        let t_s = 2.0 * slots / (r0 + root);
        ((t_s * 1e9) as u64).min(self.duration_ns)
    }
}

/// The whole run's plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub phases: Vec<Phase>,
    pub dist: Dist,
    pub max_requests: Option<u64>,
    pub seed: u64,
    /// The replayed trace's offsets from the start (`--trace`).
    pub trace: Option<Arc<[u64]>>,
    /// This process's share of a plan split across processes.
    pub shard: Shard,
}

/// One core's share of the plan.
#[derive(Clone, Debug)]
pub struct CorePlan {
    /// This core among the process's cores (connections are split by it).
    pub core_index: usize,
    pub cores: usize,
    /// This core's lane among all processes' cores: it takes global slots
    /// lane, lane + lanes, … (the core itself when the plan is not sharded).
    pub lane: usize,
    pub lanes: usize,
    pub phases: Vec<Phase>,
    pub dist: Dist,
    /// This core's share of `--requests`.
    pub max_requests: Option<u64>,
    /// Seed of this core's exponential schedule.
    pub seed: u64,
    pub workers: usize,
    /// The whole trace (each core replays its share of the arrivals).
    pub trace: Option<Arc<[u64]>>,
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
            .rates
            .iter()
            .zip(&cfg.durations_ns)
            .map(|(&rate, &duration_ns)| {
                let phase = Phase {
                    rate,
                    start_ns,
                    duration_ns,
                    traced: cfg.trace.is_some(),
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
            trace: cfg.trace.as_ref().map(|t| t.offsets_ns.clone()),
            shard: cfg.shard,
        }
    }

    pub fn total_duration_ns(&self) -> u64 {
        self.phases.last().map_or(0, Phase::end_ns)
    }

    /// Scheduled arrivals when every phase is fixed-rate open loop (exact),
    /// else `None` (Poisson counts are random; closed loop has no schedule).
    pub fn exact_total(&self) -> Option<u64> {
        if let Some(trace) = &self.trace {
            let total = trace.len() as u64;
            return Some(self.max_requests.map_or(total, |n| n.min(total)));
        }
        if self.dist != Dist::Fixed || self.phases.iter().any(Phase::closed_loop) {
            return None;
        }
        let total: u64 = self.phases.iter().map(Phase::fixed_slot_count).sum();
        Some(self.shard_share(self.max_requests.map_or(total, |n| n.min(total))))
    }

    /// This shard's part of `total` global slots: those i with i mod N = K.
    fn shard_share(&self, total: u64) -> u64 {
        share(total, self.shard.count as usize, self.shard.index as usize)
    }

    pub fn split(&self, cores: usize, workers: usize) -> Vec<CorePlan> {
        (0..cores)
            .map(|k| {
                let (lane, lanes) = self.shard.lane(k, cores);
                CorePlan {
                    core_index: k,
                    cores,
                    lane,
                    lanes,
                    phases: self.phases.clone(),
                    dist: self.dist,
                    max_requests: self.max_requests.map(|n| share(n, lanes, lane)),
                    seed: self
                        .seed
                        .wrapping_add((lane as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                    workers: share(workers as u64, cores, k) as usize,
                    trace: self.trace.clone(),
                }
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
                    rate: Rate::steady(r),
                    start_ns,
                    duration_ns: d * 1_000_000_000,
                    traced: false,
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
            trace: None,
            shard: Shard::default(),
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
        let cores = p.split(3, 256);
        assert_eq!(cores.iter().map(|c| c.workers).sum::<usize>(), 256);
        assert_eq!(
            cores
                .iter()
                .map(|c| c.max_requests.unwrap())
                .collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        assert_ne!(cores[0].seed, cores[1].seed);
    }

    fn ramp(from: u64, to: u64, duration_s: u64) -> Phase {
        Phase {
            rate: Rate {
                from_milli_per_sec: from * 1000,
                to_milli_per_sec: to * 1000,
            },
            start_ns: 0,
            duration_ns: duration_s * 1_000_000_000,
            traced: false,
        }
    }

    /// A ramp's slot count is the integral of its rate, and its slots sit
    /// where the integral reaches each whole number.
    #[test]
    fn ramp_slots_invert_the_integral() {
        let up = ramp(100, 1000, 60);
        assert_eq!(up.fixed_slot_count(), 33_000);
        assert_eq!(ramp(0, 1000, 1).fixed_slot_count(), 500);
        assert_eq!(ramp(1000, 0, 1).fixed_slot_count(), 500);
        // Λ(t) = 100t + 7.5t²: 5 000 arrivals by t = 20 s.
        assert_eq!(up.fixed_slot_ns(5_000), 20_000_000_000);
        let from_zero = ramp(0, 1000, 1);
        assert_eq!(from_zero.fixed_slot_ns(0), 0);
        // Λ(t) = 500t²: slot 125 at t = 0.5 s.
        assert_eq!(from_zero.fixed_slot_ns(125), 500_000_000);
        for p in [up, from_zero, ramp(1000, 0, 1), ramp(5, 3, 7)] {
            let n = p.fixed_slot_count();
            let last = p.fixed_slot_ns(n - 1);
            assert!(last < p.duration_ns, "{p:?}: last slot {last}");
        }
    }

    #[test]
    fn ramp_gaps_shrink_up_and_grow_down() {
        for (p, up) in [(ramp(100, 1000, 10), true), (ramp(1000, 0, 2), false)] {
            let at: Vec<u64> = (0..p.fixed_slot_count())
                .map(|i| p.fixed_slot_ns(i))
                .collect();
            let gaps: Vec<i64> = at.windows(2).map(|w| (w[1] - w[0]) as i64).collect();
            // ±1 ns: the instants are truncated to whole nanoseconds.
            for w in gaps.windows(2) {
                let step = w[1] - w[0];
                assert!(if up { step <= 1 } else { step >= -1 }, "{p:?}: {w:?}");
            }
            assert!(if up {
                gaps[0] > gaps[gaps.len() - 1] * 5
            } else {
                gaps[0] * 5 < gaps[gaps.len() - 1]
            });
        }
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
