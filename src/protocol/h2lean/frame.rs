//! HTTP/2 frames (RFC 9113 §4 and §6) as the lean client reads and writes
//! them: the 9-byte header, and the few payloads it builds (SETTINGS,
//! WINDOW_UPDATE, RST_STREAM, PING acknowledgements, HEADERS).

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const HEADER_BYTES: usize = 9;
/// The largest frame payload this client accepts (SETTINGS_MAX_FRAME_SIZE is
/// left at its default).
pub const MAX_FRAME_BYTES: usize = 16_384;
/// The largest flow-control window (RFC 9113 §6.9.1).
pub const MAX_WINDOW_BYTES: u32 = (1 << 31) - 1;
/// The window every stream and the connection start with.
pub const DEFAULT_WINDOW_BYTES: u32 = 65_535;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PUSH_PROMISE: u8 = 0x5;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const FLAG_END_STREAM: u8 = 0x1;
pub const FLAG_ACK: u8 = 0x1;
pub const FLAG_END_HEADERS: u8 = 0x4;
pub const FLAG_PADDED: u8 = 0x8;
pub const FLAG_PRIORITY: u8 = 0x20;

pub const SETTINGS_ENABLE_PUSH: u16 = 0x2;
pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

pub const ERROR_PROTOCOL: u32 = 0x1;
pub const ERROR_FRAME_SIZE: u32 = 0x6;
pub const ERROR_REFUSED_STREAM: u32 = 0x7;
pub const ERROR_CANCEL: u32 = 0x8;

/// A frame's 9-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

impl Head {
    /// Reads a header from the first 9 bytes of `buf` (None when shorter).
    pub fn parse(buf: &[u8]) -> Option<Head> {
        let b = buf.get(..HEADER_BYTES)?;
        Some(Head {
            len: (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]),
            kind: b[3],
            flags: b[4],
            // The reserved bit is ignored on receipt (RFC 9113 §4.1).
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & MAX_WINDOW_BYTES,
        })
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// A frame header for a payload of `len` bytes (below 2^24).
pub fn head(len: usize, kind: u8, flags: u8, stream: u32) -> [u8; HEADER_BYTES] {
    let l = (len as u32).to_be_bytes();
    let s = stream.to_be_bytes();
    [l[1], l[2], l[3], kind, flags, s[0], s[1], s[2], s[3]]
}

/// Appends a frame header for a payload of `len` bytes.
pub fn put_head(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    out.extend_from_slice(&head(len, kind, flags, stream));
}

/// The client's SETTINGS: no server push, the widest stream window (so a
/// stream's response is never throttled and needs no WINDOW_UPDATE), and a
/// bound on the response header list; then the connection window opened
/// to its widest, once.
pub fn put_client_settings(out: &mut Vec<u8>, max_header_list_bytes: u32) {
    let settings: [(u16, u32); 3] = [
        (SETTINGS_ENABLE_PUSH, 0),
        (SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW_BYTES),
        (SETTINGS_MAX_HEADER_LIST_SIZE, max_header_list_bytes),
    ];
    put_head(out, settings.len() * 6, SETTINGS, 0, 0);
    for (id, value) in settings {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
    put_window_update(out, 0, MAX_WINDOW_BYTES - DEFAULT_WINDOW_BYTES);
}

pub fn put_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    put_head(out, 4, WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

pub fn put_rst_stream(out: &mut Vec<u8>, stream: u32, code: u32) {
    put_head(out, 4, RST_STREAM, 0, stream);
    out.extend_from_slice(&code.to_be_bytes());
}

pub fn put_goaway(out: &mut Vec<u8>, code: u32) {
    put_head(out, 8, GOAWAY, 0, 0);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&code.to_be_bytes());
}

/// The settings in a SETTINGS payload: (identifier, value) pairs, or None
/// when the length is not a multiple of 6 (a FRAME_SIZE_ERROR).
pub fn settings(payload: &[u8]) -> Option<impl Iterator<Item = (u16, u32)> + '_> {
    if payload.len() % 6 != 0 {
        return None;
    }
    Some(payload.chunks_exact(6).map(|c| {
        (
            u16::from_be_bytes([c[0], c[1]]),
            u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
        )
    }))
}

/// A payload without its padding (PADDED flag: a length byte first, that
/// many bytes at the end) and, for HEADERS with PRIORITY, without the 5
/// priority bytes; None when the padding does not fit (PROTOCOL_ERROR).
pub fn unpadded(head: &Head, payload: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut start = 0;
    let mut end = payload.len();
    if head.has(FLAG_PADDED) {
        let pad = usize::from(*payload.first()?);
        start = 1;
        end = end.checked_sub(pad)?;
    }
    if head.kind == HEADERS && head.has(FLAG_PRIORITY) {
        start += 5;
    }
    (start <= end).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_round_trip() {
        let mut out = Vec::new();
        put_head(&mut out, 0x01_02_03, HEADERS, FLAG_END_HEADERS, 7);
        assert_eq!(out, [1, 2, 3, 1, 4, 0, 0, 0, 7]);
        let h = Head::parse(&out).unwrap();
        assert_eq!((h.len, h.kind, h.flags, h.stream), (0x01_02_03, 1, 4, 7));
        assert!(Head::parse(&out[..8]).is_none());
        // The reserved bit is dropped.
        let h = Head::parse(&[0, 0, 0, 0, 0, 0x80, 0, 0, 1]).unwrap();
        assert_eq!(h.stream, 1);
    }

    #[test]
    fn settings_and_padding() {
        let mut out = Vec::new();
        put_client_settings(&mut out, 65_536);
        let h = Head::parse(&out).unwrap();
        assert_eq!((h.kind, h.len), (SETTINGS, 18));
        let s: Vec<_> = settings(&out[9..9 + h.len]).unwrap().collect();
        assert_eq!(s[1], (SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW_BYTES));
        assert!(settings(&[0; 5]).is_none());
        let padded = Head {
            len: 5,
            kind: DATA,
            flags: FLAG_PADDED,
            stream: 1,
        };
        assert_eq!(unpadded(&padded, &[2, b'a', b'b', 0, 0]), Some(1..3));
        assert_eq!(unpadded(&padded, &[9, 0]), None);
        assert_eq!(unpadded(&padded, &[]), None);
    }
}
