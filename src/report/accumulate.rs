//! Accumulating rows for `rwg report`: classification and running totals.
//!
//! HOT for `rwg report` (every row passes here): counters, exact extremes and
//! HdrHistograms (ns, 3 significant digits, auto-resize) per slice of rows:
//! overall (u64 counts), per phase, per target, per interval bucket (u32
//! counts, to halve their memory). Turned into [`Figures`] at the end.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use hdrhistogram::{Counter, Histogram};

use super::csv_row::Row;
use super::figures::{
    Analysis, Count, Figures, Percentiles, PhaseFigures, ReportError, ReportOptions, TargetFigures,
    MAX_BUCKETS, OTHER_STATUS,
};
use super::quantile::Distribution;

/// Most distinct phases tracked by `by_phase`.
pub(super) const MAX_PHASES: usize = 4_096;
/// Most distinct targets tracked by `by_target` (each holds two histograms).
pub(super) const MAX_TARGETS: usize = 1_024;
/// Most distinct error kinds per accumulator; further kinds count as `other`.
const MAX_KINDS: usize = 64;

/// Per-row classification (from the original analyzer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Ok,
    Dropped,
    Skipped,
    Error,
}

fn classify(r: &Row<'_>) -> Class {
    if r.error == b"skipped" || r.error == b"late_start" {
        return Class::Skipped;
    }
    // gRPC codes are 0–16, HTTP statuses 100 and up: the status tells
    // which (the url column may be a target's name).
    let (dropped, ok) = match r.status {
        None => return Class::Error,
        Some(s) if s < 100 => (s == 8, s == 0),
        Some(s) => (s == 503, (200..300).contains(&s)),
    };
    if dropped {
        Class::Dropped
    } else if ok && r.error.is_empty() {
        Class::Ok
    } else {
        Class::Error
    }
}

/// The error kind of an error row: the error column, else `status` when a
/// response came, else `unknown`.
fn error_kind<'a>(r: &Row<'a>) -> &'a [u8] {
    match (r.error, r.status) {
        ([], Some(_)) => b"status",
        ([], None) => b"unknown",
        (e, _) => e,
    }
}

/// Running totals for one slice of rows.
struct Acc<C: Counter> {
    total: u64,
    ok: u64,
    goodput: u64,
    slo_violations: u64,
    dropped: u64,
    errors: u64,
    skipped: u64,
    late_start: u64,
    responses: u64,
    kinds: Vec<(Box<[u8]>, u64)>,
    /// Responses by status (at most [`MAX_KINDS`] distinct; the rest under
    /// [`OTHER_STATUS`]).
    statuses: Vec<(u32, u64)>,
    latency: Extremes<C>,
    lag: Extremes<C>,
    first_ns: u64,
    last_ns: u64,
    /// Latest answer: planned + latency.
    last_done_ns: u64,
    bytes: u64,
    max_in_flight: u64,
}

/// A histogram plus exact min and max.
struct Extremes<C: Counter> {
    hist: Histogram<C>,
    min: u64,
    max: u64,
}

impl<C: Counter> Extremes<C> {
    fn new() -> Self {
        // 3 significant digits is always a valid precision.
        let hist = Histogram::new(3).unwrap_or_else(|_| unreachable!("sigfig 3 is valid"));
        Extremes {
            hist,
            min: u64::MAX,
            max: 0,
        }
    }

    #[inline]
    fn record(&mut self, ns: u64) {
        // Only values beyond the histogram's range (centuries) can fail.
        let _ = self.hist.record(ns);
        self.min = self.min.min(ns);
        self.max = self.max.max(ns);
    }

    /// With `unanswered` samples ranked above every recorded one.
    fn distribution(&self, unanswered: u64) -> Option<Distribution> {
        let d = Distribution::of(&self.hist, unanswered, Some((self.min, self.max)));
        (d.samples > 0).then_some(d)
    }

    fn percentiles(&self) -> Option<Percentiles> {
        let samples = self.hist.len();
        if samples == 0 {
            return None;
        }
        let at = |q: f64| {
            let ns = self.hist.value_at_quantile(q).clamp(self.min, self.max);
            ns as f64 / 1000.0
        };
        Some(Percentiles {
            samples,
            min_us: self.min as f64 / 1000.0,
            p50_us: at(0.50),
            p75_us: at(0.75),
            p90_us: at(0.90),
            p95_us: at(0.95),
            p99_us: at(0.99),
            p999_us: at(0.999),
            max_us: self.max as f64 / 1000.0,
        })
    }
}

impl<C: Counter> Acc<C> {
    fn new() -> Self {
        Acc {
            total: 0,
            ok: 0,
            goodput: 0,
            slo_violations: 0,
            dropped: 0,
            errors: 0,
            skipped: 0,
            late_start: 0,
            responses: 0,
            kinds: Vec::new(),
            statuses: Vec::new(),
            latency: Extremes::new(),
            lag: Extremes::new(),
            first_ns: u64::MAX,
            last_ns: 0,
            last_done_ns: 0,
            bytes: 0,
            max_in_flight: 0,
        }
    }

    #[inline]
    fn add(&mut self, r: &Row<'_>, class: Class, slo_ns: Option<u64>) {
        self.total += 1;
        self.first_ns = self.first_ns.min(r.timestamp_ns);
        self.last_ns = self.last_ns.max(r.timestamp_ns);
        self.max_in_flight = self.max_in_flight.max(r.in_flight);
        self.bytes = self.bytes.saturating_add(r.bytes);
        match class {
            Class::Ok => {
                self.ok += 1;
                match (slo_ns, r.latency_ns) {
                    (None, _) => self.goodput += 1,
                    (Some(slo), Some(l)) if l <= slo => self.goodput += 1,
                    _ => self.slo_violations += 1,
                }
            }
            Class::Dropped => self.dropped += 1,
            Class::Skipped => {
                self.skipped += 1;
                self.late_start += u64::from(r.error == b"late_start");
            }
            Class::Error => {
                self.errors += 1;
                self.count_kind(error_kind(r));
            }
        }
        if let Some(status) = r.status {
            self.responses += 1;
            self.count_status(status);
            if let Some(l) = r.latency_ns {
                self.latency.record(l);
                let done_ns = r.timestamp_ns.saturating_add(l);
                self.last_done_ns = self.last_done_ns.max(done_ns);
            }
        }
        if let Some(l) = r.lag_ns {
            self.lag.record(l);
        }
    }

    fn count_status(&mut self, status: u32) {
        if let Some(entry) = self.statuses.iter_mut().find(|(s, _)| *s == status) {
            entry.1 += 1;
        } else if self.statuses.len() < MAX_KINDS {
            self.statuses.push((status, 1));
        } else {
            self.count_status(OTHER_STATUS);
        }
    }

    fn count_kind(&mut self, kind: &[u8]) {
        if let Some(entry) = self.kinds.iter_mut().find(|(k, _)| &k[..] == kind) {
            entry.1 += 1;
        } else if self.kinds.len() < MAX_KINDS {
            self.kinds.push((kind.into(), 1));
        } else {
            self.count_kind(b"other");
        }
    }

    /// Figures over `[start_ns, end_ns]`; for overall and phases pass `None`
    /// to use the first and last planned timestamp. `distributions`: the
    /// percentiles with intervals too (a few thousand histogram look-ups:
    /// overall and phases, not every interval bucket).
    fn figures(&self, span: Option<(u64, u64)>, distributions: bool) -> Figures {
        let (start_ns, end_ns) = match span {
            Some(span) => span,
            None if self.total == 0 => (0, 0),
            None => (self.first_ns, self.last_ns),
        };
        let span_ns = end_ns.saturating_sub(start_ns);
        // A CSV does not hold the plan: n arrivals planned over a span take
        // n gaps of time, not n - 1 (the last arrival's own gap follows it),
        // so a 2 s phase at 10/s reads 2 s, not 1.9 s at 10.5/s.
        let duration_ns = match (span, self.total) {
            (None, n) if n >= 2 => span_ns.saturating_add(span_ns / (n - 1)),
            _ => span_ns,
        };
        let count = |count: u64| Count {
            count,
            per_sec: per_sec(count, duration_ns),
        };
        let mut error_kinds = BTreeMap::new();
        for (k, n) in &self.kinds {
            *error_kinds
                .entry(String::from_utf8_lossy(k).into_owned())
                .or_insert(0) += n;
        }
        Figures {
            start_ns,
            end_ns,
            duration_ns,
            span_ns,
            last_done_ns: self.last_done_ns,
            total: count(self.total),
            ok: count(self.ok),
            goodput: count(self.goodput),
            slo_violations: count(self.slo_violations),
            dropped: count(self.dropped),
            errors: count(self.errors),
            error_kinds,
            responses_by_status: self.statuses.iter().copied().collect(),
            skipped: count(self.skipped),
            late_start: self.late_start,
            responses: count(self.responses),
            offered_per_sec: per_sec(self.total, duration_ns),
            throughput_per_sec: per_sec(self.responses, duration_ns),
            latency: self.latency.percentiles(),
            lag: self.lag.percentiles(),
            latency_all: distributions
                .then(|| self.latency.distribution(self.total - self.responses))
                .flatten(),
            latency_answered: distributions
                .then(|| self.latency.distribution(0))
                .flatten(),
            send_lag: distributions.then(|| self.lag.distribution(0)).flatten(),
            bytes: self.bytes,
            max_in_flight: self.max_in_flight,
        }
    }
}

/// `f` with its rates over `duration_ns`.
fn over_duration(mut f: Figures, duration_ns: u64) -> Figures {
    f.duration_ns = duration_ns;
    for c in [
        &mut f.total,
        &mut f.ok,
        &mut f.goodput,
        &mut f.slo_violations,
        &mut f.dropped,
        &mut f.errors,
        &mut f.skipped,
        &mut f.responses,
    ] {
        c.per_sec = per_sec(c.count, duration_ns);
    }
    f.offered_per_sec = f.total.per_sec;
    f.throughput_per_sec = f.responses.per_sec;
    f
}

fn per_sec(count: u64, duration_ns: u64) -> f64 {
    if duration_ns == 0 {
        return 0.0;
    }
    count as f64 * 1e9 / duration_ns as f64
}

/// All accumulators of one analysis.
pub(super) struct Accumulators {
    slo_ns: Option<u64>,
    lo_ns: u64,
    hi_ns: u64,
    interval_ns: u64,
    pub(super) rows_read: u64,
    overall: Acc<u64>,
    /// `Some` with `by_phase`.
    pub(super) phases: Option<Groups<u32>>,
    /// `Some` with `by_target`: keyed by the url column (a URL or a
    /// workload target's name).
    pub(super) targets: Option<Groups<Vec<u8>>>,
    buckets: Vec<Option<Box<Acc<u32>>>>,
    opts: ReportOptions,
}

impl Accumulators {
    pub(super) fn new(opts: &ReportOptions, lo_ns: u64, hi_ns: u64) -> Result<Self, ReportError> {
        let mut buckets = Vec::new();
        let interval_ns = opts.interval_ns.unwrap_or(u64::MAX);
        if opts.interval_ns.is_some() && lo_ns <= hi_ns {
            let n = ((hi_ns - lo_ns) / interval_ns).saturating_add(1);
            if n > MAX_BUCKETS {
                return Err(ReportError(format!(
                    "interval too short: {n} buckets (at most {MAX_BUCKETS})"
                )));
            }
            buckets.resize_with(n as usize, || None);
        }
        Ok(Accumulators {
            slo_ns: opts.slo_ns,
            lo_ns,
            hi_ns,
            interval_ns,
            rows_read: 0,
            overall: Acc::new(),
            phases: opts.by_phase.then(|| Groups::new(MAX_PHASES)),
            targets: opts.by_target.then(|| Groups::new(MAX_TARGETS)),
            buckets,
            opts: opts.clone(),
        })
    }

    #[inline]
    pub(super) fn add(&mut self, r: &Row<'_>) {
        let ts = r.timestamp_ns;
        if ts < self.lo_ns || ts > self.hi_ns {
            return;
        }
        let class = classify(r);
        self.overall.add(r, class, self.slo_ns);
        if let Some(g) = &mut self.phases {
            g.add(&r.phase, r, class, self.slo_ns);
        }
        if let Some(g) = &mut self.targets {
            g.add(r.url, r, class, self.slo_ns);
        }
        if !self.buckets.is_empty() {
            let i = ((ts - self.lo_ns) / self.interval_ns) as usize;
            if let Some(slot) = self.buckets.get_mut(i) {
                slot.get_or_insert_with(|| Box::new(Acc::new()))
                    .add(r, class, self.slo_ns);
            }
        }
    }

    pub(super) fn rows_kept(&self) -> u64 {
        self.overall.total
    }

    pub(super) fn finish(self, files: Vec<String>) -> Analysis {
        let mut phases: Vec<PhaseFigures> = self
            .phases
            .iter()
            .flat_map(|g| &g.slots)
            .map(|(phase, acc)| PhaseFigures {
                phase: *phase,
                figures: acc.figures(None, true),
            })
            .collect();
        phases.sort_by_key(|p| p.phase);
        let overall = self.overall.figures(None, true);
        // A target's rates are over the whole run's duration: a rare target's
        // own first-to-last span would inflate them.
        let mut targets: Vec<TargetFigures> = self
            .targets
            .iter()
            .flat_map(|g| &g.slots)
            .map(|(name, acc)| TargetFigures {
                target: String::from_utf8_lossy(name).into_owned(),
                figures: over_duration(acc.figures(None, true), overall.duration_ns),
            })
            .collect();
        // The busiest target first; names break ties, so the order is stable.
        targets.sort_by(|x, y| {
            (y.figures.total.count, &x.target).cmp(&(x.figures.total.count, &y.target))
        });
        let empty = Acc::<u32>::new();
        let timeseries = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, acc)| {
                let start = self.lo_ns.saturating_add(i as u64 * self.interval_ns);
                let span = (start, start.saturating_add(self.interval_ns));
                acc.as_deref().unwrap_or(&empty).figures(Some(span), false)
            })
            .collect();
        Analysis {
            files,
            tools: Vec::new(),
            rows_read: self.rows_read,
            rows_kept: self.overall.total,
            slo_ns: self.opts.slo_ns,
            warmup_ns: self.opts.warmup_ns,
            cooldown_ns: self.opts.cooldown_ns,
            interval_ns: self.opts.interval_ns,
            overall,
            phases,
            targets,
            timeseries,
            verdict: Default::default(),
            shards: Default::default(),
        }
    }
}

/// Accumulators keyed by a row's phase or target, at most `cap` of them.
pub(super) struct Groups<K> {
    cap: usize,
    slots: Vec<(K, Acc<u64>)>,
    index: HashMap<K, usize>,
    /// A row's key did not fit under `cap`; its group is incomplete.
    pub(super) overflowed: bool,
}

impl<K: Hash + Eq + Clone> Groups<K> {
    fn new(cap: usize) -> Self {
        Groups {
            cap,
            slots: Vec::new(),
            index: HashMap::new(),
            overflowed: false,
        }
    }

    fn add<Q>(&mut self, key: &Q, r: &Row<'_>, class: Class, slo_ns: Option<u64>)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None if self.slots.len() < self.cap => {
                self.slots.push((key.to_owned(), Acc::new()));
                self.index.insert(key.to_owned(), self.slots.len() - 1);
                self.slots.len() - 1
            }
            None => {
                self.overflowed = true;
                return;
            }
        };
        self.slots[i].1.add(r, class, slo_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(url: &'a [u8], status: Option<u32>, error: &'a [u8]) -> Row<'a> {
        Row {
            timestamp_ns: 0,
            url,
            phase: 0,
            status,
            latency_ns: Some(1),
            service_ns: Some(1),
            lag_ns: Some(0),
            bytes: 0,
            error,
            in_flight: 0,
        }
    }

    #[test]
    fn classification() {
        let h = b"http://h/";
        let g = b"grpc://h/";
        assert_eq!(classify(&row(h, Some(200), b"")), Class::Ok);
        assert_eq!(classify(&row(h, Some(204), b"")), Class::Ok);
        assert_eq!(classify(&row(h, Some(503), b"")), Class::Dropped);
        assert_eq!(classify(&row(h, Some(503), b"status")), Class::Dropped);
        assert_eq!(classify(&row(h, Some(500), b"")), Class::Error);
        assert_eq!(classify(&row(h, Some(200), b"io")), Class::Error);
        assert_eq!(classify(&row(h, None, b"timeout")), Class::Error);
        assert_eq!(classify(&row(h, None, b"skipped")), Class::Skipped);
        assert_eq!(classify(&row(g, Some(0), b"")), Class::Ok);
        assert_eq!(classify(&row(g, Some(8), b"")), Class::Dropped);
        assert_eq!(classify(&row(g, Some(2), b"")), Class::Error);
        // A workload target's name in the url column: the status decides.
        assert_eq!(classify(&row(b"call", Some(0), b"")), Class::Ok);
        assert_eq!(classify(&row(b"page", Some(200), b"")), Class::Ok);
        assert_eq!(error_kind(&row(h, Some(500), b"")), b"status");
        assert_eq!(error_kind(&row(h, None, b"")), b"unknown");
    }
}
