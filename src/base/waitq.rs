//! First come, first served waiting for pool capacity (an idle HTTP/1.1
//! connection, a free HTTP/2 stream). Without it, a worker that releases a
//! connection and at once starts its next request (closed loop: it runs on
//! before the waiter it woke) takes the connection straight back; with fewer
//! connections than workers the same workers kept every connection and the
//! others waited until their timeout.
//!
//! The rule: a newcomer may take capacity only when nobody waits and no woken
//! waiter is still on its way to take what it was woken for; a woken waiter
//! that finds nothing keeps its turn at the head of the queue.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::base::kind::ErrorKind;

#[derive(Default)]
pub struct WaitQueue {
    /// Waiters in arrival order (by ticket).
    queue: RefCell<VecDeque<Rc<Entry>>>,
    /// Waiters woken for capacity that have not taken it (or given up) yet.
    woken: Cell<usize>,
    /// The next arrival's ticket.
    next_ticket: Cell<u64>,
}

#[derive(Default)]
struct Entry {
    /// Arrival order: a woken waiter that found nothing goes back in line
    /// by it, so waking several at once keeps their order.
    ticket: u64,
    woken: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

/// One caller's turn: none until it first has to wait, then kept across its
/// retries; dropping it (a timed-out request) gives the turn up and, when it
/// had been woken, passes the wake-up on.
pub struct Place<'a> {
    waitq: &'a WaitQueue,
    entry: Option<Rc<Entry>>,
}

impl WaitQueue {
    pub fn place(&self) -> Place<'_> {
        Place {
            waitq: self,
            entry: None,
        }
    }

    /// Capacity came back: the longest waiter may take it.
    pub fn wake_one(&self) {
        let next = self.queue.borrow_mut().pop_front();
        if let Some(e) = next {
            self.woken.set(self.woken.get() + 1);
            e.woken.set(true);
            if let Some(w) = e.waker.take() {
                w.wake();
            }
        }
    }

    /// Capacity changed in a way a count cannot say (a connection came up or
    /// went away): every waiter looks again, in order.
    pub fn wake_all(&self) {
        while !self.queue.borrow().is_empty() {
            self.wake_one();
        }
    }

    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.queue.borrow().len()
    }
}

impl Place<'_> {
    /// Whether this caller may take capacity now.
    pub fn may_take(&self) -> bool {
        match &self.entry {
            Some(e) => e.woken.get(),
            None => self.waitq.woken.get() == 0 && self.waitq.queue.borrow().is_empty(),
        }
    }

    /// This caller took capacity; `more_left` says whether the next waiter
    /// may find some too (a woken waiter then wakes the next one).
    pub fn taken(&mut self, more_left: bool) {
        if let Some(e) = self.entry.take() {
            if e.woken.get() {
                self.waitq.woken.set(self.waitq.woken.get() - 1);
                if more_left {
                    self.waitq.wake_one();
                }
            }
        }
    }

    /// Waits for a turn: queues this caller (a woken one that found nothing
    /// goes back to the head). `expired` ends the wait early (the request's
    /// deadline), with its reason.
    pub async fn wait(
        &mut self,
        mut expired: impl FnMut(&mut Context<'_>) -> Poll<ErrorKind>,
    ) -> Result<(), ErrorKind> {
        let entry = match &self.entry {
            Some(e) => {
                if e.woken.replace(false) {
                    self.waitq.woken.set(self.waitq.woken.get() - 1);
                }
                // Back in line by arrival, ahead of everyone who came later
                // (after a wake_all, each waiter finds its old place).
                let mut queue = self.waitq.queue.borrow_mut();
                let at = queue.partition_point(|q| q.ticket < e.ticket);
                queue.insert(at, e.clone());
                e.clone()
            }
            None => {
                let ticket = self.waitq.next_ticket.get();
                self.waitq.next_ticket.set(ticket + 1);
                let e = Rc::new(Entry {
                    ticket,
                    ..Entry::default()
                });
                self.waitq.queue.borrow_mut().push_back(e.clone());
                self.entry = Some(e.clone());
                e
            }
        };
        poll_fn(|cx| {
            if entry.woken.get() {
                return Poll::Ready(Ok(()));
            }
            if let Poll::Ready(kind) = expired(cx) {
                return Poll::Ready(Err(kind));
            }
            entry.waker.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let Some(e) = self.entry.take() else {
            return;
        };
        if e.woken.get() {
            self.waitq.woken.set(self.waitq.woken.get() - 1);
            self.waitq.wake_one();
        } else {
            self.waitq.queue.borrow_mut().retain(|q| !Rc::ptr_eq(q, &e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::Waker;

    fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn never(_: &mut Context<'_>) -> Poll<ErrorKind> {
        Poll::Pending
    }

    #[test]
    fn a_newcomer_waits_behind_a_woken_waiter() {
        let q = WaitQueue::default();
        let mut first = q.place();
        assert!(first.may_take());
        {
            let mut wait = pin!(first.wait(never));
            assert!(poll_once(wait.as_mut()).is_pending());
            q.wake_one();
            assert_eq!(poll_once(wait.as_mut()), Poll::Ready(Ok(())));
        }
        // Woken but not yet taken: a newcomer must not barge in.
        assert!(!q.place().may_take());
        assert!(first.may_take());
        first.taken(false);
        assert!(q.place().may_take());
    }

    #[test]
    fn a_woken_waiter_that_found_nothing_keeps_its_turn() {
        let q = WaitQueue::default();
        let mut a = q.place();
        let mut b = q.place();
        assert!(poll_once(pin!(a.wait(never))).is_pending());
        assert!(poll_once(pin!(b.wait(never))).is_pending());
        q.wake_one();
        assert!(a.may_take() && !b.may_take());
        // `a` found nothing and waits again: still first in line.
        assert!(poll_once(pin!(a.wait(never))).is_pending());
        q.wake_one();
        assert!(a.may_take() && !b.may_take());
        a.taken(true);
        assert!(b.may_take(), "taking with more left wakes the next");
        b.taken(false);
        assert_eq!(q.waiting(), 0);
        assert!(q.place().may_take());
    }

    #[test]
    fn giving_up_leaves_the_queue_and_passes_a_wake_up_on() {
        let q = WaitQueue::default();
        let mut a = q.place();
        let mut b = q.place();
        let mut c = q.place();
        assert!(poll_once(pin!(a.wait(never))).is_pending());
        assert!(poll_once(pin!(b.wait(never))).is_pending());
        assert!(poll_once(pin!(c.wait(never))).is_pending());
        drop(b);
        assert_eq!(q.waiting(), 2);
        q.wake_one();
        drop(a);
        assert!(c.may_take(), "a's wake-up went to c");
        c.taken(false);
        assert!(q.place().may_take());
    }

    /// After a wake-all, waiters that found nothing keep their order (each
    /// used to go back to the head, reversing it).
    #[test]
    fn waking_all_keeps_first_come_first_served() {
        let q = WaitQueue::default();
        let mut a = q.place();
        let mut b = q.place();
        let mut c = q.place();
        for p in [&mut a, &mut b, &mut c] {
            assert!(poll_once(pin!(p.wait(never))).is_pending());
        }
        q.wake_all();
        for p in [&mut a, &mut b, &mut c] {
            assert!(poll_once(pin!(p.wait(never))).is_pending());
        }
        q.wake_one();
        assert!(a.may_take() && !b.may_take() && !c.may_take());
        a.taken(true);
        assert!(b.may_take() && !c.may_take());
    }

    #[test]
    fn an_expired_deadline_ends_the_wait() {
        let q = WaitQueue::default();
        let mut a = q.place();
        let out = poll_once(pin!(a.wait(|_| Poll::Ready(ErrorKind::Timeout))));
        assert_eq!(out, Poll::Ready(Err(ErrorKind::Timeout)));
        drop(a);
        assert_eq!(q.waiting(), 0);
    }
}
