//! HOT: lazy reaping of HTTP/1.1 responses in open loop. A read waiting in
//! io_uring wakes the core when its response arrives: one sleep/wake per
//! response, the largest cost per request at fixed rates (~30 µs of CPU per
//! wake-up on a VM). Instead, after sending, a worker tries a non-blocking
//! read and, when nothing is there yet, parks here until the dispatcher's
//! next timer wake-up (due anyway for the next window of sends) and tries
//! again. Latency stays truthful: the read returns the kernel's receive
//! timestamp of the response (SO_TIMESTAMPNS), which becomes its end time.
//!
//! Open only while the dispatcher will wake again soon (open-loop slots at
//! most [`MAX_REAP_GAP_NS`] apart); closing wakes every parked worker, which
//! then waits for its response the usual way. One reaper per core thread
//! (each core thread runs one runtime), hence thread-local.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::task::{Context, Poll, Waker};

use crate::base::kind::ErrorKind;

/// Longest gap between dispatcher wake-ups for which responses wait for the
/// next one; past it a worker would hold its response (and stay busy) too
/// long, so reads wait in the kernel as usual.
pub const MAX_REAP_GAP_NS: u64 = 2_000_000;

thread_local! {
    static OPEN: Cell<bool> = const { Cell::new(false) };
    static PARKED: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
    /// Responses begun by a lazy read on this core since [`take_reads`].
    static READS: Cell<u64> = const { Cell::new(0) };
}

/// A lazy read began a response (the summary says how many did: lazy
/// reads apply only where the dispatcher wakes often enough).
pub fn note_read() {
    READS.with(|r| r.set(r.get() + 1));
}

/// The responses begun by lazy reads on this core since the last call.
pub fn take_reads() -> u64 {
    READS.with(|r| r.replace(0))
}

/// Whether a worker may leave its response to the next reap.
pub fn is_open() -> bool {
    OPEN.with(Cell::get)
}

/// Opens or closes lazy reaping on this core; closing releases every
/// parked worker to a blocking read.
pub fn set_open(open: bool) {
    if OPEN.with(|o| o.replace(open)) && !open {
        reap();
    }
}

/// Wakes every parked worker to try its read again.
pub fn reap() {
    let parked = PARKED.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for w in parked {
        w.wake();
    }
}

/// Parks until the next reap. `Ok(true)`: try the read again; `Ok(false)`:
/// reaping closed, wait for the response in the kernel; `Err`: the
/// request's deadline expired first.
pub async fn park(
    mut expired: impl FnMut(&mut Context<'_>) -> Poll<ErrorKind>,
) -> Result<bool, ErrorKind> {
    let mut parked = false;
    poll_fn(|cx| {
        if !is_open() {
            return Poll::Ready(Ok(false));
        }
        if parked {
            return Poll::Ready(Ok(true));
        }
        if let Poll::Ready(kind) = expired(cx) {
            return Poll::Ready(Err(kind));
        }
        parked = true;
        PARKED.with(|p| p.borrow_mut().push(cx.waker().clone()));
        Poll::Pending
    })
    .await
}
