//! Advisory locks between rwg processes on one CSV: `rwg run -o FILE` holds
//! an exclusive lock while it writes, `rwg report` a shared one while the
//! file is mapped. A file mapped by one process and cut short by another
//! kills the reader with SIGBUS; with the locks, either side gets a clear
//! error instead. Released when the file is closed (also on a crash).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Takes the lock without waiting; `Err(WouldBlock)` when another process
/// holds a conflicting one.
pub fn try_lock(file: &File, exclusive: bool) -> io::Result<()> {
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
