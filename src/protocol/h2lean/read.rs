//! HOT: the lean client's reader: parses the server's frames out of one
//! read buffer and applies them to the connection's streams (responses,
//! resets, GOAWAY, SETTINGS, PING, flow control).

use std::rc::Rc;

use super::frame::{self, Head};
use super::wire::Reader;
use super::{Conn, Failure, Partial, State};
use crate::base::kind::ErrorKind;

/// Connection-level bytes received after which the window is topped up
/// again (half the widest window: one WINDOW_UPDATE per GiB).
const REPLENISH_BYTES: u32 = 1 << 30;

/// Ends the connection for a protocol violation by the server.
fn protocol_error(st: &mut State, code: u32) {
    frame::put_goaway(&mut st.out, code);
    st.lose(Failure {
        kind: ErrorKind::Protocol,
        lost: true,
        retry: false,
    });
}

pub(super) async fn read_loop(conn: Rc<Conn>, mut rd: Reader) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut start = 0;
    loop {
        if buf.capacity() - buf.len() < frame::MAX_FRAME_BYTES {
            // Keep the unparsed tail only.
            buf.drain(..start);
            start = 0;
            buf.reserve(frame::MAX_FRAME_BYTES + frame::HEADER_BYTES);
        }
        let failure = match rd.fill(&mut buf).await {
            Ok(0) => Some(ErrorKind::Reset),
            // A TLS record rustls rejects.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Some(ErrorKind::Protocol),
            Err(_) => Some(ErrorKind::Reset),
            Ok(_) => None,
        };
        if let Some(kind) = failure {
            let mut st = conn.state.borrow_mut();
            st.lose(Failure {
                kind,
                lost: true,
                retry: false,
            });
            return;
        }
        while let Some(head) = Head::parse(&buf[start..]) {
            if head.len > frame::MAX_FRAME_BYTES {
                protocol_error(&mut conn.state.borrow_mut(), frame::ERROR_FRAME_SIZE);
                return;
            }
            let end = start + frame::HEADER_BYTES + head.len;
            if buf.len() < end {
                break;
            }
            let payload = &buf[start + frame::HEADER_BYTES..end];
            if !conn.on_frame(head, payload) {
                return;
            }
            start = end;
        }
        if start == buf.len() {
            buf.clear();
            start = 0;
        }
        if conn.state.borrow().lost.is_some() {
            return;
        }
    }
}

impl Conn {
    /// Handles one frame; false when the connection is over.
    fn on_frame(&self, head: Head, payload: &[u8]) -> bool {
        let mut st = self.state.borrow_mut();
        if st.partial.is_some() && head.kind != frame::CONTINUATION {
            protocol_error(&mut st, frame::ERROR_PROTOCOL);
            return false;
        }
        match head.kind {
            frame::DATA => self.on_data(&mut st, head, payload),
            frame::HEADERS => {
                let Some(range) = frame::unpadded(&head, payload) else {
                    protocol_error(&mut st, frame::ERROR_PROTOCOL);
                    return false;
                };
                let end_stream = head.has(frame::FLAG_END_STREAM);
                if head.has(frame::FLAG_END_HEADERS) {
                    // The usual case: the whole block in this frame, read in place.
                    return self.on_header_block(&mut st, head.stream, end_stream, &payload[range]);
                }
                st.partial = Some(Partial {
                    stream: head.stream,
                    end_stream,
                    block: payload[range].to_vec(),
                });
                true
            }
            frame::CONTINUATION => {
                let fits = match st.partial.as_mut() {
                    Some(p) if p.stream == head.stream => {
                        p.block.extend_from_slice(payload);
                        p.block.len() <= self.max_header_list_bytes
                    }
                    _ => false,
                };
                if !fits {
                    protocol_error(&mut st, frame::ERROR_PROTOCOL);
                    return false;
                }
                if head.has(frame::FLAG_END_HEADERS) {
                    let p = st.partial.take().expect("checked above");
                    return self.on_header_block(&mut st, p.stream, p.end_stream, &p.block);
                }
                true
            }
            frame::RST_STREAM => {
                if payload.len() != 4 {
                    protocol_error(&mut st, frame::ERROR_FRAME_SIZE);
                    return false;
                }
                let code = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                let refused = code == frame::ERROR_REFUSED_STREAM;
                st.complete(
                    head.stream,
                    Err(Failure {
                        kind: ErrorKind::Reset,
                        lost: false,
                        retry: refused,
                    }),
                );
                true
            }
            frame::SETTINGS => self.on_settings(&mut st, head, payload),
            frame::PING => {
                if payload.len() != 8 {
                    protocol_error(&mut st, frame::ERROR_FRAME_SIZE);
                    return false;
                }
                if !head.has(frame::FLAG_ACK) {
                    frame::put_head(&mut st.out, 8, frame::PING, frame::FLAG_ACK, 0);
                    st.out.extend_from_slice(payload);
                    if let Some(w) = st.writer.take() {
                        w.wake();
                    }
                }
                true
            }
            frame::GOAWAY => {
                if payload.len() < 8 {
                    protocol_error(&mut st, frame::ERROR_FRAME_SIZE);
                    return false;
                }
                let last = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                    & frame::MAX_WINDOW_BYTES;
                st.going_away = Some(last);
                st.closing = true;
                // Streams above `last` were never processed: send them again.
                st.fail_streams(
                    last,
                    Failure {
                        kind: ErrorKind::Reset,
                        lost: true,
                        retry: true,
                    },
                );
                if st.open == 0 {
                    st.lose(Failure {
                        kind: ErrorKind::Reset,
                        lost: true,
                        retry: true,
                    });
                    return false;
                }
                true
            }
            // Push is disabled in our SETTINGS: a PUSH_PROMISE is an error.
            frame::PUSH_PROMISE => {
                protocol_error(&mut st, frame::ERROR_PROTOCOL);
                false
            }
            frame::WINDOW_UPDATE => {
                if payload.len() != 4 {
                    protocol_error(&mut st, frame::ERROR_FRAME_SIZE);
                    return false;
                }
                let inc = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                    & frame::MAX_WINDOW_BYTES;
                st.on_window_update(head.stream, inc);
                true
            }
            // PRIORITY and unknown kinds are ignored (§5.5).
            _ => true,
        }
    }

    fn on_data(&self, st: &mut State, head: Head, payload: &[u8]) -> bool {
        let Some(range) = frame::unpadded(&head, payload) else {
            protocol_error(st, frame::ERROR_PROTOCOL);
            return false;
        };
        // The whole payload, padding included, counts against the window.
        st.recv_unacked += payload.len() as u32;
        if st.recv_unacked >= REPLENISH_BYTES {
            let n = std::mem::take(&mut st.recv_unacked);
            frame::put_window_update(&mut st.out, 0, n);
            if let Some(w) = st.writer.take() {
                w.wake();
            }
        }
        let Some(s) = st.stream_mut(head.stream) else {
            return true;
        };
        let headless = s.status.is_none();
        s.bytes += range.len() as u64;
        // A body over 1 GiB tops its stream's window up too.
        s.recv_unacked += payload.len() as u32;
        if s.recv_unacked >= REPLENISH_BYTES {
            let n = std::mem::take(&mut s.recv_unacked);
            frame::put_window_update(&mut st.out, head.stream, n);
        }
        if headless {
            // DATA before the response's head: the stream is malformed.
            let f = Failure {
                kind: ErrorKind::Protocol,
                lost: false,
                retry: false,
            };
            st.complete(head.stream, Err(f));
        } else if head.has(frame::FLAG_END_STREAM) {
            st.complete(head.stream, Ok(()));
        }
        true
    }

    /// A complete header block: decoded for every stream (the dynamic table
    /// must follow the server's), applied to its stream if still open.
    fn on_header_block(&self, st: &mut State, id: u32, end_stream: bool, block: &[u8]) -> bool {
        let Ok(head) = self.decoder.borrow_mut().decode(block) else {
            // COMPRESSION_ERROR (0x9): the table is out of step for good.
            protocol_error(st, 0x9);
            return false;
        };
        let Some(s) = st.stream_mut(id) else {
            return true;
        };
        match (head.status, s.status) {
            // Informational (1xx): a final head follows.
            (Some(Some(code)), None) if code < 200 => return true,
            (Some(Some(code)), None) => s.status = Some(code),
            // Trailers after the final head.
            (None, Some(_)) => {}
            // No status, a malformed one, or a second final head.
            _ => {
                let f = Failure {
                    kind: ErrorKind::Protocol,
                    lost: false,
                    retry: false,
                };
                st.complete(id, Err(f));
                return true;
            }
        }
        // Trailers' `grpc-status` overrides the head's.
        if head.grpc_status.is_some() {
            s.grpc_status = head.grpc_status;
        }
        if end_stream {
            st.complete(id, Ok(()));
        }
        true
    }

    fn on_settings(&self, st: &mut State, head: Head, payload: &[u8]) -> bool {
        if head.has(frame::FLAG_ACK) {
            return true;
        }
        let Some(settings) = frame::settings(payload) else {
            protocol_error(st, frame::ERROR_FRAME_SIZE);
            return false;
        };
        for (id, value) in settings {
            match id {
                frame::SETTINGS_MAX_CONCURRENT_STREAMS => st.max_concurrent = Some(value),
                frame::SETTINGS_INITIAL_WINDOW_SIZE if value <= frame::MAX_WINDOW_BYTES => {
                    st.on_initial_window(value)
                }
                // Legal values are 2^14..2^24-1 (§6.5.2); others are ignored.
                frame::SETTINGS_MAX_FRAME_SIZE if (1 << 14..1 << 24).contains(&value) => {
                    st.peer_max_frame = value as usize
                }
                _ => {}
            }
        }
        frame::put_head(&mut st.out, 0, frame::SETTINGS, frame::FLAG_ACK, 0);
        st.settings_seen = true;
        for w in [st.handshake.take(), st.writer.take()]
            .into_iter()
            .flatten()
        {
            w.wake();
        }
        true
    }
}
