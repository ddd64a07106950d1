//! WHEN one core sends: a pure iterator over the intended instants of its
//! share of the plan (offsets from the run start), drawn from the rate
//! phases or read from a replayed trace. No clock inside, so the tests run
//! instantly and a seed reproduces a schedule exactly.

use std::sync::Arc;

use super::config::Dist;
use super::phases::{CorePlan, Phase};

/// What the schedule asks for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An open-loop arrival at `offset_ns` from the start, in `phase`.
    Open { offset_ns: u64, phase: u16 },
    /// A closed-loop phase: send back to back until `end_ns`.
    Closed { phase: u16, end_ns: u64 },
    /// Nothing more to send.
    Done,
}

/// One core's schedule.
pub struct Schedule {
    phases: Vec<Phase>,
    dist: Dist,
    /// This core's lane of the global slots, and the lanes in all.
    lane: u64,
    lanes: u64,
    remaining: u64,
    /// Arrivals this core has consumed (open and closed loop).
    arrivals: u64,
    phase: usize,
    /// Fixed: global slot index (within the phase) of the next slot.
    next_index: u64,
    /// Global slots in the phases before the current one (for the interleave).
    slots_before: u64,
    /// Exponential: the next arrival in "slot time" (the rate's integral
    /// since the phase's start), which a ramp maps to a later instant.
    next_exp_slots: f64,
    rng: u64,
    current: Step,
    /// A replayed trace: arrival `seq()` is sent at `trace[seq()]`.
    trace: Option<Arc<[u64]>>,
}

impl Schedule {
    pub fn new(plan: &CorePlan) -> Schedule {
        let mut s = Schedule {
            phases: plan.phases.clone(),
            dist: plan.dist,
            lane: plan.lane as u64,
            lanes: plan.lanes as u64,
            remaining: plan.max_requests.unwrap_or(u64::MAX),
            arrivals: 0,
            phase: 0,
            next_index: 0,
            slots_before: 0,
            next_exp_slots: 0.0,
            rng: rng_state(plan.seed),
            current: Step::Done,
            trace: plan.trace.clone(),
        };
        s.enter_phase(0);
        s
    }

    /// The next step, without consuming it.
    #[inline]
    pub fn peek(&self) -> Step {
        self.current
    }

    /// The current step's arrival number, unique in the run (across
    /// shards too): lane k of N numbers its arrivals k, k + N, k + 2N… With
    /// one lane, or one fixed-rate phase, that is the global order of the
    /// arrivals.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.lane + self.lanes * self.arrivals
    }

    /// Consumes the current step: moves to the next open slot, or counts one
    /// closed-loop request.
    pub fn advance(&mut self) {
        if self.remaining == 0 {
            return;
        }
        self.arrivals += 1;
        self.remaining -= 1;
        if self.remaining == 0 {
            self.current = Step::Done;
            return;
        }
        match self.current {
            Step::Open { .. } => self.compute_open(),
            Step::Closed { .. } | Step::Done => {}
        }
    }

    /// Leaves the current closed-loop phase (its end has passed).
    pub fn end_closed_phase(&mut self) {
        self.enter_phase(self.phase + 1);
    }

    fn enter_phase(&mut self, index: usize) {
        if let Some(prev) = self.phases.get(self.phase) {
            if index > self.phase && !prev.closed_loop() && self.dist == Dist::Fixed {
                self.slots_before += prev.fixed_slot_count();
            }
        }
        self.phase = index;
        let Some(p) = self.phases.get(index).copied() else {
            self.current = Step::Done;
            return;
        };
        if self.remaining == 0 {
            self.current = Step::Done;
            return;
        }
        if p.closed_loop() {
            self.current = Step::Closed {
                phase: index as u16,
                end_ns: p.end_ns(),
            };
            return;
        }
        match self.dist {
            Dist::Fixed => {
                // First index i with (slots_before + i) % lanes == lane.
                let offset = self.slots_before % self.lanes;
                self.next_index = (self.lane + self.lanes - offset) % self.lanes;
            }
            Dist::Exp => {
                self.next_exp_slots = self.exp_gap_slots();
            }
        }
        self.compute_open_at(p, false);
    }

    fn compute_open(&mut self) {
        let p = self.phases[self.phase];
        self.compute_open_at(p, true);
    }

    /// Sets `current` to the next open slot of phase `p`, stepping past the
    /// one just consumed when `step` is set, or to the next phase.
    fn compute_open_at(&mut self, p: Phase, step: bool) {
        if let Some(trace) = &self.trace {
            if let Some(&offset_ns) = trace.get(self.seq() as usize) {
                self.current = Step::Open {
                    offset_ns,
                    phase: self.phase as u16,
                };
                return;
            }
            self.enter_phase(self.phase + 1);
            return;
        }
        match self.dist {
            Dist::Fixed => {
                if step {
                    self.next_index += self.lanes;
                }
                if self.next_index < p.fixed_slot_count() {
                    self.current = Step::Open {
                        offset_ns: p.fixed_slot_ns(self.next_index),
                        phase: self.phase as u16,
                    };
                    return;
                }
            }
            Dist::Exp => {
                if step {
                    self.next_exp_slots += self.exp_gap_slots();
                }
                if self.next_exp_slots < p.expected_slots() {
                    self.current = Step::Open {
                        offset_ns: p.start_ns + p.offset_of_slots_ns(self.next_exp_slots),
                        phase: self.phase as u16,
                    };
                    return;
                }
            }
        }
        self.enter_phase(self.phase + 1);
    }

    /// An exponential gap of mean `lanes` slots, this lane's share of the
    /// arrivals (xorshift64* + inverse CDF).
    fn exp_gap_slots(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let bits = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        let u = (bits as f64 + 0.5) / (1u64 << 53) as f64;
        -u.ln() * self.lanes as f64
    }
}

/// The generator's state for a seed: splitmix64's finaliser, so that every
/// bit of the seed matters, and never 0 (xorshift would stay at 0).
fn rng_state(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::config::Rate;
    use crate::plan::phases::Plan;
    use crate::plan::shard::Shard;

    fn plan(rates: &[u64], durs_ms: &[u64], dist: Dist) -> Plan {
        let mut start_ns = 0;
        let phases = rates
            .iter()
            .zip(durs_ms)
            .map(|(&r, &d)| {
                let p = Phase {
                    rate: Rate::steady(r),
                    start_ns,
                    duration_ns: d * 1_000_000,
                    traced: false,
                };
                start_ns += p.duration_ns;
                p
            })
            .collect();
        Plan {
            phases,
            dist,
            max_requests: None,
            seed: 42,
            trace: None,
            shard: Shard::default(),
        }
    }

    fn drain(s: &mut Schedule) -> Vec<(u64, u16)> {
        let mut out = Vec::new();
        while let Step::Open { offset_ns, phase } = s.peek() {
            out.push((offset_ns, phase));
            s.advance();
        }
        out
    }

    /// Every core's slots of `p` split over `cores`, in time order.
    fn merged(p: &Plan, cores: usize) -> Vec<(u64, u16)> {
        let mut all: Vec<(u64, u16)> = p
            .split(cores, cores)
            .iter()
            .flat_map(|c| drain(&mut Schedule::new(c)))
            .collect();
        all.sort_unstable();
        all
    }

    #[test]
    fn fixed_counts_per_phase_and_spacing() {
        let p = plan(&[100, 400], &[1000, 500], Dist::Fixed);
        let slots = drain(&mut Schedule::new(&p.split(1, 1)[0]));
        assert_eq!(slots.iter().filter(|s| s.1 == 0).count(), 100);
        assert_eq!(slots.iter().filter(|s| s.1 == 1).count(), 200);
        assert_eq!(slots[1].0 - slots[0].0, 10_000_000);
        assert_eq!(slots[100].0, 1_000_000_000);
        assert_eq!(slots[101].0 - slots[100].0, 2_500_000);
    }

    #[test]
    fn fixed_interleaves_across_cores() {
        let p = plan(&[7, 10], &[1000, 1000], Dist::Fixed);
        let single = drain(&mut Schedule::new(&p.split(1, 1)[0]));
        assert_eq!(merged(&p, 3), single);
        let per_core: Vec<usize> = p
            .split(3, 3)
            .iter()
            .map(|c| drain(&mut Schedule::new(c)).len())
            .collect();
        assert_eq!(per_core, vec![6, 6, 5]);
    }

    #[test]
    fn request_limit_is_exact_across_cores() {
        let mut p = plan(&[1000], &[1000], Dist::Fixed);
        p.max_requests = Some(10);
        let mut merged: Vec<u64> = p
            .split(4, 4)
            .iter()
            .flat_map(|c| drain(&mut Schedule::new(c)))
            .map(|s| s.0)
            .collect();
        merged.sort_unstable();
        let expected: Vec<u64> = (0..10).map(|i| i * 1_000_000).collect();
        assert_eq!(merged, expected);
    }

    /// Seeds that differ only in their lowest bit give different schedules
    /// on every core (`seed | 1` made s and s+1 equal on half the cores).
    #[test]
    fn neighbouring_seeds_differ_on_every_core() {
        for seed in 0..16u64 {
            let mut a = plan(&[1_000], &[1_000], Dist::Exp);
            let mut b = a.clone();
            a.seed = seed;
            b.seed = seed + 1;
            for (ca, cb) in a.split(4, 4).iter().zip(&b.split(4, 4)) {
                let sa = drain(&mut Schedule::new(ca));
                let sb = drain(&mut Schedule::new(cb));
                assert_ne!(sa[..5], sb[..5], "seeds {seed} and {}", seed + 1);
            }
        }
    }

    #[test]
    fn exp_mean_and_variance_with_seed() {
        let p = plan(&[10_000], &[10_000], Dist::Exp);
        let cores = p.split(2, 2);
        let a = drain(&mut Schedule::new(&cores[0]));
        let again = drain(&mut Schedule::new(&cores[0]));
        assert_eq!(a, again, "a seed reproduces the schedule");
        let gaps_s: Vec<f64> = a
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) as f64 / 1e9)
            .collect();
        let mean = gaps_s.iter().sum::<f64>() / gaps_s.len() as f64;
        let var = gaps_s.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps_s.len() as f64;
        // Each core runs at 5000/s: mean 200 µs, variance mean².
        assert!((mean - 200e-6).abs() < 200e-6 * 0.03, "mean {mean}");
        assert!(
            (var / (mean * mean) - 1.0).abs() < 0.1,
            "var ratio {}",
            var / (mean * mean)
        );
        let b = drain(&mut Schedule::new(&cores[1]));
        let total = a.len() + b.len();
        assert!((total as f64 - 100_000.0).abs() < 1500.0, "total {total}");
        assert_ne!(a[..10], b[..10]);
    }

    fn with_ramp(mut p: Plan, phase: usize, from: u64, to: u64) -> Plan {
        p.phases[phase].rate = Rate {
            from_milli_per_sec: from * 1000,
            to_milli_per_sec: to * 1000,
        };
        p
    }

    /// A fixed ramp followed by a steady phase: the ramp's slots are the
    /// integral of its rate, split across cores without gaps or repeats.
    #[test]
    fn fixed_ramp_then_steady_across_cores() {
        let p = with_ramp(plan(&[0, 1000], &[1000, 500], Dist::Fixed), 0, 100, 1000);
        let single = drain(&mut Schedule::new(&p.split(1, 1)[0]));
        assert_eq!(single.iter().filter(|s| s.1 == 0).count(), 550);
        assert_eq!(single.iter().filter(|s| s.1 == 1).count(), 500);
        assert_eq!(single[550].0, 1_000_000_000);
        assert_eq!(merged(&p, 3), single);
    }

    /// Every shard's cores' (seq, slot) pairs, shards given by their core
    /// counts.
    fn sharded(p: &Plan, cores_per_shard: &[usize]) -> Vec<(u64, (u64, u16))> {
        let count = cores_per_shard.len() as u32;
        let mut all = Vec::new();
        for (index, &cores) in cores_per_shard.iter().enumerate() {
            let mut shard = p.clone();
            shard.shard = Shard {
                index: index as u32,
                count,
            };
            for c in shard.split(cores, cores) {
                let mut s = Schedule::new(&c);
                while let Step::Open { offset_ns, phase } = s.peek() {
                    all.push((s.seq(), (offset_ns, phase)));
                    s.advance();
                }
            }
        }
        all.sort_unstable();
        all
    }

    /// Three shards of 2, 1 and 3 cores send the one-process plan slot for
    /// slot (a ramp, then a steady phase), and number the arrivals 0…n−1
    /// in time order, as one process would.
    #[test]
    fn shards_together_are_the_single_process_plan() {
        let p = with_ramp(plan(&[0, 1000], &[1000, 500], Dist::Fixed), 0, 100, 1000);
        let single = drain(&mut Schedule::new(&p.split(1, 1)[0]));
        let all = sharded(&p, &[2, 1, 3]);
        let seqs: Vec<u64> = all.iter().map(|a| a.0).collect();
        assert_eq!(seqs, (0..single.len() as u64).collect::<Vec<_>>());
        // Arrival i of the union is slot i of the single plan.
        let slots: Vec<(u64, u16)> = all.iter().map(|a| a.1).collect();
        assert_eq!(slots, single);
        // A shard's --requests share: together exactly the first n.
        let mut limited = p.clone();
        limited.max_requests = Some(101);
        let firsts: Vec<(u64, u16)> = sharded(&limited, &[3, 2, 1])
            .into_iter()
            .map(|a| a.1)
            .collect();
        assert_eq!(firsts, single[..101]);
        // Each shard's exact total is its share.
        let mut one = p.clone();
        one.shard = Shard { index: 2, count: 3 };
        assert_eq!(one.exact_total(), Some(350));
    }

    /// Exponential shards: lanes seeded apart, the merged count Poisson at
    /// the full rate.
    #[test]
    fn exp_shards_add_up_to_the_rate() {
        let p = plan(&[3000], &[10_000], Dist::Exp);
        let all = sharded(&p, &[1, 2, 1, 1]);
        let n = all.len() as f64;
        // 30 000 expected; 5 sigma is 866.
        assert!((n - 30_000.0).abs() < 866.0, "{n}");
        let mut instants: Vec<u64> = all.iter().map(|a| a.1 .0).collect();
        instants.sort_unstable();
        instants.dedup();
        assert!(instants.len() as f64 > n * 0.999, "lanes repeat each other");
    }

    /// `--dist exp` on a ramp from 0: a non-homogeneous Poisson process whose
    /// count in each half follows the integral of the rate (1/4 and 3/4).
    #[test]
    fn exp_ramp_follows_the_integral() {
        let p = with_ramp(plan(&[0], &[10_000], Dist::Exp), 0, 0, 2000);
        let arrivals: Vec<(u64, u16)> = p
            .split(2, 2)
            .iter()
            .flat_map(|c| drain(&mut Schedule::new(c)))
            .collect();
        let first_half = arrivals.iter().filter(|a| a.0 < 5_000_000_000).count() as f64;
        let second_half = arrivals.len() as f64 - first_half;
        for (n, expected) in [(first_half, 2_500.0), (second_half, 7_500.0)] {
            let sigma: f64 = f64::sqrt(expected);
            assert!((n - expected).abs() < 4.0 * sigma, "{n} vs {expected}");
        }
        assert!(arrivals.iter().all(|a| a.0 < 10_000_000_000));
    }

    /// A replayed trace: every core sends its arrivals (k, k + N, …) at
    /// exactly the traced instants; merged, they are the trace; the arrival
    /// number is the line's index; `-n` cuts it short.
    #[test]
    fn a_trace_replays_its_instants_across_cores() {
        let offsets: Vec<u64> = vec![0, 0, 5, 7, 7, 100, 2_000, 2_001, 9_999];
        let mut p = plan(&[1], &[1], Dist::Fixed);
        p.phases[0].traced = true;
        p.trace = Some(offsets.clone().into());
        let expected: Vec<(u64, u16)> = offsets.iter().map(|&o| (o, 0)).collect();
        assert_eq!(merged(&p, 1), expected);
        assert_eq!(merged(&p, 4), expected);
        for core in p.split(4, 4) {
            let mut s = Schedule::new(&core);
            while let Step::Open { offset_ns, .. } = s.peek() {
                assert_eq!(offsets[s.seq() as usize], offset_ns);
                s.advance();
            }
        }
        p.max_requests = Some(4);
        assert_eq!(merged(&p, 2), expected[..4]);
    }

    #[test]
    fn closed_loop_phase_then_open() {
        let mut p = plan(&[0, 10], &[1000, 1000], Dist::Fixed);
        p.max_requests = Some(5);
        let mut s = Schedule::new(&p.split(1, 1)[0]);
        assert_eq!(
            s.peek(),
            Step::Closed {
                phase: 0,
                end_ns: 1_000_000_000
            }
        );
        s.advance();
        s.advance();
        s.end_closed_phase();
        let rest = drain(&mut s);
        assert_eq!(rest.len(), 3, "limit counts closed-loop requests too");
        assert_eq!(rest[0], (1_000_000_000, 1));
        assert_eq!(s.peek(), Step::Done);
    }
}
