//! `rwg::plan::vegeta::parse`, the reader of vegeta's targets files (HTTP
//! and JSON-lines formats), on any text.
//!
//! Checks:
//! - an error or a non-empty list, never a panic;
//! - every target's method is ASCII letters in upper case, its URL one word,
//!   its header names non-empty without ':' or white space;
//! - the line a target names lies in the file and holds its method (HTTP
//!   format) or its JSON object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::plan::vegeta::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(targets) = parse(text) else {
        return;
    };
    assert!(!targets.is_empty());
    let lines: Vec<&str> = text.lines().collect();
    for t in &targets {
        assert!(!t.method.is_empty());
        assert!(t.method.bytes().all(|b| b.is_ascii_uppercase()), "{t:?}");
        assert!(!t.url.is_empty() && !t.url.contains(char::is_whitespace), "{t:?}");
        for (name, value) in &t.headers {
            assert!(!name.is_empty() && !name.contains(':'), "{t:?}");
            assert!(!name.contains(char::is_whitespace), "{t:?}");
            assert_eq!(value.trim(), value);
        }
        let line = lines.get(t.line - 1).expect("the target's line is in the file");
        let json = line.trim_start().starts_with('{');
        assert!(
            json || line.to_ascii_uppercase().contains(&t.method),
            "line {} {line:?} vs {t:?}",
            t.line
        );
    }
});
