//! rwg — Request Workload Generator: an open-loop HTTP/1.1, HTTP/2 and gRPC
//! load generator on pinned io_uring cores. It offers exactly the planned
//! load, measures every request from its *intended* send instant (so
//! coordinated omission cannot hide a stall), writes every request to a CSV
//! and summarises the run.
//!
//! # Layout (one folder per part; `docs/ARCHITECTURE.md` tells the whole story)
//! - [`cmd`]: the command line and one handler per subcommand.
//! - [`run`]: the engine (cold) and the pinned cores, workers and pools (hot).
//! - [`plot`]: `rwg plot`'s HTML page.
//! - [`report`]: summaries, `--check`s, and the analysis of CSVs and logs.
//! - [`protocol`]: HTTP/1.1, HTTP/2, gRPC and TLS on the wire.
//! - [`record`]: one record per arrival, its ring, the writer, CSV, hlog, stats.
//! - [`plan`]: configuration, rate phases, schedules (what and when).
//! - [`serve`]: the built-in target; imports `base` only.
//! - [`base`]: clocks, error kinds, the stop flag, shared small pieces.
//!
//! # Imports point down
//! `cmd` → `run` | `plot` | `serve` → `report` → `protocol` | `record` →
//! `plan` → `base`. A module imports only from parts below it in this list
//! (and from its own folder, without cycles between files); nothing imports
//! `cmd`. Data flows the same way at run time: plan → schedule → core →
//! worker → protocol → record → ring → writer and stats → summary.

pub mod base;
pub mod cmd;
pub mod plan;
pub mod plot;
pub mod protocol;
pub mod record;
pub mod report;
pub mod run;
pub mod serve;
