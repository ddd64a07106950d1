//! HOT: HTTP/2 on a few multiplexed connections per core, each through the
//! lean client (`h2lean`, the default) or the h2 crate (over monoio-compat,
//! `--h2-crate`). [`H2Pool`] dials its connections during warm-up (TCP, TLS
//! with ALPN `h2`, or prior-knowledge h2c), spawns each connection's driver
//! task, and
//! hands a worker a stream slot on the least-loaded live connection with
//! fewer open streams than `min(--max-streams, server SETTINGS)`. A stream
//! races the worker's deadline: on expiry it is dropped (h2 sends
//! RST_STREAM) and the connection stays. GOAWAY or a lost connection marks
//! it dead; the next request re-dials it; its in-flight streams fail as
//! `reset`, except those the server refused unprocessed (above GOAWAY's last
//! stream, or RST_STREAM REFUSED_STREAM): those are sent again on another
//! connection, as RFC 9113 §8.7 allows, within the request's deadline.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use monoio_compat::StreamWrapper;

use super::h2_request::H2Request;
use super::h2lean::{self, Failure};
use super::tls::{self, TlsClient, Transport};
use super::WarmReport;
use super::{grpc, guarded, OpGuard, Response};
use crate::base::clock::now_ns;
use crate::base::kind::ErrorKind;
use crate::base::waitq::WaitQueue;

/// Per-stream receive window: large enough that a response body is not
/// throttled by WINDOW_UPDATE round trips.
const STREAM_WINDOW_BYTES: u32 = 1 << 20;
const CONNECTION_WINDOW_BYTES: u32 = 16 << 20;
/// Largest response header list accepted per stream (h2's default is
/// 16 MiB, which a hostile server could make every stream hold); the same
/// bound as an HTTP/1.1 head.
const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// A live connection, through the h2 crate or the lean client.
#[derive(Clone)]
pub(super) enum Link {
    Crate(SendRequest<Bytes>),
    Lean(Rc<h2lean::Conn>),
}

impl Link {
    /// Streams the server allows at once.
    fn max_concurrent(&self) -> usize {
        match self {
            Link::Crate(send) => send.current_max_send_streams(),
            Link::Lean(conn) => conn.max_concurrent().unwrap_or(usize::MAX),
        }
    }
}

struct Slot {
    link: Option<Link>,
    /// Streams taken by workers on this connection.
    open: usize,
    /// Bumped on every (re)connect, so a stale driver cannot kill a new one.
    generation: u64,
    dialing: bool,
    /// Responses this connection has delivered since it was dialled.
    answered: u64,
    /// Connections in a row on this slot that failed or ended before
    /// delivering any response: the re-dial backs off by this many doublings.
    failures: u32,
    /// Monotonic ns before which the slot is not re-dialled.
    retry_at_ns: u64,
}

pub struct H2Pool {
    addr: SocketAddr,
    tls: Option<TlsClient>,
    connect_timeout: Duration,
    max_streams: usize,
    /// Connections through the lean client (unless `--h2-crate`).
    lean: bool,
    slots: RefCell<Vec<Slot>>,
    waiters: WaitQueue,
    handshake_ns: Cell<u64>,
    alpn: RefCell<Option<String>>,
    /// Connections dialled again after warm-up.
    redials: Cell<u64>,
}

/// The wait before re-dialling a slot after `failures` connections in a row
/// that delivered nothing: 10 ms doubling up to 1 s, times 0.5-1.5 at random
/// (`salt`), so that a server refusing every connection is not stormed and
/// cores do not re-dial in step.
fn backoff_ns(failures: u32, salt: u64) -> u64 {
    if failures == 0 {
        return 0;
    }
    let base_ns = (10_000_000u64 << (failures - 1).min(7)).min(1_000_000_000);
    let mut z = salt.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    base_ns / 2 + (z ^ (z >> 29)) % base_ns
}

impl H2Pool {
    pub fn new(
        addr: SocketAddr,
        tls: Option<TlsClient>,
        (connections, max_streams, lean): (usize, usize, bool),
        connect_timeout_ns: u64,
    ) -> Rc<H2Pool> {
        let slots = (0..connections.max(1))
            .map(|_| Slot {
                link: None,
                open: 0,
                generation: 0,
                dialing: false,
                answered: 0,
                failures: 0,
                retry_at_ns: 0,
            })
            .collect();
        Rc::new(H2Pool {
            addr,
            tls,
            connect_timeout: Duration::from_nanos(connect_timeout_ns),
            max_streams: max_streams.max(1),
            lean,
            slots: RefCell::new(slots),
            waiters: WaitQueue::default(),
            handshake_ns: Cell::new(0),
            alpn: RefCell::new(None),
            redials: Cell::new(0),
        })
    }

    /// Dials every connection (in parallel: there are few) before the run.
    pub async fn warm(self: &Rc<Self>) -> WarmReport {
        let t0_ns = now_ns();
        let n = self.slots.borrow().len();
        let dialers: Vec<_> = (0..n)
            .map(|i| {
                let pool = self.clone();
                self.slots.borrow_mut()[i].dialing = true;
                monoio::spawn(async move { pool.connect(i).await })
            })
            .collect();
        let mut report = WarmReport::default();
        for d in dialers {
            match d.await {
                Ok(()) => report.connected += 1,
                Err(e) => {
                    report.failed += 1;
                    report.first_error.get_or_insert(e.message);
                }
            }
        }
        report.elapsed_ns = now_ns() - t0_ns;
        report.handshake_ns = self.handshake_ns.get();
        report.alpn.clone_from(&self.alpn.borrow());
        report
    }

    /// Dials slot `i` (already marked `dialing`), completes the h2 handshake
    /// and spawns the connection's driver.
    async fn connect(self: &Rc<Self>, i: usize) -> Result<(), DialError> {
        let t0_ns = now_ns();
        let result = self.handshake().await;
        self.handshake_ns
            .set(self.handshake_ns.get() + (now_ns() - t0_ns));
        let mut slots = self.slots.borrow_mut();
        let slot = &mut slots[i];
        slot.dialing = false;
        let outcome = match result {
            Ok((link, alpn, driver)) => {
                slot.generation += 1;
                slot.link = Some(link);
                slot.answered = 0;
                let (pool, generation) = (Rc::downgrade(self), slot.generation);
                monoio::spawn(async move {
                    driver.await;
                    mark_dead(&pool, i, generation);
                });
                self.alpn.borrow_mut().get_or_insert(alpn);
                Ok(())
            }
            Err(e) => {
                slot.failures += 1;
                slot.retry_at_ns = now_ns() + backoff_ns(slot.failures, now_ns() ^ i as u64);
                Err(e)
            }
        };
        drop(slots);
        self.wake_all();
        outcome
    }

    async fn handshake(&self) -> Result<(Link, String, Driver), DialError> {
        if self.lean {
            return self.lean_handshake().await;
        }
        let transport = tls::dial(self.addr, self.tls.as_ref(), self.connect_timeout)
            .await
            .map_err(|e| e.to_string())?;
        let alpn = transport.alpn();
        if self.tls.is_some() && alpn.as_deref() != Some(b"h2") {
            return Err(format!(
                "the server did not agree to HTTP/2 (ALPN: {})",
                tls::alpn_name(alpn)
            )
            .into());
        }
        let name = if self.tls.is_some() { "h2" } else { "h2c" };
        // The wrapper holds pointers into itself: box it before h2 moves it.
        let handshake = async {
            match transport {
                Transport::Plain(s) => start(Box::new(StreamWrapper::new(s))).await,
                Transport::Tls(s) => start(Box::new(StreamWrapper::new(*s))).await,
            }
        };
        match monoio::time::timeout(self.connect_timeout, handshake).await {
            Ok(Ok((send, driver))) => Ok((Link::Crate(send), name.to_string(), driver)),
            Ok(Err(e)) => Err(format!("HTTP/2 handshake failed: {e}").into()),
            Err(_) => Err(String::from("HTTP/2 handshake timed out").into()),
        }
    }

    /// Takes a stream slot: (connection index, generation, sender); waits in
    /// line (first come, first served) while every stream is taken.
    pub(super) async fn acquire(self: &Rc<Self>) -> Result<(usize, u64, Link), ErrorKind> {
        let mut place = self.waiters.place();
        loop {
            // Read only where a connection is down: a clock read costs as
            // much as the rest of a stream's bookkeeping here (perf, VM).
            let mut now = None;
            // The soonest a slot backing off may be re-dialled.
            let mut backing_off: Option<u64> = None;
            let redial = if place.may_take() {
                let mut slots = self.slots.borrow_mut();
                // The least loaded live connection with a stream to spare;
                // its server's limit (behind a borrow) is asked only of one
                // that would be better.
                let mut best: Option<(usize, usize)> = None;
                let mut dead: Option<usize> = None;
                for (i, s) in slots.iter().enumerate() {
                    match &s.link {
                        Some(link) => {
                            let better = best.map_or(true, |(_, open)| open > s.open);
                            if better && s.open < self.max_streams && s.open < link.max_concurrent()
                            {
                                best = Some((i, s.open));
                            }
                        }
                        None if !s.dialing && s.retry_at_ns <= *now.get_or_insert_with(now_ns) => {
                            dead = dead.or(Some(i))
                        }
                        None if !s.dialing => {
                            backing_off =
                                Some(backing_off.map_or(s.retry_at_ns, |t| t.min(s.retry_at_ns)))
                        }
                        None => {}
                    }
                }
                // A dead connection is re-dialled by the first request that
                // sees it (which waits for the handshake): left dead, its
                // streams would crowd the others, and a server that sends
                // GOAWAY every N requests would then refuse more per GOAWAY.
                if let Some(i) = dead {
                    slots[i].dialing = true;
                    Some(i)
                } else if let Some((i, _)) = best {
                    let s = &mut slots[i];
                    s.open += 1;
                    let taken = (
                        i,
                        s.generation,
                        s.link.clone().expect("chosen slot is live"),
                    );
                    drop(slots);
                    // Whether streams are left is not counted here: the next
                    // waiter looks for itself.
                    place.taken(true);
                    return Ok(taken);
                } else {
                    None
                }
            } else {
                None
            };
            if let Some(i) = redial {
                // Boxed: the dial + handshake future is kilobytes, and inline
                // it would be part of (and copied with) every exchange future.
                Box::pin(self.connect(i)).await.map_err(|e| e.kind)?;
                // Counted once it connects: a failed dial is a connect error.
                self.redials.set(self.redials.get() + 1);
                continue;
            }
            // Callers race this against their deadline (`guarded`).
            if let Some(at_ns) = backing_off {
                // Nothing live and a slot backing off: look again when it may
                // be re-dialled.
                let now = now.unwrap_or_else(now_ns);
                monoio::time::sleep(Duration::from_nanos(at_ns.saturating_sub(now))).await;
                continue;
            }
            place.wait(|_| Poll::Pending).await?;
        }
    }

    pub(super) fn release(&self, i: usize) {
        self.slots.borrow_mut()[i].open -= 1;
        self.waiters.wake_one();
    }

    fn wake_all(&self) {
        self.waiters.wake_all();
    }

    /// A response came on connection `i` of this generation.
    fn answered(&self, i: usize, generation: u64) {
        let mut slots = self.slots.borrow_mut();
        let s = &mut slots[i];
        if s.generation == generation {
            s.answered += 1;
            s.failures = 0;
        }
    }

    /// Whether the connections go through the lean client.
    pub fn lean(&self) -> bool {
        self.lean
    }

    /// Connections dialled again, and made, after warm-up.
    pub fn redials(&self) -> u64 {
        self.redials.get()
    }

    /// Forgets a connection that failed (GOAWAY, reset, closed). One that
    /// delivered nothing makes the next re-dial of its slot wait longer.
    fn dead(&self, i: usize, generation: u64) {
        let mut slots = self.slots.borrow_mut();
        let s = &mut slots[i];
        if s.generation == generation && s.link.is_some() {
            s.link = None;
            if s.answered == 0 {
                s.failures += 1;
                let now = now_ns();
                s.retry_at_ns = now + backoff_ns(s.failures, now ^ i as u64);
            }
        }
        drop(slots);
        self.wake_all();
    }

    /// Drops every sender: each connection ends gracefully (GOAWAY) once its
    /// streams are done.
    pub fn close_all(&self) {
        for s in self.slots.borrow_mut().iter_mut() {
            if let Some(Link::Lean(conn)) = s.link.take() {
                conn.close();
            }
        }
    }

    /// The lean client's handshake, within the connect timeout: TCP, TLS
    /// (rustls driven by the lean client, ALPN `h2` required), then the
    /// preface and SETTINGS out and the server's SETTINGS in.
    async fn lean_handshake(&self) -> Result<(Link, String, Driver), DialError> {
        let t0 = std::time::Instant::now();
        let dial = async {
            let transport = tls::dial(self.addr, None, self.connect_timeout)
                .await
                .map_err(|e| e.to_string())?;
            let Transport::Plain(mut tcp) = transport else {
                return Err("dialled without TLS, got TLS".to_string());
            };
            let session = match &self.tls {
                None => None,
                Some(t) => Some(lean_tls(&mut tcp, t).await?),
            };
            Ok((tcp, session))
        };
        let (tcp, session) = match monoio::time::timeout(self.connect_timeout, dial).await {
            Ok(dialled) => dialled?,
            Err(_) => return Err(String::from("connect or TLS handshake timed out").into()),
        };
        let (conn, reader) = h2lean::Conn::start(tcp, session, MAX_HEADER_LIST_BYTES);
        let reader = monoio::spawn(reader);
        let left = self.connect_timeout.saturating_sub(t0.elapsed());
        match monoio::time::timeout(left, conn.handshake()).await {
            Ok(Ok(())) => {
                let name = if self.tls.is_some() { "h2" } else { "h2c" };
                Ok((Link::Lean(conn), name.to_string(), Box::pin(reader)))
            }
            // The server answered the preface with something else (an
            // HTTP/1.1-only port): its requests fail as `protocol`, which
            // the summary's probe then explains.
            Ok(Err(f)) => Err(DialError {
                kind: f.kind,
                message: match f.kind {
                    ErrorKind::Protocol => {
                        "HTTP/2 handshake failed: the server's answer is not HTTP/2"
                    }
                    _ => "HTTP/2 handshake failed: the server closed the connection",
                }
                .into(),
            }),
            Err(_) => {
                // The writer ends (and half-closes) once told; the reader
                // then ends with the server's close.
                conn.close();
                Err(String::from("HTTP/2 handshake timed out").into())
            }
        }
    }
}

/// The TLS handshake for a lean connection; the server must pick `h2`.
async fn lean_tls(
    tcp: &mut monoio::net::TcpStream,
    tls: &TlsClient,
) -> Result<(rustls::ClientConnection, h2lean::wire::Pending), String> {
    let session = tls.session().map_err(|e| e.to_string())?;
    let (session, ahead) = h2lean::wire::handshake(tcp, session)
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    if alpn.as_deref() != Some(b"h2") {
        return Err(format!(
            "the server did not agree to HTTP/2 (ALPN: {})",
            tls::alpn_name(alpn)
        ));
    }
    Ok((session, ahead))
}

/// Why a connection was not made: the kind its requests fail with
/// (`connect`, unless the server answered the preface) and what the
/// summary says.
struct DialError {
    kind: ErrorKind,
    message: String,
}

impl From<String> for DialError {
    fn from(message: String) -> Self {
        DialError {
            kind: ErrorKind::Connect,
            message,
        }
    }
}

fn mark_dead(pool: &Weak<H2Pool>, i: usize, generation: u64) {
    if let Some(pool) = pool.upgrade() {
        pool.dead(i, generation);
    }
}

type Driver = Pin<Box<dyn std::future::Future<Output = ()>>>;

async fn start<T>(io: Box<T>) -> Result<(SendRequest<Bytes>, Driver), h2::Error>
where
    T: monoio_compat::AsyncRead + monoio_compat::AsyncWrite + Unpin + 'static,
{
    let (send, conn) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .max_header_list_size(MAX_HEADER_LIST_BYTES)
        .handshake::<_, Bytes>(io)
        .await?;
    Ok((
        send,
        Box::pin(async move {
            let _ = conn.await;
        }),
    ))
}

/// Gives the stream slot back however the exchange ends (a timed-out
/// exchange is dropped mid-way).
struct Taken<'a> {
    pool: &'a H2Pool,
    index: usize,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.pool.release(self.index);
    }
}

fn error_kind(e: &h2::Error) -> ErrorKind {
    if e.is_io() || e.is_go_away() || e.is_remote() || e.is_reset() {
        ErrorKind::Reset
    } else {
        ErrorKind::Protocol
    }
}

/// Whether the error ended the whole connection (not just one stream).
fn connection_lost(e: &h2::Error) -> bool {
    e.is_io() || e.is_go_away()
}

/// Whether the server refused the stream without processing it: it was
/// above GOAWAY's last stream id (h2 fails exactly those streams with the
/// remote GOAWAY; streams cut by a closed socket get an I/O error), or reset
/// with REFUSED_STREAM.
fn refused(e: &h2::Error) -> bool {
    e.is_remote() && (e.is_go_away() || e.reason() == Some(h2::Reason::REFUSED_STREAM))
}

/// An h2 error as a stream failure (the lean client's type, shared): the
/// request may be sent again only when refused before any response.
fn failure(e: h2::Error, before_response: bool) -> Failure {
    Failure {
        kind: error_kind(&e),
        lost: connection_lost(&e),
        retry: before_response && refused(&e),
    }
}

/// The pause before sending a refused request again: none after the first
/// refusal (its connection is usually replaced by a freshly dialled one
/// already), then 1 ms doubling up to 64 ms, so that a server refusing every
/// stream is not stormed. The request's deadline bounds the tries in time
/// (a request refused until then is a `timeout`); there is no count limit,
/// which gave up with most of the timeout left (8 refusals in 360 ms at
/// `-t 1s` against a server sending GOAWAY every N requests).
async fn pause_after_refusal(refusals: u32) {
    if refusals > 1 {
        let pause_ns = 1_000_000u64 << (refusals - 2).min(6);
        monoio::time::sleep(Duration::from_nanos(pause_ns)).await;
    }
}

/// How one try at a request failed.
enum Attempt {
    /// Nothing was sent (GOAWAY or a dead connection): try again, on a
    /// fresh connection.
    Unsent,
    Failed(Failure),
}

/// One request on one stream, raced against the worker's deadline, through
/// whichever client the pool's connections use (the h2 crate's future is
/// kilobytes: callers box it).
pub async fn exchange(
    pool: &Rc<H2Pool>,
    req: &H2Request,
    guard: &impl OpGuard,
    sent_ns: &mut u64,
) -> Result<Response, ErrorKind> {
    let attempt = async |link: Link, sent_ns: &mut u64| match link {
        Link::Crate(send) => via_crate(send, req, sent_ns).await,
        Link::Lean(conn) => via_lean(&conn, req, sent_ns).await,
    };
    with_retries(pool, guard, sent_ns, attempt).await
}

/// `exchange` for a pool of lean connections (`H2Pool::lean`): its future
/// holds none of the h2 crate's, so it is small enough to keep unboxed.
pub async fn exchange_lean(
    pool: &Rc<H2Pool>,
    req: &H2Request,
    guard: &impl OpGuard,
    sent_ns: &mut u64,
) -> Result<Response, ErrorKind> {
    let attempt = async |link: Link, sent_ns: &mut u64| match link {
        Link::Lean(conn) => via_lean(&conn, req, sent_ns).await,
        // A lean pool dials lean connections only.
        Link::Crate(_) => Err(Attempt::Unsent),
    };
    with_retries(pool, guard, sent_ns, attempt).await
}

/// Takes a stream and makes one `attempt` on it, again while the server
/// refuses it unprocessed, until the worker's deadline.
async fn with_retries(
    pool: &Rc<H2Pool>,
    guard: &impl OpGuard,
    sent_ns: &mut u64,
    mut attempt: impl AsyncFnMut(Link, &mut u64) -> Result<Response, Attempt>,
) -> Result<Response, ErrorKind> {
    guarded(guard, async {
        let mut refusals = 0u32;
        loop {
            let (index, generation, link) = pool.acquire().await?;
            let taken = Taken { pool, index };
            match attempt(link, sent_ns).await {
                Ok(r) => {
                    pool.answered(index, generation);
                    return Ok(r);
                }
                Err(Attempt::Unsent) => pool.dead(index, generation),
                Err(Attempt::Failed(e)) => {
                    if e.lost {
                        pool.dead(index, generation);
                    }
                    if !e.retry {
                        return Err(e.kind);
                    }
                }
            }
            drop(taken);
            refusals += 1;
            pause_after_refusal(refusals).await;
        }
    })
    .await
}

/// One try through the h2 crate.
async fn via_crate(
    send: SendRequest<Bytes>,
    req: &H2Request,
    sent_ns: &mut u64,
) -> Result<Response, Attempt> {
    let mut send = send.ready().await.map_err(|_| Attempt::Unsent)?;
    if *sent_ns == 0 {
        *sent_ns = now_ns();
    }
    let (response, mut body_tx) = send
        .send_request(req.build(), req.body.is_empty())
        .map_err(|_| Attempt::Unsent)?;
    if !req.body.is_empty() {
        body_tx.send_data(req.body.clone(), true).map_err(|e| {
            Attempt::Failed(Failure {
                kind: error_kind(&e),
                lost: false,
                retry: false,
            })
        })?;
    }
    read_response(response, req.grpc)
        .await
        .map_err(Attempt::Failed)
}

/// One try through the lean client.
async fn via_lean(
    conn: &h2lean::Conn,
    req: &H2Request,
    sent_ns: &mut u64,
) -> Result<Response, Attempt> {
    if *sent_ns == 0 {
        *sent_ns = now_ns();
    }
    let stream = conn.send(req).map_err(|_| Attempt::Unsent)?;
    let reply = stream.response().await.map_err(Attempt::Failed)?;
    let status = match (req.grpc, reply.grpc_status) {
        (false, _) => reply.status,
        (true, Some(Some(code))) => code,
        // No `grpc-status` (e.g. a proxy's HTTP error), or not a number.
        (true, _) => {
            return Err(Attempt::Failed(Failure {
                kind: ErrorKind::Protocol,
                lost: false,
                retry: false,
            }))
        }
    };
    Ok(Response {
        status,
        bytes: reply.bytes,
        close: false,
        arrived_ns: None,
    })
}

async fn read_response(
    response: h2::client::ResponseFuture,
    grpc: bool,
) -> Result<Response, Failure> {
    let resp = response.await.map_err(|e| failure(e, true))?;
    let http_status = resp.status().as_u16();
    let (head, mut body) = resp.into_parts();
    let mut bytes = 0u64;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| failure(e, false))?;
        bytes += chunk.len() as u64;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let status = if grpc {
        let trailers = body.trailers().await.map_err(|e| failure(e, false))?;
        grpc::status_of(http_status, &head.headers, trailers.as_ref()).map_err(|kind| Failure {
            kind,
            lost: false,
            retry: false,
        })?
    } else {
        http_status
    };
    Ok(Response {
        status,
        bytes,
        close: false,
        arrived_ns: None,
    })
}

impl H2Pool {
    /// Cold: one request whose whole response body is kept (reflection);
    /// returns the gRPC status and the body.
    pub async fn call(self: &Rc<Self>, req: &H2Request) -> Result<(u16, Vec<u8>), String> {
        let (index, _, link) = self.acquire().await.map_err(|k| k.as_str().to_string())?;
        let _taken = Taken { pool: self, index };
        let Link::Crate(send) = link else {
            return Err("reflection needs the h2 crate's client".into());
        };
        let mut send = send.ready().await.map_err(|e| e.to_string())?;
        let (response, mut tx) = send
            .send_request(req.build(), false)
            .map_err(|e| e.to_string())?;
        tx.send_data(req.body.clone(), true)
            .map_err(|e| e.to_string())?;
        let resp = response.await.map_err(|e| e.to_string())?;
        let http_status = resp.status().as_u16();
        let (head, mut body) = resp.into_parts();
        let mut out = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            let _ = body.flow_control().release_capacity(chunk.len());
            out.extend_from_slice(&chunk);
        }
        let trailers = body.trailers().await.map_err(|e| e.to_string())?;
        let status = grpc::status_of(http_status, &head.headers, trailers.as_ref())
            .map_err(|_| format!("not a gRPC response (HTTP status {http_status})"))?;
        Ok((status, out))
    }
}
