//! Whether files given to one `rwg report` belong together: each names its
//! plan and shard (an interval log in its comments, a CSV in its settings
//! file) and how its process ended. Files of different plans do not merge;
//! a shard that is missing, given twice, or ended early (interrupted, or
//! killed: no end record) leaves the merged figures short of the plan, and
//! the report names it (a whole plan that ended early is only named).
//!
//! COLD: once per report.

use std::collections::BTreeMap;

use serde::Serialize;

use std::path::Path;

use crate::plan::fingerprint::PlanMark;
use crate::plan::shard::{parse_shard, parse_start_at};
use crate::record::settings::RunSettings;

/// What one input file says of its origin.
#[derive(Clone, Debug, Default)]
pub struct ShardFile {
    pub name: String,
    /// `None`: the file names no plan (an older rwg, another tool).
    pub mark: Option<PlanMark>,
    /// How its process ended (`complete`, `signal`, …); `None`: no end
    /// record (killed, or still running).
    pub stop: Option<String>,
}

/// The verdict on a set of files.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ShardCheck {
    /// One sentence per finding.
    pub notes: Vec<String>,
    /// The files come from different plans: their merge means nothing.
    pub mixed_plans: bool,
    /// Some of the plan is not in the files (missing, doubled or cut short
    /// shards): the merged figures are not the plan's.
    pub incomplete: bool,
}

/// Checks files that name their plan; silent when none is sharded.
pub fn check(files: &[ShardFile]) -> ShardCheck {
    let mut out = ShardCheck::default();
    let marked: Vec<(&ShardFile, &PlanMark)> = files
        .iter()
        .filter_map(|f| f.mark.as_ref().map(|m| (f, m)))
        .collect();
    let mut plans: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (f, m) in &marked {
        plans.entry(&m.fingerprint).or_default().push(&f.name);
    }
    if plans.len() > 1 {
        out.mixed_plans = true;
        let each: Vec<String> = plans
            .iter()
            .map(|(fp, names)| format!("plan {fp}: {}", names.join(", ")))
            .collect();
        out.notes.push(format!(
            "the files come from different plans ({}): their merged figures describe no run",
            each.join("; ")
        ));
        return out;
    }
    let sharded = marked.iter().any(|(_, m)| m.shard.is_split());
    if sharded {
        check_coverage(&marked, &mut out);
    }
    for (f, m) in &marked {
        let who = if sharded {
            format!("shard {} ({})", m.shard, f.name)
        } else {
            f.name.clone()
        };
        // A whole plan cut short still describes the target for as long as
        // it ran (its own run said why it stopped); a shard cut short leaves
        // the merge short of the plan.
        match f.stop.as_deref() {
            Some("complete") => {}
            Some(stop) => {
                out.incomplete |= sharded;
                out.notes
                    .push(format!("{who} ended early: {}", stop_words(stop)));
            }
            None => {
                out.incomplete |= sharded;
                out.notes.push(format!(
                    "{who} has no end record: its process was killed or is still running"
                ));
            }
        }
    }
    out
}

/// Every shard 0…N-1 exactly once, all of the same N.
fn check_coverage(marked: &[(&ShardFile, &PlanMark)], out: &mut ShardCheck) {
    let count = marked.iter().map(|(_, m)| m.shard.count).max().unwrap_or(1);
    let mut seen: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for (f, m) in marked {
        seen.entry(m.shard.index).or_default().push(&f.name);
    }
    let missing: Vec<String> = (0..count)
        .filter(|k| !seen.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        out.incomplete = true;
        out.notes.push(format!(
            "shard(s) {} missing: the figures cover {} of the plan's {count} shards",
            missing.join(", "),
            count as usize - missing.len()
        ));
    }
    for (k, names) in seen.iter().filter(|(_, n)| n.len() > 1) {
        out.incomplete = true;
        out.notes.push(format!(
            "shard {k}/{count} given {} times ({}): its arrivals count more than once",
            names.len(),
            names.join(", ")
        ));
    }
}

/// A stop word in words.
fn stop_words(stop: &str) -> String {
    match stop {
        "signal" => "interrupted (SIGINT/SIGTERM)".into(),
        "first_error" => "stopped at its first error".into(),
        "writer_failed" => "its CSV writer failed".into(),
        "internal_error" => "rwg failed (internal error)".into(),
        other => format!("stopped ({other})"),
    }
}

/// A CSV's plan and end, from its settings file (`None` fields when it
/// has none, or one from an rwg that wrote neither).
pub fn of_csv(path: &Path) -> ShardFile {
    let name = path.display().to_string();
    let Some(Ok(settings)) = RunSettings::read_beside(path) else {
        return ShardFile {
            name,
            ..ShardFile::default()
        };
    };
    let mark = settings.fingerprint.clone().map(|fingerprint| PlanMark {
        fingerprint,
        shard: settings
            .shard
            .as_deref()
            .and_then(|s| parse_shard(s).ok())
            .unwrap_or_default(),
        start_at_ns: settings
            .start_at
            .as_deref()
            .and_then(|s| parse_start_at(s).ok()),
    });
    ShardFile {
        name,
        mark,
        stop: settings.stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::shard::Shard;

    fn file(name: &str, fp: &str, k: u32, n: u32, stop: Option<&str>) -> ShardFile {
        ShardFile {
            name: name.into(),
            mark: Some(PlanMark {
                fingerprint: fp.into(),
                shard: Shard { index: k, count: n },
                start_at_ns: None,
            }),
            stop: stop.map(str::to_string),
        }
    }

    #[test]
    fn names_missing_doubled_and_unfinished_shards() {
        let fp = "0123456789abcdef";
        let all = [
            file("a", fp, 0, 3, Some("complete")),
            file("b", fp, 1, 3, Some("complete")),
            file("c", fp, 2, 3, Some("complete")),
        ];
        assert_eq!(check(&all), ShardCheck::default());
        let c = check(&all[..2]);
        assert!(c.incomplete && !c.mixed_plans);
        assert_eq!(
            c.notes,
            ["shard(s) 2/3 missing: the figures cover 2 of the plan's 3 shards"]
        );
        let mut twice = all.to_vec();
        twice.push(file("b2", fp, 1, 3, Some("complete")));
        assert!(check(&twice).notes[0].contains("shard 1/3 given 2 times (b, b2)"));
        let mut cut = all.to_vec();
        cut[1].stop = Some("signal".into());
        cut[2].stop = None;
        let c = check(&cut);
        assert_eq!(c.notes.len(), 2);
        assert!(c.notes[0].contains("shard 1/3 (b) ended early: interrupted"));
        assert!(c.notes[1].contains("shard 2/3 (c) has no end record"));
    }

    #[test]
    fn different_plans_do_not_merge() {
        let c = check(&[
            file("a", "0123456789abcdef", 0, 2, Some("complete")),
            file("b", "fedcba9876543210", 1, 2, Some("complete")),
        ]);
        assert!(c.mixed_plans);
        assert!(c.notes[0].contains("plan 0123456789abcdef: a; plan fedcba9876543210: b"));
    }

    #[test]
    fn a_whole_plan_cut_short_is_named_not_failed() {
        let c = check(&[file("run.hlog", "0123456789abcdef", 0, 1, Some("signal"))]);
        assert!(!c.incomplete);
        assert_eq!(
            c.notes,
            ["run.hlog ended early: interrupted (SIGINT/SIGTERM)"]
        );
    }

    #[test]
    fn unmarked_files_are_not_judged() {
        let c = check(&[ShardFile {
            name: "go.csv".into(),
            ..ShardFile::default()
        }]);
        assert_eq!(c, ShardCheck::default());
    }
}
