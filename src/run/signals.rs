//! Ctrl-C and SIGTERM during a run: the first asks the run to stop (the main
//! thread sees [`SignalGuard::fired`] and sets the stop flag); a second
//! leaves at once with exit code 130.

use std::sync::atomic::{AtomicUsize, Ordering};

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// Guards installed now: a guard inside another (each step of `rwg
/// search` inside the search's own) keeps a signal already counted.
static GUARDS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    // A second Ctrl-C means "now": leave without the summary.
    if SIGNALS.fetch_add(1, Ordering::Relaxed) >= 1 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// SIGINT/SIGTERM handlers for the duration of a run; the previous ones are
/// restored on drop.
pub struct SignalGuard {
    previous: [libc::sighandler_t; 2],
}

impl SignalGuard {
    pub fn install() -> SignalGuard {
        if GUARDS.fetch_add(1, Ordering::Relaxed) == 0 {
            SIGNALS.store(0, Ordering::Relaxed);
        }
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: installing a handler that only touches an atomic (or _exits).
        let previous = unsafe {
            [
                libc::signal(libc::SIGINT, handler),
                libc::signal(libc::SIGTERM, handler),
            ]
        };
        SignalGuard { previous }
    }

    pub fn fired(&self) -> bool {
        SIGNALS.load(Ordering::Relaxed) > 0
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        GUARDS.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: restores the handlers that were there before.
        unsafe {
            libc::signal(libc::SIGINT, self.previous[0]);
            libc::signal(libc::SIGTERM, self.previous[1]);
        }
    }
}
