//! `rwg::plan::trace::parse`, the reader of `--trace` files (rwg's
//! `OFFSET [TARGET]` lines and h2load's timing scripts), and the replay
//! plan built from it, on any text.
//!
//! Checks:
//! - an error or a non-empty list, never a panic;
//! - offsets never go back, lines rise and lie in the file, targets are one
//!   word;
//! - at any speed (slower ones may be refused) the plan keeps every
//!   arrival in order, its seconds count
//!   every arrival once, and its duration reaches past the last one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::plan::trace::{parse, TracePlan};

fuzz_target!(|data: &[u8]| {
    let Some((&speed_byte, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(lines) = parse(text) else {
        return;
    };
    assert!(!lines.is_empty());
    let count = text.lines().count();
    for pair in lines.windows(2) {
        assert!(pair[0].offset_ns <= pair[1].offset_ns, "{pair:?}");
        assert!(pair[0].line < pair[1].line, "{pair:?}");
    }
    for l in &lines {
        assert!((1..=count).contains(&l.line), "{l:?}");
        if let Some(t) = &l.target {
            assert!(!t.is_empty() && !t.contains(char::is_whitespace), "{l:?}");
        }
    }
    let speed = f64::from(speed_byte.max(1)) / 16.0;
    let Ok(plan) = TracePlan::new(&lines, "fuzz".into(), speed) else {
        // Only a slow replay may stretch a trace past the longest replay.
        assert!(speed < 1.0, "{speed}");
        return;
    };
    assert_eq!(plan.offsets_ns.len(), lines.len());
    assert!(plan.offsets_ns.windows(2).all(|w| w[0] <= w[1]));
    assert!(plan.duration_ns() >= *plan.offsets_ns.last().unwrap());
    let seconds = plan.per_second();
    assert_eq!(seconds.iter().sum::<u64>(), lines.len() as u64);
    assert!(plan.mean_per_sec() >= 1);
});
