//! `rwg run --hlog FILE`: an HdrHistogram interval log (the standard V2 log
//! format, compressed histograms, one interval per second) of latency from
//! the intended send instant, so runs on several machines merge exactly.
//!
//! Written by the writer thread, which sees every record: an answered
//! request's latency goes into the interval of the second in which it
//! completed (the convention of HdrHistogram's own recorders). Intervals are
//! closed one second after they end, so records still in flight to the
//! writer land in the right one; a straggler later than that is counted in
//! the oldest interval still open.
//!
//! Arrivals that got no answer (skipped, timed out, failed) are logged too,
//! as a second histogram per interval tagged `unanswered` ([`UNANSWERED_TAG`]):
//! its count is the number of such arrivals (each recorded at 1 h, a value
//! that means nothing), so `rwg report` can rank them above every answer as
//! it does from the CSV, while tools that read untagged histograms only see
//! the answered latencies as before.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;

use crate::record::tally::{histogram, MAX_TRACKABLE_NS};
use crate::record::Record;

const NS_PER_SEC: u64 = 1_000_000_000;
/// The tag of the histograms that count arrivals without an answer.
pub const UNANSWERED_TAG: &str = "unanswered";
/// The last line's comment, after every interval: how the run ended (a
/// [`crate::base::control::StopReason`] word). A log without it comes
/// from a process that was killed or is still running.
pub const END_PREFIX: &str = "rwg end stop=";

/// One open interval: answered latencies and the unanswered count.
struct Interval {
    answered: Histogram<u64>,
    unanswered: u64,
}

pub struct HlogWriter {
    path: PathBuf,
    out: BufWriter<File>,
    serializer: V2DeflateSerializer,
    /// Run start: monotonic and Unix-epoch ns.
    start_mono_ns: u64,
    /// Open intervals by second index since the start.
    open: BTreeMap<u64, Interval>,
    /// A header comment naming the plan (`PlanMark::to_comment`).
    mark: String,
}

impl HlogWriter {
    /// Creates the file; the header (with `mark`, one line) is written once
    /// the run start is known.
    pub fn create(path: &Path, mark: String) -> io::Result<HlogWriter> {
        Ok(HlogWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(File::create(path)?),
            serializer: V2DeflateSerializer::new(),
            start_mono_ns: 0,
            open: BTreeMap::new(),
            mark,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the header: StartTime and BaseTime = the run's start.
    pub fn begin(&mut self, start_mono_ns: u64, start_wall_ns: u64) -> io::Result<()> {
        self.start_mono_ns = start_mono_ns;
        let start = std::time::UNIX_EPOCH + Duration::from_nanos(start_wall_ns);
        IntervalLogWriterBuilder::new()
            .add_comment("rwg run: latency from the intended send instant, values in ns")
            .add_comment(&self.mark)
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut self.out, &mut self.serializer)?;
        writeln!(
            self.out,
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        )
    }

    pub fn started(&self) -> bool {
        self.start_mono_ns != 0
    }

    #[inline]
    pub fn observe(&mut self, r: &Record) {
        if !self.started() {
            return;
        }
        // Answered requests (a gRPC OK is status 0, so not `status`) in the
        // second they completed; the others in the second they ended, or
        // were due if they never started.
        let answered_ns = r.answered().then(|| r.latency_ns()).flatten();
        let at_ns = if r.done_ns != 0 {
            r.done_ns
        } else {
            r.intended_ns
        };
        let mut second = at_ns.saturating_sub(self.start_mono_ns) / NS_PER_SEC;
        if let Some((&oldest, _)) = self.open.first_key_value() {
            second = second.max(oldest);
        }
        let interval = self.open.entry(second).or_insert_with(|| Interval {
            answered: histogram(),
            unanswered: 0,
        });
        match answered_ns {
            Some(latency_ns) => interval.answered.saturating_record(latency_ns.max(1)),
            None => interval.unanswered += 1,
        }
    }

    /// Writes intervals that ended more than a second before `now_mono_ns`.
    pub fn close_before(&mut self, now_mono_ns: u64) -> io::Result<()> {
        if !self.started() {
            return Ok(());
        }
        let now_s = now_mono_ns.saturating_sub(self.start_mono_ns) / NS_PER_SEC;
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() + 2 > now_s {
                break;
            }
            let (second, interval) = entry.remove_entry();
            self.write_interval(second, &interval)?;
        }
        Ok(())
    }

    fn write_interval(&mut self, second: u64, interval: &Interval) -> io::Result<()> {
        // A builder with no headers writes nothing: it only lends a writer.
        let mut log =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?;
        let (start, length) = (Duration::from_secs(second), Duration::from_secs(1));
        let failed = |e| io::Error::other(format!("{e:?}"));
        log.write_histogram(&interval.answered, start, length, None)
            .map_err(failed)?;
        if interval.unanswered > 0 {
            let mut h = histogram();
            h.saturating_record_n(MAX_TRACKABLE_NS, interval.unanswered);
            log.write_histogram(&h, start, length, Tag::new(UNANSWERED_TAG))
                .map_err(failed)?;
        }
        Ok(())
    }

    /// Writes every open interval and the end line (`stop`: how the run
    /// ended), and flushes the file.
    pub fn finish(mut self, stop: &str) -> io::Result<()> {
        let open = std::mem::take(&mut self.open);
        for (second, interval) in &open {
            self.write_interval(*second, interval)?;
        }
        writeln!(self.out, "#{END_PREFIX}{stop}")?;
        self.out.flush()
    }
}
