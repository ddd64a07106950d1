//! `rwg::protocol::chunked::ChunkedDecoder` fed the way the HTTP/1.1 reader
//! (`Conn::drain_body`) feeds it: bytes arrive in reads of fuzzer-chosen
//! sizes; after each read the decoder is fed everything unread, the bytes it
//! used are dropped and the rest stay for the next feed.
//!
//! Input layout: byte 0 = number of read sizes `k` (0..=15), the next `k`
//! bytes = read sizes (1..=256 bytes each; the last read takes whatever is
//! left), the rest = the bytes after the response head.
//!
//! Checks: `used <= input.len()`; a feed that is not done uses all of its
//! input (so nothing is fed twice); the outcome (done after how many bytes,
//! error, or not finished) is the same whether the body arrives in pieces, in
//! one piece or byte by byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::protocol::chunked::ChunkedDecoder;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The body ended after this many bytes.
    Done(usize),
    /// A malformed chunk, found after this many bytes had been used.
    Error(usize),
    /// The data ran out first; all of it was used.
    Unfinished(usize),
}

fn read_loop(data: &[u8], ends: &[usize]) -> Outcome {
    let mut decoder = ChunkedDecoder::default();
    let mut unread: Vec<u8> = Vec::new();
    let mut total = 0usize; // bytes used so far
    let mut delivered = 0usize;
    for &end in ends {
        unread.extend_from_slice(&data[delivered..end]);
        delivered = end;
        match decoder.feed(&unread) {
            Ok((used, done)) => {
                assert!(used <= unread.len(), "used {used} of {}", unread.len());
                if !done {
                    assert_eq!(used, unread.len(), "a feed that is not done must use all");
                }
                total += used;
                unread.drain(..used);
                if done {
                    return Outcome::Done(total);
                }
            }
            Err(_) => return Outcome::Error(total),
        }
    }
    assert!(unread.is_empty());
    Outcome::Unfinished(total)
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, rest)) = input.split_first() else {
        return;
    };
    let k = (first & 15) as usize;
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

    let pieces = read_loop(data, &ends);
    let whole = read_loop(data, &[data.len()]);
    match whole {
        Outcome::Done(n) => assert!(n <= data.len()),
        Outcome::Unfinished(n) => assert_eq!(n, data.len()),
        Outcome::Error(_) => {}
    }
    // Where an error is found depends on the pieces only through the
    // bytes used before the bad one; compare the kind of outcome and, when
    // done, where the body ended.
    match (&pieces, &whole) {
        (Outcome::Done(a), Outcome::Done(b)) => assert_eq!(a, b, "body end differs"),
        (Outcome::Error(_), Outcome::Error(_)) => {}
        (Outcome::Unfinished(_), Outcome::Unfinished(_)) => {}
        _ => panic!("reads ending at {ends:?} give {pieces:?}, one read gives {whole:?}"),
    }
    if data.len() <= 4096 {
        let ends: Vec<usize> = (1..=data.len()).collect();
        let bytewise = read_loop(data, &ends);
        match (&bytewise, &whole) {
            (Outcome::Done(a), Outcome::Done(b)) => assert_eq!(a, b, "body end differs"),
            (Outcome::Error(_), Outcome::Error(_)) => {}
            (Outcome::Unfinished(_), Outcome::Unfinished(_)) => {}
            _ => panic!("byte-by-byte gives {bytewise:?}, one read gives {whole:?}"),
        }
    }
});
