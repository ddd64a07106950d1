//! Records and where they go. The unit of measurement is one [`Record`] per
//! scheduled arrival (Copy, fixed size); records cross from a core to the
//! writer thread in fixed-capacity [`Batch`]es over an SPSC ring ([`ring`]).
//! The writer ([`sink`]) encodes them into the CSV ([`csv`]), the interval
//! log ([`hlog`]) and the live line ([`progress`]); the cores count them in
//! [`stats`] for the summary (histograms as [`tally`] counts). The run's [`settings`] go beside the CSV;
//! [`concat`] makes one CSV of several runs' (`rwg search`'s steps).
//!
//! Imports: `base` and `plan` only.

pub mod concat;
pub mod csv;
pub mod hlog;
pub mod progress;
pub mod ring;
pub mod seconds;
pub mod settings;
pub mod shape;
pub mod sink;
pub mod stats;
pub mod tally;

use crate::base::kind::{ErrorKind, GRPC_OK, GRPC_RESOURCE_EXHAUSTED};

/// How a record counts in the summary (the README's status semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The server shed load: HTTP 503 or gRPC RESOURCE_EXHAUSTED.
    Dropped,
    /// A response with any other non-2xx status.
    StatusError,
    Skipped,
    /// Timeout, transport or protocol failure.
    Failed,
}

/// One scheduled arrival and what became of it. Instants are monotonic ns;
/// 0 means "did not happen".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub intended_ns: u64,
    pub sent_ns: u64,
    pub done_ns: u64,
    pub bytes: u64,
    /// HTTP status, 0 when no response.
    pub status: u16,
    pub phase: u16,
    /// Which of the run's targets the arrival sent to.
    pub target: u16,
    pub in_flight: u32,
    pub error: ErrorKindRepr,
    /// `status` is a gRPC code (0 = OK) rather than an HTTP status.
    pub grpc: bool,
}

/// `ErrorKind` stored as its byte so `Record` stays `Default`.
pub type ErrorKindRepr = u8;

impl Record {
    pub fn error_kind(&self) -> ErrorKind {
        match self.error {
            1 => ErrorKind::Skipped,
            2 => ErrorKind::Timeout,
            3 => ErrorKind::Connect,
            4 => ErrorKind::Reset,
            5 => ErrorKind::Protocol,
            6 => ErrorKind::Io,
            7 => ErrorKind::Cancelled,
            8 => ErrorKind::Request,
            9 => ErrorKind::LateStart,
            _ => ErrorKind::None,
        }
    }

    /// Whether a response (status) came back: an HTTP status is never 0, a
    /// gRPC OK is; a gRPC DEADLINE_EXCEEDED (or CANCELLED past our deadline)
    /// is answered but counts as a timeout.
    pub fn answered(&self) -> bool {
        if self.grpc {
            self.error_kind() == ErrorKind::None || self.status != GRPC_OK
        } else {
            self.status != 0
        }
    }

    pub fn outcome(&self) -> Outcome {
        match self.error_kind() {
            ErrorKind::None if self.grpc => match self.status {
                GRPC_OK => Outcome::Ok,
                GRPC_RESOURCE_EXHAUSTED => Outcome::Dropped,
                _ => Outcome::StatusError,
            },
            ErrorKind::None => match self.status {
                200..=299 => Outcome::Ok,
                503 => Outcome::Dropped,
                _ => Outcome::StatusError,
            },
            ErrorKind::Skipped | ErrorKind::LateStart => Outcome::Skipped,
            _ => Outcome::Failed,
        }
    }

    /// done − intended, when the request ended (answered or failed).
    pub fn latency_ns(&self) -> Option<u64> {
        (self.done_ns != 0).then(|| self.done_ns.saturating_sub(self.intended_ns))
    }

    /// done − sent, when the request was sent and ended.
    pub fn service_ns(&self) -> Option<u64> {
        (self.done_ns != 0 && self.sent_ns != 0).then(|| self.done_ns.saturating_sub(self.sent_ns))
    }

    /// sent − intended, when the request was sent.
    pub fn lag_ns(&self) -> Option<u64> {
        (self.sent_ns != 0).then(|| self.sent_ns.saturating_sub(self.intended_ns))
    }
}

/// Records per batch: large enough that ring traffic is rare, small enough
/// that a batch (≈ 200 KiB) reaches the writer quickly at modest rates.
pub const BATCH_RECORDS: usize = 4096;

/// A fixed-capacity run of records; emptied batches are recycled.
pub type Batch = Vec<Record>;

pub fn new_batch() -> Batch {
    Vec::with_capacity(BATCH_RECORDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::kind::{grpc_code_name, GRPC_DEADLINE_EXCEEDED};

    #[test]
    fn outcomes_follow_status_semantics() {
        let mut r = Record {
            status: 200,
            ..Record::default()
        };
        assert_eq!(r.outcome(), Outcome::Ok);
        r.status = 503;
        assert_eq!(r.outcome(), Outcome::Dropped);
        r.status = 404;
        assert_eq!(r.outcome(), Outcome::StatusError);
        r.error = ErrorKind::Skipped as u8;
        assert_eq!(r.outcome(), Outcome::Skipped);
        r.error = ErrorKind::LateStart as u8;
        assert_eq!(r.outcome(), Outcome::Skipped);
        r.error = ErrorKind::Timeout as u8;
        assert_eq!(r.outcome(), Outcome::Failed);
        for kind in ErrorKind::ALL {
            r.error = kind as u8;
            assert_eq!(r.error_kind(), kind);
        }
    }

    #[test]
    fn grpc_outcomes() {
        let mut r = Record {
            grpc: true,
            ..Record::default()
        };
        assert_eq!(r.outcome(), Outcome::Ok);
        assert!(r.answered());
        r.status = GRPC_RESOURCE_EXHAUSTED;
        assert_eq!(r.outcome(), Outcome::Dropped);
        r.status = 3;
        assert_eq!(r.outcome(), Outcome::StatusError);
        assert_eq!(grpc_code_name(3), "INVALID_ARGUMENT");
        r.status = GRPC_DEADLINE_EXCEEDED;
        r.error = ErrorKind::Timeout as u8;
        assert_eq!(r.outcome(), Outcome::Failed);
        assert!(r.answered());
        r.status = 0;
        assert!(!r.answered());
    }

    #[test]
    fn derived_times() {
        let r = Record {
            intended_ns: 100,
            sent_ns: 130,
            done_ns: 1_130,
            ..Record::default()
        };
        assert_eq!(r.latency_ns(), Some(1_030));
        assert_eq!(r.service_ns(), Some(1_000));
        assert_eq!(r.lag_ns(), Some(30));
        let skipped = Record {
            intended_ns: 100,
            ..Record::default()
        };
        assert_eq!(skipped.latency_ns(), None);
        assert_eq!(skipped.lag_ns(), None);
    }
}
