//! A misbehaving HTTP/1.1 server for rwg's integration tests.
//!
//! [`Hostile::start`] binds `127.0.0.1:0` and answers every request the way
//! its [`Mode`] says: duplicate or negative `Content-Length`, endless or
//! overflowing chunked bodies, huge headers, a reset in the middle of a body,
//! and so on. Tests point rwg at it and check that rwg reports an error (or
//! copes) instead of hanging, panicking or allocating without bound.
//!
//! It uses only the standard library and is independent of rwg's own client
//! and server code, so one bug cannot hide on both sides of a test at once.
//!
//! Requests are read as heads ending in `\r\n\r\n` and a `Content-Length`
//! body; each is kept byte for byte ([`Hostile::requests`]) so that tests can
//! check the exact bytes rwg sent. Every socket has 100 ms read and write
//! timeouts and the stop flag is checked after each, so dropping the
//! [`Hostile`] stops and joins the listener thread and every connection
//! thread within a fraction of a second. I/O errors are never fatal: the connection is simply closed.

#![allow(dead_code)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The normal answer.
const NORMAL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
/// How long a connection of [`Mode::ResponseBeforeRequest`] sits idle before
/// it gets the unrequested 408.
pub const IDLE_408: Duration = Duration::from_millis(20);
/// Sent to idle connections by [`Mode::ResponseBeforeRequest`].
const REQUEST_TIMEOUT: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// Sent before the normal answer by [`Mode::ContinueThenAnswer`].
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// Read and write timeout of every socket: how often the stop flag is checked.
const TICK: Duration = Duration::from_millis(100);
/// A request head longer than this closes the connection.
const MAX_HEAD: usize = 64 * 1024;
/// Length of the `X-Big` header line of [`Mode::HugeHeaderLine`], without CRLF.
pub const HUGE_LINE: usize = 2 * 1024 * 1024;
/// Body of [`Mode::TrickleBody`], sent one byte at a time.
pub const TRICKLE_BODY: &[u8] = b"abcdefghijklmnopqrst";
/// How long [`close_gracefully`] waits for the client to close its side.
const LINGER: Duration = Duration::from_secs(1);

/// How the server answers. Unless a mode says it closes, the connection stays
/// open and every request on it gets the same answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok` (for control runs).
    Normal,
    /// `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nok`.
    DuplicateContentLength,
    /// `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\nokxyz`.
    DuplicateContentLengthReversed,
    /// Waits 20 ms after the request, then writes the normal answer twice in a
    /// single write, so an unrequested second response sits in the socket.
    TwoResponses,
    /// Whenever the connection has sat idle (no request in progress) for
    /// [`IDLE_408`] — after accept or after an answer — sends
    /// `HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`
    /// once and keeps the connection open, as servers do to idle keep-alive
    /// connections; every request gets the normal answer.
    ResponseBeforeRequest,
    /// `HTTP/1.1 <code> Hostile\r\nContent-Length: 2\r\n\r\nok`, the code
    /// written in decimal as given (e.g. `999`).
    Status(u16),
    /// `HTTP/1.1 200 OK\r\n`, then one header line `X-Big: aaa…a` that is
    /// exactly [`HUGE_LINE`] (2 MiB) bytes long without its CRLF, then
    /// `\r\nContent-Length: 2\r\n\r\nok`.
    HugeHeaderLine,
    /// `HTTP/1.1 200 OK\r\n`, then that many header lines `X-H<i>: v\r\n`
    /// (`i` counting from 0), then `Content-Length: 2\r\n\r\nok`.
    ManyHeaders(usize),
    /// `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n`, then the chunk
    /// `400\r\n` + 1024 × `x` + `\r\n` about once a millisecond, never the last
    /// chunk, until a write fails or the server is dropped; then closes.
    EndlessChunked,
    /// `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nok`
    /// (a chunk size that overflows 64 bits), then closes (FIN).
    ChunkSizeOverflow,
    /// `HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok`.
    NegativeContentLength,
    /// Closes every connection right after accept, without reading or writing.
    CloseAfterAccept,
    /// `HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n` + 100 × `x`, then
    /// closes with RST (`SO_LINGER` set to zero; plain close off Linux).
    ResetMidBody,
    /// `HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n`, then the 20 bytes of
    /// [`TRICKLE_BODY`] one at a time, each after a wait of `byte_every_ms`.
    TrickleBody { byte_every_ms: u64 },
    /// `HTTP/1.0 200 OK\r\n\r\n` (no `Content-Length`), 100 × `x`, then closes
    /// (FIN): the body is delimited by the close.
    Http10CloseDelimited,
    /// `garbage\r\n\r\n` instead of a status line.
    GarbageStatusLine,
    /// `HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok` (valid: no reason phrase).
    NoReasonPhrase,
    /// `HTTP/1.1 100 Continue\r\n\r\n` followed, in the same write, by the
    /// normal answer.
    ContinueThenAnswer,
    /// Answers the first request of each connection normally; reads the
    /// second and closes the connection (FIN) without answering it, as a
    /// server does when it drops a keep-alive connection in a race.
    CloseOnSecondRequest,
}

impl Mode {
    /// The mode as written in Rust, e.g. `Status(999)`, for test messages.
    pub fn name(&self) -> String {
        format!("{self:?}")
    }
}

/// One instance of every mode, with the parameters tests usually want.
pub fn all_modes() -> Vec<Mode> {
    vec![
        Mode::Normal,
        Mode::DuplicateContentLength,
        Mode::DuplicateContentLengthReversed,
        Mode::TwoResponses,
        Mode::ResponseBeforeRequest,
        Mode::Status(999),
        Mode::HugeHeaderLine,
        Mode::ManyHeaders(10_000),
        Mode::EndlessChunked,
        Mode::ChunkSizeOverflow,
        Mode::NegativeContentLength,
        Mode::CloseAfterAccept,
        Mode::ResetMidBody,
        Mode::TrickleBody { byte_every_ms: 200 },
        Mode::Http10CloseDelimited,
        Mode::GarbageStatusLine,
        Mode::NoReasonPhrase,
        Mode::ContinueThenAnswer,
        Mode::CloseOnSecondRequest,
    ]
}

/// State shared by the listener thread, the connection threads and the
/// [`Hostile`] handle.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    requests: AtomicU64,
    connections: AtomicU64,
    /// Every complete request (head and body) as read, in arrival order.
    captured: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A running hostile server. Dropping it stops and joins all its threads.
pub struct Hostile {
    addr: SocketAddr,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
}

impl Hostile {
    /// Binds `127.0.0.1:0` and serves `mode` on a listener thread, with one
    /// thread per accepted connection.
    pub fn start(mode: Mode) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("hostile: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("hostile: local_addr");
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name(format!("hostile-{}", mode.name()))
            .spawn(move || accept_loop(listener, mode, &thread_shared))
            .expect("hostile: spawn listener thread");
        Hostile {
            addr,
            shared,
            listener: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Complete request heads read so far, over all connections.
    pub fn requests_seen(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Every complete request so far, head and body, byte for byte.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.shared.captured.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn connections_seen(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the listener thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.listener.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts until stopped, then joins every connection thread.
fn accept_loop(listener: TcpListener, mode: Mode, shared: &Arc<Shared>) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    for stream in listener.incoming() {
        if shared.stopped() {
            break;
        }
        let Ok(stream) = stream else {
            // E.g. out of file descriptors: do not spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        connections.retain(|c| !c.is_finished());
        let conn_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("hostile-conn".to_string())
            .spawn(move || serve_connection(stream, mode, &conn_shared));
        // If the thread cannot be spawned the stream is dropped: a close.
        if let Ok(handle) = spawned {
            connections.push(handle);
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// Serves one connection until the client closes, an I/O error, the mode
/// closes it, or the server is stopped.
fn serve_connection(mut stream: TcpStream, mode: Mode, shared: &Shared) {
    if mode == Mode::CloseAfterAccept {
        return;
    }
    let _ = stream.set_read_timeout(Some(TICK));
    let _ = stream.set_write_timeout(Some(TICK));
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut served = 0u32;
    loop {
        if mode == Mode::ResponseBeforeRequest
            && buf.is_empty()
            && idle_for(&stream, IDLE_408)
            && !send(&mut stream, REQUEST_TIMEOUT, shared)
        {
            return;
        }
        if !read_request(&mut stream, &mut buf, shared) {
            return;
        }
        served += 1;
        if mode == Mode::CloseOnSecondRequest && served == 2 {
            return;
        }
        if !answer(&mut stream, mode, shared) {
            return;
        }
    }
}

/// Whether nothing arrives on `stream` for `wait` (a request then finds the
/// bytes still unread).
fn idle_for(stream: &TcpStream, wait: Duration) -> bool {
    let _ = stream.set_read_timeout(Some(wait));
    let mut byte = [0u8; 1];
    let idle = matches!(
        stream.peek(&mut byte),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
    );
    let _ = stream.set_read_timeout(Some(TICK));
    idle
}

/// Answers one request. Returns whether the connection stays open.
fn answer(stream: &mut TcpStream, mode: Mode, shared: &Shared) -> bool {
    match mode {
        Mode::Normal | Mode::ResponseBeforeRequest | Mode::CloseOnSecondRequest => {
            send(stream, NORMAL, shared)
        }
        Mode::DuplicateContentLength => send(
            stream,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nok",
            shared,
        ),
        Mode::DuplicateContentLengthReversed => send(
            stream,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\nokxyz",
            shared,
        ),
        Mode::TwoResponses => {
            pause(Duration::from_millis(20), shared) && send(stream, &two_responses(), shared)
        }
        Mode::Status(code) => send(stream, status_response(code).as_bytes(), shared),
        Mode::HugeHeaderLine => send(stream, &huge_header_response(), shared),
        Mode::ManyHeaders(count) => send(stream, many_headers_response(count).as_bytes(), shared),
        Mode::EndlessChunked => endless_chunked(stream, shared),
        Mode::ChunkSizeOverflow => {
            let response =
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nok";
            if send(stream, response, shared) {
                close_gracefully(stream, shared);
            }
            false
        }
        Mode::NegativeContentLength => send(
            stream,
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
            shared,
        ),
        Mode::CloseAfterAccept => false,
        Mode::ResetMidBody => {
            let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
            response.extend_from_slice(&[b'x'; 100]);
            if send(stream, &response, shared) {
                set_linger_zero(stream);
            }
            false
        }
        Mode::TrickleBody { byte_every_ms } => trickle_body(stream, byte_every_ms, shared),
        Mode::Http10CloseDelimited => {
            let mut response = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
            response.extend_from_slice(&[b'x'; 100]);
            if send(stream, &response, shared) {
                close_gracefully(stream, shared);
            }
            false
        }
        Mode::GarbageStatusLine => send(stream, b"garbage\r\n\r\n", shared),
        Mode::NoReasonPhrase => send(
            stream,
            b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
            shared,
        ),
        Mode::ContinueThenAnswer => send(stream, &[CONTINUE, NORMAL].concat(), shared),
    }
}

fn two_responses() -> Vec<u8> {
    [NORMAL, NORMAL].concat()
}

fn status_response(code: u16) -> String {
    format!("HTTP/1.1 {code} Hostile\r\nContent-Length: 2\r\n\r\nok")
}

fn huge_header_response() -> Vec<u8> {
    let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
    let line_start = response.len();
    response.extend_from_slice(b"X-Big: ");
    response.resize(line_start + HUGE_LINE, b'a');
    response.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
    response
}

fn many_headers_response(count: usize) -> String {
    let mut response = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..count {
        response.push_str(&format!("X-H{i}: v\r\n"));
    }
    response.push_str("Content-Length: 2\r\n\r\nok");
    response
}

/// Sends chunks until a write fails or the server stops. Always closes.
fn endless_chunked(stream: &mut TcpStream, shared: &Shared) -> bool {
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut chunk = b"400\r\n".to_vec();
    chunk.extend_from_slice(&[b'x'; 1024]);
    chunk.extend_from_slice(b"\r\n");
    if !send(stream, head, shared) {
        return false;
    }
    while send(stream, &chunk, shared) && pause(Duration::from_millis(1), shared) {}
    false
}

/// Sends the head, then one body byte after each wait.
fn trickle_body(stream: &mut TcpStream, byte_every_ms: u64, shared: &Shared) -> bool {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        TRICKLE_BODY.len()
    );
    if !send(stream, head.as_bytes(), shared) {
        return false;
    }
    for byte in TRICKLE_BODY.chunks(1) {
        if !pause(Duration::from_millis(byte_every_ms), shared) || !send(stream, byte, shared) {
            return false;
        }
    }
    true
}

/// Reads one request head and discards its `Content-Length` body, leaving
/// any bytes after it (a pipelined request) in `buf`. Returns false when the
/// connection should end: client closed, I/O error, oversized head, or stop.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> bool {
    let head_len = loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD || !read_more(stream, buf, shared) {
            return false;
        }
    };
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let body_len = content_length(&buf[..head_len]);
    let mut raw: Vec<u8> = buf.drain(..head_len).collect();
    if !discard_body(stream, buf, body_len, shared, &mut raw) {
        return false;
    }
    shared.captured.lock().unwrap().push(raw);
    true
}

/// Moves `remaining` body bytes into `body`, from `buf` first and then from
/// the socket.
fn discard_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    remaining: u64,
    shared: &Shared,
    body: &mut Vec<u8>,
) -> bool {
    let mut remaining = remaining;
    loop {
        let take = remaining.min(buf.len() as u64);
        body.extend(buf.drain(..take as usize));
        remaining -= take;
        if remaining == 0 {
            return true;
        }
        if !read_more(stream, buf, shared) {
            return false;
        }
    }
}

/// The request's `Content-Length`, or 0 when absent or not a number.
fn content_length(head: &[u8]) -> u64 {
    let head = String::from_utf8_lossy(head);
    for line in head.split("\r\n") {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                return value.trim().parse().unwrap_or(0);
            }
        }
    }
    0
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Appends at most 4 KiB from the socket to `buf`. Returns false on EOF,
/// error, or stop.
fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        if shared.stopped() {
            return false;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return true;
            }
            Err(e) if is_retry(&e) => {}
            Err(_) => return false,
        }
    }
}

/// Writes all of `bytes`. Returns false on error or stop.
fn send(stream: &mut TcpStream, bytes: &[u8], shared: &Shared) -> bool {
    let mut rest = bytes;
    while !rest.is_empty() {
        if shared.stopped() {
            return false;
        }
        match stream.write(rest) {
            Ok(0) => return false,
            Ok(n) => rest = &rest[n..],
            Err(e) if is_retry(&e) => {}
            Err(_) => return false,
        }
    }
    true
}

/// A timeout or interruption: check the stop flag and try again.
fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// Sleeps for `duration` in slices of at most 10 ms. Returns false if the
/// server was stopped meanwhile.
fn pause(duration: Duration, shared: &Shared) -> bool {
    let deadline = Instant::now() + duration;
    loop {
        if shared.stopped() {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        thread::sleep((deadline - now).min(Duration::from_millis(10)));
    }
}

/// Sends FIN, then reads and drops what the client still sends until it
/// closes (at most [`LINGER`]), so unread bytes do not turn the close into a
/// reset.
fn close_gracefully(stream: &mut TcpStream, shared: &Shared) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    while Instant::now() < deadline && !shared.stopped() {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_retry(&e) => {}
            Err(_) => return,
        }
    }
}

/// Makes the coming close send RST instead of FIN (`SO_LINGER` {1, 0}).
#[cfg(target_os = "linux")]
fn set_linger_zero(stream: &TcpStream) {
    use std::ffi::{c_int, c_void};
    use std::os::fd::AsRawFd;

    #[repr(C)]
    struct Linger {
        l_onoff: c_int,
        l_linger: c_int,
    }

    extern "C" {
        fn setsockopt(
            socket: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            value_len: u32,
        ) -> c_int;
    }

    const SOL_SOCKET: c_int = 1;
    const SO_LINGER: c_int = 13;
    let linger = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open for the life of `stream`, and the option value
    // points to a live, correctly sized `struct linger`. A failure only means
    // the close will be a FIN, so the result is ignored.
    unsafe {
        setsockopt(
            stream.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &linger as *const Linger as *const c_void,
            std::mem::size_of::<Linger>() as u32,
        );
    }
}

/// Off Linux the constants differ; the close stays a plain FIN.
#[cfg(not(target_os = "linux"))]
fn set_linger_zero(_stream: &TcpStream) {}
