//! `rwg serve --max-concurrency C`: a target of known capacity. At most C
//! requests are served at once, across all threads and connections; the
//! others wait in one first-come, first-served queue, unbounded. With a
//! fixed delay D the capacity is C / D per second: below it nothing waits,
//! beyond it the queue grows without bound (an M/D/C or D/D/C queue, the
//! delay being the service time).
//!
//! Each request's completion instant is computed when it arrives, from the
//! instants at which the C servers fall free (a min-heap under a mutex), so
//! nothing needs waking: the connection just sleeps until then.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

/// The C servers' free instants, ns since the server started.
pub(crate) struct Servers {
    free_at_ns: Mutex<BinaryHeap<Reverse<u64>>>,
}

impl Servers {
    pub(crate) fn new(count: usize) -> Servers {
        Servers {
            free_at_ns: Mutex::new((0..count).map(|_| Reverse(0)).collect()),
        }
    }

    /// When a request that arrived at `arrived_ns` and needs `service_ns`
    /// of a server is done: it starts when it arrives or when the first
    /// server falls free, whichever is later.
    pub(crate) fn done_ns(&self, arrived_ns: u64, service_ns: u64) -> u64 {
        // A poisoned lock only means another thread panicked mid-update of
        // plain integers: the heap is still whole.
        let mut heap = self.free_at_ns.lock().unwrap_or_else(|e| e.into_inner());
        let Reverse(free_ns) = heap.pop().unwrap_or(Reverse(0));
        let done_ns = arrived_ns.max(free_ns) + service_ns;
        heap.push(Reverse(done_ns));
        done_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_servers_queue_the_third_request() {
        let s = Servers::new(2);
        assert_eq!(s.done_ns(0, 10), 10);
        assert_eq!(s.done_ns(1, 10), 11);
        // Both busy: waits for the first to fall free.
        assert_eq!(s.done_ns(2, 10), 20);
        assert_eq!(s.done_ns(30, 10), 40);
        // At exactly capacity (one per 5 ns) nothing waits.
        let s = Servers::new(2);
        let done: Vec<u64> = (0..6).map(|i| s.done_ns(i * 5, 10) - i * 5).collect();
        assert_eq!(done, [10; 6]);
    }
}
