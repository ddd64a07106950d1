//! WHICH target an arrival sends to, from its arrival number and the seed
//! alone, so that cores (and machines) split a workload without
//! coordinating. Pure.

use std::sync::Arc;

/// How an arrival's target is chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum Mix {
    /// Every arrival goes to target 0.
    One,
    /// Arrival `seq` goes to target `seq % targets`: file order, as vegeta
    /// uses a targets file.
    RoundRobin { targets: u16 },
    /// A weighted draw per arrival (alias method: O(1) per arrival).
    Weighted(Alias),
    /// Trace replay: arrival `seq` goes to the target its line names
    /// (`targets[seq]`), or, where that is [`FROM_MIX`], to `rest`'s pick.
    Trace { targets: Arc<[u16]>, rest: Box<Mix> },
}

/// A trace line without a target: the arrival's target comes from the mix.
pub const FROM_MIX: u16 = u16::MAX;

/// The most targets a run may hold (a record names its target in 16 bits;
/// [`FROM_MIX`] is not an index).
pub const MAX_TARGETS: usize = u16::MAX as usize;

impl Mix {
    /// The target of arrival number `seq`.
    #[inline]
    pub fn target_of(&self, seq: u64) -> u16 {
        match self {
            Mix::One => 0,
            Mix::RoundRobin { targets } => (seq % u64::from(*targets)) as u16,
            Mix::Weighted(alias) => alias.draw(seq),
            Mix::Trace { targets, rest } => match targets.get(seq as usize) {
                Some(&t) if t != FROM_MIX => t,
                _ => rest.target_of(seq),
            },
        }
    }
}

/// Walker's alias table: column `i` keeps itself with probability
/// `keep[i] / 2^32` and otherwise sends the draw to `alias[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Alias {
    keep: Vec<u64>,
    alias: Vec<u16>,
    seed: u64,
}

/// 2^32: a column that always keeps itself.
const ALWAYS: u64 = 1 << 32;

impl Alias {
    /// The table for `weights` (finite, ≥ 0, not all 0; at most
    /// [`MAX_TARGETS`]) drawn with `seed`.
    pub fn new(weights: &[f64], seed: u64) -> Alias {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        // Each column's weight scaled so that a fair column holds exactly 1.
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut keep = vec![ALWAYS; n];
        let mut alias: Vec<u16> = (0..n as u16).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            keep[s] = (scaled[s] * ALWAYS as f64) as u64;
            alias[s] = l as u16;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // What is left holds 1 up to rounding: it keeps itself.
        Alias { keep, alias, seed }
    }

    /// The column and the coin both come from one hash of (seed, seq).
    #[inline]
    fn draw(&self, seq: u64) -> u16 {
        let h = mix64(seq ^ self.seed.rotate_left(32));
        let column = ((h >> 32) * self.keep.len() as u64) >> 32;
        let coin = h & (ALWAYS - 1);
        let i = column as usize;
        if coin < self.keep[i] {
            i as u16
        } else {
            self.alias[i]
        }
    }
}

/// splitmix64's finaliser: every input bit reaches every output bit.
#[inline]
pub(super) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_follows_the_file_order() {
        let mix = Mix::RoundRobin { targets: 3 };
        let picked: Vec<u16> = (0..7).map(|s| mix.target_of(s)).collect();
        assert_eq!(picked, vec![0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(Mix::One.target_of(12345), 0);
    }

    /// The hotel mix over 100 000 arrivals: every count within 4 σ of its
    /// share; the same seed gives the same sequence, another seed another.
    #[test]
    fn weighted_draws_follow_the_weights() {
        let weights = [60.0, 39.0, 0.5, 0.5, 0.0];
        let mix = Mix::Weighted(Alias::new(&weights, 7));
        let n = 100_000u64;
        let mut counts = [0u64; 5];
        for seq in 0..n {
            counts[usize::from(mix.target_of(seq))] += 1;
        }
        for (i, w) in weights.iter().enumerate() {
            let p = w / 100.0;
            let expected = n as f64 * p;
            let sigma = (n as f64 * p * (1.0 - p)).sqrt();
            let got = counts[i] as f64;
            assert!(
                (got - expected).abs() <= 4.0 * sigma,
                "target {i}: {got} vs {expected}"
            );
        }
        assert_eq!(counts[4], 0, "weight 0 is never drawn");
        let again = Mix::Weighted(Alias::new(&weights, 7));
        let other = Mix::Weighted(Alias::new(&weights, 8));
        let seq_of = |m: &Mix| (0..200).map(|s| m.target_of(s)).collect::<Vec<_>>();
        assert_eq!(seq_of(&mix), seq_of(&again));
        assert_ne!(seq_of(&mix), seq_of(&other));
    }

    #[test]
    fn a_trace_names_targets_or_leaves_them_to_the_mix() {
        let mix = Mix::Trace {
            targets: vec![2, FROM_MIX, 0, FROM_MIX].into(),
            rest: Box::new(Mix::RoundRobin { targets: 3 }),
        };
        let picked: Vec<u16> = (0..5).map(|s| mix.target_of(s)).collect();
        assert_eq!(picked, [2, 1, 0, 0, 1]);
    }

    #[test]
    fn one_weight_and_equal_weights() {
        let only = Alias::new(&[3.0], 1);
        assert!((0..1000).all(|s| only.draw(s) == 0));
        let even = Alias::new(&[1.0; 4], 1);
        let mut counts = [0u32; 4];
        for s in 0..40_000 {
            counts[usize::from(even.draw(s))] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_400..10_600).contains(&c)),
            "{counts:?}"
        );
    }
}
