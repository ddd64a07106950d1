//! HOT: one worker = one request in flight at a time. The loop reads top to
//! bottom: take a slot → take a connection → exchange → record. Per-request
//! deadlines are not timers: the core's sweep cancels overdue I/O through
//! the worker's [`Deadline`](super::cell::Deadline), and wakes futures that
//! race it (h2, TLS).

use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use super::cell::{Slot, WorkerCell};
use super::client;
use super::core::Core;
use crate::base::clock::now_ns;
use crate::base::kind::{ErrorKind, GRPC_CANCELLED, GRPC_DEADLINE_EXCEEDED};
use crate::record::Record;

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
        let start_ns = now_ns();
        let in_flight = core.begin_request(slot.phase, slot.intended_ns, start_ns);
        let deadline_ns = start_ns + core.timeout_ns;
        cell.deadline.arm(deadline_ns);
        let mut sent_ns = 0;
        let target = core.target(slot.target);
        let result = client::exchange(target, slot.seq, &cell.deadline, &mut sent_ns).await;
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
            target: slot.target,
            in_flight,
            grpc: target.grpc(),
            ..Record::default()
        };
        match result {
            // The sweep expires deadlines every timeout/20 (1-20 ms): an
            // answer that came after the deadline but before the sweep is
            // a timeout all the same, never OK.
            Ok(_) if done_ns > deadline_ns => record.error = ErrorKind::Timeout as u8,
            Ok(resp) => {
                record.status = resp.status;
                record.bytes = resp.bytes;
                // The server gave up on the deadline we sent (grpc-timeout):
                // DEADLINE_EXCEEDED, or CANCELLED once our own deadline passed.
                let late = done_ns >= deadline_ns;
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
        core.go_idle(id, now);
    }
}
