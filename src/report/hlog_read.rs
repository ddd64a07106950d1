//! `rwg report FILE.hlog …`: reads HdrHistogram interval logs (as written by
//! `rwg run --hlog`, or any V2 log), merges every interval of every file into
//! one latency histogram, and buckets intervals by absolute time for the time
//! series. Histograms add exactly, so logs from several machines merge into
//! the same figures as one run.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

use super::figures::{ReportError, MAX_BUCKETS};
use super::shards::{self, ShardCheck, ShardFile};
use crate::plan::fingerprint::PlanMark;
use crate::record::hlog::{END_PREFIX, UNANSWERED_TAG};
use crate::report::check::{CheckSource, CountMetric, RateMetric, Series};
use crate::report::quantile::Distribution;

/// Merged interval logs.
pub struct HlogAnalysis {
    pub files: Vec<String>,
    pub intervals: u64,
    pub overall: Histogram<u64>,
    /// Earliest interval start and latest interval end, Unix-epoch seconds.
    pub start_s: f64,
    pub end_s: f64,
    /// (bucket start, Unix-epoch s; merged histogram) per `interval`.
    pub timeseries: Vec<(f64, Histogram<u64>)>,
    /// Arrivals without an answer (the `unanswered`-tagged histograms).
    pub unanswered: u64,
    /// Latency over all arrivals (the unanswered rank last) and over
    /// answered ones, with 95 % intervals.
    pub latency_all: Distribution,
    pub latency_answered: Distribution,
    /// Whether the logs are one plan's shards, all there and complete.
    pub shards: ShardCheck,
}

/// A log's plan and end, from its `#rwg …` comments.
fn shard_file(name: &str, data: &[u8]) -> ShardFile {
    let mut file = ShardFile {
        name: name.to_string(),
        ..ShardFile::default()
    };
    for line in data.split(|&b| b == b'\n') {
        let Some(comment) = line.strip_prefix(b"#") else {
            continue;
        };
        let comment = String::from_utf8_lossy(comment);
        let comment = comment.trim_end();
        if let Some(stop) = comment.strip_prefix(END_PREFIX) {
            file.stop = Some(stop.to_string());
        } else if let Some(mark) = PlanMark::from_comment(comment) {
            file.mark = Some(mark);
        }
    }
    file
}

/// HdrHistogram V2 encodings: plain, and zlib-compressed around a plain one.
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// The plain V2 header before the counts' payload.
const V2_HEADER_BYTES: usize = 40;
/// Most bytes one logged histogram may inflate to.
const MAX_INFLATED_BYTES: usize = 64 << 20;

fn be_u32(bytes: &[u8], at: usize) -> Result<u32, String> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| "truncated header".to_string())
}

/// Whether a V2 payload (ZigZag LEB128 varints of at most 9 bytes, the 9th
/// taken whole) holds the encoding of i64::MIN, whose negation overflows
/// inside hdrhistogram's decoder (a panic wherever overflow is checked;
/// found by fuzzing).
fn holds_min_i64(payload: &[u8]) -> bool {
    let mut bytes = payload.iter();
    while bytes.len() > 0 {
        let mut zigzag = 0u64;
        for i in 0..9 {
            let Some(&b) = bytes.next() else { break };
            if i == 8 {
                zigzag |= u64::from(b) << 56;
                break;
            }
            zigzag |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        if zigzag == u64::MAX {
            return true;
        }
    }
    false
}

/// Decodes one interval's histogram. hdrhistogram's deserializer allocates
/// whatever payload length a header claims before reading it (found by
/// fuzzing: a 60-byte entry asked for 2.9 GB), so the claim is checked
/// against the bytes that are there first; compressed entries are inflated
/// here (at most 64 MiB) and handed over plain.
fn decode_histogram(deser: &mut Deserializer, bytes: &[u8]) -> Result<Histogram<u64>, String> {
    let inflated;
    let plain = if be_u32(bytes, 0)? == V2_COMPRESSED_COOKIE {
        let len = be_u32(bytes, 4)? as usize;
        let body = &bytes[8..];
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&body[..len.min(body.len())])
            .take(MAX_INFLATED_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("cannot inflate: {e}"))?;
        if out.len() > MAX_INFLATED_BYTES {
            return Err("inflates beyond 64 MiB".into());
        }
        inflated = out;
        &inflated[..]
    } else {
        bytes
    };
    if be_u32(plain, 0)? != V2_COOKIE {
        return Err("not an HdrHistogram V2 encoding".into());
    }
    let claimed = be_u32(plain, 4)? as usize;
    let there = plain.len().saturating_sub(V2_HEADER_BYTES);
    if claimed > there {
        return Err(format!("claims {claimed} payload bytes, has {there}"));
    }
    let payload = plain
        .get(V2_HEADER_BYTES..V2_HEADER_BYTES + claimed)
        .ok_or("truncated header")?;
    if holds_min_i64(payload) {
        return Err("a count of -2^63 (an impossible run of zeros)".into());
    }
    deser
        .deserialize(&mut &plain[..])
        .map_err(|e| format!("{e:?}"))
}

fn empty_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is valid")
}

/// Reads and merges `.hlog` files; `interval_ns` buckets the time series.
pub fn analyze_hlogs(
    files: &[PathBuf],
    interval_ns: Option<u64>,
) -> Result<HlogAnalysis, ReportError> {
    let mut named = Vec::with_capacity(files.len());
    for path in files {
        let name = path.display().to_string();
        let data =
            std::fs::read(path).map_err(|e| ReportError(format!("cannot read {name}: {e}")))?;
        named.push((name, data));
    }
    let views: Vec<(&str, &[u8])> = named.iter().map(|(n, d)| (n.as_str(), &d[..])).collect();
    analyze_hlog_bytes(&views, interval_ns)
}

/// [`analyze_hlogs`] over logs already in memory, as (name, bytes).
pub fn analyze_hlog_bytes(
    files: &[(&str, &[u8])],
    interval_ns: Option<u64>,
) -> Result<HlogAnalysis, ReportError> {
    let mut intervals: Vec<(f64, f64, Histogram<u64>)> = Vec::new();
    let mut unanswered = 0u64;
    let mut deserializer = Deserializer::new();
    let mut origins = Vec::with_capacity(files.len());
    for &(name, data) in files {
        origins.push(shard_file(name, data));
        let mut base_s = 0.0;
        for (i, entry) in IntervalLogIterator::new(data).enumerate() {
            let entry = entry.map_err(|e| {
                ReportError(format!(
                    "{name}: entry {}: not an interval log ({e:?})",
                    i + 1
                ))
            })?;
            match entry {
                LogEntry::BaseTime(t) => base_s = t.as_secs_f64(),
                LogEntry::StartTime(t) if base_s == 0.0 => base_s = t.as_secs_f64(),
                LogEntry::StartTime(_) => {}
                LogEntry::Interval(iv) => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(iv.encoded_histogram())
                        .map_err(|e| {
                            ReportError(format!("{name}: interval {}: bad base64 ({e})", i + 1))
                        })?;
                    let h = decode_histogram(&mut deserializer, &bytes).map_err(|e| {
                        ReportError(format!("{name}: interval {}: bad histogram ({e})", i + 1))
                    })?;
                    if iv.tag().is_some_and(|t| t.as_str() == UNANSWERED_TAG) {
                        unanswered = unanswered.saturating_add(h.len());
                        continue;
                    }
                    let start = base_s + iv.start_timestamp().as_secs_f64();
                    intervals.push((start, start + iv.duration().as_secs_f64(), h));
                }
            }
        }
    }
    if intervals.is_empty() {
        return Err(ReportError("the interval logs hold no interval".into()));
    }
    let start_s = intervals.iter().map(|i| i.0).fold(f64::INFINITY, f64::min);
    let end_s = intervals
        .iter()
        .map(|i| i.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut overall = empty_histogram();
    let step_s = interval_ns.map(|ns| ns as f64 / 1e9).filter(|s| *s > 0.0);
    let mut timeseries: Vec<(f64, Histogram<u64>)> = Vec::new();
    if let Some(step) = step_s {
        let buckets = ((end_s - start_s) / step).ceil().max(1.0);
        if buckets > MAX_BUCKETS as f64 {
            return Err(ReportError(format!(
                "interval too short: {buckets:.0} buckets (at most {MAX_BUCKETS})"
            )));
        }
        let buckets = buckets as usize;
        timeseries = (0..buckets)
            .map(|b| (start_s + b as f64 * step, empty_histogram()))
            .collect();
    }
    for (start, _, h) in &intervals {
        overall
            .add(h)
            .map_err(|e| ReportError(format!("cannot merge histograms: {e:?}")))?;
        if let Some(step) = step_s {
            let b = (((start - start_s) / step + 1e-9) as usize).min(timeseries.len() - 1);
            let _ = timeseries[b].1.add(h);
        }
    }
    Ok(HlogAnalysis {
        files: files.iter().map(|(name, _)| name.to_string()).collect(),
        intervals: intervals.len() as u64,
        unanswered,
        latency_all: Distribution::of(&overall, unanswered, None),
        latency_answered: Distribution::of(&overall, 0, None),
        overall,
        start_s,
        end_s,
        timeseries,
        shards: shards::check(&origins),
    })
}

impl HlogAnalysis {
    fn duration_s(&self) -> f64 {
        (self.end_s - self.start_s).max(1e-9)
    }

    pub fn to_text(&self) -> String {
        let h = &self.overall;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "{} interval log file(s), {} intervals over {:.3}s",
            self.files.len(),
            self.intervals,
            self.duration_s()
        );
        let _ = writeln!(
            t,
            "  responses  {}  ({:.1}/s)",
            h.len(),
            h.len() as f64 / self.duration_s()
        );
        if self.unanswered > 0 {
            let _ = writeln!(t, "  unanswered {}", self.unanswered);
        }
        for n in &self.shards.notes {
            let _ = writeln!(t, "  warning: {n}");
        }
        if self.latency_all.samples == 0 {
            return t;
        }
        let _ = writeln!(
            t,
            "  latency (all arrivals, 95% CI)\n    {}",
            self.latency_all.to_text(true)
        );
        let _ = writeln!(
            t,
            "  latency (answered)  {}",
            self.latency_answered.to_text(false)
        );
        t
    }

    /// One row per bucket: start (Unix-epoch s), responses, p50/p90/p99/max in µs.
    pub fn timeseries_csv(&self) -> String {
        let mut t = String::from("start_s,responses,p50_us,p90_us,p99_us,max_us\n");
        for (start, h) in &self.timeseries {
            let q = |v: f64| {
                if h.is_empty() {
                    0.0
                } else {
                    h.value_at_quantile(v) as f64 / 1e3
                }
            };
            let max = if h.is_empty() {
                0.0
            } else {
                h.max() as f64 / 1e3
            };
            let _ = writeln!(
                t,
                "{start:.3},{},{:.3},{:.3},{:.3},{max:.3}",
                h.len(),
                q(0.5),
                q(0.9),
                q(0.99)
            );
        }
        t
    }
}

/// Interval logs hold answered requests only: counts other than the number
/// of responses read as 0, so only latency and `responses` checks are meaningful.
impl CheckSource for HlogAnalysis {
    fn count(&self, metric: CountMetric) -> u64 {
        match metric {
            CountMetric::Total | CountMetric::Responses => self.overall.len(),
            _ => 0,
        }
    }

    fn rate_per_sec(&self, _metric: RateMetric) -> f64 {
        self.overall.len() as f64 / self.duration_s()
    }

    fn distribution(&self, series: Series) -> Option<&Distribution> {
        match series {
            Series::Latency => Some(&self.latency_all),
            Series::AnsweredLatency => Some(&self.latency_answered),
            Series::Lag => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::hlog::HlogWriter;
    use crate::record::Record;

    fn write_log(path: &std::path::Path, latencies_ns: &[u64]) {
        write_log_with_unanswered(path, latencies_ns, 0);
    }

    /// Also `unanswered` timed-out arrivals, in the first second.
    fn write_log_with_unanswered(path: &std::path::Path, latencies_ns: &[u64], unanswered: u64) {
        let mark = "rwg plan fingerprint=0123456789abcdef shard=0/1 start_at=-";
        let mut w = HlogWriter::create(path, mark.into()).unwrap();
        let start_ns = 1_000_000_000_000;
        w.begin(start_ns, 1_700_000_000_000_000_000).unwrap();
        for (i, &lat) in latencies_ns.iter().enumerate() {
            let done_ns = start_ns + (i as u64 % 3) * 1_000_000_000 + 5;
            w.observe(&Record {
                intended_ns: done_ns - lat,
                sent_ns: done_ns - lat,
                done_ns,
                status: 200,
                ..Record::default()
            });
        }
        for _ in 0..unanswered {
            w.observe(&Record {
                intended_ns: start_ns,
                sent_ns: start_ns,
                done_ns: start_ns + 5,
                error: crate::base::kind::ErrorKind::Timeout as u8,
                ..Record::default()
            });
        }
        w.finish("complete").unwrap();
    }

    #[test]
    fn two_logs_merge_like_one_run() {
        let dir = tempfile::tempdir().unwrap();
        let a: Vec<u64> = (1..=500).map(|i| i * 10_000).collect();
        let b: Vec<u64> = (1..=300).map(|i| i * 77_000).collect();
        let both: Vec<u64> = a.iter().chain(&b).copied().collect();
        let (pa, pb, pc) = (
            dir.path().join("a.hlog"),
            dir.path().join("b.hlog"),
            dir.path().join("c.hlog"),
        );
        write_log(&pa, &a);
        write_log(&pb, &b);
        write_log(&pc, &both);
        let merged = analyze_hlogs(&[pa, pb], Some(1_000_000_000)).unwrap();
        let single = analyze_hlogs(&[pc], Some(1_000_000_000)).unwrap();
        assert_eq!(merged.overall.len(), 800);
        assert_eq!(merged.overall, single.overall);
        assert_eq!(merged.intervals, 6);
        assert_eq!(merged.timeseries.len(), 3);
        let per_bucket: Vec<u64> = merged.timeseries.iter().map(|(_, h)| h.len()).collect();
        let single_bucket: Vec<u64> = single.timeseries.iter().map(|(_, h)| h.len()).collect();
        assert_eq!(per_bucket, single_bucket);
        let p99 = merged.latency_all.find(0.99).unwrap().us.unwrap();
        assert!((22_000.0..=23_200.0).contains(&p99), "{p99}");
    }

    /// Unanswered arrivals travel in `unanswered`-tagged histograms: merged
    /// logs rank them last as the CSV does, and the answered latencies stay
    /// the untagged histograms other tools read.
    #[test]
    fn unanswered_arrivals_merge_and_rank_last() {
        let dir = tempfile::tempdir().unwrap();
        let (pa, pb) = (dir.path().join("a.hlog"), dir.path().join("b.hlog"));
        let a: Vec<u64> = (1..=500).map(|i| i * 10_000).collect();
        write_log_with_unanswered(&pa, &a, 6);
        write_log_with_unanswered(&pb, &a, 4);
        let merged = analyze_hlogs(&[pa.clone(), pb], None).unwrap();
        assert_eq!(merged.unanswered, 10);
        assert_eq!(
            merged.overall.len(),
            1000,
            "tagged counts stay out of the latencies"
        );
        assert_eq!(merged.latency_all.samples, 1010);
        assert_eq!(merged.latency_all.find(0.999).unwrap().us, None);
        assert!(merged.latency_answered.find(0.999).unwrap().us.is_some());
        let text = std::fs::read_to_string(&pa).unwrap();
        assert_eq!(text.matches("Tag=unanswered,").count(), 1, "{text}");
    }

    /// Found by fuzzing: the time series had no bound on its buckets (a
    /// one-day log at 1 s took over 2 GB); now the CSV's limit applies.
    #[test]
    fn too_many_buckets_is_an_error_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.hlog");
        write_log(&p, &[10_000, 20_000, 30_000]);
        let e = analyze_hlogs(&[p], Some(1_000)).err().unwrap();
        assert!(e.0.contains("interval too short"), "{}", e.0);
    }

    /// Found by fuzzing: a compressed histogram whose header claims a
    /// 2.9 GB payload made hdrhistogram allocate it; now a clear error.
    #[test]
    fn a_histogram_claiming_more_than_it_holds_is_an_error() {
        use base64::Engine as _;
        let mut plain = Vec::new();
        plain.extend_from_slice(&V2_COOKIE.to_be_bytes());
        plain.extend_from_slice(&0xB000_0000u32.to_be_bytes()); // payload length
        plain.extend_from_slice(&0u32.to_be_bytes()); // normalizing offset
        plain.extend_from_slice(&3u32.to_be_bytes()); // significant digits
        plain.extend_from_slice(&1u64.to_be_bytes()); // lowest
        plain.extend_from_slice(&3_600_000_000_000u64.to_be_bytes()); // highest
        plain.extend_from_slice(&1.0f64.to_be_bytes()); // ratio
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut z, &plain).unwrap();
        let compressed = z.finish().unwrap();
        let mut entry = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
        entry.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
        entry.extend_from_slice(&compressed);
        let line = format!(
            "#[StartTime: 1700000000.000 (seconds since epoch)]\n0.000,1.000,1.000,{}\n",
            base64::engine::general_purpose::STANDARD.encode(&entry)
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.hlog");
        std::fs::write(&p, line).unwrap();
        let e = analyze_hlogs(&[p], None).err().unwrap();
        assert!(e.0.contains("claims"), "{}", e.0);
    }

    /// Found by fuzzing: a zero run of -2^63 overflowed in hdrhistogram.
    #[test]
    fn a_count_of_min_i64_is_an_error_not_a_panic() {
        assert!(holds_min_i64(&[
            0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
        ]));
        assert!(!holds_min_i64(&[
            0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
        ]));
        assert!(!holds_min_i64(&[0x81, 0x01, 0x03]));
        // As the fuzz target reads it: byte 0 picks an interval, the rest is
        // up to three files split at 0xFF bytes.
        let crash = include_bytes!("../../fuzz/regressions/hlog/min-i64-zero-run");
        let files: Vec<(&str, &[u8])> = crash[1..]
            .splitn(3, |&b| b == 0xFF)
            .map(|part| ("crash.hlog", part))
            .collect();
        assert!(analyze_hlog_bytes(&files, None).is_err());
    }

    /// Found by fuzzing the check above (fuzz/regressions/hlog/
    /// header-shorter-than-40-bytes): a compressed entry that inflates to a
    /// plain header shorter than 40 bytes, claiming no payload.
    #[test]
    fn a_short_inflated_header_is_an_error_not_a_panic() {
        use std::io::Write as _;
        let mut plain = Vec::new();
        plain.extend_from_slice(&V2_COOKIE.to_be_bytes());
        plain.extend_from_slice(&0u32.to_be_bytes());
        plain.extend_from_slice(&[0; 14]);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&plain).unwrap();
        let body = z.finish().unwrap();
        let mut entry = Vec::new();
        entry.extend_from_slice(&V2_COMPRESSED_COOKIE.to_be_bytes());
        entry.extend_from_slice(&(body.len() as u32).to_be_bytes());
        entry.extend_from_slice(&body);
        let err = decode_histogram(&mut Deserializer::new(), &entry).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn not_a_log_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.hlog");
        std::fs::write(&p, "hello,world\n").unwrap();
        let e = analyze_hlogs(&[p], None).err().unwrap();
        assert!(e.0.contains("x.hlog"), "{}", e.0);
    }
}
