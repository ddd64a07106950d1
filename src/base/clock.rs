//! Time: one monotonic clock for the whole run (`CLOCK_MONOTONIC`, as `u64`
//! nanoseconds), its mapping to Unix-epoch time for the CSV, and the precise
//! wait the dispatcher uses between windows of due slots.
//!
//! monoio's own timer wheel ticks in 1 ms steps, too coarse for open-loop
//! sends at tens of thousands of requests per second. [`PreciseTimer`] arms a
//! per-core `timerfd` (absolute, nanosecond resolution) and waits for it to
//! become readable through the runtime, so a wake-up is an ordinary io_uring
//! (or epoll) completion and nothing spins.

use std::io;
use std::os::fd::{FromRawFd, RawFd};

/// Nanoseconds on `CLOCK_MONOTONIC`, the clock every instant in a run uses.
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Nanoseconds since the Unix epoch (wall clock).
pub fn wall_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A recent wall-clock instant (e.g. a kernel receive timestamp) on the
/// monotonic clock, by the two clocks' offset now; `None` if it is over a
/// second old or in the future (the wall clock was stepped meanwhile).
pub fn wall_to_monotonic_ns(wall_ns: u64) -> Option<u64> {
    let age_ns = wall_now_ns().checked_sub(wall_ns)?;
    (age_ns < 1_000_000_000).then(|| now_ns().saturating_sub(age_ns))
}

/// Maps monotonic instants of this run to Unix-epoch nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct EpochMap {
    mono_origin_ns: u64,
    wall_origin_ns: u64,
}

impl EpochMap {
    pub fn capture() -> Self {
        let mono_origin_ns = now_ns();
        let wall_origin_ns = wall_now_ns();
        EpochMap {
            mono_origin_ns,
            wall_origin_ns,
        }
    }

    #[inline]
    pub fn to_wall_ns(&self, mono_ns: u64) -> u64 {
        (self.wall_origin_ns + mono_ns).saturating_sub(self.mono_origin_ns)
    }

    /// The inverse: a Unix-epoch instant on this run's monotonic clock.
    pub fn to_mono_ns(&self, wall_ns: u64) -> u64 {
        (self.mono_origin_ns + wall_ns).saturating_sub(self.wall_origin_ns)
    }
}

/// The host clock's synchronisation as the kernel reports it (`adjtimex`):
/// what shards on several hosts can trust of a common `--start-at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockState {
    /// An NTP/PTP daemon keeps the clock disciplined (no `STA_UNSYNC`, no
    /// `TIME_ERROR`).
    pub synchronised: bool,
    /// The kernel's maximum and estimated error, µs.
    pub max_error_us: i64,
    pub est_error_us: i64,
}

/// Reads the clock's state (a read-only `adjtimex`: modes 0).
pub fn clock_state() -> ClockState {
    // SAFETY: an all-zero timex is valid input; modes 0 only reads.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: adjtimex fills the timex we own.
    let state = unsafe { libc::adjtimex(&mut tx) };
    ClockState {
        synchronised: state >= 0 && state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0,
        max_error_us: tx.maxerror as i64,
        est_error_us: tx.esterror as i64,
    }
}

/// A `timerfd` awaited through the runtime's readiness wait.
///
/// Each fd is wrapped in a monoio `TcpStream` only to borrow its `readable()`
/// future (a one-shot PollAdd on io_uring, a readiness wait on epoll); no
/// socket operation is ever issued on it. A positional read would not work
/// on the epoll fallback (a timerfd is not seekable).
pub struct PreciseTimer {
    fd: RawFd,
    waiter: monoio::net::TcpStream,
    /// An eventfd that is always readable (its count is never read back).
    ready: monoio::net::TcpStream,
}

impl PreciseTimer {
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain syscall; the returned fd is owned by `waiter` from here on.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let waiter = wrap_fd(fd)?;
        // SAFETY: plain syscall; the fd is owned by `ready` from here on.
        let efd = unsafe { libc::eventfd(1, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        let ready = wrap_fd(efd)?;
        Ok(PreciseTimer { fd, waiter, ready })
    }

    /// Waits until the monotonic clock reaches `deadline_ns` (returns at once
    /// if it already has).
    pub async fn sleep_until(&self, deadline_ns: u64) -> io::Result<()> {
        if now_ns() >= deadline_ns {
            return Ok(());
        }
        self.wait_for(deadline_ns).await
    }

    /// Goes through one turn of the runtime even though nothing needs to
    /// wait: the woken tasks run, then pending I/O is submitted and reaped.
    /// The yield alone is the turn on epoll (the runtime polls epoll when its
    /// queue stays busy); io_uring with deferred task running reaps
    /// completions only when the thread waits in the kernel, hence the wait
    /// on the always-readable eventfd, which completes at once. (An expired
    /// timerfd did the same at the cost of reprogramming a hardware timer and
    /// taking its interrupt: ~15 µs of send lag measured on a VM.)
    pub async fn one_turn(&self) -> io::Result<()> {
        yield_to_woken().await;
        self.ready.readable(false).await
    }

    async fn wait_for(&self, deadline_ns: u64) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: fd is our timerfd; spec is a valid itimerspec.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd,
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // No read(2) afterwards: the next timerfd_settime clears the expiry
        // count, and with it the readiness, which saves a syscall per wake.
        self.waiter.readable(false).await?;
        Ok(())
    }
}

/// Lets the tasks woken so far run before this one goes on. monoio puts a
/// task that wakes itself at the front of its queue (so a self-wake does not
/// yield); a tiny task queued behind the woken ones wakes this one instead.
pub async fn yield_to_woken() {
    let mut queued = false;
    std::future::poll_fn(|cx| {
        if queued {
            return std::task::Poll::Ready(());
        }
        queued = true;
        let waker = cx.waker().clone();
        monoio::spawn(async move { waker.wake() });
        std::task::Poll::Pending
    })
    .await
}

/// Wraps an owned fd in a monoio `TcpStream`, only to borrow its readiness
/// wait.
fn wrap_fd(fd: RawFd) -> io::Result<monoio::net::TcpStream> {
    // SAFETY: fd is a fresh descriptor that the stream owns from here on.
    let std_stream = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    monoio::net::TcpStream::from_std(std_stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_map_is_monotonic_offset() {
        let map = EpochMap::capture();
        let a = map.to_wall_ns(now_ns());
        let b = map.to_wall_ns(now_ns() + 1_000);
        assert!(b >= a + 1_000);
        assert!(a > 1_600_000_000_000_000_000);
    }
}
