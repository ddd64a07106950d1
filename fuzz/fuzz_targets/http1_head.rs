//! `rwg::protocol::http1::parse_head` fed the way `Conn::exchange` feeds it:
//! the response arrives in reads of fuzzer-chosen sizes, and after each read
//! the parser sees everything unread so far (1xx heads are consumed and the
//! parse restarts after them).
//!
//! Input layout: byte 0 = flags (bit 0: `no_body`, bits 1..=3: number of read
//! sizes `k`), the next `k` bytes = read sizes (1..=256 bytes each; the last
//! read takes whatever is left), the rest = the bytes the server sent.
//!
//! Checks:
//! - each prefix gives `Partial` or a result, and a length it reports
//!   (`Informational(n)`, `Complete(head).head_len`) fits in the prefix;
//! - once a prefix gives a result, every longer prefix gives the same one
//!   (so where the reads split cannot change what is parsed);
//! - the whole exchange read in pieces equals the exchange read in one piece;
//! - simple facts of a `Complete` head (framing of `no_body`, 204, 304;
//!   `UntilClose` implies `close`; a 3-digit status).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::protocol::http1::{parse_head, Framing, Head, ParsedHead};

/// What the reader loop ends with.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The head was parsed; (1xx head lengths skipped, the head).
    Complete(Vec<usize>, Head),
    /// The parser rejected the input; (1xx head lengths skipped first).
    Invalid(Vec<usize>),
    /// The data ended before a whole head; (1xx head lengths skipped).
    Partial(Vec<usize>),
}

fn same(a: &ParsedHead, b: &ParsedHead) -> bool {
    match (a, b) {
        (ParsedHead::Partial, ParsedHead::Partial) | (ParsedHead::Invalid, ParsedHead::Invalid) => {
            true
        }
        (ParsedHead::Informational(x), ParsedHead::Informational(y)) => x == y,
        (ParsedHead::Complete(x), ParsedHead::Complete(y)) => x == y,
        _ => false,
    }
}

fn check_result(r: &ParsedHead, avail: usize, no_body: bool) {
    match r {
        ParsedHead::Partial | ParsedHead::Invalid => {}
        ParsedHead::Informational(n) => {
            assert!(*n > 0 && *n <= avail, "1xx head of {n} bytes in {avail}");
        }
        ParsedHead::Complete(h) => {
            assert!(h.head_len > 0 && h.head_len <= avail, "head_len {} > {avail}", h.head_len);
            assert!((100..=999).contains(&h.status), "status {}", h.status);
            assert!(
                h.status == 101 || !(100..200).contains(&h.status),
                "a 1xx other than 101 must be Informational"
            );
            if no_body || h.status == 204 || h.status == 304 {
                assert_eq!(h.framing, Framing::Length(0));
            }
            if h.framing == Framing::UntilClose {
                assert!(h.close, "a body read until close must close");
            }
        }
    }
}

/// Checks that parsing `data[start..]` gives `expect` for prefixes longer
/// than `end` (a few of them, and the whole).
fn check_longer(data: &[u8], start: usize, end: usize, expect: &ParsedHead, no_body: bool) {
    for extra in [1usize, 2, 7, 64, usize::MAX] {
        let longer = end.saturating_add(extra).min(data.len());
        let again = parse_head(&data[start..longer], no_body);
        assert!(
            same(&again, expect),
            "{} bytes parse as {expect:?} but {} bytes as {again:?}",
            end - start,
            longer - start
        );
    }
}

/// Runs the reader loop with reads ending at `ends` (increasing, the last one
/// is `data.len()`).
fn read_loop(data: &[u8], ends: &[usize], no_body: bool) -> Outcome {
    let mut start = 0; // first unread byte
    let mut skipped = Vec::new();
    for &end in ends {
        loop {
            let avail = &data[start..end];
            let r = parse_head(avail, no_body);
            check_result(&r, avail.len(), no_body);
            match r {
                ParsedHead::Partial => break,
                ParsedHead::Informational(n) => {
                    check_longer(data, start, end, &r, no_body);
                    skipped.push(n);
                    start += n;
                }
                ParsedHead::Invalid => {
                    check_longer(data, start, end, &r, no_body);
                    return Outcome::Invalid(skipped);
                }
                ParsedHead::Complete(h) => {
                    check_longer(data, start, end, &r, no_body);
                    return Outcome::Complete(skipped, h);
                }
            }
        }
    }
    Outcome::Partial(skipped)
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let no_body = flags & 1 == 1;
    let k = ((flags >> 1) & 7) as usize;
    if rest.len() < k {
        return;
    }
    let (sizes, data) = rest.split_at(k);
    let mut ends = Vec::with_capacity(k + 1);
    let mut at = 0usize;
    for &s in sizes {
        at = (at + s as usize + 1).min(data.len());
        ends.push(at);
    }
    ends.push(data.len());
    ends.dedup();

    let pieces = read_loop(data, &ends, no_body);
    let whole = read_loop(data, &[data.len()], no_body);
    assert_eq!(pieces, whole, "reads split at {ends:?} changed the outcome");

    // Byte-at-a-time, the finest split a reader can see.
    if data.len() <= 512 {
        let ends: Vec<usize> = (1..=data.len()).collect();
        if !ends.is_empty() {
            assert_eq!(read_loop(data, &ends, no_body), whole, "byte-at-a-time reads differ");
        }
    }
});
