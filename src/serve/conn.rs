//! One server connection: read requests (pipelined, or split across reads),
//! apply the configured delay / stall, answer with pre-encoded responses.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

use super::{Delay, Shared};

const READ_BUF_BYTES: usize = 16 * 1024;
/// A request head that does not fit in this many bytes is rejected.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// With `--capture`, a whole request must fit in the buffer (it is written
/// out before its answer); a larger one is rejected.
const MAX_CAPTURED_BYTES: usize = 64 * 1024 * 1024;
const MAX_HEADERS: usize = 64;
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const GARBAGE: &[u8] = b"this is not HTTP \x01\x02\r\n";

/// Per-thread state, shared by that thread's connection tasks.
pub(crate) struct ThreadState {
    pub(crate) shared: Arc<Shared>,
    rng: Cell<u64>,
}

impl ThreadState {
    pub(crate) fn new(shared: Arc<Shared>, seed: u64) -> Self {
        ThreadState {
            shared,
            rng: Cell::new(seed),
        }
    }

    /// xorshift64*: deterministic per thread, cheap, good enough for a mix.
    fn next_f64(&self) -> f64 {
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn pick_response(&self) -> usize {
        if self.shared.mix.is_empty() {
            return 0;
        }
        let u = self.next_f64();
        self.shared
            .mix
            .iter()
            .find(|(cum, _)| u < *cum)
            .map_or(0, |m| m.1)
    }

    /// A delay drawn for a request to `path`.
    pub(crate) fn delay_ns(&self, path: &str) -> u64 {
        match self.shared.delays.pick(path) {
            Delay::None => 0,
            Delay::Fixed { ns } => ns,
            // 1 - u is in (0, 1], so ln() is finite.
            Delay::Exp { mean_ns } => (-(1.0 - self.next_f64()).ln() * mean_ns as f64) as u64,
            Delay::Ramp {
                from_ns,
                to_ns,
                over_ns,
            } => {
                let done = (self.shared.started_at.elapsed().as_nanos() as f64
                    / over_ns.max(1) as f64)
                    .min(1.0);
                (from_ns as f64 + (to_ns as f64 - from_ns as f64) * done) as u64
            }
        }
    }

    /// When a request received at `received_at` that takes `service_ns` is
    /// done: after its wait for a server under `--max-concurrency`.
    pub(crate) fn done_at(&self, received_at: Instant, service_ns: u64) -> Instant {
        let Some(servers) = &self.shared.servers else {
            return received_at + Duration::from_nanos(service_ns);
        };
        let started_at = self.shared.started_at;
        let arrived_ns = received_at.saturating_duration_since(started_at).as_nanos() as u64;
        started_at + Duration::from_nanos(servers.done_ns(arrived_ns, service_ns))
    }

    /// How long a response must still be held by the current stall window.
    pub(crate) fn stall_wait_ns(&self) -> u64 {
        let Some(s) = self.shared.stall else { return 0 };
        let phase_ns = self.shared.started_at.elapsed().as_nanos() as u64 % s.every_ns;
        s.for_ns.saturating_sub(phase_ns)
    }
}

enum Head<'a> {
    Partial,
    Bad,
    Done {
        head_bytes: usize,
        body_bytes: u64,
        close: bool,
        path: &'a str,
    },
}

fn parse_head(bytes: &[u8]) -> Head<'_> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_bytes = match req.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(_) => return Head::Bad,
    };
    let mut body_bytes = 0;
    let mut close = req.version == Some(0); // HTTP/1.0 closes unless asked not to
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
            {
                Some(n) => body_bytes = n,
                None => return Head::Bad,
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Head::Bad; // chunked request bodies are not supported
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = h.value.trim_ascii();
            close =
                v.eq_ignore_ascii_case(b"close") || close && !v.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    Head::Done {
        head_bytes,
        body_bytes,
        close,
        path: req.path.unwrap_or("/"),
    }
}

/// Writes and clears `out`; false when the peer is gone.
async fn flush<S: AsyncWriteRent>(stream: &mut S, out: &mut Vec<u8>) -> bool {
    if out.is_empty() {
        return true;
    }
    let (res, mut buf) = stream.write_all(std::mem::take(out)).await;
    buf.clear();
    *out = buf;
    res.is_ok()
}

/// Sleeps until `deadline`, re-checking: never returns early.
pub(crate) async fn sleep_until(deadline: Instant) {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        monoio::time::sleep(deadline - now).await;
    }
}

pub(crate) async fn serve<S: AsyncReadRent + AsyncWriteRent>(
    mut stream: S,
    local: Rc<ThreadState>,
) {
    let sh = &*local.shared;
    let mut buf = Vec::with_capacity(READ_BUF_BYTES);
    let mut out = Vec::with_capacity(READ_BUF_BYTES);
    let mut served = 0u64;
    // Body bytes of the current request still to be read and discarded.
    let mut skip_bytes = 0u64;
    // How far the buffer may grow: a head, or a whole captured request.
    let mut limit_bytes = MAX_HEAD_BYTES;
    loop {
        if buf.len() == buf.capacity() {
            if buf.capacity() >= limit_bytes {
                out.extend_from_slice(BAD_REQUEST);
                flush(&mut stream, &mut out).await;
                return;
            }
            buf.reserve(buf.capacity());
        }
        let filled = buf.len();
        let (res, slice) = stream
            .read(monoio::buf::IoBufMut::slice_mut(buf, filled..))
            .await;
        buf = slice.into_inner();
        if !matches!(res, Ok(n) if n > 0) {
            return;
        }
        // Delays count from when the request was fully received.
        let received_at = Instant::now();
        let mut pos = 0;
        loop {
            let n = skip_bytes.min((buf.len() - pos) as u64);
            pos += n as usize;
            skip_bytes -= n;
            if skip_bytes > 0 {
                break;
            }
            let (head_bytes, body_bytes, mut close, delay_ns) = match parse_head(&buf[pos..]) {
                Head::Partial => break,
                Head::Bad => {
                    out.extend_from_slice(BAD_REQUEST);
                    flush(&mut stream, &mut out).await;
                    return;
                }
                Head::Done {
                    head_bytes,
                    body_bytes,
                    close,
                    path,
                } => (head_bytes, body_bytes, close, local.delay_ns(path)),
            };
            if let Some(capture) = &sh.capture {
                let whole = head_bytes.saturating_add(body_bytes.try_into().unwrap_or(usize::MAX));
                if whole > MAX_CAPTURED_BYTES {
                    out.extend_from_slice(BAD_REQUEST);
                    flush(&mut stream, &mut out).await;
                    return;
                }
                if buf.len() - pos < whole {
                    // Read the rest of the body first (the delay is drawn
                    // again then: draws are independent anyway).
                    limit_bytes = limit_bytes.max(whole);
                    break;
                }
                capture.record(&buf[pos..pos + whole]);
            }
            pos += head_bytes;
            skip_bytes = body_bytes;
            if sh.malformed {
                out.extend_from_slice(GARBAGE);
                flush(&mut stream, &mut out).await;
                return;
            }
            if delay_ns > 0 {
                // Send what is ready first, so one request's delay does not
                // hold back the responses before it.
                if !flush(&mut stream, &mut out).await {
                    return;
                }
                sleep_until(local.done_at(received_at, delay_ns)).await;
            }
            loop {
                let wait_ns = local.stall_wait_ns();
                if wait_ns == 0 {
                    break;
                }
                if !flush(&mut stream, &mut out).await {
                    return;
                }
                monoio::time::sleep(Duration::from_nanos(wait_ns)).await;
            }
            served += 1;
            close |= sh.close_every.is_some_and(|n| served % n == 0);
            let response = &sh.responses[local.pick_response()];
            out.extend_from_slice(if close {
                &response.close
            } else {
                &response.keep_alive
            });
            if close {
                flush(&mut stream, &mut out).await;
                return;
            }
        }
        buf.drain(..pos);
        if !flush(&mut stream, &mut out).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let req = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        assert!(matches!(
            parse_head(req),
            Head::Done {
                head_bytes: 38,
                body_bytes: 3,
                close: false,
                path: "/",
            }
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nHost:"),
            Head::Partial
        ));
        assert!(matches!(
            parse_head(b"\x01\x02 nonsense\r\n\r\n"),
            Head::Bad
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.0\r\n\r\n"),
            Head::Done { close: true, .. }
        ));
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(parse_head(chunked), Head::Bad));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Head::Bad
        ));
    }
}
