//! rwg — Request Workload Generator: an open-loop HTTP/1.1, HTTP/2 and gRPC
//! load generator on pinned io_uring cores. It offers exactly the planned load, measures every
//! request from its *intended* send instant (so coordinated omission cannot
//! hide a stall), writes every request to a CSV and summarises the run.
//!
//! # Layout
//! - `cli` (clap) → `config` (validated [`Config`]) → `plan` (phases, split
//!   per core) → `schedule` (intended instants, pure).
//! - `engine` (cold): CPUs, pinned core threads, writer, start barrier, join,
//!   merge. `core` (hot): dispatcher, sweep, outbox. `worker` (hot): one
//!   request. `protocol::http1`: encode/parse + exchange. `pool`: per-core
//!   connections, handed out in arrival order (`waitq`). `clock`: monotonic
//!   ns and the precise timer.
//! - `record` → `ring` (SPSC per core) → `sink` (writer thread) → `csv`
//!   (mmap file); `stats` (HdrHistograms) → `report` (summary text / JSON);
//!   `progress` (the live line).
//! - `report::analyze` (`rwg report`), `plot` (`rwg plot`, HTML), `check`
//!   (`--check` pass/fail), `hlog` (interval logs).
//! - `serve`: the built-in target; it imports no client code.
//!
//! # Data flow
//! plan → schedule → core → worker → protocol → record → ring → writer/stats
//! → report. A module never imports one downstream of it.

pub mod check;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod core;
pub mod csv;
pub mod engine;
pub mod hlog;
pub mod plan;
pub mod plot;
pub mod pool;
pub mod progress;
pub mod protocol;
pub mod reap;
pub mod record;
pub mod report;
pub mod ring;
pub mod schedule;
pub mod serve;
pub mod setup;
pub mod sink;
pub mod stats;
pub mod waitq;
pub mod worker;

pub use config::Config;
pub use engine::{run, RunError};
pub use report::Summary;
