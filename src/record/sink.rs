//! The writer thread: drains every core's ring, encodes rows into the
//! memory-mapped CSV, feeds the progress line, the interval log, the
//! phase-shape collector and (replaying a trace) the per-second counts, and
//! returns emptied batches.
//! It exits once every core has finished and the rings are empty, so every
//! record a core produced reaches the file exactly once.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::csv::{encode_row, label_cell, CsvFile};
use crate::base::clock::{now_ns, EpochMap};
use crate::base::control::{RunControl, StopReason};
use crate::base::fault::{self, panic_message, Fault};
use crate::record::hlog::HlogWriter;
use crate::record::progress::Progress;
use crate::record::ring::Inbox;
use crate::record::seconds::{PerSecond, SecondCounts};
use crate::record::shape::{PhaseShape, ShapeCollector};

/// Longest nap of an idle writer (also the most it adds to the end of a run).
const MAX_IDLE_SLEEP_MS: u64 = 16;
/// Encoded rows are copied into the mapping in chunks of about this size.
const CHUNK_BYTES: usize = 256 * 1024;

pub struct SinkSetup {
    pub inboxes: Vec<Inbox>,
    pub csv: Option<CsvFile>,
    /// What the `url` column says for each target, by index.
    pub labels: Vec<String>,
    pub epoch: EpochMap,
    pub ctl: Arc<RunControl>,
    /// Cores that have shipped their last record.
    pub cores_done: Arc<AtomicUsize>,
    pub progress: Option<Progress>,
    pub hlog: Option<HlogWriter>,
    pub shape: ShapeCollector,
    /// Replaying a trace: sent and answered per second.
    pub per_second: Option<PerSecond>,
    /// Run start (monotonic ns); 0 until the engine publishes it.
    pub start_ns: Arc<AtomicU64>,
}

/// What the writer did.
#[derive(Debug, Default)]
pub struct SinkReport {
    /// Records received from the cores.
    pub rows: u64,
    /// Rows that reached the CSV (fewer than `rows` only after a write failure).
    pub csv_rows: u64,
    pub csv_bytes: u64,
    /// A write failure (e.g. a full disk); the run was stopped.
    pub error: Option<String>,
    /// The writer thread itself failed (a bug in rwg); the run was stopped.
    pub internal_error: Option<String>,
    /// Per open-loop phase: what the steady-state and schedule checks need.
    pub shapes: Vec<PhaseShape>,
    /// Replaying a trace: sent and answered per second of intended time.
    pub per_second: Vec<SecondCounts>,
}

/// Starts the writer thread. Should it panic (a bug), the run is stopped,
/// the cores stop waiting for it, and the report says so; the CSV keeps the
/// rows written before (its file is cut to them when dropped).
pub fn spawn(setup: SinkSetup) -> std::io::Result<JoinHandle<SinkReport>> {
    let ctl = setup.ctl.clone();
    std::thread::Builder::new()
        .name("rwg-writer".into())
        .spawn(
            move || match std::panic::catch_unwind(AssertUnwindSafe(|| write_all(setup))) {
                Ok(report) => report,
                Err(payload) => {
                    ctl.writer_died();
                    SinkReport {
                        internal_error: Some(format!(
                            "the writer thread (rwg-writer) panicked: {}",
                            panic_message(&*payload)
                        )),
                        ..SinkReport::default()
                    }
                }
            },
        )
}

fn write_all(mut s: SinkSetup) -> SinkReport {
    let mut report = SinkReport::default();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
    // Rows encoded into `buf` and not yet copied into the file.
    let mut buffered_rows = 0u64;
    let labels: Vec<Vec<u8>> = s.labels.iter().map(|l| label_cell(l)).collect();
    let cores = s.inboxes.len();
    let mut idle_sleep_ms = 1;
    let panic_at_first_batch = fault::injected() == Fault::WriterPanic;
    loop {
        // Read the done-count before draining: records pushed before a core
        // counted itself done are then guaranteed to be drained below.
        let all_done = s.cores_done.load(Ordering::Acquire) == cores;
        let mut got_any = false;
        for inbox in s.inboxes.iter_mut() {
            while let Ok(mut batch) = inbox.full.pop() {
                got_any = true;
                assert!(
                    !panic_at_first_batch,
                    "injected fault (RWG_FAULT=writer-panic)"
                );
                // Records flow only after the start instant is published.
                let start_ns = s.start_ns.load(Ordering::Acquire);
                for r in batch.iter() {
                    s.shape.observe(r, start_ns);
                    if let Some(p) = s.per_second.as_mut() {
                        p.observe(r, start_ns);
                    }
                    if s.csv.is_some() {
                        let label = labels.get(usize::from(r.target)).map_or(&[][..], |l| l);
                        encode_row(&mut buf, r, label, &s.epoch);
                        buffered_rows += 1;
                        if buf.len() >= CHUNK_BYTES {
                            flush_chunk(&mut s.csv, &s.ctl, &mut buf, &mut report, buffered_rows);
                            buffered_rows = 0;
                        }
                    }
                    if let Some(p) = s.progress.as_mut() {
                        p.observe(r);
                    }
                    if let Some(h) = s.hlog.as_mut() {
                        h.observe(r);
                    }
                }
                report.rows += batch.len() as u64;
                batch.clear();
                let _ = inbox.empty.push(batch);
            }
        }
        flush_chunk(&mut s.csv, &s.ctl, &mut buf, &mut report, buffered_rows);
        buffered_rows = 0;
        let now = now_ns();
        if let Some(p) = s.progress.as_mut() {
            p.tick(now, &s.ctl);
        }
        if let Some(h) = s.hlog.as_mut() {
            if let Err(e) = hlog_tick(h, &s.start_ns, &s.epoch, now) {
                report.error = Some(format!("cannot write {}: {e}", h.path().display()));
                s.hlog = None;
            }
        }
        if all_done && !got_any {
            break;
        }
        // Back off while the rings stay empty: at low rates batches arrive
        // only every BATCH_MAX_AGE (100 ms), and each wake-up costs CPU.
        if got_any {
            idle_sleep_ms = 1;
        } else {
            std::thread::sleep(Duration::from_millis(idle_sleep_ms));
            idle_sleep_ms = (idle_sleep_ms * 2).min(MAX_IDLE_SLEEP_MS);
        }
    }
    report.shapes = s.shape.finish();
    report.per_second = s.per_second.take().map_or_else(Vec::new, PerSecond::finish);
    if let Some(h) = s.hlog.take() {
        let path = h.path().display().to_string();
        if let Err(e) = h.finish(s.ctl.reason().word()) {
            report
                .error
                .get_or_insert(format!("cannot write {path}: {e}"));
        }
    }
    if let Some(csv) = s.csv.take() {
        let path = csv.path().display().to_string();
        match csv.finish() {
            Ok(len) => report.csv_bytes = len,
            Err(e) => {
                report
                    .error
                    .get_or_insert(format!("cannot finish {path}: {e}"));
            }
        }
    }
    report
}

fn flush_chunk(
    csv_slot: &mut Option<CsvFile>,
    ctl: &RunControl,
    buf: &mut Vec<u8>,
    report: &mut SinkReport,
    rows: u64,
) {
    if buf.is_empty() {
        return;
    }
    if let Some(csv) = csv_slot.as_mut() {
        match csv.write(buf) {
            Ok(()) => report.csv_rows += rows,
            Err(e) => {
                report.error = Some(format!("cannot write {}: {e}", csv.path().display()));
                ctl.request_stop(StopReason::WriterFailed);
                if let Some(csv) = csv_slot.take() {
                    let _ = csv.finish();
                }
            }
        }
    }
    buf.clear();
}

/// Starts the log once the run start is known, then closes due intervals.
fn hlog_tick(
    h: &mut HlogWriter,
    start_ns: &AtomicU64,
    epoch: &EpochMap,
    now_ns: u64,
) -> std::io::Result<()> {
    if !h.started() {
        let start = start_ns.load(Ordering::Acquire);
        if start == 0 {
            return Ok(());
        }
        h.begin(start, epoch.to_wall_ns(start))?;
    }
    h.close_before(now_ns)
}
