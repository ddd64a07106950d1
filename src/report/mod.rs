//! Reports: the end-of-run [`summary`] of `rwg run` (text and JSON).

pub mod summary;

pub use summary::{fmt_ns, Summary};
