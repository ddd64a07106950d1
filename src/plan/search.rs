//! `rwg search`'s choice of the next rate: geometric growth from `from`
//! until a step fails (or `to` passes), then bisection between the highest
//! rate that passed and the lowest that failed, until they are within
//! `precision` of each other. Pure: the steps' outcomes come from outside.

/// The bracket around the highest sustainable rate, in requests/s.
#[derive(Clone, Debug, PartialEq)]
pub struct Bracket {
    pub from_per_sec: f64,
    pub to_per_sec: f64,
    /// Each growth step multiplies the rate by this.
    pub growth: f64,
    /// Done when (lowest fail − highest pass) / highest pass ≤ this.
    pub precision: f64,
    /// The highest rate that passed and the lowest that failed, so far.
    pub passed_per_sec: Option<f64>,
    pub failed_per_sec: Option<f64>,
}

impl Bracket {
    pub fn new(from_per_sec: f64, to_per_sec: f64, precision: f64) -> Bracket {
        Bracket {
            from_per_sec,
            to_per_sec,
            growth: 2.0,
            precision,
            passed_per_sec: None,
            failed_per_sec: None,
        }
    }

    /// The next rate to try; `None` when the search is over.
    pub fn next_per_sec(&self) -> Option<f64> {
        match (self.passed_per_sec, self.failed_per_sec) {
            (None, None) => Some(self.from_per_sec),
            // The first step failed: no rate passes.
            (None, Some(_)) => None,
            (Some(pass), None) if pass >= self.to_per_sec => None,
            (Some(pass), None) => Some(round_rate((pass * self.growth).min(self.to_per_sec))),
            (Some(pass), Some(fail)) if (fail - pass) <= self.precision * pass => None,
            (Some(pass), Some(fail)) => {
                let mid = round_rate((pass + fail) / 2.0);
                // Rounding may land on an end: then the bracket is as
                // narrow as rates are written.
                (mid > pass && mid < fail).then_some(mid)
            }
        }
    }

    /// Records a step's outcome.
    pub fn record(&mut self, rate_per_sec: f64, passed: bool) {
        if passed {
            self.passed_per_sec = Some(
                self.passed_per_sec
                    .map_or(rate_per_sec, |p| p.max(rate_per_sec)),
            );
        } else {
            self.failed_per_sec = Some(
                self.failed_per_sec
                    .map_or(rate_per_sec, |f| f.min(rate_per_sec)),
            );
        }
    }
}

/// A rate to the thousandth of a request/s (what `--rate` can plan).
fn round_rate(per_sec: f64) -> f64 {
    (per_sec * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The search against a target that passes below `knee`.
    fn search(knee: f64, from: f64, to: f64) -> (Bracket, Vec<f64>) {
        let mut b = Bracket::new(from, to, 0.02);
        let mut tried = Vec::new();
        while let Some(r) = b.next_per_sec() {
            tried.push(r);
            b.record(r, r < knee);
            assert!(tried.len() < 50, "{tried:?}");
        }
        (b, tried)
    }

    #[test]
    fn grows_then_bisects_to_the_precision() {
        let (b, tried) = search(400.0, 100.0, 1e6);
        assert_eq!(&tried[..4], [100.0, 200.0, 400.0, 300.0]);
        let (pass, fail) = (b.passed_per_sec.unwrap(), b.failed_per_sec.unwrap());
        assert!(
            pass < 400.0 && fail >= 400.0 && fail - pass <= 0.02 * pass,
            "{pass} {fail}"
        );
    }

    #[test]
    fn ends_at_the_top_or_at_a_first_failure() {
        let (b, tried) = search(1e9, 100.0, 1000.0);
        assert_eq!(tried, [100.0, 200.0, 400.0, 800.0, 1000.0]);
        assert_eq!((b.passed_per_sec, b.failed_per_sec), (Some(1000.0), None));
        let (b, tried) = search(50.0, 100.0, 1000.0);
        assert_eq!(tried, [100.0]);
        assert_eq!((b.passed_per_sec, b.failed_per_sec), (None, Some(100.0)));
    }
}
