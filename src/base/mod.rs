//! The bottom layer: small pieces every other part shares and that import
//! nothing of the crate. Clocks and the precise timer ([`clock`]), what became
//! of a request ([`kind`]), the run's stop flag ([`control`]), first-come
//! first-served capacity hand-out ([`waitq`]), the per-core lazy-read gate
//! ([`reap`]), duration parsing and formatting ([`units`]) and dates and
//! RFC 3339 timestamps ([`civil`]).

pub mod civil;
pub mod clock;
pub mod control;
pub mod fault;
pub mod filelock;
pub mod kind;
pub mod reap;
pub mod units;
pub mod waitq;
