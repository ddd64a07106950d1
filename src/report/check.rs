//! Pass/fail checks such as `p99<50ms`, `errors<0.1%`, `goodput>99%`.
//!
//! COLD. A check is `METRIC OP VALUE` with OP one of `<`, `<=`, `>`, `>=`, `=`:
//! - counts `total ok goodput slo_violations dropped errors skipped responses`:
//!   a bare number is a count, `N%` a percentage of total;
//! - `achieved`: responses as a percentage of scheduled arrivals (`achieved>99%`);
//! - rates `offered`, `throughput`: per second;
//! - latency `min max pNN` (e.g. `p50`, `p99.9`), and `lag_min lag_max lag_pNN`
//!   (send − plan): a duration (`ns us ms s m`, bare number = seconds).
//!
//! Values come from any [`CheckSource`]: the `rwg report` [`Figures`] or the
//! end-of-run summary of `rwg run`.

use crate::base::units::fmt_ns;
use crate::base::units::parse_duration_ns;
use crate::report::figures::{pct, Figures, Percentiles};

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
    /// done − intended.
    Latency,
    /// sent − intended.
    Lag,
}

/// For sources that keep a few percentiles (in µs): the one at `quantile`,
/// in ns, or `None` when it is not kept.
pub fn pick_quantile_ns(kept_us: &[(f64, f64)], quantile: f64) -> Option<u64> {
    kept_us
        .iter()
        .find(|(q, _)| (q - quantile).abs() < 1e-9)
        .map(|(_, us)| (us * 1000.0).round() as u64)
}

/// The values checks are evaluated against.
pub trait CheckSource {
    fn count(&self, metric: CountMetric) -> u64;
    fn rate_per_sec(&self, metric: RateMetric) -> f64;
    /// Value at `quantile` (0 = min, 1 = max) in ns; `None` when there are no
    /// samples or the source does not keep that quantile.
    fn quantile_ns(&self, series: Series, quantile: f64) -> Option<u64>;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub expr: String,
    /// The measured value, formatted like the threshold (`n/a` when missing).
    pub actual: String,
    pub passed: bool,
}

const METRICS: &str = "total, ok, goodput, slo_violations, dropped, errors, skipped, \
responses, achieved, offered, throughput, min, max, pNN, lag_min, lag_max, lag_pNN";

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

    /// Evaluates against `src`. A value the source lacks fails the check.
    pub fn evaluate(&self, src: &dyn CheckSource) -> CheckResult {
        let actual: Option<(f64, f64, String)> = match (self.metric, self.threshold) {
            (Metric::Quantile(series, q), Threshold::Ns(limit)) => src
                .quantile_ns(series, q)
                .map(|ns| (ns as f64, limit as f64, fmt_ns(ns))),
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
            Some((v, limit, text)) => {
                let passed = match self.op {
                    Op::Lt => v < limit,
                    Op::Le => v <= limit,
                    Op::Gt => v > limit,
                    Op::Ge => v >= limit,
                    Op::Eq => v == limit,
                };
                (passed, text)
            }
            None => (false, "n/a".to_string()),
        };
        CheckResult {
            expr: self.expr.clone(),
            actual,
            passed,
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
    let (series, q) = match name.strip_prefix("lag_") {
        Some(q) => (Series::Lag, q),
        None => (
            Series::Latency,
            name.strip_prefix("latency_").unwrap_or(name),
        ),
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

    fn quantile_ns(&self, series: Series, quantile: f64) -> Option<u64> {
        let p: &Percentiles = match series {
            Series::Latency => self.latency.as_ref()?,
            Series::Lag => self.lag.as_ref()?,
        };
        pick_quantile_ns(
            &[
                (0.0, p.min_us),
                (0.5, p.p50_us),
                (0.75, p.p75_us),
                (0.9, p.p90_us),
                (0.95, p.p95_us),
                (0.99, p.p99_us),
                (0.999, p.p999_us),
                (1.0, p.max_us),
            ],
            quantile,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::Count;

    fn figures() -> Figures {
        let c = |count| Count {
            count,
            per_sec: 0.0,
        };
        let p = Percentiles {
            samples: 990,
            min_us: 100.0,
            p50_us: 1_000.0,
            p75_us: 1_500.0,
            p90_us: 2_000.0,
            p95_us: 3_000.0,
            p99_us: 40_000.0,
            p999_us: 90_000.0,
            max_us: 500_000.0,
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
            latency: Some(p),
            lag: Some(Percentiles { p99_us: 800.0, ..p }),
            ..Figures::default()
        }
    }

    fn run(expr: &str) -> (String, bool) {
        let r = Check::parse(expr).expect(expr).evaluate(&figures());
        (r.actual, r.passed)
    }

    #[test]
    fn evaluates() {
        assert_eq!(run("p99<50ms"), ("40.00ms".into(), true));
        assert_eq!(run("p50<=1ms"), ("1.00ms".into(), true));
        assert_eq!(run("p50 < 1ms"), ("1.00ms".into(), false));
        assert_eq!(run("p99.9<50ms"), ("90.00ms".into(), false));
        assert_eq!(run("max<1s"), ("500.00ms".into(), true));
        assert_eq!(run("lag_p99<1ms"), ("800.0us".into(), true));
        assert_eq!(run("errors<0.1%"), ("0.400%".into(), false));
        assert_eq!(run("errors<5"), ("4".into(), true));
        assert_eq!(run("goodput>99%"), ("97.500%".into(), false));
        assert_eq!(run("dropped<1%"), ("1.000%".into(), false));
        assert_eq!(run("dropped<=1%"), ("1.000%".into(), true));
        assert_eq!(run("achieved>=99%"), ("99.000%".into(), true));
        assert_eq!(run("throughput>50"), ("99.0/s".into(), true));
        assert_eq!(run("p99.99<1s"), ("n/a".into(), false));
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
