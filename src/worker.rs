//! HOT: one worker = one request in flight at a time. The loop reads top to
//! bottom: take a slot → take a connection → exchange → record. Per-request
//! deadlines are not timers: the core's sweep cancels overdue I/O through
//! the worker's [`Deadline`].

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use monoio::io::{CancelHandle, Canceller};

use crate::clock::now_ns;
use crate::core::{Core, Slot};
use crate::protocol::{OpGuard, Response};
use crate::record::{ErrorKind, Record};

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
}

impl Deadline {
    fn arm(&self, at_ns: u64) {
        self.at_ns.set(at_ns);
        self.expired.set(None);
        self.reason.set(Some(ErrorKind::Timeout));
    }

    fn disarm(&self) {
        self.at_ns.set(0);
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
        let result = exchange(&core, &cell.deadline, &mut sent_ns).await;
        let done_ns = now_ns();
        cell.deadline.disarm();
        let mut record = Record {
            intended_ns: slot.intended_ns,
            sent_ns,
            done_ns,
            phase: slot.phase,
            in_flight,
            ..Record::default()
        };
        match result {
            Ok(resp) => {
                record.status = resp.status;
                record.bytes = resp.bytes;
            }
            Err(kind) => record.error = kind as u8,
        }
        core.end_request(record, done_ns);
        // Free again: in closed loop (or when a slot is already due) the
        // dispatcher hands us work at once, without a wake-up.
        core.go_idle(id);
    }
}

/// One request on a pooled connection. A reused connection that the server
/// closed while idle fails before any response byte; that request is retried
/// once on a fresh connection, as HTTP clients do for idempotent requests.
async fn exchange(
    core: &Core,
    deadline: &Deadline,
    sent_ns: &mut u64,
) -> Result<Response, ErrorKind> {
    let pool = core.pool();
    for attempt in 0..2 {
        let mut conn = pool.acquire().await?;
        let reused = conn.served() > 0;
        if *sent_ns == 0 {
            *sent_ns = now_ns();
        }
        match conn.exchange(core.request(), core.no_body, deadline).await {
            Ok(resp) => {
                if resp.close {
                    drop(conn);
                    pool.retire();
                } else {
                    pool.release(conn);
                }
                return Ok(resp);
            }
            Err(kind) => {
                let stale = kind == ErrorKind::Reset && reused && !conn.received_any();
                drop(conn);
                pool.retire();
                if !(stale && attempt == 0) {
                    return Err(kind);
                }
            }
        }
    }
    Err(ErrorKind::Reset)
}
