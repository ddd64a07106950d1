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

/// Opens `path` for writing, emptied, with the exclusive lock: without
/// truncating before the lock is ours (a reader may have the file mapped,
/// and cutting it under that reader kills it).
pub fn create_exclusive(path: &std::path::Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    try_lock(&file, true).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock => io::Error::other(
            "another rwg process is reading or writing this file (rwg report or rwg run)",
        ),
        _ => e,
    })?;
    file.set_len(0)?;
    Ok(file)
}
