//! HOT: HTTP/1.1 on one keep-alive connection. The request is encoded once
//! per run and shared; responses are parsed in place with httparse and bodies
//! (Content-Length, chunked, or until close) are drained into the
//! connection's own buffer, which only grows when a response needs it.

use std::mem::MaybeUninit;
use std::rc::Rc;

use monoio::buf::{IoBuf, IoBufMut};

use super::chunked::ChunkedDecoder;
use super::tls::{IdleState, Transport};
use super::{OpGuard, Response};
use crate::base::kind::ErrorKind;
use crate::plan::error::ConfigError;
use crate::plan::template::{Arrival, CsvLoader, Template};

/// Initial read buffer per connection.
const INITIAL_BUF_BYTES: usize = 4096;
/// Bodies are drained in reads of up to this size.
const MAX_BUF_BYTES: usize = 256 * 1024;
/// Most bytes of a large plain-TCP body thrown away by one `recv`.
const DISCARD_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// A response head larger than this is a protocol error.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Wake-ups a lazy read waits for its response before waiting in the kernel.
const MAX_REAPS: usize = 2;
/// Headers parsed on the stack; a head with more is parsed again on the heap.
const MAX_HEADERS: usize = 64;

/// The encoded request, shared by every worker of a core without copying.
#[derive(Clone)]
pub struct RequestBytes(Rc<[u8]>);

// SAFETY: the bytes live as long as the Rc, which the operation owns; the
// slice never moves or changes.
unsafe impl IoBuf for RequestBytes {
    fn read_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.0.len()
    }
}

impl RequestBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        RequestBytes(Rc::from(bytes))
    }
}

/// Encodes a request once: method, path, Host, user headers, body.
pub fn encode_request(
    method: &str,
    authority: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = head_text(method, authority, path_and_query, headers).into_bytes();
    if needs_length(method, headers, !body.is_empty()) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The request line and header lines, up to (not including) Content-Length
/// and the blank line.
fn head_text(
    method: &str,
    authority: &str,
    path_and_query: &str,
    headers: &[(String, String)],
) -> String {
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut out = format!("{method} {path_and_query} HTTP/1.1\r\n");
    if !has("host") {
        out.push_str(&format!("Host: {authority}\r\n"));
    }
    if !has("user-agent") {
        out.push_str(concat!(
            "User-Agent: rwg/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out
}

/// Whether rwg adds Content-Length: a body, or a method that expects one,
/// and the user set none.
fn needs_length(method: &str, headers: &[(String, String)], has_body: bool) -> bool {
    let given = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    (has_body || matches!(method, "POST" | "PUT" | "PATCH")) && !given
}

/// A request whose path, header values or body hold placeholders: parsed
/// once, rendered per request into the connection's write buffer, with
/// Content-Length following the rendered body.
#[derive(Debug)]
pub struct RequestTemplate {
    /// Request line and header lines (see [`head_text`]); with a static
    /// body, also its Content-Length, the blank line and the body.
    head: Template,
    /// A body with placeholders: its length is known once it is rendered.
    body: Option<Template>,
    /// Add Content-Length before a rendered body (see [`needs_length`]).
    length: bool,
    /// Some placeholder reads the clock (`{{now_ms}}`).
    clock: bool,
    seed: u64,
}

impl RequestTemplate {
    /// The template of a request, or `None` when it has no placeholder
    /// (then [`encode_request`] encodes it once).
    pub fn parse(
        request: (&str, &str, &str),
        headers: &[(String, String)],
        body: &[u8],
        seed: u64,
        csv: &mut CsvLoader,
    ) -> Result<Option<RequestTemplate>, ConfigError> {
        let (method, authority, path_and_query) = request;
        let mut salt = 0;
        let head_text = head_text(method, authority, path_and_query, headers);
        let head = Template::parse(&head_text, &mut salt, csv)?;
        let body_template = match std::str::from_utf8(body) {
            Ok(text) => Template::parse(text, &mut salt, csv)?,
            // A binary body is sent as it is.
            Err(_) => Template::literal(body),
        };
        if head.is_static() && body_template.is_static() {
            return Ok(None);
        }
        let length = needs_length(method, headers, !body.is_empty());
        let clock = head.uses_clock() || body_template.uses_clock();
        if !body_template.is_static() {
            return Ok(Some(RequestTemplate {
                head,
                body: Some(body_template),
                length,
                clock,
                seed,
            }));
        }
        // Everything after the head is the same for every request: encode
        // it once, into the head.
        let mut tail = Vec::with_capacity(body.len() + 32);
        if length {
            tail.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        tail.extend_from_slice(b"\r\n");
        tail.extend_from_slice(body);
        Ok(Some(RequestTemplate {
            head: head.followed_by(Template::literal(&tail)),
            body: None,
            length,
            clock,
            seed,
        }))
    }

    /// Appends the request of arrival `seq` to `out`.
    pub fn render(&self, seq: u64, out: &mut Vec<u8>) {
        let arrival = Arrival::new(seq, self.seed, self.clock);
        self.head.render(&arrival, out);
        let Some(body) = &self.body else {
            return;
        };
        let at = out.len();
        body.render(&arrival, out);
        // The body's length is known once it is rendered: its header line
        // goes in front of it (a move within the buffer, no allocation).
        let mut line = [0u8; 48];
        let mut n = 0;
        let mut put = |bytes: &[u8]| {
            line[n..n + bytes.len()].copy_from_slice(bytes);
            n += bytes.len();
        };
        if self.length {
            put(b"Content-Length: ");
            put(itoa::Buffer::new().format(out.len() - at).as_bytes());
            put(b"\r\n");
        }
        put(b"\r\n");
        out.splice(at..at, line[..n].iter().copied());
    }
}

/// How the response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// A parsed response head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub head_len: usize,
    pub framing: Framing,
    pub close: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParsedHead {
    Partial,
    /// A 1xx head to skip, of this many bytes.
    Informational(usize),
    Complete(Head),
    Invalid,
}

/// Parses a response head. `no_body` is set for HEAD requests.
pub fn parse_head(buf: &[u8], no_body: bool) -> ParsedHead {
    // Uninitialised: httparse writes only the headers it finds (zeroing
    // 64 of them, 2 KiB, cost more than parsing a short head).
    let mut headers = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    match parse_head_with(&mut headers, buf, no_body) {
        Err(httparse::Error::TooManyHeaders) => {
            // Cold: room for as many headers as the head can hold ("a:"
            // and CRLF take at least 4 bytes each).
            let room = buf.len().min(MAX_HEAD_BYTES) / 4 + 1;
            let mut many = vec![MaybeUninit::uninit(); room];
            parse_head_with(&mut many, buf, no_body).unwrap_or(ParsedHead::Invalid)
        }
        Err(_) => ParsedHead::Invalid,
        Ok(parsed) => parsed,
    }
}

fn parse_head_with<'b>(
    headers: &mut [MaybeUninit<httparse::Header<'b>>],
    buf: &'b [u8],
    no_body: bool,
) -> Result<ParsedHead, httparse::Error> {
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, headers);
    let head_len = match parsed? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(ParsedHead::Partial),
    };
    // Codes below 100 are not HTTP (and 0 means "no response" in a record);
    // 600-999 are invalid too but kept, as RFC 9110 §15 asks clients to
    // treat them as server errors.
    let Some(status) = resp.code.filter(|&c| c >= 100) else {
        return Ok(ParsedHead::Invalid);
    };
    if (100..200).contains(&status) && status != 101 {
        return Ok(ParsedHead::Informational(head_len));
    }
    let mut framing = Framing::UntilClose;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let parsed = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok());
            match (parsed, framing) {
                // Two lengths that differ: no way to tell where the response
                // ends (RFC 9112 §6.3), so the connection is unusable.
                (Some(n), Framing::Length(m)) if n != m => return Ok(ParsedHead::Invalid),
                (Some(n), Framing::Length(_) | Framing::UntilClose) => framing = Framing::Length(n),
                (Some(_), Framing::Chunked) => {}
                (None, _) => return Ok(ParsedHead::Invalid),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if contains_token(h.value, b"chunked") {
                framing = Framing::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            if contains_token(h.value, b"close") {
                close = true;
            } else if contains_token(h.value, b"keep-alive") {
                close = false;
            }
        }
    }
    if no_body || status == 204 || status == 304 {
        framing = Framing::Length(0);
    }
    if framing == Framing::UntilClose {
        close = true;
    }
    Ok(ParsedHead::Complete(Head {
        status,
        head_len,
        framing,
        close,
    }))
}

/// Whether `buf[from..]` holds the end of a blank line (`\n\n` or
/// `\n\r\n`), i.e. a head may be complete.
fn has_blank_line(buf: &[u8], from: usize) -> bool {
    let tail = &buf[from.min(buf.len())..];
    tail.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && matches!(&tail[i + 1..], [b'\n', ..] | [b'\r', b'\n', ..]))
}

fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// A keep-alive connection and its read buffer (`buf[start..]` is unread).
pub struct Conn {
    stream: Transport,
    buf: Option<Vec<u8>>,
    start: usize,
    /// Responses completed on this connection.
    served: u64,
    /// Whether the exchange in progress has read any byte.
    received: bool,
    /// Kernel receive time of the data read so far by a lazy read; cleared
    /// by any later read (the response then ends when that read returns).
    arrived_ns: Option<u64>,
    /// Bytes came that no request asked for; the connection is closed.
    unsolicited: bool,
    /// The last read filled all the room it had: more may be waiting.
    last_read_filled: bool,
    /// The most bytes one read returned during the exchange in progress.
    peak_read_bytes: usize,
    /// Where templated requests are rendered; empty until the first one.
    /// Lent to the kernel during a write, back after it (lost only when the
    /// write fails, and the connection with it).
    write_buf: Vec<u8>,
}

/// What a request sends: bytes encoded once, or a template rendered for
/// its arrival number.
#[derive(Clone, Copy)]
pub enum Outgoing<'a> {
    Bytes(&'a RequestBytes),
    Template(&'a RequestTemplate, u64),
}

impl Conn {
    pub fn new(stream: Transport) -> Self {
        Conn {
            stream,
            buf: Some(Vec::with_capacity(INITIAL_BUF_BYTES)),
            start: 0,
            served: 0,
            received: false,
            arrived_ns: None,
            unsolicited: false,
            last_read_filled: false,
            peak_read_bytes: 0,
            write_buf: Vec::new(),
        }
    }

    pub fn served(&self) -> u64 {
        self.served
    }

    /// What this idle connection holds, checked before a request is written
    /// on it, so that bytes no request asked for are never credited to one.
    pub fn idle_state(&self) -> IdleState {
        if self.unsolicited || !self.unread().is_empty() {
            return IdleState::Unsolicited;
        }
        self.stream.idle_state()
    }

    /// Whether the last response was followed by bytes no request asked for
    /// (the response then says `close`).
    pub fn saw_unsolicited(&self) -> bool {
        self.unsolicited
    }

    /// Whether the last exchange read any byte before it ended.
    pub fn received_any(&self) -> bool {
        self.received
    }

    fn unread(&self) -> &[u8] {
        let buf = self.buf.as_deref().unwrap_or_default();
        &buf[self.start..]
    }

    /// Drops `n` unread bytes.
    fn consume(&mut self, n: usize) {
        self.start += n;
        if let Some(buf) = self.buf.as_mut() {
            if self.start >= buf.len() {
                buf.clear();
                self.start = 0;
            }
        }
    }

    /// Takes the buffer with the unread bytes moved to its front and room
    /// for a read. It doubles when it is nearly full, or, for a large body,
    /// when the last read filled it (more is waiting), up to MAX_BUF_BYTES:
    /// an 8 KiB body leaves at most 16 KiB behind on its connection, where
    /// growing straight to the maximum kept 256 KiB on every connection.
    fn take_buf(&mut self, want_large: bool) -> Vec<u8> {
        let mut buf = self.buf.take().unwrap_or_default();
        if self.start > 0 {
            buf.drain(..self.start);
            self.start = 0;
        }
        let spare = buf.capacity() - buf.len();
        let filled = want_large && self.last_read_filled && buf.capacity() < MAX_BUF_BYTES;
        if spare < 1024 || filled {
            let target = (buf.capacity() * 2).clamp(INITIAL_BUF_BYTES, MAX_BUF_BYTES);
            buf.reserve(target.saturating_sub(buf.len()).max(1024));
        }
        buf
    }

    /// After a response: a buffer that grew for large reads goes back to
    /// what this response needed, so that one large body does not pin
    /// 256 KiB on a connection that then carries small ones.
    fn fit_buf(&mut self) {
        let peak = std::mem::take(&mut self.peak_read_bytes);
        if !self.unread().is_empty() {
            return;
        }
        if let Some(buf) = self.buf.as_mut() {
            if let Some(bytes) = fitted_capacity(buf.capacity(), peak) {
                buf.shrink_to(bytes);
            }
        }
    }

    /// Reads what is already in the kernel, with its receive time; `Err` =
    /// nothing read (`WouldBlock`: not there yet; others: EOF, an error or
    /// TLS, which the caller's blocking read then meets or reports).
    fn read_now(&mut self, want_large: bool) -> Result<usize, std::io::ErrorKind> {
        let mut buf = self.take_buf(want_large);
        let got = self.stream.try_read_stamped(&mut buf);
        self.buf = Some(buf);
        match got {
            Some(Ok((n, stamp_ns))) if n > 0 => {
                self.received = true;
                self.arrived_ns = stamp_ns;
                Ok(n)
            }
            Some(Err(e)) => Err(e.kind()),
            _ => Err(std::io::ErrorKind::Other),
        }
    }

    /// Reads more bytes after the unread ones; returns how many (0 = closed).
    async fn fill(&mut self, guard: &impl OpGuard, want_large: bool) -> Result<usize, ErrorKind> {
        if self.arrived_ns.is_some() {
            // A lazy read began this response: what else is already in the
            // kernel is read with its receive time too.
            if let Ok(n) = self.read_now(want_large) {
                return Ok(n);
            }
            // Not there yet (or EOF, or an error): the read below waits for
            // it or reports it, and the response ends when it returns.
            self.arrived_ns = None;
        }
        let buf = self.take_buf(want_large);
        let len = buf.len();
        let room = buf.capacity() - len;
        let (n, slice) = match self.stream.read(buf.slice_mut(len..), guard).await {
            Ok(done) => done,
            Err(kind) => {
                // The buffer went with a cancelled TLS read; the connection
                // is discarded after an error anyway.
                self.buf = Some(Vec::new());
                return Err(kind);
            }
        };
        self.buf = Some(slice.into_inner());
        self.received |= n > 0;
        self.last_read_filled = n == room;
        self.peak_read_bytes = self.peak_read_bytes.max(n);
        self.arrived_ns = None;
        Ok(n)
    }

    /// Open loop: instead of waiting in the kernel, parks until the
    /// dispatcher's next wake-up ([`crate::base::reap`]) and reads what arrived
    /// without waiting. Returns with nothing read when reaping closes, the
    /// read fails (the caller's blocking read then waits or reports it), or
    /// the response is not there after [`MAX_REAPS`] wake-ups: a slow
    /// response would otherwise cost a read per wake-up, and many of them in
    /// flight far more than the wake-ups saved.
    async fn lazy_fill(&mut self, guard: &impl OpGuard) -> Result<(), ErrorKind> {
        for _ in 0..MAX_REAPS {
            if !crate::base::reap::park(|cx| guard.poll_expired(cx)).await? {
                return Ok(());
            }
            match self.read_now(false) {
                Err(std::io::ErrorKind::WouldBlock) => {}
                Ok(_) => {
                    crate::base::reap::note_read();
                    return Ok(());
                }
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }

    /// Sends the request and reads one whole response.
    pub async fn exchange(
        &mut self,
        request: Outgoing<'_>,
        no_body: bool,
        guard: &impl OpGuard,
    ) -> Result<Response, ErrorKind> {
        self.received = !self.unread().is_empty();
        self.arrived_ns = None;
        match request {
            Outgoing::Bytes(bytes) => {
                self.stream.write_all(bytes.clone(), guard).await?;
            }
            Outgoing::Template(template, seq) => {
                let mut buf = std::mem::take(&mut self.write_buf);
                buf.clear();
                template.render(seq, &mut buf);
                self.write_buf = self.stream.write_all(buf, guard).await?;
            }
        }
        if crate::base::reap::is_open() && self.unread().is_empty() {
            self.lazy_fill(guard).await?;
        }
        let mut bytes = 0u64;
        // Where a blank line may start in bytes not yet looked at; `None`:
        // parse at once (a head's first read, which also catches garbage).
        // A head that trickles in is parsed again only once its end may be
        // there, not after every read (which was quadratic).
        let mut parse_from = None;
        let head = loop {
            let ready = parse_from.map_or(true, |from| has_blank_line(self.unread(), from));
            let parsed = match ready {
                true => parse_head(self.unread(), no_body),
                false => ParsedHead::Partial,
            };
            match parsed {
                ParsedHead::Complete(head) => break head,
                ParsedHead::Informational(n) => {
                    bytes += n as u64;
                    self.consume(n);
                    parse_from = None;
                }
                ParsedHead::Invalid => return Err(ErrorKind::Protocol),
                ParsedHead::Partial => {
                    if self.unread().len() > MAX_HEAD_BYTES {
                        return Err(ErrorKind::Protocol);
                    }
                    parse_from = Some(self.unread().len().saturating_sub(2));
                    if self.fill(guard, false).await? == 0 {
                        return Err(if self.unread().is_empty() {
                            ErrorKind::Reset
                        } else {
                            ErrorKind::Protocol
                        });
                    }
                }
            }
        };
        bytes += head.head_len as u64;
        self.consume(head.head_len);
        bytes += self.drain_body(head.framing, guard).await?;
        self.served += 1;
        self.fit_buf();
        // Bytes beyond the end of the response answer no request of ours (a
        // second response, say): the connection can no longer be trusted.
        self.unsolicited = !self.unread().is_empty();
        Ok(Response {
            status: head.status,
            bytes,
            close: head.close || self.unsolicited,
            arrived_ns: self.arrived_ns,
        })
    }

    /// Reads and discards the body; returns its size on the wire.
    async fn drain_body(
        &mut self,
        framing: Framing,
        guard: &impl OpGuard,
    ) -> Result<u64, ErrorKind> {
        let mut total = 0u64;
        match framing {
            Framing::Length(mut remaining) => loop {
                let take = (self.unread().len() as u64).min(remaining) as usize;
                self.consume(take);
                remaining -= take as u64;
                total += take as u64;
                if remaining == 0 {
                    return Ok(total);
                }
                let large = remaining > INITIAL_BUF_BYTES as u64;
                // Not while a lazy read's receive times are being followed:
                // discarding reports no time.
                if large && self.arrived_ns.is_none() {
                    // Large bodies are counted, never copied (plain TCP).
                    let max = remaining.min(DISCARD_MAX_BYTES) as usize;
                    if let Some(n) = self.stream.discard(max, guard).await {
                        match n? {
                            0 => return Err(ErrorKind::Reset),
                            n => {
                                self.received = true;
                                remaining -= n as u64;
                                total += n as u64;
                                continue;
                            }
                        }
                    }
                }
                if self.fill(guard, large).await? == 0 {
                    return Err(ErrorKind::Reset);
                }
            },
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::default();
                loop {
                    let (used, done) = decoder.feed(self.unread())?;
                    self.consume(used);
                    total += used as u64;
                    if done {
                        return Ok(total);
                    }
                    if self.fill(guard, true).await? == 0 {
                        return Err(ErrorKind::Reset);
                    }
                }
            }
            Framing::UntilClose => loop {
                let n = self.unread().len();
                self.consume(n);
                total += n as u64;
                if self.fill(guard, true).await? == 0 {
                    return Ok(total);
                }
            },
        }
    }
}

/// The capacity an empty buffer of `capacity` bytes shrinks to after an
/// exchange whose largest read was `peak_read_bytes`, or `None` to keep it:
/// twice the peak (the doubling that got there), never below the initial
/// size, and only when that saves more than half.
fn fitted_capacity(capacity: usize, peak_read_bytes: usize) -> Option<usize> {
    let fitted = peak_read_bytes
        .saturating_mul(2)
        .next_power_of_two()
        .max(INITIAL_BUF_BYTES);
    (fitted * 2 < capacity).then_some(fitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer grown to the maximum shrinks once small responses follow;
    /// one still needed for large reads stays.
    #[test]
    fn grown_buffers_shrink_to_what_was_read() {
        assert_eq!(fitted_capacity(MAX_BUF_BYTES, 300), Some(INITIAL_BUF_BYTES));
        assert_eq!(fitted_capacity(MAX_BUF_BYTES, 8192), Some(16384));
        assert_eq!(fitted_capacity(MAX_BUF_BYTES, MAX_BUF_BYTES), None);
        assert_eq!(fitted_capacity(MAX_BUF_BYTES, 100_000), None);
        assert_eq!(fitted_capacity(INITIAL_BUF_BYTES, 10), None);
        assert_eq!(
            fitted_capacity(3 * INITIAL_BUF_BYTES, 0),
            Some(INITIAL_BUF_BYTES)
        );
    }

    /// A template renders what `encode_request` would encode for the same
    /// values: Content-Length from the rendered body, none for a bare GET.
    #[test]
    fn templates_render_whole_requests() {
        let mut no_csv = |_: &str, _: &str| -> Result<std::sync::Arc<[Box<[u8]>]>, ConfigError> {
            Err(ConfigError("no csv".into()))
        };
        let headers = vec![("X-N".to_string(), "{{seq}}".to_string())];
        let render = |method: &str, body: &[u8], csv: &mut CsvLoader| {
            let t = RequestTemplate::parse((method, "h:1", "/p/{{seq}}"), &headers, body, 1, csv)
                .unwrap()
                .unwrap();
            let mut out = Vec::new();
            t.render(42, &mut out);
            out
        };
        let h = vec![("X-N".to_string(), "42".to_string())];
        for (method, body, sent) in [
            ("GET", &b""[..], &b""[..]),
            ("POST", b"", b""),
            ("POST", b"static", b"static"),
            ("POST", b"n={{seq}}", b"n=42"),
            ("PUT", &[0xff, 0xfe][..], &[0xff, 0xfe][..]),
        ] {
            let want = encode_request(method, "h:1", "/p/42", &h, sent);
            assert_eq!(render(method, body, &mut no_csv), want, "{method} {body:?}");
        }
        let none =
            RequestTemplate::parse(("GET", "h:1", "/p"), &[], b"{}", 1, &mut no_csv).unwrap();
        assert!(none.is_none(), "no placeholder: encoded once instead");
    }

    #[test]
    fn encodes_request_once() {
        let req = encode_request(
            "POST",
            "127.0.0.1:8080",
            "/api?x=1",
            &[("X-A".into(), "1".into())],
            b"hello",
        );
        let text = String::from_utf8(req).unwrap();
        assert!(text.starts_with("POST /api?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(text.contains("X-A: 1\r\n"));
        assert!(text.ends_with("Content-Length: 5\r\n\r\nhello"));
    }

    /// RFC 9112 §6.3: differing lengths are unrecoverable; equal ones are
    /// the same length said twice.
    #[test]
    fn conflicting_content_lengths_are_invalid() {
        for head in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        ] {
            assert_eq!(parse_head(head, false), ParsedHead::Invalid, "{head:?}");
        }
        let same = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
            false,
        );
        assert!(matches!(
            same,
            ParsedHead::Complete(Head {
                framing: Framing::Length(2),
                ..
            })
        ));
    }

    #[test]
    fn blank_lines_are_found_across_reads() {
        let head = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
        assert!(has_blank_line(head, 0));
        // The search resumes 2 bytes before the previous end, so a blank
        // line split over two reads is found.
        for split in 1..head.len() {
            if !has_blank_line(&head[..split], 0) {
                assert!(has_blank_line(head, split.saturating_sub(2)), "{split}");
            }
        }
        assert!(!has_blank_line(b"HTTP/1.1 200 OK\r\nA: b\r\n", 0));
        assert!(has_blank_line(b"HTTP/1.0 200 OK\n\n", 0));
    }

    /// More headers than fit on the stack are parsed on the heap (a head
    /// with 65 headers used to be a protocol error).
    #[test]
    fn many_headers_fit_when_the_head_does() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..1000 {
            head.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
        assert!(matches!(
            parse_head(&head, false),
            ParsedHead::Complete(Head {
                status: 200,
                framing: Framing::Length(2),
                ..
            })
        ));
    }

    /// 600-999 are kept (a status error); below 100 is not HTTP.
    #[test]
    fn status_codes_outside_the_classes() {
        let h = parse_head(b"HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n", false);
        assert!(matches!(h, ParsedHead::Complete(Head { status: 999, .. })));
        let h = parse_head(b"HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n", false);
        assert_eq!(h, ParsedHead::Invalid);
    }

    #[test]
    fn parses_heads() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello", false);
        assert_eq!(
            h,
            ParsedHead::Complete(Head {
                status: 200,
                head_len: 39,
                framing: Framing::Length(12),
                close: false
            })
        );
        let h = parse_head(
            b"HTTP/1.1 503 X\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            false,
        );
        assert!(matches!(
            h,
            ParsedHead::Complete(Head {
                status: 503,
                framing: Framing::Chunked,
                close: true,
                ..
            })
        ));
        assert_eq!(
            parse_head(b"HTTP/1.1 100 Continue\r\n\r\n", false),
            ParsedHead::Informational(25)
        );
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-", false),
            ParsedHead::Partial
        );
        assert_eq!(
            parse_head(b"garbage garbage\r\n\r\n", false),
            ParsedHead::Invalid
        );
        assert!(matches!(
            parse_head(b"HTTP/1.0 200 OK\r\n\r\n", false),
            ParsedHead::Complete(Head {
                framing: Framing::UntilClose,
                close: true,
                ..
            })
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true),
            ParsedHead::Complete(Head {
                framing: Framing::Length(0),
                ..
            })
        ));
    }
}
