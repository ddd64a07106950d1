//! What `rwg run` sends: one target from the URL and the request flags,
//! every request of a vegeta targets file (`--targets`), used in turn, or
//! the weighted targets of a workload file (`-f`).
//! Reads the files named (targets, bodies); every failure names the file.

use std::path::{Path, PathBuf};

use super::run_args::RunArgs;
use crate::plan::error::ConfigError;
use crate::plan::mix::Mix;
use crate::plan::target::{parse_header, parse_method, parse_target, TargetSpec};
use crate::plan::vegeta::{self, FileBody};
use crate::plan::workload::WorkloadFile;

impl RunArgs {
    /// The run's targets and how arrivals pick one: from the workload
    /// file's `[[target]]`s, a `--targets` file, or the URL.
    pub(super) fn targets(
        &self,
        file: Option<&WorkloadFile>,
    ) -> Result<(Vec<TargetSpec>, Mix), ConfigError> {
        let headers = self
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(f) = file.filter(|f| !f.workload.targets.is_empty()) {
            return f.targets(&headers, self.seed);
        }
        let body = self.body_bytes()?;
        let grpc = self.proto.grpc()?;
        let Some(path) = &self.targets else {
            let url = self.url.as_deref().unwrap_or_default();
            let method =
                parse_method(&self.method).map_err(|e| ConfigError(format!("--method: {e}")))?;
            let spec = TargetSpec {
                label: url.to_string(),
                target: parse_target(url)?,
                method,
                headers,
                body,
                grpc,
                folder: PathBuf::new(),
            };
            return Ok((vec![spec], Mix::One));
        };
        let text = read_text(path, "--targets")?;
        let in_file = |e: ConfigError| ConfigError(format!("{}: {e}", path.display()));
        let mut specs = Vec::new();
        for t in vegeta::parse(&text).map_err(in_file)? {
            let mut all_headers = t.headers;
            all_headers.extend(headers.iter().cloned());
            let body = match t.body {
                FileBody::None => body.clone(),
                FileBody::Bytes(b) => b,
                FileBody::File(p) => {
                    read_bytes(&p, &format!("the body of line {}", t.line)).map_err(in_file)?
                }
            };
            let target = parse_target(&t.url)
                .map_err(|e| in_file(ConfigError(format!("targets file line {}: {e}", t.line))))?;
            specs.push(TargetSpec {
                label: t.url,
                target,
                method: t.method,
                headers: all_headers,
                body,
                grpc: grpc.clone(),
                folder: PathBuf::new(),
            });
        }
        let mix = match u16::try_from(specs.len()) {
            Ok(1) => Mix::One,
            Ok(n) => Mix::RoundRobin { targets: n },
            Err(_) => return Err(in_file(ConfigError(format!("{} targets", specs.len())))),
        };
        Ok((specs, mix))
    }

    fn body_bytes(&self) -> Result<Vec<u8>, ConfigError> {
        match (&self.body, &self.body_file) {
            (Some(b), _) => Ok(b.clone().into_bytes()),
            (None, Some(path)) => read_bytes(path, "--body-file"),
            (None, None) => Ok(Vec::new()),
        }
    }
}

fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError(format!("cannot read {what} '{}': {e}", path.display())))
}

pub(super) fn read_text(path: &Path, what: &str) -> Result<String, ConfigError> {
    String::from_utf8(read_bytes(path, what)?)
        .map_err(|_| ConfigError(format!("{what} '{}' is not UTF-8 text", path.display())))
}
