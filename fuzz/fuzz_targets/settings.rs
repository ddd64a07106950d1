//! A run's settings file, `FILE.settings.json` beside a CSV
//! (`rwg::record::settings`), as `rwg plot` and `rwg report` read it: any
//! bytes, and JSON documents of the right shape with any values (phases of
//! `rwg search` with labels and warm-ups among them).
//!
//! Checks: no panic; settings that parse describe every phase in words,
//! give back a command line, and round-trip through their own JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::record::settings::RunSettings;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let Ok(settings) = RunSettings::parse(&text) else {
        return;
    };
    for phase in &settings.phases {
        assert!(!phase.rate_text().is_empty());
    }
    let _ = settings.command_text();
    let json = serde_json::to_string(&settings).expect("settings serialise");
    if let Ok(again) = RunSettings::parse(&json) {
        // NaN-free documents come back the same.
        if settings.phases.iter().all(|p| p.duration_s.is_finite()) {
            assert_eq!(again.phases.len(), settings.phases.len());
            assert_eq!(again.command, settings.command);
        }
    }
});
