//! `rwg::protocol::grpc_wire`: a gRPC message template (`--data` with
//! placeholders) encoded field by field, against the JSON path it stands in
//! for, on any text as the template of a message with a field of every
//! kind the wire path renders (and some it must leave to JSON).
//!
//! Checks: compiling never panics; for every arrival the wire path renders,
//! the JSON path renders too (the same text, parsed and encoded by
//! prost-reflect) and both decode to the same message; the frame's length
//! prefix is the message's length.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use rwg::plan::error::ConfigError;
use rwg::plan::template::{Arrival, Template};
use rwg::protocol::grpc;
use rwg::protocol::grpc_wire::WireTemplate;

const PROTO: &str = include_str!("../../tests/data/wire.proto");

fn message() -> &'static MessageDescriptor {
    static DESC: OnceLock<MessageDescriptor> = OnceLock::new();
    DESC.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rwg-fuzz-grpc-wire-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.proto");
        std::fs::write(&path, PROTO).unwrap();
        let pool = grpc::compile(&[path], &[]).unwrap();
        pool.get_message_by_name("t.M").unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut no_csv = |_: &str, _: &str| Err(ConfigError("no csv".into()));
    let Ok(json) = Template::parse(text, &mut 0, &mut no_csv) else {
        return;
    };
    let desc = message();
    let Some(wire) = WireTemplate::compile(&json, desc, 1) else {
        return;
    };
    let mut scratch = Vec::new();
    for seq in 0..16 {
        let arrival = Arrival::new(seq, 1, false);
        let Some(fast) = wire.render(&arrival, &mut scratch) else {
            continue;
        };
        assert_eq!(fast[0], 0);
        let len = u32::from_be_bytes(fast[1..5].try_into().unwrap()) as usize;
        assert_eq!(len, fast.len() - 5);
        let mut rendered = Vec::new();
        json.render(&arrival, &mut rendered);
        let slow = grpc::encode_unframed(desc, std::str::from_utf8(&rendered).unwrap())
            .expect("the JSON path renders what the wire path renders");
        let slow = DynamicMessage::decode(desc.clone(), &slow[..]).unwrap();
        let fast = DynamicMessage::decode(desc.clone(), &fast[5..]).unwrap();
        assert_eq!(fast, slow, "arrival {seq} of {text}");
    }
});
