//! `rwg::plan::template`: placeholders in URLs, headers and bodies, and the
//! CSV column reader behind `{{csv FILE COLUMN}}`, on any text.
//!
//! Input: the text up to the first NUL byte is the template; the rest is a
//! CSV file offered to every `{{csv …}}` placeholder.
//!
//! Checks:
//! - parsing gives a template or an error, never a panic;
//! - rendering never panics, is the same twice for the same arrival, and a
//!   template without placeholders renders exactly its text;
//! - a column read from the CSV is never empty.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use rwg::plan::error::ConfigError;
use rwg::plan::template::{csv_column, Arrival, Template};

fuzz_target!(|data: &[u8]| {
    let (head, csv) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let (Ok(text), Ok(csv)) = (std::str::from_utf8(head), std::str::from_utf8(csv)) else {
        return;
    };
    let mut loader = |_: &str, column: &str| -> Result<Arc<[Box<[u8]>]>, ConfigError> {
        let values = csv_column(csv, column)?;
        assert!(!values.is_empty());
        Ok(values.into())
    };
    let Ok(t) = Template::parse(text, &mut 0, &mut loader) else {
        return;
    };
    for seq in [0, 1, 7, u64::MAX] {
        let arrival = Arrival {
            seq,
            seed: seq ^ 0xABCD,
            now_ms: 1_700_000_000_000,
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        t.render(&arrival, &mut a);
        t.render(&arrival, &mut b);
        assert_eq!(a, b);
        if t.is_static() {
            assert_eq!(a, text.as_bytes());
        }
    }
});
