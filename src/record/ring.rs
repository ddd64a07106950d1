//! The only thread boundary: per core, an SPSC ring of full batches to the
//! writer and a return ring of emptied batches back. [`Outbox`] is the core's
//! end. It never blocks: when the writer lags and the ring is full, batches
//! wait in a local overflow queue (memory grows, nothing is lost).

use std::collections::VecDeque;

use rtrb::{Consumer, Producer, RingBuffer};

use super::{new_batch, Batch, Record, BATCH_RECORDS};

/// Batches in flight per core: 64 × 4096 records.
pub const RING_BATCHES: usize = 64;

/// The writer's end of one core's rings.
pub struct Inbox {
    pub full: Consumer<Batch>,
    pub empty: Producer<Batch>,
}

/// Creates the rings of one core.
pub fn channel() -> (Outbox, Inbox) {
    let (full_tx, full_rx) = RingBuffer::new(RING_BATCHES);
    let (empty_tx, empty_rx) = RingBuffer::new(RING_BATCHES);
    (
        Outbox {
            batch: new_batch(),
            oldest_ns: 0,
            full: full_tx,
            empty: empty_rx,
            overflow: VecDeque::new(),
        },
        Inbox {
            full: full_rx,
            empty: empty_tx,
        },
    )
}

/// The core's end: collects records into batches and ships full ones.
pub struct Outbox {
    batch: Batch,
    /// When the first record of the current batch was pushed (monotonic ns).
    oldest_ns: u64,
    full: Producer<Batch>,
    empty: Consumer<Batch>,
    overflow: VecDeque<Batch>,
}

impl Outbox {
    #[inline]
    pub fn push(&mut self, record: Record, now_ns: u64) {
        if self.batch.is_empty() {
            self.oldest_ns = now_ns;
        }
        self.batch.push(record);
        if self.batch.len() >= BATCH_RECORDS {
            self.ship();
        }
    }

    /// Ships a partial batch whose first record is older than `max_age_ns`,
    /// so the writer (and the progress line) see records at low rates too.
    pub fn flush_if_older(&mut self, now_ns: u64, max_age_ns: u64) {
        if !self.batch.is_empty() && now_ns.saturating_sub(self.oldest_ns) >= max_age_ns {
            self.ship();
        } else {
            self.drain_overflow();
        }
    }

    /// Ships whatever is pending; true when nothing is left waiting locally.
    pub fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            self.drain_overflow();
        } else {
            self.ship();
        }
        self.overflow.is_empty()
    }

    fn ship(&mut self) {
        let fresh = self.empty.pop().unwrap_or_else(|_| new_batch());
        let full = std::mem::replace(&mut self.batch, fresh);
        self.overflow.push_back(full);
        self.drain_overflow();
    }

    fn drain_overflow(&mut self) {
        while let Some(b) = self.overflow.pop_front() {
            if let Err(rtrb::PushError::Full(b)) = self.full.push(b) {
                self.overflow.push_front(b);
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_lost_when_the_ring_is_full() {
        let (mut out, mut inbox) = channel();
        let total = BATCH_RECORDS * (RING_BATCHES + 3) + 17;
        for i in 0..total {
            out.push(
                Record {
                    intended_ns: i as u64,
                    ..Record::default()
                },
                0,
            );
        }
        assert!(!out.flush(), "ring full: some batches wait locally");
        let mut seen = 0;
        while seen < total {
            match inbox.full.pop() {
                Ok(mut b) => {
                    for r in &b {
                        assert_eq!(r.intended_ns, seen as u64);
                        seen += 1;
                    }
                    b.clear();
                    let _ = inbox.empty.push(b);
                }
                Err(_) => {
                    out.flush();
                }
            }
        }
        assert_eq!(seen, total);
    }
}
