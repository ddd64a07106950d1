//! Closed-loop HTTP/1.1 `GET /` over raw io_uring, one thread: what each
//! kernel lever of the closed loop (issue 17, item 2) saves per request,
//! measured before rwg's driver is changed for it (monoio exposes none of
//! them). `bench/levers.sh` runs it beside rwg and wrk against one nginx.
//!
//! `cargo run --release --example uring_levers -- ADDR CONNS SECS [LEVER...]`
//! with levers `link` (each send linked to its receive: one submission
//! for both), `poll-first` (a receive waits for data before trying: no
//! failed first attempt), `multishot` (one receive per connection for the
//! whole run, into a ring of provided buffers) and `fixed` (registered file
//! descriptors). Prints `requests N`. The base (no lever) is what rwg's
//! driver does: a send, then a receive once the send completed.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use io_uring::types::{BufRingEntry, Fd, Fixed};
use io_uring::{cqueue, opcode, squeue, IoUring};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
const BUF_BYTES: usize = 4096;
/// Provided buffers (a power of two), shared by every connection.
const RING_BUFS: u16 = 1024;
const GROUP: u16 = 7;
const SEND: u64 = 1 << 32;
const RECV: u64 = 2 << 32;
/// `IORING_RECVSEND_POLL_FIRST`, a flag in the SQE's `ioprio`.
const POLL_FIRST: u16 = 1;

#[derive(Default)]
struct Levers {
    link: bool,
    poll_first: bool,
    multishot: bool,
    fixed: bool,
}

struct Conn {
    _stream: TcpStream,
    fd: RawFd,
    /// Bytes of the response so far.
    got: Vec<u8>,
    /// A single-shot receive's buffer.
    rbuf: Vec<u8>,
}

/// The ring of provided buffers for multishot receives.
struct BufRing {
    entries: *mut BufRingEntry,
    mem: Vec<u8>,
    tail: u16,
}

impl BufRing {
    fn new(ring: &IoUring) -> std::io::Result<BufRing> {
        let bytes = usize::from(RING_BUFS) * std::mem::size_of::<BufRingEntry>();
        // SAFETY: an anonymous private mapping, page-aligned as the kernel wants.
        let entries = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_ANONYMOUS | libc::MAP_PRIVATE,
                -1,
                0,
            )
        };
        if entries == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let mut br = BufRing {
            entries: entries.cast(),
            mem: vec![0; usize::from(RING_BUFS) * BUF_BYTES],
            tail: 0,
        };
        // SAFETY: the mapping lives as long as the ring (the process).
        unsafe {
            ring.submitter()
                .register_buf_ring(entries as u64, RING_BUFS, GROUP)?
        };
        for bid in 0..RING_BUFS {
            br.give(bid);
        }
        Ok(br)
    }

    fn buf(&self, bid: u16, len: usize) -> &[u8] {
        let at = usize::from(bid) * BUF_BYTES;
        &self.mem[at..at + len]
    }

    /// Hands buffer `bid` (back) to the kernel.
    fn give(&mut self, bid: u16) {
        let addr = self.mem.as_ptr() as u64 + (usize::from(bid) * BUF_BYTES) as u64;
        // SAFETY: the index is masked into the mapping; the tail is the
        // kernel-shared u16 that publishes the entry.
        unsafe {
            let e = &mut *self.entries.add(usize::from(self.tail & (RING_BUFS - 1)));
            e.set_addr(addr);
            e.set_len(BUF_BYTES as u32);
            e.set_bid(bid);
            self.tail = self.tail.wrapping_add(1);
            let tail = BufRingEntry::tail(self.entries) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }
}

fn send_sqe(l: &Levers, i: usize, fd: RawFd) -> squeue::Entry {
    let n = REQUEST.len() as u32;
    let e = match l.fixed {
        true => opcode::Send::new(Fixed(i as u32), REQUEST.as_ptr(), n).build(),
        false => opcode::Send::new(Fd(fd), REQUEST.as_ptr(), n).build(),
    };
    e.user_data(SEND | i as u64)
}

fn recv_sqe(l: &Levers, i: usize, c: &mut Conn) -> squeue::Entry {
    let (buf, n) = (c.rbuf.as_mut_ptr(), BUF_BYTES as u32);
    let mut e = match (l.multishot, l.fixed) {
        (true, true) => opcode::RecvMulti::new(Fixed(i as u32), GROUP).build(),
        (true, false) => opcode::RecvMulti::new(Fd(c.fd), GROUP).build(),
        (false, true) => opcode::Recv::new(Fixed(i as u32), buf, n).build(),
        (false, false) => opcode::Recv::new(Fd(c.fd), buf, n).build(),
    };
    if l.poll_first {
        // SAFETY: Entry is repr(C) over io_uring_sqe, whose u16 `ioprio`
        // sits at byte 2 (opcode u8, flags u8, ioprio u16).
        unsafe {
            *((&mut e as *mut squeue::Entry)
                .cast::<u8>()
                .add(2)
                .cast::<u16>()) |= POLL_FIRST
        };
    }
    e.user_data(RECV | i as u64)
}

fn push(sq: &mut squeue::SubmissionQueue<'_>, e: squeue::Entry) {
    // SAFETY: every buffer an entry points at (REQUEST, rbuf, the ring)
    // outlives the run.
    unsafe { sq.push(&e).expect("submission queue full") };
}

/// Whether `got` holds a whole response (Content-Length framing); drops it.
fn take_response(got: &mut Vec<u8>) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut resp = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head)) = resp.parse(got) else {
        return false;
    };
    let length = resp
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
        .unwrap_or(0);
    if got.len() < head + length {
        return false;
    }
    got.drain(..head + length);
    true
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, conns, secs, levers @ ..] = args.as_slice() else {
        eprintln!("usage: uring_levers ADDR CONNS SECS [link] [poll-first] [multishot] [fixed]");
        std::process::exit(2);
    };
    let addr: SocketAddr = addr.parse().expect("ADDR is host:port");
    let conns: usize = conns.parse().expect("CONNS is a count");
    let run_for = Duration::from_secs(secs.parse().expect("SECS is whole seconds"));
    let mut l = Levers::default();
    for lever in levers {
        match lever.as_str() {
            "link" => l.link = true,
            "poll-first" => l.poll_first = true,
            "multishot" => l.multishot = true,
            "fixed" => l.fixed = true,
            other => panic!("unknown lever {other:?}"),
        }
    }
    let mut cs: Vec<Conn> = (0..conns)
        .map(|_| {
            let s = TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            Ok(Conn {
                fd: s.as_raw_fd(),
                _stream: s,
                got: Vec::with_capacity(BUF_BYTES),
                rbuf: vec![0; BUF_BYTES],
            })
        })
        .collect::<std::io::Result<_>>()?;
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(1024)?;
    if l.fixed {
        let fds: Vec<RawFd> = cs.iter().map(|c| c.fd).collect();
        ring.submitter().register_files(&fds)?;
    }
    let mut bufs = match l.multishot {
        true => Some(BufRing::new(&ring)?),
        false => None,
    };
    let (submitter, mut sq, mut cq) = ring.split();
    for (i, c) in cs.iter_mut().enumerate() {
        let send = send_sqe(&l, i, c.fd);
        match (l.link, l.multishot) {
            (true, false) => {
                push(&mut sq, send.flags(squeue::Flags::IO_LINK));
                push(&mut sq, recv_sqe(&l, i, c));
            }
            (_, true) => {
                push(&mut sq, recv_sqe(&l, i, c));
                push(&mut sq, send);
            }
            (false, false) => push(&mut sq, send),
        }
    }
    let start = Instant::now();
    let mut requests = 0u64;
    let mut ready = Vec::with_capacity(2 * conns);
    while start.elapsed() < run_for {
        sq.sync();
        submitter.submit_and_wait(1)?;
        cq.sync();
        ready.extend(cq.by_ref().map(|c| (c.user_data(), c.result(), c.flags())));
        for (data, res, flags) in ready.drain(..) {
            let i = (data & 0xffff_ffff) as usize;
            let c = &mut cs[i];
            if res < 0 && !(l.multishot && res == -libc::ENOBUFS) {
                panic!(
                    "op {data:#x} failed: {}",
                    std::io::Error::from_raw_os_error(-res)
                );
            }
            if data & SEND != 0 {
                assert_eq!(res as usize, REQUEST.len(), "short send");
                if !l.link && !l.multishot {
                    push(&mut sq, recv_sqe(&l, i, c));
                }
                continue;
            }
            assert!(res != 0, "connection {i} closed");
            let n = res.max(0) as usize;
            match (&mut bufs, cqueue::buffer_select(flags)) {
                (Some(b), Some(bid)) => {
                    c.got.extend_from_slice(b.buf(bid, n));
                    b.give(bid);
                }
                _ => c.got.extend_from_slice(&c.rbuf[..n]),
            }
            let rearm = !l.multishot || !cqueue::more(flags);
            if take_response(&mut c.got) {
                requests += 1;
                let send = send_sqe(&l, i, c.fd);
                match l.link && !l.multishot {
                    true => push(&mut sq, send.flags(squeue::Flags::IO_LINK)),
                    false => push(&mut sq, send),
                }
                if (l.link || l.multishot) && rearm {
                    push(&mut sq, recv_sqe(&l, i, c));
                }
            } else if rearm {
                push(&mut sq, recv_sqe(&l, i, c));
            }
        }
    }
    println!("requests {requests}");
    Ok(())
}
