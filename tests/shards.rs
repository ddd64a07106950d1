//! One plan across processes (`--shard K/N`): shard processes of the real
//! binary against one `rwg serve` send exactly the one-process plan, each
//! its share, and say so in the summary, the JSON and the settings file.

mod common;

use common::*;
use rwg::serve::{start, ServeConfig};

const RATES: &str = "250,500";
const DURATIONS: &str = "1s,500ms";

/// (planned offset from the first planned instant, phase) of every row.
fn offsets(rows: &[Row], first_ns: u64) -> Vec<(u64, u32)> {
    rows.iter()
        .map(|r| (r.timestamp_ns - first_ns, r.phase))
        .collect()
}

/// Three shards, one after another (no common start yet): each offers
/// every third arrival, and their rows together are the one-process
/// plan's, instant for instant (shard K's first arrival is slot K, at
/// K × 4 ms of the 250/s phase).
#[test]
fn three_shards_send_the_one_process_plan() {
    let _g = serial();
    let srv = start(ServeConfig::default()).unwrap();
    let url = url_of(srv.addr);
    let whole = run(&url, &["-r", RATES, "-d", DURATIONS, "-w", "64"]);
    whole.assert_code(0);
    let rows = whole.rows();
    let first = rows.iter().map(|r| r.timestamp_ns).min().unwrap();
    let mut expected = offsets(&rows, first);
    expected.sort_unstable();
    assert_eq!(expected.len(), 500);
    let mut union = Vec::new();
    for k in 0..3u64 {
        let shard = format!("{k}/3");
        let out = run(
            &url,
            &["-r", RATES, "-d", DURATIONS, "-w", "64", "--shard", &shard],
        );
        out.assert_code(0);
        let rows = out.rows();
        assert_eq!(rows.len(), [167, 167, 166][k as usize], "shard {shard}");
        assert_all_200(&rows, &url);
        let first = rows.iter().map(|r| r.timestamp_ns).min().unwrap();
        union.extend(offsets(&rows, first - k * 4_000_000));
        let j = out.json();
        assert_eq!(j["run"]["shard"], shard.as_str());
        // Its planned rates are its share: 250/3 and 500/3 per second.
        assert_eq!(j["phases"][0]["planned_rate_per_sec"], 83.333);
        assert_eq!(j["phases"][1]["planned_rate_per_sec"], 166.666);
        let text = out.all_output();
        assert!(
            text.contains(&format!(
                "shard {shard}: the plan's arrivals numbered {k} mod 3"
            )),
            "{text}"
        );
        let settings =
            std::fs::read_to_string(out.dir.path().join("out.csv.settings.json")).unwrap();
        assert!(
            settings.contains(&format!("\"shard\": \"{shard}\"")),
            "{settings}"
        );
    }
    union.sort_unstable();
    assert_eq!(union, expected);
}

/// A shard that does not exist, or a malformed one, exits 2 naming it.
#[test]
fn a_bad_shard_names_the_value() {
    for (bad, says) in [
        ("3/3", "does not exist"),
        ("1", "K/N"),
        ("0/0", "N must be"),
    ] {
        let out = run(
            "http://127.0.0.1:9/",
            &["-r", "1", "-d", "1s", "--shard", bad],
        );
        out.assert_code(2);
        let text = out.all_output();
        assert!(text.contains(bad) && text.contains(says), "{text}");
    }
}
