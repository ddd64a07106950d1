//! Protocol clients: pure encode/parse plus one async exchange per request.
//! `http1` speaks HTTP/1.1 over a pooled keep-alive connection (plain or
//! TLS, see `tls`); `h2` multiplexes streams over a few HTTP/2 connections;
//! `grpc` frames unary calls on top of `h2` and reads their status;
//! `h2_template` renders placeholders into HTTP/2 and gRPC requests.

pub mod chunked;
pub mod diagnose;
pub mod grpc;
pub mod grpc_wire;
pub mod h2;
pub mod h2_request;
pub mod h2_template;
pub mod h2lean;
pub mod http1;
pub mod reflection;
pub mod tls;

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll};

use crate::base::kind::ErrorKind;

/// The deadline of one request's I/O. Implemented by the worker, whose
/// per-core sweep expires it: an operation on a [watched](OpGuard::watch)
/// socket then ends (the socket is shut down; its connection is discarded
/// after an expiry anyway), other futures are raced against it
/// ([`guarded`]).
pub trait OpGuard {
    /// Why the request may no longer do I/O (its deadline passed or the run
    /// stopped), once that is so.
    fn expired(&self) -> Option<ErrorKind>;
    /// The socket of the operation in flight (`None`: none). Costs a cell
    /// write, where monoio's cancel handles cost two hash-set updates per
    /// operation (~1 200 instructions per HTTP/1.1 request, callgrind).
    fn watch(&self, fd: Option<std::os::fd::RawFd>);
    /// Ready with the reason once the deadline expired; otherwise registers
    /// the task to be woken when it does (for futures that are not monoio
    /// operations: h2 streams, TLS records).
    fn poll_expired(&self, cx: &mut Context<'_>) -> Poll<ErrorKind>;
}

/// Runs `fut` until it finishes or the guard expires; on expiry `fut` is
/// dropped (an h2 stream is reset, a TLS connection must be discarded).
pub async fn guarded<T, F>(guard: &impl OpGuard, fut: F) -> Result<T, ErrorKind>
where
    F: Future<Output = Result<T, ErrorKind>>,
{
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(kind) = guard.poll_expired(cx) {
            return Poll::Ready(Err(kind));
        }
        fut.as_mut().poll(cx)
    })
    .await
}

/// Maps an I/O error of a request to its kind (after expiry: the guard's
/// reason, whatever the error).
pub fn io_error_kind(e: &std::io::Error, guard: &impl OpGuard) -> ErrorKind {
    use std::io::ErrorKind as K;
    if let Some(kind) = guard.expired() {
        return kind;
    }
    match e.kind() {
        K::ConnectionReset | K::BrokenPipe | K::ConnectionAborted | K::UnexpectedEof => {
            ErrorKind::Reset
        }
        K::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Io,
    }
}

/// What a finished exchange reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// HTTP status, or the gRPC status code when `grpc` is set.
    pub status: u16,
    /// Response bytes read (head and body).
    pub bytes: u64,
    /// The connection must not be reused.
    pub close: bool,
    /// When the whole response was in the kernel (its receive timestamp),
    /// if it was read lazily in one piece; otherwise it ended when read.
    pub arrived_ns: Option<u64>,
}

/// What warm-up achieved on one core.
#[derive(Clone, Debug, Default)]
pub struct WarmReport {
    pub connected: usize,
    pub failed: usize,
    pub elapsed_ns: u64,
    pub first_error: Option<String>,
    /// Time spent dialling (TCP + TLS + h2 handshakes), all connections.
    pub handshake_ns: u64,
    /// What the connections speak: `http/1.1`, `h2` (TLS ALPN) or `h2c`.
    pub alpn: Option<String>,
}

impl WarmReport {
    /// Adds another pool's warm-up (pools warm one after another: their
    /// times add up).
    pub fn absorb(&mut self, other: &WarmReport) {
        self.connected += other.connected;
        self.failed += other.failed;
        self.elapsed_ns += other.elapsed_ns;
        self.handshake_ns += other.handshake_ns;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        if self.alpn.is_none() {
            self.alpn.clone_from(&other.alpn);
        }
    }
}
