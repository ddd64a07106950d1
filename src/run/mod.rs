//! `rwg run`: the engine and everything on the hot path. [`engine::run`]
//! orchestrates (cold): it prepares the client ([`setup`]), spawns one pinned
//! thread per CPU ([`thread`]), starts them on one instant, and summarises
//! ([`summarize`]). On each core thread (hot): the [`core`]'s dispatcher
//! releases due slots to [`worker`]s, each of which carries one request at a
//! time through the core's [`client`] (HTTP/1.1 connection [`pool`], or an
//! h2 pool); [`cell`] is what a dispatcher and a worker share.
//!
//! Imports: `base`, `plan`, `protocol`, `record`, `report` (the summary).

pub mod cell;
pub mod client;
pub mod core;
pub mod engine;
pub mod error;
pub mod limits;
pub mod pool;
pub mod setup;
pub mod signals;
pub mod summarize;
pub mod thread;
pub mod worker;
