//! HPACK (RFC 7541) for the lean client. Requests: a header block built
//! from the static table and literals "without indexing" only, so it never
//! touches the dynamic table and the same bytes serve every stream of a
//! request shape. Responses: a decoder that follows the server's dynamic
//! table and reads `:status` and `grpc-status` alone (`loona-hpack`'s full
//! decoder builds a Huffman table per string: 80 % of a core in a profile).
//! The few strings that must be decoded go through `httlib-huffman`'s
//! table-driven decoder (loona-hpack's walks bit by bit through hash maps:
//! 68 % of the client's cycles against nginx, which inserts into the table
//! on every response).

use std::borrow::Cow;
use std::collections::VecDeque;

use httlib_huffman::DecoderSpeed;
use http::{Method, Uri};

use crate::protocol::grpc;
use crate::protocol::h2_request::H2Request;

/// Static-table entries (RFC 7541 Appendix A) the request head uses.
const AUTHORITY: usize = 1;
const METHOD_GET: usize = 2;
const METHOD_POST: usize = 3;
const PATH: usize = 4;
const PATH_ROOT: usize = 4;
const SCHEME_HTTP: usize = 6;
const SCHEME_HTTPS: usize = 7;
const METHOD: usize = 2;
const CONTENT_LENGTH: usize = 28;

/// Appends an integer with an N-bit prefix (RFC 7541 §5.1); `first` holds
/// the bits above the prefix.
fn put_int(out: &mut Vec<u8>, first: u8, prefix_bits: u32, mut n: usize) {
    let max = (1usize << prefix_bits) - 1;
    if n < max {
        out.push(first | n as u8);
        return;
    }
    out.push(first | max as u8);
    n -= max;
    while n >= 128 {
        out.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    out.push(n as u8);
}

/// A string literal, not Huffman-coded.
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_int(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// Literal without indexing, the name by static index.
fn put_indexed_name(out: &mut Vec<u8>, index: usize, value: &[u8]) {
    put_int(out, 0, 4, index);
    put_str(out, value);
}

/// Literal without indexing of a decimal number, the name by static index.
fn put_indexed_number(out: &mut Vec<u8>, index: usize, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    put_indexed_name(out, index, &digits[at..]);
}

/// Appends the request's head to `out`, all but its `content-length`
/// ([`encode_length`], which goes last): pseudo-headers first (RFC 9113
/// §8.3). The same for every request that differs in its body only.
pub fn encode_head(req: &H2Request, out: &mut Vec<u8>) {
    match req.method {
        Method::GET => put_int(out, 0x80, 7, METHOD_GET),
        Method::POST => put_int(out, 0x80, 7, METHOD_POST),
        ref m => put_indexed_name(out, METHOD, m.as_str().as_bytes()),
    }
    match req.uri.scheme_str() {
        Some("https") => put_int(out, 0x80, 7, SCHEME_HTTPS),
        _ => put_int(out, 0x80, 7, SCHEME_HTTP),
    }
    put_indexed_name(out, AUTHORITY, authority(&req.uri).as_bytes());
    match req.uri.path_and_query().map(|p| p.as_str()) {
        None | Some("/") | Some("") => put_int(out, 0x80, 7, PATH_ROOT),
        Some(p) => put_indexed_name(out, PATH, p.as_bytes()),
    }
    for (name, value) in req.headers.iter() {
        // Literal without indexing, new name (names are lower-case already).
        out.push(0);
        put_str(out, name.as_str().as_bytes());
        put_str(out, value.as_bytes());
    }
}

/// Appends the body's `content-length`, unless there is no body or the
/// request names its own.
pub fn encode_length(req: &H2Request, out: &mut Vec<u8>) {
    if !req.body.is_empty() && !req.headers.contains_key(http::header::CONTENT_LENGTH) {
        put_indexed_number(out, CONTENT_LENGTH, req.body.len());
    }
}

fn authority(uri: &Uri) -> &str {
    uri.authority().map(|a| a.as_str()).unwrap_or("")
}

/// RFC 7541 Appendix A: the static table's names (index 1..=61); only
/// their lengths matter here (a dynamic entry's size counts its name).
const STATIC_NAMES: [&str; 61] = [
    ":authority",
    ":method",
    ":method",
    ":path",
    ":path",
    ":scheme",
    ":scheme",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "accept",
    "access-control-allow-origin",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "link",
    "location",
    "max-forwards",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "transfer-encoding",
    "user-agent",
    "vary",
    "via",
    "www-authenticate",
];
/// The values of static entries 8..=14 (`:status`).
const STATIC_STATUS: [u16; 7] = [200, 204, 206, 304, 400, 404, 500];
/// SETTINGS_HEADER_TABLE_SIZE: this client leaves it at the default.
const TABLE_BYTES: usize = 4096;

/// Malformed HPACK: a COMPRESSION_ERROR, which ends the connection.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// The two headers this decoder reads; every other name is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    Status,
    GrpcStatus,
    Other,
}

/// What a header block says, as far as this client reads it: each field
/// None when absent, Some(None) when present but not a valid code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// `:status` (a 3-digit code).
    pub status: Option<Option<u16>>,
    /// `grpc-status` (codes above 16 read as UNKNOWN).
    pub grpc_status: Option<Option<u16>>,
}

impl Head {
    fn set(&mut self, name: Known, value: Option<u16>) {
        match name {
            Known::Status => self.status = Some(value),
            Known::GrpcStatus => self.grpc_status = Some(value),
            Known::Other => {}
        }
    }
}

/// A dynamic-table entry: its size (RFC 7541 §4.1), its name's length,
/// which header it is, and its code when it is one this decoder reads.
struct Entry {
    bytes: usize,
    name_bytes: usize,
    name: Known,
    value: Option<u16>,
}

/// A response header decoder that keeps the server's dynamic table in step
/// and reads `:status` and `grpc-status` alone. Header values are never
/// decoded, except those entering the dynamic table (their decoded length
/// is their size) and those two; a stable server inserts little once warm.
pub struct Decoder {
    /// Newest first (index 62 is `table[0]`).
    table: VecDeque<Entry>,
    bytes: usize,
    max_bytes: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            table: VecDeque::new(),
            bytes: 0,
            max_bytes: TABLE_BYTES,
        }
    }
}

/// A string field: its bytes as sent, and whether Huffman-coded.
struct Field<'a> {
    raw: &'a [u8],
    huffman: bool,
}

/// Reads an integer with an N-bit prefix at `*pos`.
fn int(buf: &[u8], pos: &mut usize, prefix_bits: u32) -> Result<usize, Malformed> {
    let max = (1usize << prefix_bits) - 1;
    let mut n = usize::from(*buf.get(*pos).ok_or(Malformed)?) & max;
    *pos += 1;
    if n < max {
        return Ok(n);
    }
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos).ok_or(Malformed)?;
        *pos += 1;
        n = n
            .checked_add(usize::from(b & 0x7f).checked_shl(shift).ok_or(Malformed)?)
            .ok_or(Malformed)?;
        if b & 0x80 == 0 {
            return Ok(n);
        }
        shift += 7;
        if shift > 28 {
            return Err(Malformed);
        }
    }
}

fn field<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Field<'a>, Malformed> {
    let huffman = buf.get(*pos).ok_or(Malformed)? & 0x80 != 0;
    let len = int(buf, pos, 7)?;
    let raw = buf.get(*pos..*pos + len).ok_or(Malformed)?;
    *pos += len;
    Ok(Field { raw, huffman })
}

/// What a name refers to: static index, dynamic entry or a literal.
enum Name<'a> {
    Index(usize),
    Literal(Field<'a>),
}

impl Decoder {
    /// The decoded bytes of a field (Huffman decoded when coded).
    fn text<'a>(&self, f: &Field<'a>) -> Result<Cow<'a, [u8]>, Malformed> {
        if f.huffman {
            // At least 5 bits a byte: room for the longest result at once.
            let mut decoded = Vec::with_capacity(f.raw.len() * 8 / 5);
            httlib_huffman::decode(f.raw, &mut decoded, DecoderSpeed::FourBits)
                .map_err(|_| Malformed)?;
            Ok(Cow::Owned(decoded))
        } else {
            Ok(Cow::Borrowed(f.raw))
        }
    }

    /// Decodes one complete header block (HEADERS plus any CONTINUATION)
    /// into what it says of `:status` and `grpc-status`. Err on malformed
    /// HPACK, a COMPRESSION_ERROR that ends the connection.
    pub fn decode(&mut self, block: &[u8]) -> Result<Head, Malformed> {
        let mut head = Head::default();
        let mut pos = 0;
        while let Some(&b) = block.get(pos) {
            if b & 0x80 != 0 {
                let i = int(block, &mut pos, 7)?;
                let (name, value) = self.indexed(i)?;
                head.set(name, value);
                continue;
            }
            if b & 0xe0 == 0x20 {
                let n = int(block, &mut pos, 5)?;
                if n > TABLE_BYTES {
                    return Err(Malformed);
                }
                self.max_bytes = n;
                self.evict(0);
                continue;
            }
            let insert = b & 0xc0 == 0x40;
            let i = int(block, &mut pos, if insert { 6 } else { 4 })?;
            let name = match i {
                0 => Name::Literal(field(block, &mut pos)?),
                i => Name::Index(i),
            };
            let value = field(block, &mut pos)?;
            let known = match &name {
                Name::Index(i) => self.indexed(*i)?.0,
                Name::Literal(f) => match &self.text(f)?[..] {
                    b":status" => Known::Status,
                    b"grpc-status" => Known::GrpcStatus,
                    _ => Known::Other,
                },
            };
            let code = match known {
                Known::Status => parse_status(&self.text(&value)?),
                Known::GrpcStatus => grpc::code(&self.text(&value)?),
                Known::Other => None,
            };
            head.set(known, code);
            if insert {
                let name_bytes = match &name {
                    Name::Index(i) => self.name_len(*i)?,
                    Name::Literal(f) => self.text(f)?.len(),
                };
                let value_bytes = self.text(&value)?.len();
                self.insert(name_bytes, value_bytes, (known, code));
            }
        }
        Ok(head)
    }

    /// Which header index `i` names, and its code when it has one.
    fn indexed(&self, i: usize) -> Result<(Known, Option<u16>), Malformed> {
        match i {
            0 => Err(Malformed),
            8..=14 => Ok((Known::Status, Some(STATIC_STATUS[i - 8]))),
            1..=61 => Ok((Known::Other, None)),
            _ => {
                let e = self.table.get(i - 62).ok_or(Malformed)?;
                Ok((e.name, e.value))
            }
        }
    }

    fn name_len(&self, i: usize) -> Result<usize, Malformed> {
        match i {
            1..=61 => Ok(STATIC_NAMES[i - 1].len()),
            _ => Ok(self.table.get(i - 62).ok_or(Malformed)?.name_bytes),
        }
    }

    fn insert(
        &mut self,
        name_bytes: usize,
        value_bytes: usize,
        (name, value): (Known, Option<u16>),
    ) {
        let bytes = name_bytes + value_bytes + 32;
        // An entry larger than the table empties it and is not added.
        self.evict(bytes);
        if bytes <= self.max_bytes {
            self.bytes += bytes;
            self.table.push_front(Entry {
                bytes,
                name_bytes,
                name,
                value,
            });
        }
    }

    /// Evicts the oldest entries until `room` more bytes fit (RFC 7541 §4.4).
    fn evict(&mut self, room: usize) {
        while self.bytes + room > self.max_bytes {
            match self.table.pop_back() {
                Some(e) => self.bytes -= e.bytes,
                None => break,
            }
        }
    }
}

fn parse_status(v: &[u8]) -> Option<u16> {
    match v {
        [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    fn req(method: Method, uri: &str, headers: &[(&'static str, &'static str)]) -> H2Request {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.insert(*n, v.parse().unwrap());
        }
        H2Request {
            method,
            uri: uri.parse().unwrap(),
            headers: map.into(),
            body: Bytes::new(),
            grpc: false,
            block: Default::default(),
        }
    }

    /// The `:status` a block says.
    fn status(dec: &mut Decoder, block: &[u8]) -> Result<Option<Option<u16>>, Malformed> {
        dec.decode(block).map(|h| h.status)
    }

    fn encoded(r: &H2Request) -> Vec<u8> {
        let mut out = Vec::new();
        encode_head(r, &mut out);
        encode_length(r, &mut out);
        out
    }

    /// What the block encodes, read back by an independent decoder.
    fn decoded(block: &[u8]) -> Vec<(String, String)> {
        loona_hpack::Decoder::new()
            .decode(block)
            .unwrap()
            .into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    #[test]
    fn request_heads_decode_to_what_was_asked() {
        let r = req(
            Method::GET,
            "http://127.0.0.1:8080/",
            &[("user-agent", "rwg")],
        );
        let pairs = decoded(&encoded(&r));
        let want = [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "127.0.0.1:8080"),
            (":path", "/"),
            ("user-agent", "rwg"),
        ];
        assert_eq!(pairs.len(), want.len());
        for (got, want) in pairs.iter().zip(want) {
            assert_eq!((got.0.as_str(), got.1.as_str()), want);
        }
        let long_path = format!("http://h/{}?q=1", "p".repeat(300));
        let r = req(Method::DELETE, &long_path, &[]);
        let pairs = decoded(&encoded(&r));
        assert_eq!(pairs[0], (":method".into(), "DELETE".into()));
        assert_eq!(pairs[3].1.len(), 305, "a path longer than a 7-bit length");
    }

    #[test]
    fn status_is_read_and_the_dynamic_table_kept() {
        let mut enc = Vec::new();
        // Literal with incremental indexing, name ":status" (index 8).
        enc.extend_from_slice(&[0x48, 3]);
        enc.extend_from_slice(b"299");
        let mut dec = Decoder::default();
        assert_eq!(status(&mut dec, &enc), Ok(Some(Some(299))));
        // The next block refers to the entry just added (index 62), and to
        // a static one.
        assert_eq!(status(&mut dec, &[0x80 | 62]), Ok(Some(Some(299))));
        assert_eq!(status(&mut dec, &[0x80 | 13]), Ok(Some(Some(404))));
        assert_eq!(status(&mut dec, &[0x80 | 99]), Err(Malformed));
        assert_eq!(status(&mut dec, &[0x80]), Err(Malformed), "index 0");
        assert_eq!(
            status(&mut dec, &[0x48, 9, b'x']),
            Err(Malformed),
            "truncated string"
        );
        // RFC 7541 C.6.1: ":status: 302", Huffman-coded, indexed.
        assert_eq!(
            status(&mut dec, &[0x48, 0x82, 0x64, 0x02]),
            Ok(Some(Some(302)))
        );
        assert_eq!(status(&mut dec, &[0x80 | 62]), Ok(Some(Some(302))));
        assert_eq!(
            status(&mut dec, &[0x80 | 63]),
            Ok(Some(Some(299))),
            "older entry moved up"
        );
        // Trailers: no status.
        assert_eq!(status(&mut dec, &[0x00, 1, b'a', 1, b'b']), Ok(None));
        assert_eq!(parse_status(b"20"), None);
        assert_eq!(parse_status(b"099"), None);
    }

    /// A table kept in step with an independent encoder (loona-hpack's),
    /// through insertions, Huffman-coded strings and evictions.
    #[test]
    fn follows_an_encoder_through_evictions() {
        let mut enc = loona_hpack::Encoder::new();
        let mut dec = Decoder::default();
        let mut check = loona_hpack::Decoder::new();
        for i in 0..400u32 {
            let code = format!("{}", 200 + i % 300);
            let filler = "v".repeat((i % 97) as usize);
            let name = format!("x-header-{}", i % 13);
            let headers: Vec<(&[u8], &[u8])> = vec![
                (b":status", code.as_bytes()),
                (name.as_bytes(), filler.as_bytes()),
                (b"server", b"test"),
            ];
            let block = enc.encode(headers.iter().copied());
            let want: u16 = code.parse().unwrap();
            assert_eq!(status(&mut dec, &block), Ok(Some(Some(want))), "block {i}");
            assert!(check.decode(&block).is_ok());
        }
    }

    /// gRPC's status, in trailers or a trailers-only head, as an
    /// independent encoder writes it: Huffman-coded, then indexed.
    #[test]
    fn grpc_status_is_read() {
        let mut enc = loona_hpack::Encoder::new();
        let mut dec = Decoder::default();
        let head: [(&[u8], &[u8]); 2] =
            [(b":status", b"200"), (b"content-type", b"application/grpc")];
        let got = dec.decode(&enc.encode(head)).unwrap();
        assert_eq!(
            got,
            Head {
                status: Some(Some(200)),
                grpc_status: None
            }
        );
        for (value, want) in [
            ("0", Some(0)),
            ("14", Some(14)),
            ("99", Some(2)),
            ("x", None),
            ("0", Some(0)),
        ] {
            let trailers: [(&[u8], &[u8]); 1] = [(b"grpc-status", value.as_bytes())];
            let got = dec.decode(&enc.encode(trailers)).unwrap();
            assert_eq!(
                got,
                Head {
                    status: None,
                    grpc_status: Some(want)
                },
                "{value}"
            );
        }
        // The last one referred to a dynamic entry: check it was.
        let trailers: [(&[u8], &[u8]); 1] = [(b"grpc-status", b"0")];
        assert_eq!(enc.encode(trailers).len(), 1, "indexed");
        // Literal without indexing, name as a literal string.
        let mut block = vec![0x00, 11];
        block.extend_from_slice(b"grpc-status");
        block.extend_from_slice(&[2, b'1', b'6']);
        assert_eq!(dec.decode(&block).unwrap().grpc_status, Some(Some(16)));
    }

    #[test]
    fn static_names_are_the_rfcs() {
        let mut check = loona_hpack::Decoder::new();
        for (i, name) in STATIC_NAMES.iter().enumerate() {
            let got = check.decode(&[0x80 | (i as u8 + 1)]).unwrap();
            assert_eq!(got[0].0, name.as_bytes(), "index {}", i + 1);
        }
        for (k, code) in STATIC_STATUS.iter().enumerate() {
            let got = check.decode(&[0x80 | (k as u8 + 8)]).unwrap();
            assert_eq!(got[0].1, code.to_string().as_bytes());
        }
    }
}
