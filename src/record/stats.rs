//! Per-core statistics: histograms ([`Tally`]) of latency, service time and
//! send lag (ns) plus counters by outcome, status and error kind, per phase.
//! Recorded on the hot path without allocation; merged once at the end.

use super::tally::Tally;
use super::{Outcome, Record};
use crate::base::kind::ErrorKind;

/// Counters in `failures`: one per `ErrorKind` value, `None` included.
const FAILURE_KINDS: usize = ErrorKind::ALL.len() + 1;

/// Counters and histograms for one slice of the run (overall or one phase).
#[derive(Clone, Debug)]
pub struct Stats {
    /// Scheduled arrivals (every record).
    pub scheduled: u64,
    pub ok: u64,
    /// OK responses within the SLO (= ok when no SLO is set).
    pub goodput: u64,
    pub dropped: u64,
    pub status_errors: u64,
    pub skipped: u64,
    /// Of `skipped`: skipped while the dispatcher was behind its schedule
    /// by more than the lag bound (the generator, not the target).
    pub skipped_behind: u64,
    /// Of `skipped`: planned before a late `--start-at` start (never sent).
    pub late_start: u64,
    /// Failures by `ErrorKind` (index = repr).
    pub failures: [u64; FAILURE_KINDS],
    /// Responses per status code (index = code: every three-digit code,
    /// 600-999 included, which servers send and the CSV keeps).
    pub statuses: Vec<u64>,
    pub bytes: u64,
    /// Latency (done − intended) of answered requests.
    pub latency: Tally,
    /// Service time (done − sent) of answered requests.
    pub service: Tally,
    /// Send lag (sent − intended) of every sent request: includes waits for
    /// a connection.
    pub lag: Tally,
    /// Dispatch lag (a worker began − intended) of every started request:
    /// how late the generator itself was, before any wait for the target.
    pub dispatch_lag: Tally,
    pub first_intended_ns: u64,
    pub last_intended_ns: u64,
    pub last_done_ns: u64,
    pub max_in_flight: u32,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            scheduled: 0,
            ok: 0,
            goodput: 0,
            dropped: 0,
            status_errors: 0,
            skipped: 0,
            skipped_behind: 0,
            late_start: 0,
            failures: [0; FAILURE_KINDS],
            statuses: vec![0; 1000],
            bytes: 0,
            latency: Tally::default(),
            service: Tally::default(),
            lag: Tally::default(),
            dispatch_lag: Tally::default(),
            first_intended_ns: u64::MAX,
            last_intended_ns: 0,
            last_done_ns: 0,
            max_in_flight: 0,
        }
    }
}

impl Stats {
    /// Counts one record; `slo_ns` decides goodput.
    #[inline]
    pub fn record(&mut self, r: &Record, slo_ns: Option<u64>) {
        self.scheduled += 1;
        self.first_intended_ns = self.first_intended_ns.min(r.intended_ns);
        self.last_intended_ns = self.last_intended_ns.max(r.intended_ns);
        self.last_done_ns = self.last_done_ns.max(r.done_ns);
        self.max_in_flight = self.max_in_flight.max(r.in_flight);
        self.bytes += r.bytes;
        if let Some(lag) = r.lag_ns() {
            self.lag.record(lag);
        }
        let outcome = r.outcome();
        if r.answered() {
            if let Some(slot) = self.statuses.get_mut(r.status as usize) {
                *slot += 1;
            }
            if let Some(lat) = r.latency_ns() {
                self.latency.record(lat);
            }
            if let Some(svc) = r.service_ns() {
                self.service.record(svc);
            }
        }
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                let within = match (slo_ns, r.latency_ns()) {
                    (Some(slo), Some(lat)) => lat <= slo,
                    _ => true,
                };
                self.goodput += u64::from(within);
            }
            Outcome::Dropped => self.dropped += 1,
            Outcome::StatusError => self.status_errors += 1,
            Outcome::Skipped => {
                self.skipped += 1;
                self.late_start += u64::from(r.error_kind() == ErrorKind::LateStart);
            }
            Outcome::Failed => self.failures[(r.error as usize).min(FAILURE_KINDS - 1)] += 1,
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        self.scheduled += other.scheduled;
        self.ok += other.ok;
        self.goodput += other.goodput;
        self.dropped += other.dropped;
        self.status_errors += other.status_errors;
        self.skipped += other.skipped;
        self.skipped_behind += other.skipped_behind;
        self.late_start += other.late_start;
        for (a, b) in self.failures.iter_mut().zip(other.failures) {
            *a += b;
        }
        for (a, b) in self.statuses.iter_mut().zip(&other.statuses) {
            *a += b;
        }
        self.bytes += other.bytes;
        self.latency.merge(&other.latency);
        self.service.merge(&other.service);
        self.lag.merge(&other.lag);
        self.dispatch_lag.merge(&other.dispatch_lag);
        self.first_intended_ns = self.first_intended_ns.min(other.first_intended_ns);
        self.last_intended_ns = self.last_intended_ns.max(other.last_intended_ns);
        self.last_done_ns = self.last_done_ns.max(other.last_done_ns);
        self.max_in_flight = self.max_in_flight.max(other.max_in_flight);
    }

    /// Timeouts, transport and protocol failures (not status errors).
    pub fn failed(&self) -> u64 {
        self.failures.iter().sum()
    }

    /// Everything that counts as an error: failures and non-2xx, non-503 statuses.
    pub fn errors(&self) -> u64 {
        self.failed() + self.status_errors
    }

    /// Responses received (any status).
    pub fn answered(&self) -> u64 {
        self.ok + self.dropped + self.status_errors
    }

    pub fn failures_by_kind(&self) -> impl Iterator<Item = (ErrorKind, u64)> + '_ {
        ErrorKind::ALL
            .into_iter()
            .filter(|k| !matches!(k, ErrorKind::Skipped | ErrorKind::LateStart))
            .map(|k| (k, self.failures[k as usize]))
            .filter(|(_, n)| *n > 0)
    }
}

/// One core's statistics, per phase. The run's overall figures are the
/// phases' sum ([`CoreStats::overall`]): each record is counted once on the
/// hot path, not twice (half the histogram records per request).
#[derive(Clone, Debug)]
pub struct CoreStats {
    /// At least one; a record's phase beyond the last counts in the last.
    pub phases: Vec<Stats>,
    pub slo_ns: Option<u64>,
}

impl CoreStats {
    pub fn new(phases: usize, slo_ns: Option<u64>) -> Self {
        CoreStats {
            phases: vec![Stats::default(); phases.max(1)],
            slo_ns,
        }
    }

    #[inline]
    fn phase_mut(&mut self, phase: u16) -> &mut Stats {
        let last = self.phases.len() - 1;
        &mut self.phases[(phase as usize).min(last)]
    }

    #[inline]
    pub fn record(&mut self, r: &Record) {
        let slo_ns = self.slo_ns;
        self.phase_mut(r.phase).record(r, slo_ns);
    }

    /// A worker began a request `lag_ns` after its intended instant.
    #[inline]
    pub fn dispatched(&mut self, phase: u16, lag_ns: u64) {
        self.phase_mut(phase).dispatch_lag.record(lag_ns);
    }

    /// An arrival skipped while the dispatcher was behind (counted once
    /// more, after [`CoreStats::record`] counted it as skipped).
    pub fn skipped_behind(&mut self, phase: u16) {
        self.phase_mut(phase).skipped_behind += 1;
    }

    pub fn merge(&mut self, other: &CoreStats) {
        for (a, b) in self.phases.iter_mut().zip(&other.phases) {
            a.merge(b);
        }
    }

    /// The whole run: every phase added up.
    pub fn overall(&self) -> Stats {
        let mut all = Stats::default();
        for p in &self.phases {
            all.merge(p);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(status: u16, latency_ns: u64, error: ErrorKind) -> Record {
        Record {
            intended_ns: 1_000,
            sent_ns: if error == ErrorKind::Skipped {
                0
            } else {
                1_010
            },
            done_ns: if error == ErrorKind::Skipped {
                0
            } else {
                1_000 + latency_ns
            },
            status,
            error: error as u8,
            ..Record::default()
        }
    }

    #[test]
    fn counts_outcomes_and_goodput() {
        let mut s = CoreStats::new(1, Some(5_000));
        s.record(&rec(200, 1_000, ErrorKind::None));
        s.record(&rec(200, 9_000, ErrorKind::None));
        s.record(&rec(503, 1_000, ErrorKind::None));
        s.record(&rec(404, 1_000, ErrorKind::None));
        s.record(&rec(0, 0, ErrorKind::Skipped));
        s.record(&rec(0, 5_000_000, ErrorKind::Timeout));
        let o = &s.overall();
        assert_eq!((o.scheduled, o.ok, o.goodput, o.dropped), (6, 2, 1, 1));
        assert_eq!(
            (o.status_errors, o.skipped, o.failed(), o.errors()),
            (1, 1, 1, 2)
        );
        assert_eq!(o.latency.histogram().len(), 4, "only answered requests");
        assert_eq!(o.lag.histogram().len(), 5, "every sent request");
        let mut merged = CoreStats::new(1, Some(5_000));
        merged.merge(&s);
        merged.merge(&s);
        assert_eq!(merged.overall().scheduled, 12);
        assert_eq!(merged.phases[0].ok, 4);
        assert_eq!(
            merged.overall().latency.histogram().max(),
            s.overall().latency.histogram().max()
        );
    }

    #[test]
    fn overall_is_the_phases_added_up() {
        let mut s = CoreStats::new(2, None);
        s.record(&rec(200, 1_000, ErrorKind::None));
        s.record(&Record {
            phase: 1,
            ..rec(503, 7_000, ErrorKind::None)
        });
        s.dispatched(1, 40);
        let o = s.overall();
        assert_eq!((s.phases[0].scheduled, s.phases[1].scheduled), (1, 1));
        assert_eq!((o.scheduled, o.ok, o.dropped), (2, 1, 1));
        assert_eq!(o.latency.histogram().len(), 2);
        assert!(o.latency.histogram().max() >= 7_000);
        assert_eq!(o.dispatch_lag.histogram().len(), 1);
    }
}
