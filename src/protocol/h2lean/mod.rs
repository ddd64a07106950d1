//! HOT: a lean HTTP/2 client connection (h2c, requests without a body),
//! chosen with `--h2-lean`: the h2 crate spends about 16 000 instructions
//! per request (bench/RESULTS.md), most of them on stream bookkeeping and
//! HPACK work this client does not need. Here a request is one HEADERS
//! frame whose block is built from the static table and literals (no
//! dynamic-table insertions); per-stream state is a flat queue indexed by
//! stream id; every frame queued between two writes goes out in one write.
//! The connection opens its windows wide once (stream windows at their
//! maximum, so a response never waits for a WINDOW_UPDATE; the connection's
//! replenished in large steps). A reader task parses frames and completes
//! streams; a writer task flushes the queue. GOAWAY fails the streams above
//! its last id as refused (the pool sends them again), RST_STREAM fails its
//! stream (REFUSED_STREAM: refused), anything malformed ends the connection
//! with GOAWAY(PROTOCOL_ERROR) and fails its streams as `protocol`.

mod frame;
pub mod hpack;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use monoio::buf::IoBufMut;
use monoio::io::{
    AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, OwnedReadHalf, OwnedWriteHalf, Splitable,
};
use monoio::net::TcpStream;

use crate::base::kind::ErrorKind;
use frame::Head;

/// Connection-level bytes received after which the window is topped up
/// again (half the widest window: one WINDOW_UPDATE per GiB).
const REPLENISH_BYTES: u32 = 1 << 30;

/// How a stream ended without a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    /// The whole connection went with it.
    pub lost: bool,
    /// The server refused it unprocessed: it may be sent again.
    pub retry: bool,
}

#[derive(Default)]
struct Stream {
    status: Option<u16>,
    bytes: u64,
    done: Option<Result<(), Failure>>,
    waker: Option<Waker>,
}

#[derive(Default)]
struct State {
    /// Frames queued for the writer.
    out: Vec<u8>,
    writer: Option<Waker>,
    /// Next stream id this client opens (odd, increasing).
    next_id: u32,
    /// Id of `streams[0]`; entry k is stream `base_id + 2k`.
    base_id: u32,
    streams: VecDeque<Option<Stream>>,
    open: usize,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (unbounded until said).
    max_concurrent: Option<u32>,
    /// The first SETTINGS frame arrived (the handshake is done).
    settings_seen: bool,
    handshake: Option<Waker>,
    /// GOAWAY's last stream id: no new streams.
    going_away: Option<u32>,
    /// The connection is gone (every stream has failed).
    lost: Option<Failure>,
    /// Close once the open streams are done.
    closing: bool,
    recv_unacked: u32,
    /// A header block still waiting for CONTINUATION frames.
    partial: Option<Partial>,
}

struct Partial {
    stream: u32,
    end_stream: bool,
    block: Vec<u8>,
}

/// One lean HTTP/2 connection, shared by its reader and writer tasks and
/// the workers' streams.
pub struct Conn {
    state: RefCell<State>,
    decoder: RefCell<hpack::Decoder>,
    max_header_list_bytes: usize,
}

impl Conn {
    /// Sends the preface, starts the writer and returns the connection and
    /// the reader's future (the caller spawns it: when it ends, the
    /// connection is gone). Wait for `handshake()` before the first stream.
    pub fn start(
        tcp: TcpStream,
        max_header_list_bytes: u32,
    ) -> (Rc<Conn>, impl std::future::Future<Output = ()>) {
        let mut out = frame::PREFACE.to_vec();
        frame::put_client_settings(&mut out, max_header_list_bytes);
        let conn = Rc::new(Conn {
            state: RefCell::new(State {
                out,
                next_id: 1,
                base_id: 1,
                ..State::default()
            }),
            decoder: RefCell::new(hpack::Decoder::default()),
            max_header_list_bytes: max_header_list_bytes as usize,
        });
        let (rd, wr) = tcp.into_split();
        monoio::spawn(write_loop(conn.clone(), wr));
        (conn.clone(), read_loop(conn, rd))
    }

    /// Waits for the server's first SETTINGS; Err when the connection ended first.
    pub async fn handshake(&self) -> Result<(), Failure> {
        poll_fn(|cx| {
            let mut st = self.state.borrow_mut();
            if let Some(f) = st.lost {
                Poll::Ready(Err(f))
            } else if st.settings_seen {
                Poll::Ready(Ok(()))
            } else {
                st.handshake = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Streams the server allows at once (None: it has not said).
    pub fn max_concurrent(&self) -> Option<usize> {
        self.state.borrow().max_concurrent.map(|n| n as usize)
    }

    /// Sends a request (its header block, END_STREAM: no body); Err when
    /// nothing was sent (the connection is gone or going away).
    pub fn send(&self, block: &[u8]) -> Result<Open<'_>, Failure> {
        let id = self.open_stream(block)?;
        Ok(Open { conn: self, id })
    }

    fn open_stream(&self, block: &[u8]) -> Result<u32, Failure> {
        let mut st = self.state.borrow_mut();
        if let Some(f) = st.lost {
            return Err(f);
        }
        let id = st.next_id;
        if st.going_away.is_some() || st.closing || id > frame::MAX_WINDOW_BYTES - 2 {
            // Nothing was sent: another connection may take it.
            return Err(Failure {
                kind: ErrorKind::Reset,
                lost: true,
                retry: true,
            });
        }
        st.next_id += 2;
        st.streams.push_back(Some(Stream::default()));
        st.open += 1;
        let flags = frame::FLAG_END_STREAM | frame::FLAG_END_HEADERS;
        // A block over one frame is split into CONTINUATION frames.
        let mut chunks = block.chunks(frame::MAX_FRAME_BYTES).peekable();
        let mut kind = frame::HEADERS;
        let first = chunks.next().unwrap_or(&[]);
        let mut chunk = first;
        loop {
            let last = chunks.peek().is_none();
            let f = match (kind, last) {
                (frame::HEADERS, true) => flags,
                (frame::HEADERS, false) => frame::FLAG_END_STREAM,
                (_, true) => frame::FLAG_END_HEADERS,
                _ => 0,
            };
            frame::put_head(&mut st.out, chunk.len(), kind, f, id);
            st.out.extend_from_slice(chunk);
            match chunks.next() {
                Some(c) => chunk = c,
                None => break,
            }
            kind = frame::CONTINUATION;
        }
        if let Some(w) = st.writer.take() {
            w.wake();
        }
        Ok(id)
    }

    fn poll_stream(&self, id: u32, waker: &Waker) -> Poll<Result<(u16, u64), Failure>> {
        let mut st = self.state.borrow_mut();
        let Some(s) = st.stream_mut(id) else {
            return Poll::Ready(Err(Failure {
                kind: ErrorKind::Protocol,
                lost: false,
                retry: false,
            }));
        };
        match s.done {
            Some(Ok(())) => {
                let r = (s.status.unwrap_or(0), s.bytes);
                st.finish(id);
                Poll::Ready(Ok(r))
            }
            Some(Err(f)) => {
                st.finish(id);
                Poll::Ready(Err(f))
            }
            None => {
                s.waker = Some(waker.clone());
                Poll::Pending
            }
        }
    }

    /// A stream dropped before its end: reset it, forget it.
    fn cancel(&self, id: u32) {
        let mut st = self.state.borrow_mut();
        let ended = st.stream_mut(id).map(|s| s.done.is_some());
        if ended == Some(false) && st.lost.is_none() {
            frame::put_rst_stream(&mut st.out, id, frame::ERROR_CANCEL);
            if let Some(w) = st.writer.take() {
                w.wake();
            }
        }
        if ended.is_some() {
            st.finish(id);
        }
    }

    /// Ends the connection gracefully once its streams are done.
    pub fn close(&self) {
        let mut st = self.state.borrow_mut();
        st.closing = true;
        if let Some(w) = st.writer.take() {
            w.wake();
        }
    }
}

/// A stream sent and not yet answered; dropped before its end (a timed-out
/// request), it is reset (CANCEL) and the connection stays.
pub struct Open<'a> {
    conn: &'a Conn,
    /// 0 once the stream is finished.
    id: u32,
}

impl Open<'_> {
    /// Waits for the response: (status, body bytes).
    pub async fn response(mut self) -> Result<(u16, u64), Failure> {
        let id = self.id;
        let result = poll_fn(|cx| self.conn.poll_stream(id, cx.waker())).await;
        self.id = 0;
        result
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if self.id != 0 {
            self.conn.cancel(self.id);
        }
    }
}

impl State {
    fn stream_mut(&mut self, id: u32) -> Option<&mut Stream> {
        let k = id.checked_sub(self.base_id)? / 2;
        self.streams.get_mut(k as usize)?.as_mut()
    }

    /// Forgets a finished stream; drops leading finished entries.
    fn finish(&mut self, id: u32) {
        let k = ((id - self.base_id) / 2) as usize;
        if self.streams[k].take().is_some() {
            self.open -= 1;
        }
        while let Some(None) = self.streams.front() {
            self.streams.pop_front();
            self.base_id += 2;
        }
        if self.open == 0 && self.closing {
            if let Some(w) = self.writer.take() {
                w.wake();
            }
        }
    }

    fn complete(&mut self, id: u32, result: Result<(), Failure>) {
        if let Some(s) = self.stream_mut(id) {
            if s.done.is_none() {
                s.done = Some(result);
                if let Some(w) = s.waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// Fails every unfinished stream with `f` (the first id above `above`).
    fn fail_streams(&mut self, above: u32, f: Failure) {
        let base = self.base_id;
        for (k, s) in self.streams.iter_mut().enumerate() {
            let id = base + 2 * k as u32;
            if let Some(s) = s.as_mut().filter(|s| s.done.is_none() && id > above) {
                s.done = Some(Err(f));
                if let Some(w) = s.waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// The connection is gone: every stream fails; the handshake and the
    /// writer wake to see it.
    fn lose(&mut self, f: Failure) {
        if self.lost.is_none() {
            self.lost = Some(f);
            self.fail_streams(0, f);
        }
        for w in [self.handshake.take(), self.writer.take()]
            .into_iter()
            .flatten()
        {
            w.wake();
        }
    }
}

/// Ends the connection for a protocol violation by the server.
fn protocol_error(st: &mut State, code: u32) {
    frame::put_goaway(&mut st.out, code);
    st.lose(Failure {
        kind: ErrorKind::Protocol,
        lost: true,
        retry: false,
    });
}

async fn write_loop(conn: Rc<Conn>, mut wr: OwnedWriteHalf<TcpStream>) {
    let mut spare = Vec::with_capacity(16 * 1024);
    loop {
        let batch = poll_fn(|cx| {
            let mut st = conn.state.borrow_mut();
            if !st.out.is_empty() {
                spare.clear();
                return Poll::Ready(Some(std::mem::replace(
                    &mut st.out,
                    std::mem::take(&mut spare),
                )));
            }
            if st.lost.is_some() || (st.closing && st.open == 0) {
                return Poll::Ready(None);
            }
            st.writer = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        let Some(batch) = batch else { break };
        let (res, batch) = wr.write_all(batch).await;
        spare = batch;
        if res.is_err() {
            conn.state.borrow_mut().lose(Failure {
                kind: ErrorKind::Reset,
                lost: true,
                retry: false,
            });
            return;
        }
    }
    if conn.state.borrow().lost.is_none() {
        // Closing gracefully: say so, then half-close; the reader ends at EOF.
        let mut bye = Vec::new();
        frame::put_goaway(&mut bye, 0);
        let _ = wr.write_all(bye).await;
    }
    let _ = wr.shutdown().await;
}

async fn read_loop(conn: Rc<Conn>, mut rd: OwnedReadHalf<TcpStream>) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut start = 0;
    loop {
        if buf.capacity() - buf.len() < frame::MAX_FRAME_BYTES {
            // Keep the unparsed tail only.
            buf.drain(..start);
            start = 0;
            buf.reserve(frame::MAX_FRAME_BYTES + frame::HEADER_BYTES);
        }
        let len = buf.len();
        let (res, slice) = rd.read(buf.slice_mut(len..)).await;
        buf = slice.into_inner();
        let failure = match res {
            Ok(0) | Err(_) => Some(ErrorKind::Reset),
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
                st.partial = Some(Partial {
                    stream: head.stream,
                    end_stream: head.has(frame::FLAG_END_STREAM),
                    block: payload[range].to_vec(),
                });
                if head.has(frame::FLAG_END_HEADERS) {
                    return self.on_header_block(&mut st);
                }
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
                    return self.on_header_block(&mut st);
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
            // WINDOW_UPDATE: requests carry no body, so the send windows do
            // not matter; PRIORITY and unknown kinds are ignored (§5.5).
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
        if let Some(s) = st.stream_mut(head.stream) {
            s.bytes += range.len() as u64;
        }
        if head.has(frame::FLAG_END_STREAM) {
            st.complete(head.stream, Ok(()));
        }
        true
    }

    /// A complete header block: decoded for every stream (the dynamic table
    /// must follow the server's), applied to its stream if still open.
    fn on_header_block(&self, st: &mut State) -> bool {
        let p = st.partial.take().expect("a header block in progress");
        let Ok(decoded) = self.decoder.borrow_mut().decode(&p.block) else {
            // COMPRESSION_ERROR (0x9): the table is out of step for good.
            protocol_error(st, 0x9);
            return false;
        };
        let Some(s) = st.stream_mut(p.stream) else {
            return true;
        };
        match (decoded, s.status) {
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
                st.complete(p.stream, Err(f));
                return true;
            }
        }
        if p.end_stream {
            st.complete(p.stream, Ok(()));
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
            if id == frame::SETTINGS_MAX_CONCURRENT_STREAMS {
                st.max_concurrent = Some(value);
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
