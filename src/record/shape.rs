//! What the steady-state and schedule checks need, per open-loop phase,
//! collected by the writer thread (which sees every record anyway, so the
//! cores do no extra work per request): for each third of the phase, the
//! answered latencies, the unanswered count and the in-flight counts; and
//! the number of sends in each bin of `bin_ns` (coarser than the send
//! window, so that sends released together by design land in one bin).
//! `report::shape` judges them.

use hdrhistogram::Histogram;

use super::Record;
use crate::plan::phases::Phase;

/// Most send-count bins kept per phase (4 MiB); later sends are not binned.
const MAX_BINS: u64 = 1 << 20;
/// Most phases tracked (each holds three histograms).
const MAX_PHASES: usize = 64;

/// One third of a phase, by intended instant.
#[derive(Clone, Debug)]
pub struct Third {
    /// Latency of the answered arrivals, 2 significant digits.
    pub answered: Histogram<u64>,
    pub unanswered: u64,
    /// Sum and count of `in_flight` over sent arrivals.
    pub in_flight_sum: u64,
    pub sent: u64,
}

impl Third {
    fn new() -> Self {
        Third {
            answered: Histogram::new_with_bounds(1, 3_600_000_000_000, 2)
                .expect("static histogram bounds are valid"),
            unanswered: 0,
            in_flight_sum: 0,
            sent: 0,
        }
    }

    /// Mean requests in flight at send time.
    pub fn mean_in_flight(&self) -> f64 {
        self.in_flight_sum as f64 / self.sent.max(1) as f64
    }
}

/// What was collected for one open-loop phase.
#[derive(Clone, Debug)]
pub struct PhaseShape {
    /// Index in the plan.
    pub phase: usize,
    pub thirds: [Third; 3],
    pub bin_ns: u64,
    /// Sends per bin, from the phase's start.
    pub send_bins: Vec<u32>,
}

/// The writer's collector.
pub struct ShapeCollector {
    /// (phase start, duration) relative to the run start, per plan phase;
    /// `None` for phases not tracked (closed loop, beyond MAX_PHASES).
    spans: Vec<Option<(u64, u64)>>,
    shapes: Vec<Option<PhaseShape>>,
}

impl ShapeCollector {
    /// `bin_ns`: the send-count resolution (see the module comment).
    pub fn new(phases: &[Phase], bin_ns: u64) -> Self {
        let bin_ns = bin_ns.max(1);
        let mut spans = Vec::with_capacity(phases.len());
        let mut shapes = Vec::with_capacity(phases.len());
        for (i, p) in phases.iter().enumerate() {
            // Steadiness and conformance compare a phase against a constant
            // rate: a ramp or a trace changes its load on purpose, so it is
            // not judged.
            let steady = !p.closed_loop() && !p.rate.is_ramp() && !p.traced;
            let tracked = steady && i < MAX_PHASES && p.duration_ns > 0;
            spans.push(tracked.then_some((p.start_ns, p.duration_ns)));
            shapes.push(tracked.then(|| PhaseShape {
                phase: i,
                thirds: [Third::new(), Third::new(), Third::new()],
                bin_ns,
                send_bins: vec![0; (p.duration_ns / bin_ns + 1).min(MAX_BINS) as usize],
            }));
        }
        ShapeCollector { spans, shapes }
    }

    /// Counts one record; `start_ns` is the run's start (monotonic).
    #[inline]
    pub fn observe(&mut self, r: &Record, start_ns: u64) {
        let i = r.phase as usize;
        let (Some(Some((phase_start, duration))), Some(Some(shape))) =
            (self.spans.get(i), self.shapes.get_mut(i))
        else {
            return;
        };
        let offset_ns = r.intended_ns.saturating_sub(start_ns + phase_start);
        let third =
            &mut shape.thirds[((offset_ns as u128 * 3 / *duration as u128) as usize).min(2)];
        match r.answered().then(|| r.latency_ns()).flatten() {
            Some(ns) => third.answered.saturating_record(ns.max(1)),
            None => third.unanswered += 1,
        }
        if r.sent_ns != 0 {
            third.in_flight_sum += u64::from(r.in_flight);
            third.sent += 1;
            let sent_offset = r.sent_ns.saturating_sub(start_ns + phase_start);
            if let Some(bin) = shape
                .send_bins
                .get_mut((sent_offset / shape.bin_ns) as usize)
            {
                *bin += 1;
            }
        }
    }

    /// The collected shapes of the tracked phases.
    pub fn finish(self) -> Vec<PhaseShape> {
        self.shapes.into_iter().flatten().collect()
    }
}
