//! `rwg run -f workload.toml`: the file's `[run]` settings under the
//! command line's (a flag given there wins), and its `[[target]]`s as the
//! run's targets, drawn by weight. Paths in the file are relative to its
//! folder.

use std::path::Path;

use super::run_args::RunArgs;
use crate::plan::error::ConfigError;
use crate::plan::mix::{Alias, Mix};
use crate::plan::target::{parse_header, parse_method, parse_target, GrpcOptions, TargetSpec};
use crate::plan::workload::{self, RunSection, WorkloadFile, WorkloadTarget};

impl RunArgs {
    /// The arguments with the workload file's `[run]` filled in where the
    /// command line is silent, and the file (if any).
    pub(super) fn with_workload(&self) -> Result<(RunArgs, Option<WorkloadFile>), ConfigError> {
        let Some(path) = &self.file else {
            return Ok((self.clone(), None));
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read -f '{}': {e}", path.display())))?;
        let in_file = |e: ConfigError| ConfigError(format!("{}: {e}", path.display()));
        let workload = workload::parse(&text).map_err(in_file)?;
        if workload.targets.is_empty() && self.url.is_none() {
            return Err(in_file(ConfigError(
                "no [[target]] in the file and no URL on the command line".into(),
            )));
        }
        if !workload.targets.is_empty() && self.url.is_some() {
            return Err(in_file(ConfigError(
                "the file has [[target]]s: drop the URL from the command line".into(),
            )));
        }
        let mut args = self.clone();
        args.fill_from(&workload.run);
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok((args, Some(WorkloadFile { workload, folder })))
    }

    /// `[run]` where the command line gave nothing.
    fn fill_from(&mut self, run: &RunSection) {
        let given = |id: &str| self.given.iter().any(|g| g == id);
        let text = |flag: &str, v: &Option<String>| v.clone().filter(|_| !given(flag));
        if let Some(v) = run.rate.as_ref().filter(|_| !given("rate")) {
            self.rate = v.text();
        }
        if let Some(v) = run.duration.as_ref().filter(|_| !given("duration")) {
            self.duration = v.text();
        }
        if let Some(v) = text("dist", &run.dist) {
            self.dist = v;
        }
        if let Some(v) = text("timeout", &run.timeout) {
            self.timeout = v;
        }
        if let Some(v) = text("connect_timeout", &run.connect_timeout) {
            self.connect_timeout = v;
        }
        if let Some(v) = run.seed.filter(|_| !given("seed")) {
            self.seed = v;
        }
        self.workers = self.workers.or(run.workers);
        self.connections = self.connections.or(run.connections);
        self.requests = self.requests.or(run.requests);
        self.slo = self.slo.clone().or_else(|| run.slo.clone());
        if self.checks.is_empty() {
            self.checks.clone_from(&run.checks);
        }
    }
}

impl WorkloadFile {
    /// The file's targets, with `extra_headers` (-H) added to each, and
    /// their weighted mix drawn with `seed`.
    pub(super) fn targets(
        &self,
        extra_headers: &[(String, String)],
        seed: u64,
    ) -> Result<(Vec<TargetSpec>, Mix), ConfigError> {
        let targets = &self.workload.targets;
        let specs = targets
            .iter()
            .map(|t| self.spec(t, extra_headers))
            .collect::<Result<Vec<_>, _>>()?;
        let weights: Vec<f64> = targets.iter().map(|t| *t.weight.get_ref()).collect();
        let mix = match specs.len() {
            1 => Mix::One,
            _ => Mix::Weighted(Alias::new(&weights, seed)),
        };
        Ok((specs, mix))
    }

    fn spec(
        &self,
        t: &WorkloadTarget,
        extra_headers: &[(String, String)],
    ) -> Result<TargetSpec, ConfigError> {
        let name = t.name.get_ref();
        let bad = |e: ConfigError| ConfigError(format!("target '{name}': {e}"));
        let method = parse_method(t.method.as_deref().unwrap_or("GET")).map_err(bad)?;
        let mut headers = t
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        headers.extend(extra_headers.iter().cloned());
        let body = match (&t.body, &t.body_file) {
            (Some(b), _) => b.clone().into_bytes(),
            (None, Some(p)) => {
                let path = self.folder.join(p);
                std::fs::read(&path).map_err(|e| {
                    bad(ConfigError(format!(
                        "cannot read body_file '{}': {e}",
                        path.display()
                    )))
                })?
            }
            (None, None) => Vec::new(),
        };
        let metadata = t
            .metadata
            .iter()
            .map(|m| parse_header(m))
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        let grpc = GrpcOptions {
            protos: t.proto.iter().map(|p| self.folder.join(p)).collect(),
            includes: t.import_path.iter().map(|p| self.folder.join(p)).collect(),
            data_json: t.data.clone().unwrap_or_else(|| "{}".to_string()),
            metadata,
        };
        Ok(TargetSpec {
            label: name.clone(),
            target: parse_target(&t.url).map_err(bad)?,
            method,
            headers,
            body,
            grpc,
            folder: self.folder.clone(),
        })
    }
}
