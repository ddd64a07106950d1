//! The workload file (`rwg run -f workload.toml`): named targets with their
//! weights, and the run's settings. Parsed with `toml` into plain values;
//! an unknown key or a bad value is an error naming the key and its line.
//! Pure: files it names (bodies, protos) are read by the caller.
//!
//! ```toml
//! [run]
//! rate = "100:1000,1000"      # as -r; a number works too
//! duration = "10s,20s"        # as -d
//! checks = ["p99<50ms"]
//!
//! [[target]]
//! name = "search"
//! weight = 60
//! url = "http://127.0.0.1:8080/hotels"
//! headers = ["Accept: application/json"]
//! ```

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::error::{err, ConfigError};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    #[serde(default)]
    pub run: RunSection,
    #[serde(default, rename = "target")]
    pub targets: Vec<WorkloadTarget>,
}

/// A parsed workload file and the folder its relative paths start from.
pub struct WorkloadFile {
    pub workload: Workload,
    pub folder: PathBuf,
}

/// `[run]`: what the flags of the same names say; a flag given on the
/// command line wins.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    pub rate: Option<NumberOrText>,
    pub duration: Option<NumberOrText>,
    pub dist: Option<String>,
    pub workers: Option<usize>,
    pub connections: Option<usize>,
    pub requests: Option<u64>,
    pub timeout: Option<String>,
    pub connect_timeout: Option<String>,
    pub slo: Option<String>,
    pub seed: Option<u64>,
    #[serde(default)]
    pub checks: Vec<String>,
}

/// `rate = 1000`, `rate = 0.5` or `rate = "100:1000,1000"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NumberOrText {
    Number(u64),
    Decimal(f64),
    Text(String),
}

impl NumberOrText {
    pub fn text(&self) -> String {
        match self {
            NumberOrText::Number(n) => n.to_string(),
            NumberOrText::Decimal(d) => d.to_string(),
            NumberOrText::Text(t) => t.clone(),
        }
    }
}

/// `[[target]]`: one named request and its share of the arrivals.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadTarget {
    /// What the CSV's `url` column says for its arrivals.
    pub name: Spanned<String>,
    pub url: String,
    /// Relative share of the arrivals (default 1).
    #[serde(default = "one")]
    pub weight: Spanned<f64>,
    pub method: Option<String>,
    /// `Name: value` lines, sent in this order.
    #[serde(default)]
    pub headers: Vec<String>,
    pub body: Option<String>,
    /// Relative to the workload file's folder.
    pub body_file: Option<PathBuf>,
    /// gRPC: the request message as JSON.
    pub data: Option<String>,
    /// gRPC: `key: value` metadata.
    #[serde(default)]
    pub metadata: Vec<String>,
    /// gRPC: .proto files (else server reflection), relative to the file's folder.
    #[serde(default)]
    pub proto: Vec<PathBuf>,
    #[serde(default)]
    pub import_path: Vec<PathBuf>,
}

fn one() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}

/// Parses and checks a workload file's text.
pub fn parse(text: &str) -> Result<Workload, ConfigError> {
    let w: Workload = toml::from_str(text).map_err(|e| ConfigError(one_line(&e)))?;
    let line_of = |start: usize| text[..start.min(text.len())].lines().count().max(1);
    let mut names: Vec<&str> = Vec::new();
    for t in &w.targets {
        let name = t.name.get_ref();
        let line = line_of(t.name.span().start);
        if name.is_empty() || name.contains(|c: char| c.is_control()) {
            return err(format!(
                "line {line}: target name {name:?} must be non-empty text on one line"
            ));
        }
        if names.contains(&name.as_str()) {
            return err(format!("line {line}: a second target named '{name}'"));
        }
        names.push(name);
        let weight = *t.weight.get_ref();
        if !(weight.is_finite() && weight >= 0.0) {
            let line = line_of(t.weight.span().start);
            return err(format!(
                "line {line}: weight {weight} of target '{name}' must be a number ≥ 0"
            ));
        }
        if t.body.is_some() && t.body_file.is_some() {
            return err(format!(
                "line {line}: target '{name}' has both body and body_file"
            ));
        }
    }
    if !w.targets.is_empty() && w.targets.iter().all(|t| *t.weight.get_ref() == 0.0) {
        return err("every target has weight 0: nothing would be sent".into());
    }
    Ok(w)
}

/// toml's message on one line: "TOML parse error at line 3, column 1: …".
fn one_line(e: &toml::de::Error) -> String {
    let text = e.to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().trim_end_matches(':');
    let why = lines.last().unwrap_or_default().trim();
    let why = why.trim_start_matches('|').trim();
    format!(
        "{first}: {}",
        if why.is_empty() { e.message() } else { why }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOTEL: &str = r#"
[run]
rate = 200
duration = "1s"
checks = ["p99<50ms"]

[[target]]
name = "search"
weight = 60
url = "http://127.0.0.1:8080/hotels"
headers = ["Accept: application/json"]

[[target]]
name = "reserve"
weight = 0.5
method = "POST"
url = "http://127.0.0.1:8080/reservation"
body = "x"
"#;

    #[test]
    fn reads_targets_and_the_run() {
        let w = parse(HOTEL).unwrap();
        assert_eq!(
            w.run.rate.as_ref().map(NumberOrText::text).as_deref(),
            Some("200")
        );
        assert_eq!(w.run.checks, vec!["p99<50ms".to_string()]);
        assert_eq!(w.targets.len(), 2);
        assert_eq!(w.targets[0].name.get_ref(), "search");
        assert_eq!(*w.targets[1].weight.get_ref(), 0.5);
        assert_eq!(w.targets[1].method.as_deref(), Some("POST"));
    }

    #[test]
    fn errors_name_the_key_and_line() {
        for (text, names) in [
            ("[run]\nrat = 5\n", "line 2"),
            (
                "[run]\nrate = 5\n[[target]]\nname = \"a\"\nurl = \"u\"\nwieght = 2\n",
                "wieght",
            ),
            (
                "[[target]]\nname = \"a\"\nurl = \"u\"\nweight = -1\n",
                "line 4",
            ),
            (
                "[[target]]\nname = \"a\"\nurl = \"u\"\n[[target]]\nname = \"a\"\nurl = \"v\"\n",
                "line 5",
            ),
            (
                "[[target]]\nname = \"a\"\nurl = \"u\"\nweight = 0\n",
                "weight 0",
            ),
            ("[[target]]\nname = \"a\"\n", "url"),
            ("[run]\nworkers = \"many\"\n", "line 2"),
            (
                "[[target]]\nname = \"a\"\nurl = \"u\"\nbody = \"x\"\nbody_file = \"f\"\n",
                "both",
            ),
        ] {
            let e = parse(text).unwrap_err().0;
            assert!(e.contains(names), "{text:?}: {e}");
        }
    }
}
