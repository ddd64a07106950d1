//! `rwg::protocol::h2lean::hpack::Decoder`: the lean HTTP/2 client's
//! response header decoder, on any sequence of header blocks (each a length
//! byte, then that many bytes), against `loona-hpack`'s full decoder fed
//! the same blocks.
//!
//! Checks: decoding never panics; while both decoders accept every block,
//! they agree on each block's `:status` and `grpc-status` (so the dynamic tables stay in
//! step: sizes, evictions, Huffman-coded lengths).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rwg::protocol::h2lean::hpack::Decoder;

/// The last `:status` of a decoded list, as the lean decoder reports it.
fn status_of(list: &[(Vec<u8>, Vec<u8>)]) -> Option<Option<u16>> {
    let v = &list.iter().rev().find(|(n, _)| n == b":status")?.1;
    let digits = v.len() == 3 && v[0] != b'0' && v.iter().all(u8::is_ascii_digit);
    Some(digits.then(|| std::str::from_utf8(v).unwrap().parse().unwrap()))
}

/// The last `grpc-status` of a decoded list, as the lean decoder reports it.
fn grpc_status_of(list: &[(Vec<u8>, Vec<u8>)]) -> Option<Option<u16>> {
    let v = &list.iter().rev().find(|(n, _)| n == b"grpc-status")?.1;
    Some(rwg::protocol::grpc::code(v))
}

fuzz_target!(|data: &[u8]| {
    let mut ours = Decoder::default();
    let mut theirs = loona_hpack::Decoder::new();
    let mut rest = data;
    let mut agreeing = true;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (block, next) = tail.split_at(n);
        rest = next;
        let mine = ours.decode(block);
        if !agreeing {
            continue;
        }
        match (mine, theirs.decode(block)) {
            (Ok(head), Ok(list)) => {
                assert_eq!(head.status, status_of(&list), "block {block:?}");
                assert_eq!(head.grpc_status, grpc_status_of(&list), "block {block:?}");
            }
            _ => agreeing = false,
        }
    }
});
