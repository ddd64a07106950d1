//! Protocol clients: pure encode/parse plus one async exchange per request.
//! `http1` speaks HTTP/1.1 over a pooled keep-alive connection.

pub mod chunked;
pub mod http1;

use crate::record::ErrorKind;
use monoio::io::CancelHandle;

/// Hands out cancel handles for the I/O of one request, or the reason it may
/// no longer do I/O (its deadline passed or the run stopped). Implemented by
/// the worker, whose per-core sweep cancels overdue operations.
pub trait OpGuard {
    fn handle(&self) -> Result<CancelHandle, ErrorKind>;
    /// The reason an operation came back `ECANCELED`.
    fn cancel_reason(&self) -> ErrorKind;
}

/// What a finished exchange reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Response bytes read (head and body).
    pub bytes: u64,
    /// The connection must not be reused.
    pub close: bool,
}
