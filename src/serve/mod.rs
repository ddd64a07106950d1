//! Built-in HTTP/1.1 keep-alive target server, for `rwg demo` and end-to-end
//! tests. Independent of the load generator: it imports no client code.
//!
//! One thread per configured CPU (pinned), each with its own monoio runtime
//! and its own `SO_REUSEPORT` listener on the shared address, so the kernel
//! spreads connections over the threads. A connection is one task that reads
//! requests (pipelined or split across reads), optionally delays or stalls,
//! and answers with pre-encoded responses. Knobs emulate misbehaving servers:
//! service delay, periodic freezes (coordinated-omission tests), a status mix
//! (load shedding), periodic `Connection: close`, and non-HTTP garbage.
//! Delays may differ by path ([`delay`]); `--capture` keeps every request
//! as received ([`capture`]).

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use monoio::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};

use capture::Capture;
use delay::DelayRules;

mod capture;
mod conn;
mod delay;
mod h2;
mod parse;
mod queue;
mod tls;

pub use delay::{parse_delay, parse_delays, Delay};
pub use parse::{parse_stall, parse_status_mix};
pub use tls::ServeTls;

/// Freeze all responses for `for_ns` at the start of every `every_ns` window,
/// windows measured from server start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub every_ns: u64,
    pub for_ns: u64,
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Port 0 picks a free port; the chosen one is in `ServerHandle::addr`.
    pub addr: SocketAddr,
    /// The delay of requests no `path_delays` rule matches.
    pub delay: Delay,
    /// `(path prefix, delay)`: the longest matching prefix wins.
    pub path_delays: Vec<(String, Delay)>,
    pub stall: Option<Stall>,
    /// `(status, fraction)`: e.g. `[(503, 0.1)]` answers 10% with 503, the rest 200.
    pub status_mix: Vec<(u16, f64)>,
    pub body_bytes: usize,
    /// One thread pinned to each CPU; empty = one unpinned thread.
    pub cpus: Vec<usize>,
    /// Test knob: send `Connection: close` and close after every N responses on a connection.
    pub close_every: Option<u64>,
    /// Test knob: answer every request with a non-HTTP line, then close.
    pub malformed: bool,
    /// `--max-concurrency`: at most this many requests in service at once
    /// (the delay being the service time); the rest queue.
    pub max_concurrency: Option<usize>,
    /// What to speak: HTTP/1.1, h2c, or gRPC (echo + reflection) over h2c.
    pub protocol: ServeProtocol,
    /// Write every request, as received, to this file.
    pub capture: Option<PathBuf>,
    /// Speak TLS with this certificate (`https://`, `grpcs://`).
    pub tls: Option<ServeTls>,
}

/// The built-in target's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServeProtocol {
    #[default]
    Http1,
    /// Prior-knowledge HTTP/2 over cleartext.
    H2c,
    /// gRPC over h2c: `rwg.echo.v1.Echo/Call` and reflection.
    Grpc,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            delay: Delay::None,
            path_delays: Vec::new(),
            stall: None,
            status_mix: Vec::new(),
            body_bytes: 12,
            cpus: Vec::new(),
            close_every: None,
            malformed: false,
            max_concurrency: None,
            protocol: ServeProtocol::Http1,
            capture: None,
            tls: None,
        }
    }
}

/// A running server; stops (and joins its threads) on `stop` or drop.
pub struct ServerHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// Duplicates of the listening sockets, kept only to wake blocked accepts.
    wakers: Vec<Socket>,
    threads: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// Stops accepting, abandons open connections and joins the threads (as drop does).
    pub fn stop(self) {}
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // shutdown() on a listening socket makes a pending accept fail (under
        // io_uring and epoll alike), so each accept loop sees the flag. A
        // wake-up connect would not do: SO_REUSEPORT picks the listener by hash.
        for w in &self.wakers {
            let _ = w.shutdown(Shutdown::Both);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Read-only state shared by all server threads.
pub(crate) struct Shared {
    pub(crate) stop: AtomicBool,
    pub(crate) started_at: Instant,
    pub(crate) delays: DelayRules,
    /// `--max-concurrency`'s servers, else every request served at once.
    pub(crate) servers: Option<queue::Servers>,
    pub(crate) capture: Option<Capture>,
    pub(crate) stall: Option<Stall>,
    pub(crate) close_every: Option<u64>,
    pub(crate) malformed: bool,
    /// Pre-encoded responses; index 0 is 200.
    pub(crate) responses: Vec<Encoded>,
    /// `(cumulative fraction, index into responses)`; a draw past the last is 200.
    pub(crate) mix: Vec<(f64, usize)>,
    /// The status code of each entry of `responses` (for HTTP/2 and gRPC).
    pub(crate) codes: Vec<u16>,
    /// The HTTP/2 response body.
    pub(crate) body: bytes::Bytes,
    pub(crate) protocol: ServeProtocol,
    pub(crate) grpc: bool,
    /// Encoded FileDescriptorProto of echo.proto (gRPC reflection).
    pub(crate) descriptor: Vec<u8>,
    /// TLS handshakes (`--tls`), else cleartext.
    pub(crate) tls: Option<monoio_rustls::TlsAcceptor>,
}

/// One status code's response, pre-encoded once at start.
pub(crate) struct Encoded {
    pub(crate) keep_alive: Box<[u8]>,
    /// The same with `Connection: close`.
    pub(crate) close: Box<[u8]>,
}

/// Starts the server; returns once every thread is listening.
pub fn start(cfg: ServeConfig) -> io::Result<ServerHandle> {
    let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
    parse::validate_mix(&cfg.status_mix).map_err(invalid)?;
    if let Some(s) = cfg.stall {
        parse::validate_stall(s).map_err(invalid)?;
    }
    if !cfg.cpus.is_empty() {
        // Checked here: core_affinity panics (in libc's CPU_SET) on ids >= 1024.
        let allowed = core_affinity::get_core_ids().unwrap_or_default();
        if let Some(cpu) = cfg
            .cpus
            .iter()
            .find(|&&id| !allowed.iter().any(|c| c.id == id))
        {
            return Err(invalid(format!(
                "CPU {cpu} is not available to this process"
            )));
        }
    }
    let started_at = Instant::now();
    let first = bind_reuseport(cfg.addr)?;
    let addr = first
        .local_addr()?
        .as_socket()
        .ok_or_else(|| invalid("not an IP socket".into()))?;
    let mut listeners = vec![first];
    for _ in 1..cfg.cpus.len() {
        listeners.push(bind_reuseport(addr)?);
    }
    let mut responses = vec![encode(200, cfg.body_bytes)];
    let mut codes = vec![200];
    let mut mix = Vec::new();
    let mut cum = 0.0;
    for &(code, frac) in &cfg.status_mix {
        cum += frac;
        mix.push((cum, responses.len()));
        responses.push(encode(code, cfg.body_bytes));
        codes.push(code);
    }
    let grpc = cfg.protocol == ServeProtocol::Grpc;
    let descriptor = if grpc {
        h2::echo_descriptor().map_err(invalid)?
    } else {
        Vec::new()
    };
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        started_at,
        delays: DelayRules::new(cfg.delay, &cfg.path_delays),
        servers: cfg.max_concurrency.map(queue::Servers::new),
        capture: cfg.capture.as_deref().map(Capture::create).transpose()?,
        stall: cfg.stall,
        close_every: cfg.close_every.filter(|&n| n > 0),
        malformed: cfg.malformed,
        responses,
        mix,
        codes,
        body: b"Hello world\n"
            .iter()
            .copied()
            .cycle()
            .take(cfg.body_bytes)
            .collect::<Vec<u8>>()
            .into(),
        protocol: cfg.protocol,
        grpc,
        descriptor,
        tls: match &cfg.tls {
            Some(t) => Some(t.acceptor(cfg.protocol).map_err(invalid)?),
            None => None,
        },
    });
    // From here on, dropping `handle` (on any error) stops what was started.
    let mut handle = ServerHandle {
        addr,
        shared,
        wakers: Vec::new(),
        threads: Vec::new(),
    };
    let (ready_tx, ready_rx) = mpsc::channel::<io::Result<()>>();
    for (i, sock) in listeners.into_iter().enumerate() {
        handle.wakers.push(sock.try_clone()?);
        let cpu = cfg.cpus.get(i).copied();
        let shared = handle.shared.clone();
        let ready_tx = ready_tx.clone();
        let thread = std::thread::Builder::new()
            .name(format!("rwg-serve-{i}"))
            .spawn(move || serve_thread(i, cpu, sock, shared, ready_tx))?;
        handle.threads.push(thread);
    }
    drop(ready_tx);
    for _ in 0..handle.threads.len() {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::Error::other("server thread died during start")),
        }
    }
    Ok(handle)
}

fn bind_reuseport(addr: SocketAddr) -> io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    Ok(sock)
}

fn serve_thread(
    idx: usize,
    cpu: Option<usize>,
    sock: Socket,
    shared: Arc<Shared>,
    ready_tx: mpsc::Sender<io::Result<()>>,
) {
    if let Some(id) = cpu {
        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
            let _ = ready_tx.send(Err(io::Error::other(format!("cannot pin to CPU {id}"))));
            return;
        }
    }
    let mut rt = match monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready_tx.send(Err(e));
            return;
        }
    };
    // The epoll fallback needs a non-blocking listener (monoio's own bind
    // does the same); io_uring is left with the blocking default.
    let legacy = matches!(rt, monoio::FusionRuntime::Legacy(_));
    let seed = 0x9E37_79B9_7F4A_7C15u64 ^ (idx as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let state = std::rc::Rc::new(conn::ThreadState::new(shared, seed));
    rt.block_on(async move {
        // from_std registers with the driver, so it must run inside the runtime.
        let listener = sock
            .set_nonblocking(legacy)
            .and_then(|()| TcpListener::from_std(sock.into()));
        match listener {
            Ok(l) => {
                let _ = ready_tx.send(Ok(()));
                drop(ready_tx);
                accept_loop(l, state).await;
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        }
    });
    // Open connections are abandoned here: dropping the runtime drops their tasks.
}

async fn accept_loop(listener: TcpListener, state: std::rc::Rc<conn::ThreadState>) {
    loop {
        let res = listener.accept().await;
        if state.shared.stop.load(Ordering::Acquire) {
            return;
        }
        match res {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                monoio::spawn(connection(stream, state.clone()));
            }
            // The listener was shut down under us.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return,
            // E.g. EMFILE: back off instead of spinning on the error.
            Err(_) => monoio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// One accepted connection: the TLS handshake (with `--tls`), then the
/// protocol.
async fn connection(stream: monoio::net::TcpStream, state: std::rc::Rc<conn::ThreadState>) {
    match &state.shared.tls {
        Some(acceptor) => {
            // A failed handshake ends the connection: the client sees why.
            if let Ok(tls) = acceptor.accept(stream).await {
                speak(tls, state).await;
            }
        }
        None => speak(stream, state).await,
    }
}

async fn speak<S>(stream: S, state: std::rc::Rc<conn::ThreadState>)
where
    S: monoio::io::AsyncReadRent + monoio::io::AsyncWriteRent + Unpin + 'static,
{
    if state.shared.protocol == ServeProtocol::Http1 {
        conn::serve(stream, state).await;
    } else {
        h2::serve(stream, state).await;
    }
}

fn encode(code: u16, body_bytes: usize) -> Encoded {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    let body: Vec<u8> = b"Hello world\n"
        .iter()
        .copied()
        .cycle()
        .take(body_bytes)
        .collect();
    let encode = |conn: &str| {
        let mut r =
            format!("HTTP/1.1 {code} {reason}\r\nContent-Length: {body_bytes}\r\n{conn}\r\n")
                .into_bytes();
        r.extend_from_slice(&body);
        r.into_boxed_slice()
    };
    Encoded {
        keep_alive: encode(""),
        close: encode("Connection: close\r\n"),
    }
}
