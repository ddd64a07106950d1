//! What identifies one plan across the processes that share it: a
//! fingerprint of everything that decides which arrivals exist, when, and
//! what they send (rates, durations, distribution, seed, targets, mix,
//! `--requests`, the trace, the shard count N), and this process's place
//! in it ([`PlanMark`]: the fingerprint, shard K/N and `--start-at`).
//! Shards of one plan print the same fingerprint; `rwg report` compares
//! them before it merges their files.
//!
//! COLD: once per run, once per file read.

use super::config::Config;
use super::shard::{parse_shard, parse_start_at, Shard};
use crate::base::civil::fmt_rfc3339_ns;

/// FNV-1a, 64 bits: stable across builds and versions (unlike std's
/// hasher), and this is no defence against anyone, only a label.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The plan's fingerprint: 16 hex digits, the same for every shard.
pub fn fingerprint(cfg: &Config) -> String {
    // Debug texts of plain data (integers, strings, no hash maps) are
    // deterministic; the body and trace go in whole.
    let mut text = format!(
        "rates={:?};durations_ns={:?};dist={:?};seed={};requests={:?};mix={:?};shards={}",
        cfg.rates, cfg.durations_ns, cfg.dist, cfg.seed, cfg.max_requests, cfg.mix, cfg.shard.count
    );
    for t in &cfg.targets {
        text.push_str(&format!(
            ";target={:?} {} {} {:?} data={:?} metadata={:?} body=",
            t.label, t.method, t.target.url, t.headers, t.grpc.data_json, t.grpc.metadata
        ));
        text.push_str(&format!("{:016x}", fnv1a(&t.body)));
    }
    if let Some(trace) = &cfg.trace {
        text.push_str(&format!(";trace_offsets_ns={:?}", trace.offsets_ns));
    }
    format!("{:016x}", fnv1a(text.as_bytes()))
}

/// This process's place in a plan, as written into its outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanMark {
    pub fingerprint: String,
    pub shard: Shard,
    /// `--start-at`, Unix-epoch ns.
    pub start_at_ns: Option<u64>,
}

/// The comment line's first words (after the log's `#`).
const MARK_PREFIX: &str = "rwg plan ";

impl PlanMark {
    pub fn of(cfg: &Config) -> PlanMark {
        PlanMark {
            fingerprint: fingerprint(cfg),
            shard: cfg.shard,
            start_at_ns: cfg.start_at_ns,
        }
    }

    /// `rwg plan fingerprint=… shard=K/N start_at=RFC3339|-`: one line.
    pub fn to_comment(&self) -> String {
        let start = self.start_at_ns.map_or("-".to_string(), fmt_rfc3339_ns);
        format!(
            "{MARK_PREFIX}fingerprint={} shard={} start_at={start}",
            self.fingerprint, self.shard
        )
    }

    /// Reads [`Self::to_comment`]'s line back (`None`: another comment).
    pub fn from_comment(line: &str) -> Option<PlanMark> {
        let rest = line.strip_prefix(MARK_PREFIX)?;
        let mut mark = PlanMark {
            fingerprint: String::new(),
            shard: Shard::default(),
            start_at_ns: None,
        };
        for word in rest.split_whitespace() {
            match word.split_once('=')? {
                ("fingerprint", v) if v.len() == 16 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    mark.fingerprint = v.to_string()
                }
                ("shard", v) => mark.shard = parse_shard(v).ok()?,
                ("start_at", "-") => {}
                ("start_at", v) => mark.start_at_ns = Some(parse_start_at(v).ok()?),
                _ => return None,
            }
        }
        (!mark.fingerprint.is_empty()).then_some(mark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_read_back_and_refuse_the_rest() {
        let mark = PlanMark {
            fingerprint: "00ff00ff00ff00ff".into(),
            shard: Shard { index: 2, count: 3 },
            start_at_ns: Some(1_796_310_000_000_000_001),
        };
        assert_eq!(
            PlanMark::from_comment(&mark.to_comment()),
            Some(mark.clone())
        );
        let plain = PlanMark {
            start_at_ns: None,
            shard: Shard::default(),
            ..mark
        };
        assert_eq!(PlanMark::from_comment(&plain.to_comment()), Some(plain));
        for bad in [
            "rwg run: latency",
            "rwg plan fingerprint=xyz shard=0/1 start_at=-",
            "rwg plan fingerprint=00ff00ff00ff00ff shard=3/3 start_at=-",
            "rwg plan fingerprint=00ff00ff00ff00ff colour=blue",
            "rwg plan shard=0/1",
        ] {
            assert_eq!(PlanMark::from_comment(bad), None, "{bad}");
        }
    }

    #[test]
    fn fnv_is_the_published_function() {
        // FNV-1a 64 test vectors (Fowler/Noll/Vo).
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
