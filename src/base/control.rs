//! What the threads of one run share: the stop flag with its first
//! [`StopReason`], and the in-flight counts the cores publish for the live
//! line. Atomics only; the one thing on the hot path is [`RunControl::stopping`].

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};

/// Why a run stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StopReason {
    None = 0,
    Signal = 1,
    FirstError = 2,
    WriterFailed = 3,
    /// A thread of rwg itself failed (a bug, not the target's fault).
    Internal = 4,
}

impl StopReason {
    /// One word for logs and files: `complete` when nothing stopped the run.
    pub fn word(self) -> &'static str {
        match self {
            StopReason::None => "complete",
            StopReason::Signal => "signal",
            StopReason::FirstError => "first_error",
            StopReason::WriterFailed => "writer_failed",
            StopReason::Internal => "internal_error",
        }
    }
}

/// The run-wide atomics: the stop flag and what cores publish for progress.
pub struct RunControl {
    stop: AtomicBool,
    reason: AtomicU8,
    /// Requests in flight per core, refreshed by each core's sweep.
    pub in_flight: Vec<AtomicU32>,
    /// The writer thread is gone: cores stop waiting for it to take batches.
    writer_gone: AtomicBool,
}

impl RunControl {
    pub fn new(cores: usize) -> Self {
        RunControl {
            stop: AtomicBool::new(false),
            reason: AtomicU8::new(0),
            in_flight: (0..cores).map(|_| AtomicU32::new(0)).collect(),
            writer_gone: AtomicBool::new(false),
        }
    }

    /// Asks every core to stop; the first reason given sticks.
    pub fn request_stop(&self, reason: StopReason) {
        let _ = self.reason.compare_exchange(
            StopReason::None as u8,
            reason as u8,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.stop.store(true, Ordering::Release);
    }

    #[inline]
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn reason(&self) -> StopReason {
        match self.reason.load(Ordering::Relaxed) {
            1 => StopReason::Signal,
            2 => StopReason::FirstError,
            3 => StopReason::WriterFailed,
            4 => StopReason::Internal,
            _ => StopReason::None,
        }
    }

    /// The writer thread died: stops the run, and cores give up shipping.
    pub fn writer_died(&self) {
        self.writer_gone.store(true, Ordering::Release);
        self.request_stop(StopReason::Internal);
    }

    pub fn writer_gone(&self) -> bool {
        self.writer_gone.load(Ordering::Acquire)
    }
}
