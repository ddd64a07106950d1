//! HOT: what the dispatcher and one worker share: the [`Slot`] handed over,
//! the worker's waker, and its [`Deadline`] (armed per request, expired by
//! the core's sweep, which ends the I/O in flight).

use std::cell::Cell;
use std::os::fd::RawFd;
use std::task::{Context, Poll, Waker};

use crate::base::kind::ErrorKind;
use crate::protocol::OpGuard;

/// An arrival handed to a worker.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub intended_ns: u64,
    pub phase: u16,
    /// The target this arrival sends to (an index into the core's targets).
    pub target: u16,
    /// The arrival's number (see `plan::schedule::Schedule::seq`).
    pub seq: u64,
}

/// A worker's deadline: armed per request, expired by the core's sweep (or by
/// a stop), which ends the I/O in flight.
#[derive(Default)]
pub struct Deadline {
    /// The socket of the operation in flight: shut down on expiry.
    watched: Cell<Option<RawFd>>,
    /// Monotonic ns; 0 = not armed.
    at_ns: Cell<u64>,
    /// Why the request must stop, once expired.
    expired: Cell<Option<ErrorKind>>,
    /// What expiry at `at_ns` means (timeout, or cancelled by a stop).
    reason: Cell<Option<ErrorKind>>,
    /// A task racing a non-monoio future (h2 stream, TLS) against expiry.
    waker: Cell<Option<Waker>>,
}

impl Deadline {
    pub fn arm(&self, at_ns: u64) {
        self.at_ns.set(at_ns);
        self.expired.set(None);
        self.reason.set(Some(ErrorKind::Timeout));
    }

    pub fn disarm(&self) {
        self.at_ns.set(0);
        self.waker.take();
    }

    /// Pulls an armed deadline in (used when the run stops).
    pub fn shorten(&self, at_ns: u64, reason: ErrorKind) {
        let current = self.at_ns.get();
        if current != 0 && at_ns < current {
            self.at_ns.set(at_ns);
            self.reason.set(Some(reason));
        }
    }

    /// Expires the deadline if it has passed; cancels the I/O in flight.
    pub fn sweep(&self, now_ns: u64) {
        let at = self.at_ns.get();
        if at == 0 || now_ns < at || self.expired.get().is_some() {
            return;
        }
        self.expired.set(self.reason.get());
        if let Some(fd) = self.watched.get() {
            // SAFETY: a plain syscall on the socket whose operation is in
            // flight (the watch ends with it, so the fd is still that
            // socket's). Shut down, its operations end at once: a receive
            // with end of stream, a send with EPIPE.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl OpGuard for Deadline {
    #[inline]
    fn expired(&self) -> Option<ErrorKind> {
        self.expired.get()
    }

    #[inline]
    fn watch(&self, fd: Option<RawFd>) {
        self.watched.set(fd);
    }

    fn poll_expired(&self, cx: &mut Context<'_>) -> Poll<ErrorKind> {
        match self.expired.get() {
            Some(kind) => Poll::Ready(kind),
            None => {
                let stale = self.waker.take();
                match stale {
                    Some(w) if w.will_wake(cx.waker()) => self.waker.set(Some(w)),
                    _ => self.waker.set(Some(cx.waker().clone())),
                }
                Poll::Pending
            }
        }
    }
}

/// What the dispatcher and a worker share.
#[derive(Default)]
pub struct WorkerCell {
    pub slot: Cell<Option<Slot>>,
    pub waker: Cell<Option<Waker>>,
    pub deadline: Deadline,
}
