//! HOT: a lean HTTP/2 client connection, rwg's default for HTTP/2 and
//! gRPC, plain or over TLS (`wire`; `--h2-crate` picks the h2 crate's
//! client): the h2 crate spends about 16 000 instructions
//! per request (bench/RESULTS.md), most of them on stream bookkeeping and
//! HPACK work this client does not need. Here a request is one HEADERS
//! frame whose block is built from the static table and literals (no
//! dynamic-table insertions); per-stream state is a flat queue indexed by
//! stream id; every frame queued between two writes goes out in one write.
//! The connection opens its windows wide once (every window at its
//! maximum, 2 GiB, so a response never waits for a WINDOW_UPDATE; each is
//! topped up after 1 GiB received). A reader task parses frames and completes
//! streams; a writer task flushes the queue. GOAWAY fails the streams above
//! its last id as refused (the pool sends them again), RST_STREAM fails its
//! stream (REFUSED_STREAM: refused), anything malformed ends the connection
//! with GOAWAY(PROTOCOL_ERROR) and fails its streams as `protocol`.

mod frame;
pub mod hpack;
mod read;
mod send;
pub mod wire;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use bytes::Bytes;
use monoio::net::TcpStream;
use rustls::ClientConnection;

use super::h2_request::H2Request;
use crate::base::kind::ErrorKind;

/// How a stream ended without a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    /// The whole connection went with it.
    pub lost: bool,
    /// The server refused it unprocessed: it may be sent again.
    pub retry: bool,
}

/// A stream's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The last `grpc-status` its header blocks said (None: none did;
    /// Some(None): not a number).
    pub grpc_status: Option<Option<u16>>,
    /// Body bytes received.
    pub bytes: u64,
}

#[derive(Default)]
struct Stream {
    status: Option<u16>,
    grpc_status: Option<Option<u16>>,
    bytes: u64,
    /// Body bytes received since this stream's last WINDOW_UPDATE.
    recv_unacked: u32,
    /// Bytes the server lets this stream send (may go negative when the
    /// server lowers SETTINGS_INITIAL_WINDOW_SIZE).
    send_window: i64,
    /// The request body and how much of it is sent, while some is left.
    body: Option<(Bytes, usize)>,
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
    /// Bytes the server lets the connection send.
    send_window: i64,
    /// The server's SETTINGS_INITIAL_WINDOW_SIZE and SETTINGS_MAX_FRAME_SIZE.
    peer_window: i64,
    peer_max_frame: usize,
    /// Streams with body bytes left to send, oldest first.
    sending: VecDeque<u32>,
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
    /// With `tls`, the session its handshake made and the ciphertext it
    /// read ahead.
    pub fn start(
        tcp: TcpStream,
        tls: Option<(ClientConnection, wire::Pending)>,
        max_header_list_bytes: u32,
    ) -> (Rc<Conn>, impl std::future::Future<Output = ()>) {
        let mut out = frame::PREFACE.to_vec();
        frame::put_client_settings(&mut out, max_header_list_bytes);
        let conn = Rc::new(Conn {
            state: RefCell::new(State {
                out,
                next_id: 1,
                base_id: 1,
                send_window: i64::from(frame::DEFAULT_WINDOW_BYTES),
                peer_window: i64::from(frame::DEFAULT_WINDOW_BYTES),
                peer_max_frame: frame::MAX_FRAME_BYTES,
                ..State::default()
            }),
            decoder: RefCell::new(hpack::Decoder::default()),
            max_header_list_bytes: max_header_list_bytes as usize,
        });
        let (rd, wr) = wire::split(tcp, tls);
        monoio::spawn(write_loop(conn.clone(), wr));
        (conn.clone(), read::read_loop(conn, rd))
    }

    /// Waits for the server's first SETTINGS; Err when the connection ended
    /// before it. SETTINGS read with a GOAWAY right behind it (one read can
    /// hold both) still completes the handshake: the connection was made,
    /// and the pool learns it is gone when a stream is refused.
    pub async fn handshake(&self) -> Result<(), Failure> {
        poll_fn(|cx| {
            let mut st = self.state.borrow_mut();
            if st.settings_seen {
                Poll::Ready(Ok(()))
            } else if let Some(f) = st.lost {
                Poll::Ready(Err(f))
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

    /// Sends a request: its header block, then its body as the server's
    /// windows allow; Err when nothing was sent (the connection is gone or
    /// going away).
    pub fn send(&self, req: &H2Request) -> Result<Open<'_>, Failure> {
        let id = self.open_stream(req)?;
        Ok(Open { conn: self, id })
    }

    fn open_stream(&self, req: &H2Request) -> Result<u32, Failure> {
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
        let has_body = !req.body.is_empty();
        let stream = Stream {
            send_window: st.peer_window,
            body: has_body.then(|| (req.body.clone(), 0)),
            ..Stream::default()
        };
        st.streams.push_back(Some(stream));
        st.open += 1;
        // The block is encoded straight into the write queue, after a frame
        // header whose length is filled in once known: no copy, no allocation.
        let at = st.out.len();
        let block_at = at + frame::HEADER_BYTES;
        st.out.resize(block_at, 0);
        req.block.put(
            &mut st.out,
            |out| hpack::encode_head(req, out),
            |out| hpack::encode_length(req, out),
        );
        let len = st.out.len() - block_at;
        let end_stream = if has_body { 0 } else { frame::FLAG_END_STREAM };
        if len <= frame::MAX_FRAME_BYTES {
            let flags = end_stream | frame::FLAG_END_HEADERS;
            st.out[at..block_at].copy_from_slice(&frame::head(len, frame::HEADERS, flags, id));
        } else {
            let block = st.out.split_off(block_at);
            st.out.truncate(at);
            put_split_block(&mut st.out, id, &block, end_stream);
        }
        if has_body {
            st.sending.push_back(id);
            st.pump();
        }
        if let Some(w) = st.writer.take() {
            w.wake();
        }
        Ok(id)
    }

    fn poll_stream(&self, id: u32, waker: &Waker) -> Poll<Result<Reply, Failure>> {
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
                let r = Reply {
                    status: s.status.unwrap_or(0),
                    grpc_status: s.grpc_status,
                    bytes: s.bytes,
                };
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

/// A header block over one frame: HEADERS then CONTINUATION frames.
fn put_split_block(out: &mut Vec<u8>, id: u32, block: &[u8], end_stream: u8) {
    let chunks = block.chunks(frame::MAX_FRAME_BYTES);
    let last = chunks.len() - 1;
    for (k, chunk) in chunks.enumerate() {
        let (kind, mut flags) = match k {
            0 => (frame::HEADERS, end_stream),
            _ => (frame::CONTINUATION, 0),
        };
        if k == last {
            flags |= frame::FLAG_END_HEADERS;
        }
        frame::put_head(out, chunk.len(), kind, flags, id);
        out.extend_from_slice(chunk);
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
    /// Waits for the response.
    pub async fn response(mut self) -> Result<Reply, Failure> {
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

async fn write_loop(conn: Rc<Conn>, mut wr: wire::Writer) {
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
    wr.shutdown().await;
}
