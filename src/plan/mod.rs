//! What to send and when, decided before anything runs: the validated
//! [`config::Config`] (and the parsers of its flags), the rate phases split
//! per core ([`phases`]), and the pure iterator of intended send instants
//! ([`schedule`]; no clock inside).
//!
//! Imports: `base` only.

pub mod config;
pub mod phases;
pub mod schedule;
