//! `rwg report FILE.hlog …`: `rwg::report::hlog_read::analyze_hlog_bytes`
//! (what `analyze_hlogs` runs on the files' bytes), then `to_text`,
//! the JSON document, `timeseries_csv` and a few `--check`s on the result.
//!
//! Input layout: byte 0 = interval pick (0: none, else an entry of a table of
//! durations), the rest = the files' bytes, split into up to 3 files at 0xFF
//! bytes.
//!
//! Checks: at least one interval; start <= end; the time series is there
//! exactly when an interval is, and its buckets add up to the overall
//! histogram; the JSON parses; one CSV line per bucket.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::report::check::{evaluate_all, parse_checks};
use rwg::report::hlog_read::analyze_hlog_bytes;
use rwg::report::schema::Document;

const INTERVALS: [Option<u64>; 8] = [
    None,
    Some(1_000_000_000),
    Some(10_000_000_000),
    Some(60_000_000_000),
    Some(250_000_000),
    Some(1_000_000),
    Some(0),
    Some(u64::MAX),
];

const CHECKS: [&str; 6] = [
    "total>0",
    "responses>=1",
    "throughput>1",
    "p99<50ms",
    "max<=1s",
    "min>0",
];

fuzz_target!(|input: &[u8]| {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let interval_ns = INTERVALS[(pick & 7) as usize];
    const NAMES: [&str; 3] = ["a.hlog", "b.hlog", "c.hlog"];
    let files: Vec<(&str, &[u8])> = data
        .splitn(3, |&b| b == 0xFF)
        .enumerate()
        .map(|(i, part)| (NAMES[i], part))
        .collect();

    let Ok(a) = analyze_hlog_bytes(&files, interval_ns) else {
        return;
    };
    assert_eq!(a.files.len(), files.len());
    assert!(a.intervals > 0, "Ok without an interval");
    assert!(a.start_s <= a.end_s, "start {} after end {}", a.start_s, a.end_s);
    match interval_ns {
        Some(ns) if ns > 0 => {
            assert!(!a.timeseries.is_empty(), "no time series for an interval");
            let sum: u64 = a.timeseries.iter().map(|(_, h)| h.len()).sum();
            assert_eq!(sum, a.overall.len(), "buckets do not add up to the overall count");
            assert!(
                a.timeseries.windows(2).all(|w| w[0].0 < w[1].0),
                "bucket starts not increasing"
            );
        }
        _ => assert!(a.timeseries.is_empty()),
    }

    let _ = a.to_text();
    let csv = a.timeseries_csv();
    assert_eq!(csv.lines().count(), a.timeseries.len() + 1);
    let checks = parse_checks(&CHECKS).expect("the fixed checks parse");
    let results = evaluate_all(&checks, &a);
    assert_eq!(results.len(), CHECKS.len());
    let json = Document::of_hlog(&a, &results, 0).to_json();
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
        panic!("the JSON document is invalid ({e}): {json}");
    }
});
