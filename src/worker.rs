//! HOT: one worker = one request in flight at a time. The loop reads top to
//! bottom: take a slot → take a connection → exchange → record. Per-request
//! deadlines are not timers: the core's sweep cancels overdue I/O through
//! the worker's [`Deadline`], and wakes futures that race it (h2, TLS).

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use monoio::io::{CancelHandle, Canceller};

use crate::client;
use crate::clock::now_ns;
use crate::core::{Core, Slot};
use crate::protocol::OpGuard;
use crate::record::{ErrorKind, Record, GRPC_CANCELLED, GRPC_DEADLINE_EXCEEDED};

/// A worker's deadline: armed per request, expired by the core's sweep (or by
/// a stop), which cancels the I/O in flight.
#[derive(Default)]
pub struct Deadline {
    canceller: RefCell<Canceller>,
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
    fn arm(&self, at_ns: u64) {
        self.at_ns.set(at_ns);
        self.expired.set(None);
        self.reason.set(Some(ErrorKind::Timeout));
    }

    fn disarm(&self) {
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
        let old = self.canceller.take();
        *self.canceller.borrow_mut() = old.cancel();
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl OpGuard for Deadline {
    #[inline]
    fn handle(&self) -> Result<CancelHandle, ErrorKind> {
        match self.expired.get() {
            Some(kind) => Err(kind),
            None => Ok(self.canceller.borrow().handle()),
        }
    }

    fn cancel_reason(&self) -> ErrorKind {
        self.expired.get().unwrap_or(ErrorKind::Io)
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

/// Waits for the dispatcher to hand this worker a slot; `None` = no more work.
async fn next_slot(core: &Core, cell: &WorkerCell) -> Option<Slot> {
    poll_fn(|cx| {
        if let Some(slot) = cell.slot.take() {
            cell.waker.take();
            return Poll::Ready(Some(slot));
        }
        if core.finished() {
            return Poll::Ready(None);
        }
        cell.waker.set(Some(cx.waker().clone()));
        Poll::Pending
    })
    .await
}

pub async fn run(core: Rc<Core>, id: usize) {
    let cell = core.worker(id);
    // The core lists every worker as idle before its first dispatch, so the
    // first slots find a free worker even before this task has run.
    while let Some(slot) = next_slot(&core, cell).await {
        let in_flight = core.begin_request();
        let start_ns = now_ns();
        cell.deadline.arm(start_ns + core.timeout_ns);
        let mut sent_ns = 0;
        let result = client::exchange(core.client(), &cell.deadline, &mut sent_ns).await;
        let now = now_ns();
        // A lazily read response ended when the kernel received it.
        let done_ns = match &result {
            Ok(resp) => resp.arrived_ns.map_or(now, |t| t.max(sent_ns).min(now)),
            Err(_) => now,
        };
        cell.deadline.disarm();
        let mut record = Record {
            intended_ns: slot.intended_ns,
            sent_ns,
            done_ns,
            phase: slot.phase,
            in_flight,
            grpc: core.grpc,
            ..Record::default()
        };
        match result {
            Ok(resp) => {
                record.status = resp.status;
                record.bytes = resp.bytes;
                // The server gave up on the deadline we sent (grpc-timeout):
                // DEADLINE_EXCEEDED, or CANCELLED once our own deadline passed.
                let late = done_ns >= start_ns + core.timeout_ns;
                if record.grpc
                    && (resp.status == GRPC_DEADLINE_EXCEEDED
                        || (late && resp.status == GRPC_CANCELLED))
                {
                    record.error = ErrorKind::Timeout as u8;
                }
            }
            Err(kind) => record.error = kind as u8,
        }
        core.end_request(record, now);
        // Free again: in closed loop (or when a slot is already due) the
        // dispatcher hands us work at once, without a wake-up.
        core.go_idle(id);
    }
}
