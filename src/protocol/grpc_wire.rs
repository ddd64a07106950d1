//! HOT: a templated gRPC message encoded field by field. Going through JSON
//! per request (render, parse into a dynamic message, encode) cost about as
//! many instructions as the HTTP/2 exchange itself (`bench/instructions.sh`,
//! `grpc-template`). Here the message's static fields are encoded once, and
//! each templated top-level field (a string, or an integer that is one
//! placeholder) is rendered straight into its wire form: protobuf decodes a
//! message whose fields come in any order, so the static bytes and the
//! rendered fields are simply concatenated.
//!
//! Exactness first: a template is compiled only if it renders the same
//! message as the JSON path for its first arrivals, and an arrival whose
//! rendered value the JSON path would read differently (a quote, a
//! backslash, a control character, bytes that are not UTF-8, an integer
//! that is not written plainly or out of range) goes through JSON
//! ([`WireTemplate::render`] returns `None`).

use bytes::{BufMut, Bytes};
use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::grpc;
use crate::plan::template::{Arrival, Piece, Template};

/// Marks placeholder n in the JSON text handed to the JSON parser: private
/// use characters, which a template's text does not hold in practice (one
/// that does is not compiled).
const MARK_OPEN: char = '\u{E000}';
const MARK_CLOSE: char = '\u{E001}';

/// Arrivals rendered both ways before the wire path is trusted.
const CHECKED_ARRIVALS: u64 = 16;

/// A gRPC message template, compiled.
#[derive(Debug)]
pub struct WireTemplate {
    /// The static fields, encoded.
    fixed: Vec<u8>,
    fields: Vec<WireField>,
}

#[derive(Debug)]
struct WireField {
    /// The field's key (number and wire type), encoded.
    key: Vec<u8>,
    kind: ValueKind,
    /// Proto3 fields without presence leave a default value (0, "") out.
    presence: bool,
    /// The value: text (JSON escapes already read) and placeholders.
    value: Vec<Segment>,
}

#[derive(Debug)]
enum Segment {
    Text(Box<[u8]>),
    Slot(Template),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ValueKind {
    Str,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
}

impl WireTemplate {
    /// Compiles `json` (a message of type `desc` with placeholders), or
    /// `None` when the JSON path must do the work: not an object of known
    /// fields, a placeholder in a key, a nested message, list or map, a
    /// kind other than string and varint integers, or a first arrival that
    /// renders differently either way.
    pub fn compile(json: &Template, desc: &MessageDescriptor, seed: u64) -> Option<WireTemplate> {
        let (marked, bare) = marked_json(json)?;
        let Members(members) = serde_json::from_str(&marked).ok()?;
        let mut numbers = Vec::new();
        let mut fields = Vec::new();
        let mut templated = Vec::new();
        for (key, value) in members {
            if key.contains(MARK_OPEN) {
                return None;
            }
            let field = desc
                .get_field_by_json_name(&key)
                .or_else(|| desc.get_field_by_name(&key))?;
            // JSON would refuse or merge a field given twice.
            if numbers.contains(&field.number()) {
                return None;
            }
            numbers.push(field.number());
            match value {
                Value::String(text) if text.contains(MARK_OPEN) => {
                    fields.push(WireField::new(&field, &text, json, &bare)?);
                    templated.push(field);
                }
                value if marked_anywhere(&value) => return None,
                _ => {}
            }
        }
        let mut wire = WireTemplate {
            fixed: Vec::new(),
            fields,
        };
        wire.fixed = wire.fixed_fields(json, desc, seed, &templated)?;
        wire.agrees_with_json(json, desc, seed).then_some(wire)
    }

    /// The static fields encoded as the JSON path reads them: the message
    /// of an arrival the wire path renders, its templated fields cleared.
    fn fixed_fields(
        &self,
        json: &Template,
        desc: &MessageDescriptor,
        seed: u64,
        templated: &[FieldDescriptor],
    ) -> Option<Vec<u8>> {
        let mut scratch = Vec::new();
        let arrival = (0..CHECKED_ARRIVALS)
            .map(|seq| Arrival::new(seq, seed, false))
            .find(|a| self.render(a, &mut scratch).is_some())?;
        let mut text = Vec::new();
        json.render(&arrival, &mut text);
        let mut message = grpc::parse_message(desc, std::str::from_utf8(&text).ok()?).ok()?;
        for field in templated {
            message.clear_field(field);
        }
        Some(message.encode_to_vec())
    }

    /// The framed message of `arrival`, or `None` when a rendered value
    /// must go through JSON.
    pub fn render(&self, arrival: &Arrival, scratch: &mut Vec<u8>) -> Option<Bytes> {
        let mut out = Vec::with_capacity(5 + self.fixed.len() + 64);
        out.extend_from_slice(&[0; 5]);
        out.extend_from_slice(&self.fixed);
        for f in &self.fields {
            f.render(arrival, scratch)?;
            f.encode(scratch, &mut out)?;
        }
        let len = (out.len() - 5) as u32;
        out[1..5].copy_from_slice(&len.to_be_bytes());
        Some(Bytes::from(out))
    }

    /// Whether the first arrivals render the same message both ways (or
    /// leave it to JSON). By construction they do (static fields as JSON
    /// reads them, templated ones checked per arrival); this is the proof
    /// on the template at hand.
    fn agrees_with_json(&self, json: &Template, desc: &MessageDescriptor, seed: u64) -> bool {
        let mut scratch = Vec::new();
        (0..CHECKED_ARRIVALS).all(|seq| {
            let arrival = Arrival::new(seq, seed, false);
            let mut text = Vec::new();
            json.render(&arrival, &mut text);
            let slow = std::str::from_utf8(&text)
                .ok()
                .and_then(|t| grpc::encode_unframed(desc, t).ok());
            match (slow, self.render(&arrival, &mut scratch)) {
                // The JSON path serves this arrival anyway.
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(slow), Some(fast)) => {
                    let a = DynamicMessage::decode(desc.clone(), &slow[..]);
                    let b = DynamicMessage::decode(desc.clone(), &fast[5..]);
                    matches!((a, b), (Ok(a), Ok(b)) if a == b)
                }
            }
        })
    }
}

impl WireField {
    /// A templated field whose JSON value is `text` (markers for the
    /// placeholders of `json`).
    fn new(
        field: &FieldDescriptor,
        text: &str,
        json: &Template,
        bare: &[bool],
    ) -> Option<WireField> {
        if field.is_list() || field.is_map() {
            return None;
        }
        let (kind, wire_type) = match field.kind() {
            Kind::String => (ValueKind::Str, WireType::LengthDelimited),
            Kind::Int32 => (ValueKind::Int32, WireType::Varint),
            Kind::Int64 => (ValueKind::Int64, WireType::Varint),
            Kind::Uint32 => (ValueKind::Uint32, WireType::Varint),
            Kind::Uint64 => (ValueKind::Uint64, WireType::Varint),
            Kind::Sint32 => (ValueKind::Sint32, WireType::Varint),
            Kind::Sint64 => (ValueKind::Sint64, WireType::Varint),
            _ => return None,
        };
        let pieces = unmark(text)?;
        match (kind, pieces.as_slice()) {
            // A string is written in quotes: `"s": {{seq}}` is a number to JSON.
            (ValueKind::Str, pieces) => {
                let bare_slot = |p: &Piece| matches!(p, Piece::Slot(n) if bare[*n]);
                if pieces.iter().any(bare_slot) {
                    return None;
                }
            }
            // An integer is one placeholder and nothing else.
            (_, [Piece::Slot(_)]) => {}
            _ => return None,
        }
        let mut key = Vec::new();
        encode_key(field.number(), wire_type, &mut key);
        let value = pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(bytes) => Some(Segment::Text(bytes.into())),
                Piece::Slot(n) => json.placeholder(n).map(Segment::Slot),
            })
            .collect::<Option<_>>()?;
        Some(WireField {
            key,
            kind,
            presence: field.supports_presence(),
            value,
        })
    }

    /// Renders the value into `out`; `None` when a placeholder rendered
    /// what JSON would read otherwise inside a string (the text around it
    /// had its escapes read already).
    fn render(&self, arrival: &Arrival, out: &mut Vec<u8>) -> Option<()> {
        out.clear();
        for segment in &self.value {
            match segment {
                Segment::Text(bytes) => out.extend_from_slice(bytes),
                Segment::Slot(t) => {
                    let from = out.len();
                    t.render(arrival, out);
                    if !plain_json_string(&out[from..]) {
                        return None;
                    }
                }
            }
        }
        Some(())
    }

    /// Appends the field with its rendered `value`; `None` when JSON would
    /// read an integer differently.
    fn encode(&self, value: &[u8], out: &mut Vec<u8>) -> Option<()> {
        if self.kind == ValueKind::Str {
            if !value.is_empty() || self.presence {
                out.extend_from_slice(&self.key);
                encode_varint(value.len() as u64, out);
                out.put_slice(value);
            }
            return Some(());
        }
        let varint = int_varint(self.kind, std::str::from_utf8(value).ok()?)?;
        if varint != 0 || self.presence {
            out.extend_from_slice(&self.key);
            encode_varint(varint, out);
        }
        Some(())
    }
}

/// The template's text with placeholder n as `MARK_OPEN n MARK_CLOSE`, in
/// quotes where it stands outside a JSON string (`"id": {{seq}}`; such
/// placeholders are `true` in the second part); `None` when the text is not
/// UTF-8 or already holds a marker.
fn marked_json(json: &Template) -> Option<(String, Vec<bool>)> {
    let mut out = String::new();
    let mut bare = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for piece in json.pieces() {
        match piece {
            Piece::Text(bytes) => {
                let text = String::from_utf8(bytes).ok()?;
                if text.contains([MARK_OPEN, MARK_CLOSE]) {
                    return None;
                }
                for c in text.chars() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') if in_string => escaped = true,
                        (false, '"') => in_string = !in_string,
                        _ => {}
                    }
                }
                out.push_str(&text);
            }
            Piece::Slot(n) => {
                let mark = format!("{MARK_OPEN}{n}{MARK_CLOSE}");
                match in_string {
                    true => out.push_str(&mark),
                    false => out.push_str(&format!("\"{mark}\"")),
                }
                bare.push(!in_string);
            }
        }
    }
    Some((out, bare))
}

/// A JSON object's members in order, a key given twice kept twice
/// (`serde_json::Value` would keep only the last).
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Members, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Object)
    }
}

/// Whether a marker is anywhere in `value` (keys included).
fn marked_anywhere(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains(MARK_OPEN),
        Value::Array(items) => items.iter().any(marked_anywhere),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(MARK_OPEN) || marked_anywhere(v)),
        _ => false,
    }
}

/// A marked string split back into text and slots.
fn unmark(text: &str) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(MARK_OPEN) {
        if open > 0 {
            pieces.push(Piece::Text(rest.as_bytes()[..open].to_vec()));
        }
        let after = &rest[open + MARK_OPEN.len_utf8()..];
        let close = after.find(MARK_CLOSE)?;
        pieces.push(Piece::Slot(after[..close].parse().ok()?));
        rest = &after[close + MARK_CLOSE.len_utf8()..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.as_bytes().to_vec()));
    }
    Some(pieces)
}

/// Bytes that JSON reads back as themselves inside a string: UTF-8, no
/// quote, backslash or control character.
fn plain_json_string(value: &[u8]) -> bool {
    !value.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20)
        && std::str::from_utf8(value).is_ok()
}

/// The varint of an integer written plainly (as `itoa` writes it: no sign
/// on positives, no leading zeros) within `kind`'s range.
fn int_varint(kind: ValueKind, text: &str) -> Option<u64> {
    let signed = || -> Option<i64> {
        let v: i64 = text.parse().ok()?;
        (itoa::Buffer::new().format(v) == text).then_some(v)
    };
    let unsigned = || -> Option<u64> {
        let v: u64 = text.parse().ok()?;
        (itoa::Buffer::new().format(v) == text).then_some(v)
    };
    let int32 = || signed().filter(|v| i32::try_from(*v).is_ok());
    Some(match kind {
        ValueKind::Int32 => int32()? as u64,
        ValueKind::Int64 => signed()? as u64,
        ValueKind::Uint32 => unsigned().filter(|v| u32::try_from(*v).is_ok())?,
        ValueKind::Uint64 => unsigned()?,
        ValueKind::Sint32 => {
            let v = int32()? as i32;
            u64::from(((v << 1) ^ (v >> 31)) as u32)
        }
        ValueKind::Sint64 => {
            let v = signed()?;
            ((v << 1) ^ (v >> 63)) as u64
        }
        ValueKind::Str => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::error::ConfigError;

    const PROTO: &str = include_str!("../../tests/data/wire.proto");

    fn message() -> MessageDescriptor {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.proto");
        std::fs::write(&path, PROTO).unwrap();
        let pool = grpc::compile(&[path], &[]).unwrap();
        pool.get_message_by_name("t.M").unwrap()
    }

    fn template(text: &str) -> Template {
        let mut no_csv = |_: &str, _: &str| Err(ConfigError("no csv".into()));
        Template::parse(text, &mut 0, &mut no_csv).unwrap()
    }

    /// The message the JSON path makes of arrival `seq`, decoded.
    fn by_json(t: &Template, desc: &MessageDescriptor, seq: u64) -> Option<DynamicMessage> {
        let mut text = Vec::new();
        t.render(&Arrival::new(seq, 7, false), &mut text);
        let bytes = grpc::encode_unframed(desc, std::str::from_utf8(&text).ok()?).ok()?;
        Some(DynamicMessage::decode(desc.clone(), &bytes[..]).unwrap())
    }

    #[test]
    fn every_kind_renders_the_message_json_renders() {
        let desc = message();
        let t = template(
            r#"{"s": "id-{{seq}}\t{{uuid}}", "i32": {{rand_int -3 3}}, "i64": "{{rand_int -9 9}}",
                "u32": {{rand_int 0 2}}, "u64": {{seq}}, "s32": {{rand_int -2 2}},
                "s64": {{rand_int -5 5}}, "os": "{{rand_choice x y}}", "rs": ["a", "b"],
                "inner": {"s": "fixed"}, "b": true, "camelCase": {{rand_int 0 1}}}"#,
        );
        let wire = WireTemplate::compile(&t, &desc, 7).expect("compiled");
        assert_eq!(wire.fields.len(), 9, "{wire:?}");
        assert!(!wire.fixed.is_empty(), "rs, inner and b are static");
        let mut scratch = Vec::new();
        for seq in 0..500 {
            let fast = wire
                .render(&Arrival::new(seq, 7, false), &mut scratch)
                .unwrap();
            assert_eq!(fast[0], 0);
            assert_eq!(
                u32::from_be_bytes(fast[1..5].try_into().unwrap()) as usize,
                fast.len() - 5
            );
            let fast = DynamicMessage::decode(desc.clone(), &fast[5..]).unwrap();
            assert_eq!(Some(fast), by_json(&t, &desc, seq), "arrival {seq}");
        }
    }

    #[test]
    fn what_json_must_do_is_left_to_json() {
        let desc = message();
        for text in [
            r#"{"inner": {"s": "{{seq}}"}}"#,
            r#"{"rs": ["{{seq}}"]}"#,
            r#"{"b": {{rand_choice true false}}}"#,
            r#"{"i32": "n{{seq}}"}"#,
            r#"{"nope": "{{seq}}"}"#,
            r#"{"{{rand_choice s os}}": "x"}"#,
            r#"["{{seq}}"]"#,
            // A string in no quotes is a number to JSON.
            r#"{"s": {{seq}}}"#,
            // A field twice, or by both its names (found by the fuzzer: the
            // static "by" that JSON refused was dropped for the later one).
            r#"{"s": "{{seq}}", "by": "not base64!", "by": "AA=="}"#,
            r#"{"s": "{{seq}}", "s": "x"}"#,
            r#"{"camelCase": {{seq}}, "camel_case": 1}"#,
            // Every arrival left to JSON: nothing to compare with.
            r#"{"s": "{{rand_choice a\b c\d}}"}"#,
        ] {
            assert!(
                WireTemplate::compile(&template(text), &desc, 7).is_none(),
                "{text}"
            );
        }
    }

    #[test]
    fn values_json_reads_otherwise_go_through_json() {
        let desc = message();
        // `a\b` is a backspace to JSON; "7" and "-0" are not how an integer
        // renders plainly; 3000000000 is beyond int32.
        let t = template(r#"{"s": "{{rand_choice a\b plain}}"}"#);
        let wire = WireTemplate::compile(&t, &desc, 7).expect("compiled");
        let mut scratch = Vec::new();
        let (mut fast, mut slow) = (0, 0);
        for seq in 0..64 {
            match wire.render(&Arrival::new(seq, 7, false), &mut scratch) {
                Some(_) => fast += 1,
                None => slow += 1,
            }
        }
        assert!(fast > 0 && slow > 0, "fast {fast}, slow {slow}");
        assert!(
            !plain_json_string(b"a\"b")
                && !plain_json_string(b"\x01")
                && !plain_json_string(b"\xff")
        );
        assert_eq!(int_varint(ValueKind::Int32, "007"), None);
        assert_eq!(int_varint(ValueKind::Int64, "-0"), None);
        assert_eq!(int_varint(ValueKind::Int32, "3000000000"), None);
        assert_eq!(int_varint(ValueKind::Uint32, "-1"), None);
        assert_eq!(int_varint(ValueKind::Int32, "-1"), Some(u64::MAX));
        assert_eq!(int_varint(ValueKind::Sint32, "-1"), Some(1));
        assert_eq!(int_varint(ValueKind::Sint64, "2"), Some(4));
    }
}
