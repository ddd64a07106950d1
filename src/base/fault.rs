//! Fault injection for the test suite: `RWG_FAULT=core-panic` makes a core
//! thread panic 300 ms into the run, `RWG_FAULT=writer-panic` makes the
//! writer thread panic at its first batch, `RWG_FAULT=no-timerfd` makes the
//! dispatchers act as if no timerfd could be made. Read once per thread start (cold);
//! unset, it costs nothing on the hot path.

/// The fault to inject, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    CorePanic,
    WriterPanic,
    NoTimerfd,
}

/// What `RWG_FAULT` asks for (anything else: no fault).
pub fn injected() -> Fault {
    match std::env::var("RWG_FAULT").as_deref() {
        Ok("core-panic") => Fault::CorePanic,
        Ok("writer-panic") => Fault::WriterPanic,
        Ok("no-timerfd") => Fault::NoTimerfd,
        _ => Fault::None,
    }
}

/// A panic's message, for the error that names the thread.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
