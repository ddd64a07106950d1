//! What to send and when, decided before anything runs: the validated
//! [`config::Config`] (and the parsers of its flags), the rate phases split
//! per core ([`phases`]) and, across processes, per [`shard`] (a plan's
//! identity across them: [`fingerprint`]), the pure iterator of intended send instants
//! ([`schedule`]; no clock inside), what each arrival sends (`target`) and
//! which arrival sends what (`mix`), placeholders in requests (`template`); the readers of vegeta's targets files
//! (`vegeta`), of workload files (`workload`) and of traces to replay
//! (`trace`).
//!
//! Imports: `base` only.

pub mod config;
pub mod error;
pub mod fingerprint;
pub mod mix;
pub mod phases;
pub mod schedule;
pub mod search;
pub mod shard;
pub mod target;
pub mod template;
pub mod trace;
pub mod vegeta;
pub mod workload;
