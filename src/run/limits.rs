//! Cold, before anything is allocated: refuses a run the machine cannot
//! hold — more connections than open files allowed, or more workers and
//! connections than memory — with an error naming the value and the limit
//! (exit code 2), instead of allocating until the kernel kills the process.
//! The soft open-file limit is raised up to the hard one when that suffices.

use crate::plan::error::ConfigError;

/// Resident bytes per worker (its cell, task and future; measured 1.25 KiB:
/// `-w 200000` vs `-w 1000` with 64 connections), rounded up.
pub const WORKER_BYTES: u64 = 1536;
/// Resident bytes per plain connection beyond its worker (4 KiB read buffer
/// and pool state; measured 4.3 KiB with 10 000 connections), rounded up.
pub const CONNECTION_BYTES: u64 = 6 * 1024;
/// Resident bytes per TLS connection (rustls's record buffers on top).
pub const TLS_CONNECTION_BYTES: u64 = 48 * 1024;
/// Descriptors besides connections: runtimes, timers, the CSV, std streams.
const SPARE_FDS: u64 = 64;

/// Checks `workers` and `connections` (all cores together) against the
/// open-file limit and the memory available. `connections_flag` names where
/// the connection count came from, for the message.
pub fn check(
    workers: usize,
    connections: usize,
    connections_flag: &str,
    tls: bool,
) -> Result<(), ConfigError> {
    check_open_files(
        connections as u64 + SPARE_FDS,
        connections,
        connections_flag,
    )?;
    let per_connection = if tls {
        TLS_CONNECTION_BYTES
    } else {
        CONNECTION_BYTES
    };
    let need = (workers as u64)
        .saturating_mul(WORKER_BYTES)
        .saturating_add((connections as u64).saturating_mul(per_connection));
    match available_memory_bytes() {
        Some(have) if need > have => Err(ConfigError(format!(
            "--workers {workers} with {connections_flag} {connections} needs about {} of memory \
             ({} per worker, {} per connection), more than the {} available: lower them",
            gib(need),
            kib(WORKER_BYTES),
            kib(per_connection),
            gib(have)
        ))),
        _ => Ok(()),
    }
}

/// Raises the soft open-file limit to `need` when the hard limit allows it.
fn check_open_files(need: u64, connections: usize, flag: &str) -> Result<(), ConfigError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 || lim.rlim_cur >= need {
        return Ok(());
    }
    if need <= lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: need,
            rlim_max: lim.rlim_max,
        };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(());
        }
    }
    Err(ConfigError(format!(
        "{flag} {connections} needs {need} open files, more than this process may open \
         ({} now, at most {}): lower --connections, or raise the limit (ulimit -n {need}, as root \
         or through /etc/security/limits.conf)",
        lim.rlim_cur, lim.rlim_max
    )))
}

/// MemAvailable from /proc/meminfo, when it can be read.
/// How many local ports outgoing connections may take (the kernel's
/// `ip_local_port_range`), `None` where it cannot be read.
pub fn local_ports() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut ends = text.split_whitespace().map(|w| w.parse::<usize>().ok());
    let (low, high) = (ends.next()??, ends.next()??);
    Some(high.checked_sub(low)? + 1)
}

fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_worker_counts_are_refused_before_allocating() {
        let e = check(100_000_000, 64, "--connections", false)
            .unwrap_err()
            .0;
        assert!(
            e.contains("--workers 100000000") && e.contains("GiB"),
            "{e}"
        );
        let e = check(usize::MAX, 64, "--connections", false).unwrap_err().0;
        assert!(e.contains("more than the"), "{e}");
        assert!(check(256, 256, "--connections", false).is_ok());
    }
}
