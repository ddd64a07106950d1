//! wrk2's `--latency` summary (`rwg::report::spectrum`): the text parser
//! and the histogram rebuilt from its percentile spectrum.
//!
//! Checks: no panic; a summary that parses has spectrum rows rising in
//! value, percentile and count, percentiles within 0…1, and a histogram
//! count at least its last row's; a rebuilt distribution holds exactly
//! that many responses, with no unanswered ones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::report::spectrum::{analyze_text, wrk2};

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let _ = wrk2::looks_like(input);
    let Ok(run) = wrk2::parse(&text) else {
        return;
    };
    for pair in run.spectrum.windows(2) {
        assert!(pair[0].value_ns <= pair[1].value_ns, "values fall");
        assert!(pair[0].percentile <= pair[1].percentile, "percentiles fall");
        assert!(pair[0].total_count <= pair[1].total_count, "counts fall");
    }
    assert!(run
        .spectrum
        .iter()
        .all(|r| (0.0..=1.0).contains(&r.percentile)));
    let last = run.spectrum.last().map_or(0, |r| r.total_count);
    assert!(run.histogram_count >= last, "trailer below the last row");
    if let Ok(a) = analyze_text("fuzz", &text) {
        assert_eq!(a.histogram.len(), last, "rebuilt count");
        assert_eq!(a.latency.unanswered, 0);
        let _ = a.to_text();
    }
});
