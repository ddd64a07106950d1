//! Reports: the end-of-run [`summary`] of `rwg run` (text and JSON), and the
//! `rwg report` analysis of per-request CSV files with its renderings.

mod accumulate;
pub mod analyze;
pub mod csv_row;
pub mod csv_scan;
pub mod hlog_read;
pub mod render;
pub mod summary;

#[cfg(test)]
mod tests;

pub use render::fmt_ns;
pub use summary::Summary;
