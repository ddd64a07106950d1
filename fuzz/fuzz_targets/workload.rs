//! `rwg::plan::workload::parse`, the reader of workload files (TOML), on any
//! text.
//!
//! Checks:
//! - an error or a workload, never a panic;
//! - a workload's targets have distinct, non-empty names and finite
//!   weights ≥ 0, not all 0, and no target has both body and body_file;
//! - an error names a line (every message says where the fault is).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::plan::workload::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(w) => {
            let mut names: Vec<&str> = Vec::new();
            for t in &w.targets {
                let name = t.name.get_ref().as_str();
                assert!(!name.is_empty() && !names.contains(&name), "{name:?}");
                names.push(name);
                let weight = *t.weight.get_ref();
                assert!(weight.is_finite() && weight >= 0.0);
                assert!(t.body.is_none() || t.body_file.is_none());
            }
            if !w.targets.is_empty() {
                assert!(w.targets.iter().any(|t| *t.weight.get_ref() > 0.0));
            }
        }
        Err(e) => {
            let names_a_place = e.0.contains("line") || e.0.contains("weight 0");
            assert!(names_a_place, "{e}");
        }
    }
});
