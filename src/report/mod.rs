//! Figures and their renderings: the end-of-run [`summary`] of `rwg run`
//! (over [`block`]s), the `--check` expressions ([`check`]), the `rwg report`
//! analysis of per-request CSV files ([`analyze`], over [`csv_scan`] and
//! [`accumulate`]), of interval logs ([`hlog_read`]) and of other tools'
//! percentile summaries ([`spectrum`]), rendered by
//! [`render`]; and the one JSON document all of them write ([`schema`]).
//!
//! Imports: `base` and `record` only.

mod accumulate;
pub mod analyze;
pub mod block;
pub mod check;
pub mod csv_row;
pub mod csv_scan;
pub mod figures;
pub mod foreign;
pub mod hlog_read;
pub mod quantile;
pub mod render;
pub mod schema;
pub mod shape;
pub mod shards;
pub mod spectrum;
pub mod step;
pub mod summary;
pub mod verdict;

#[cfg(test)]
mod tests;
