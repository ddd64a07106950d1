//! Pass/fail checks such as `p99<50ms`, `errors<0.1%`, `goodput>99%`.
//!
//! COLD. A check is `METRIC OP VALUE` with OP one of `<`, `<=`, `>`, `>=`, `=`:
//! - counts `total ok goodput slo_violations dropped errors skipped responses`:
//!   a bare number is a count, `N%` a percentage of total;
//! - `achieved`: responses as a percentage of scheduled arrivals (`achieved>99%`);
//! - rates `offered`, `throughput`: per second;
//! - latency over all arrivals `min max pNN` (e.g. `p50`, `p99.9`; an arrival
//!   without an answer ranks above every answer, so `p99<20ms` fails when
//!   more than 1 % got none), over answered requests only `answered_min
//!   answered_max answered_pNN`, and `lag_min lag_max lag_pNN` (send − plan):
//!   a duration (`ns us ms s m`, bare number = seconds). Percentiles carry a
//!   95 % interval: a check whose interval straddles its threshold says it
//!   is not conclusive.
//!
//! Values come from any [`CheckSource`]: the `rwg report` [`Figures`] or the
//! end-of-run summary of `rwg run`.

use serde::Serialize;

use crate::base::units::fmt_ns;
use crate::base::units::parse_duration_ns;
use crate::report::figures::{pct, Figures};
use crate::report::quantile::Distribution;

/// Counted outcomes a check can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountMetric {
    Total,
    Ok,
    Goodput,
    SloViolations,
    Dropped,
    Errors,
    Skipped,
    Responses,
}

/// Rates a check can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateMetric {
    Offered,
    Throughput,
}

/// Distributions a check can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// done − intended over all arrivals (the unanswered rank last).
    Latency,
    /// done − intended over answered requests only.
    AnsweredLatency,
    /// sent − intended.
    Lag,
}

/// The values checks are evaluated against.
pub trait CheckSource {
    fn count(&self, metric: CountMetric) -> u64;
    fn rate_per_sec(&self, metric: RateMetric) -> f64;
    /// The distribution of `series`; `None` when the source has none.
    fn distribution(&self, series: Series) -> Option<&Distribution>;
}

/// A value of a distribution in ns; `None` = among the unanswered (ranks
/// above any duration).
type RankedNs = Option<u64>;

/// (value, 95 % interval) at `quantile` (0 = min, 1 = max, exact); `None`
/// when there are no samples or the quantile is not kept.
fn ranked_value(d: &Distribution, quantile: f64) -> Option<(RankedNs, RankedNs, RankedNs)> {
    let ns = |us: Option<f64>| us.map(|us| (us * 1000.0).round() as u64);
    if d.samples == 0 {
        return None;
    }
    if quantile == 0.0 {
        let v = ns(d.min_us);
        return Some((v, v, v));
    }
    if quantile == 1.0 {
        let v = ns(d.max_us);
        return Some((v, v, v));
    }
    let p = d.find(quantile)?;
    Some((ns(p.us), ns(p.ci95_low_us), ns(p.ci95_high_us)))
}

fn ranked_text(v: RankedNs) -> String {
    v.map_or_else(|| "unanswered".to_string(), fmt_ns)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    Count(CountMetric),
    Achieved,
    Rate(RateMetric),
    Quantile(Series, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Threshold {
    Number(f64),
    Percent(f64),
    Ns(u64),
}

/// A parsed check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    expr: String,
    metric: Metric,
    op: Op,
    threshold: Threshold,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub expr: String,
    /// The measured value, formatted like the threshold (`n/a` when missing).
    pub actual: String,
    pub passed: bool,
    /// For a percentile whose 95 % interval straddles the threshold: the
    /// interval (`48.00ms–57.00ms`); the verdict could go either way.
    pub not_conclusive: Option<String>,
}

impl CheckResult {
    /// `pass`, `FAIL`, or either with `, not conclusive: 95 % CI lo–hi`.
    pub fn verdict(&self) -> String {
        let word = if self.passed { "pass" } else { "FAIL" };
        match &self.not_conclusive {
            Some(ci) => format!("{word}, not conclusive: 95 % CI {ci}"),
            None => word.to_string(),
        }
    }
}

const METRICS: &str = "total, ok, goodput, slo_violations, dropped, errors, skipped, \
responses, achieved, offered, throughput, min, max, pNN, answered_min, answered_max, \
answered_pNN, lag_min, lag_max, lag_pNN";

impl Check {
    /// Parses `METRIC OP VALUE`; the error names the bad part.
    pub fn parse(expr: &str) -> Result<Check, String> {
        let err = |what: String| format!("bad check '{expr}': {what}");
        let at = expr
            .find(['<', '>', '='])
            .ok_or_else(|| err("expected METRIC<VALUE, e.g. p99<50ms".into()))?;
        let name = expr[..at].trim();
        let rest = &expr[at..];
        let (op, value) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("=", Op::Eq),
        ]
        .iter()
        .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v.trim())))
        .ok_or_else(|| err("bad operator".into()))?;
        let metric = parse_metric(name)
            .ok_or_else(|| err(format!("unknown metric '{name}' (known: {METRICS})")))?;
        if value.is_empty() {
            return Err(err("missing value".into()));
        }
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let percent = value.strip_suffix('%').map(number);
        let threshold = match (metric, percent) {
            (Metric::Quantile(..), _) => Threshold::Ns(
                parse_duration_ns(value)
                    .map_err(|e| err(format!("{name} takes a duration: {e}")))?,
            ),
            (Metric::Count(_) | Metric::Achieved, Some(Some(p))) => Threshold::Percent(p),
            (Metric::Achieved, _) => {
                return Err(err("achieved takes a percentage, e.g. achieved>99%".into()))
            }
            (Metric::Count(_), None) | (Metric::Rate(_), None) => Threshold::Number(
                number(value).ok_or_else(|| err(format!("'{value}' is not a number")))?,
            ),
            (Metric::Rate(_), Some(_)) => {
                return Err(err(format!(
                    "{name} takes requests per second, not a percentage"
                )))
            }
            (Metric::Count(_), Some(None)) => {
                return Err(err(format!("'{value}' is not a percentage")))
            }
        };
        Ok(Check {
            expr: expr.trim().to_string(),
            metric,
            op,
            threshold,
        })
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    fn holds(&self, v: f64, limit: f64) -> bool {
        match self.op {
            Op::Lt => v < limit,
            Op::Le => v <= limit,
            Op::Gt => v > limit,
            Op::Ge => v >= limit,
            Op::Eq => v == limit,
        }
    }

    /// Evaluates against `src`. A value the source lacks fails the check.
    pub fn evaluate(&self, src: &dyn CheckSource) -> CheckResult {
        if let (Metric::Quantile(series, q), Threshold::Ns(limit)) = (self.metric, self.threshold) {
            return self.evaluate_quantile(src.distribution(series), q, limit);
        }
        let actual: Option<(f64, f64, String)> = match (self.metric, self.threshold) {
            (Metric::Count(c), Threshold::Number(limit)) => {
                let n = src.count(c);
                Some((n as f64, limit, n.to_string()))
            }
            (Metric::Count(c), Threshold::Percent(limit)) => {
                pct(src.count(c), src.count(CountMetric::Total)).map(|p| (p, limit, fmt_pct(p)))
            }
            (Metric::Achieved, Threshold::Percent(limit)) => pct(
                src.count(CountMetric::Responses),
                src.count(CountMetric::Total),
            )
            .map(|p| (p, limit, fmt_pct(p))),
            (Metric::Rate(r), Threshold::Number(limit)) => {
                let v = src.rate_per_sec(r);
                Some((v, limit, format!("{v:.1}/s")))
            }
            _ => None,
        };
        let (passed, actual) = match actual {
            Some((v, limit, text)) => (self.holds(v, limit), text),
            None => (false, "n/a".to_string()),
        };
        CheckResult {
            expr: self.expr.clone(),
            actual,
            passed,
            not_conclusive: None,
        }
    }

    /// A percentile against a duration: unanswered ranks above any
    /// duration; the 95 % interval decides whether the answer is conclusive.
    fn evaluate_quantile(&self, d: Option<&Distribution>, q: f64, limit_ns: u64) -> CheckResult {
        let value = d.and_then(|d| ranked_value(d, q));
        let Some((v, low, high)) = value else {
            return CheckResult {
                expr: self.expr.clone(),
                actual: "n/a".to_string(),
                passed: false,
                not_conclusive: None,
            };
        };
        let as_f64 = |v: RankedNs| v.map_or(f64::INFINITY, |ns| ns as f64);
        let limit = limit_ns as f64;
        let passed = self.holds(as_f64(v), limit);
        let conclusive =
            self.holds(as_f64(low), limit) == passed && self.holds(as_f64(high), limit) == passed;
        CheckResult {
            expr: self.expr.clone(),
            actual: ranked_text(v),
            passed,
            not_conclusive: (!conclusive)
                .then(|| format!("{}–{}", ranked_text(low), ranked_text(high))),
        }
    }
}

/// Parses each expression; the first bad one is the error.
pub fn parse_checks<S: AsRef<str>>(exprs: &[S]) -> Result<Vec<Check>, String> {
    exprs.iter().map(|e| Check::parse(e.as_ref())).collect()
}

/// Evaluates every check against `src`.
pub fn evaluate_all(checks: &[Check], src: &dyn CheckSource) -> Vec<CheckResult> {
    checks.iter().map(|c| c.evaluate(src)).collect()
}

fn fmt_pct(p: f64) -> String {
    format!("{p:.3}%")
}

fn parse_metric(name: &str) -> Option<Metric> {
    let count = |c| Some(Metric::Count(c));
    match name {
        "total" | "requests" => return count(CountMetric::Total),
        "ok" => return count(CountMetric::Ok),
        "goodput" => return count(CountMetric::Goodput),
        "slo_violations" | "violations" => return count(CountMetric::SloViolations),
        "dropped" => return count(CountMetric::Dropped),
        "errors" => return count(CountMetric::Errors),
        "skipped" => return count(CountMetric::Skipped),
        "responses" => return count(CountMetric::Responses),
        "achieved" => return Some(Metric::Achieved),
        "offered" => return Some(Metric::Rate(RateMetric::Offered)),
        "throughput" => return Some(Metric::Rate(RateMetric::Throughput)),
        _ => {}
    }
    let (series, q) = if let Some(q) = name.strip_prefix("lag_") {
        (Series::Lag, q)
    } else if let Some(q) = name.strip_prefix("answered_") {
        (Series::AnsweredLatency, q)
    } else {
        (
            Series::Latency,
            name.strip_prefix("latency_").unwrap_or(name),
        )
    };
    let quantile = match q {
        "min" => 0.0,
        "max" => 1.0,
        _ => {
            let digits = q.strip_prefix('p')?;
            if !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return None;
            }
            let p: f64 = digits.parse().ok()?;
            (p > 0.0 && p < 100.0).then_some(p / 100.0)?
        }
    };
    Some(Metric::Quantile(series, quantile))
}

impl CheckSource for Figures {
    fn count(&self, metric: CountMetric) -> u64 {
        match metric {
            CountMetric::Total => self.total.count,
            CountMetric::Ok => self.ok.count,
            CountMetric::Goodput => self.goodput.count,
            CountMetric::SloViolations => self.slo_violations.count,
            CountMetric::Dropped => self.dropped.count,
            CountMetric::Errors => self.errors.count,
            CountMetric::Skipped => self.skipped.count,
            CountMetric::Responses => self.responses.count,
        }
    }

    fn rate_per_sec(&self, metric: RateMetric) -> f64 {
        match metric {
            RateMetric::Offered => self.offered_per_sec,
            RateMetric::Throughput => self.throughput_per_sec,
        }
    }

    fn distribution(&self, series: Series) -> Option<&Distribution> {
        match series {
            Series::Latency => self.latency_all.as_ref(),
            Series::AnsweredLatency => self.latency_answered.as_ref(),
            Series::Lag => self.send_lag.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::Count;
    use crate::report::quantile::EstimateJson;

    fn est(name: &str, q: f64, us: Option<f64>, ci: (Option<f64>, Option<f64>)) -> EstimateJson {
        EstimateJson {
            name: name.into(),
            quantile: q,
            us,
            ci95_low_us: ci.0,
            ci95_high_us: ci.1,
            reliable: true,
        }
    }

    fn figures() -> Figures {
        let c = |count| Count {
            count,
            per_sec: 0.0,
        };
        let all = Distribution {
            samples: 1000,
            unanswered: 10,
            min_us: Some(100.0),
            mean_us: Some(1_500.0),
            max_us: None,
            percentiles: vec![
                est("p50", 0.5, Some(1_000.0), (Some(900.0), Some(1_000.0))),
                est("p90", 0.9, Some(2_000.0), (Some(1_900.0), Some(2_100.0))),
                est(
                    "p99",
                    0.99,
                    Some(40_000.0),
                    (Some(30_000.0), Some(60_000.0)),
                ),
                est("p99.9", 0.999, None, (None, None)),
            ],
        };
        let answered = Distribution {
            samples: 990,
            unanswered: 0,
            max_us: Some(500_000.0),
            percentiles: vec![est(
                "p99.9",
                0.999,
                Some(90_000.0),
                (Some(80_000.0), Some(95_000.0)),
            )],
            ..all.clone()
        };
        let lag = Distribution {
            samples: 990,
            unanswered: 0,
            percentiles: vec![est("p99", 0.99, Some(800.0), (Some(700.0), Some(900.0)))],
            ..answered.clone()
        };
        Figures {
            total: c(1000),
            ok: c(980),
            goodput: c(975),
            slo_violations: c(5),
            dropped: c(10),
            errors: c(4),
            skipped: c(6),
            responses: c(990),
            offered_per_sec: 100.0,
            throughput_per_sec: 99.0,
            latency_all: Some(all),
            latency_answered: Some(answered),
            send_lag: Some(lag),
            ..Figures::default()
        }
    }

    fn run(expr: &str) -> (String, String) {
        let r = Check::parse(expr).expect(expr).evaluate(&figures());
        (r.actual.clone(), r.verdict())
    }

    #[test]
    fn evaluates() {
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            run("p99<50ms"),
            s("40.00ms", "pass, not conclusive: 95 % CI 30.00ms–60.00ms")
        );
        assert_eq!(run("p99<100ms"), s("40.00ms", "pass"));
        assert_eq!(run("p50<=1ms"), s("1.00ms", "pass"));
        assert_eq!(
            run("p50 < 1ms"),
            s("1.00ms", "FAIL, not conclusive: 95 % CI 900.0us–1.00ms")
        );
        assert_eq!(run("p99.9<50ms"), s("unanswered", "FAIL"));
        assert_eq!(run("p99.9>50ms"), s("unanswered", "pass"));
        assert_eq!(run("answered_p99.9<50ms"), s("90.00ms", "FAIL"));
        assert_eq!(run("max<1s"), s("unanswered", "FAIL"));
        assert_eq!(run("answered_max<1s"), s("500.00ms", "pass"));
        assert_eq!(run("lag_p99<1ms"), s("800.0us", "pass"));
        assert_eq!(run("errors<0.1%"), s("0.400%", "FAIL"));
        assert_eq!(run("errors<5"), s("4", "pass"));
        assert_eq!(run("goodput>99%"), s("97.500%", "FAIL"));
        assert_eq!(run("dropped<1%"), s("1.000%", "FAIL"));
        assert_eq!(run("dropped<=1%"), s("1.000%", "pass"));
        assert_eq!(run("achieved>=99%"), s("99.000%", "pass"));
        assert_eq!(run("throughput>50"), s("99.0/s", "pass"));
        assert_eq!(run("p99.99<1s"), s("n/a", "FAIL"));
    }

    #[test]
    fn rejects() {
        for (expr, needle) in [
            ("latncy<5ms", "unknown metric 'latncy'"),
            ("p99", "expected"),
            ("p99<", "missing value"),
            ("p99<5parsecs", "unknown unit"),
            ("p99<5%", "duration"),
            ("achieved>99", "percentage"),
            ("errors<x", "not a number"),
            ("errors<x%", "not a percentage"),
            ("throughput>5%", "per second"),
            ("p100<1s", "unknown metric"),
        ] {
            let e = Check::parse(expr).expect_err(expr);
            assert!(e.contains(needle) && e.contains(expr), "{expr}: {e}");
        }
    }
}
