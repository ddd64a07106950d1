//! Transports: plain TCP or TLS (rustls with the ring provider, through
//! monoio-rustls). Cold: the client configuration (ALPN, SNI, trust roots,
//! `--insecure`, client certificates) is built once per run. Hot: [`Transport`]
//! reads and writes for the HTTP/1.1 connection; plain TCP cancels through
//! the worker's deadline, TLS races the deadline (the record layer cannot be
//! resumed after a cancelled read, so such a connection is discarded).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use monoio_rustls::{ClientTlsStream, TlsConnector};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::{guarded, io_error_kind, OpGuard};
use crate::base::clock::wall_to_monotonic_ns;
use crate::base::kind::ErrorKind;
use crate::plan::config::TlsOptions;

/// Idle TCP keep-alive probes start after this long (the seed's 30 s).
const KEEPALIVE: Duration = Duration::from_secs(30);

/// A ready TLS connector and the name sent as SNI and verified.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    /// The connector's configuration, for sessions driven by hand (the
    /// lean HTTP/2 client's).
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl TlsClient {
    /// Builds the client configuration; `alpn` lists the protocols offered in
    /// order of preference. Errors name the file or value at fault.
    pub fn new(opts: &TlsOptions, host: &str, alpn: &[&[u8]]) -> Result<TlsClient, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?;
        let builder = if opts.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            match &opts.cacert {
                Some(path) => {
                    let certs = read_certs(path, "--cacert")?;
                    let (added, _) = roots.add_parsable_certificates(certs);
                    if added == 0 {
                        return Err(format!(
                            "--cacert '{}': no usable certificate",
                            path.display()
                        ));
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots)
        };
        let mut config = match (&opts.cert, &opts.key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert, "--cert")?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("cannot read --key '{}': {e}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("--cert/--key: {e}"))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err("--cert and --key must be given together".into()),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(bare.to_string())
            .map_err(|e| format!("invalid TLS server name '{host}': {e}"))?;
        let config = Arc::new(config);
        Ok(TlsClient {
            connector: TlsConnector::from(config.clone()),
            config,
            server_name,
        })
    }

    /// A fresh client session (not yet handshaken) for this server.
    pub fn session(&self) -> io::Result<rustls::ClientConnection> {
        rustls::ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(io::Error::other)
    }
}

fn read_certs(path: &std::path::Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {flag} '{}': {e}", path.display()))?
        .collect();
    match certs {
        Ok(c) if !c.is_empty() => Ok(c),
        Ok(_) => Err(format!("{flag} '{}': no PEM certificate", path.display())),
        Err(e) => Err(format!("cannot parse {flag} '{}': {e}", path.display())),
    }
}

/// `--insecure`: any certificate, any name (signatures are still checked).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A connected byte stream.
/// What an idle connection holds before a request is written on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleState {
    /// Nothing: it can carry a request.
    Clean,
    /// The server closed it (or it failed).
    Closed,
    /// Bytes that no request asked for (a response before any request, a
    /// second response): never to be credited to the next request.
    Unsolicited,
}

pub enum Transport {
    Plain(TcpStream),
    Tls(Box<ClientTlsStream<TcpStream>>),
}

/// The guard watches a socket while one operation on it is in flight
/// ([`OpGuard::watch`]).
struct Watch<'g, G: OpGuard>(&'g G);

impl<'g, G: OpGuard> Watch<'g, G> {
    /// `Err` with the guard's reason when it expired already.
    fn start(guard: &'g G, s: &TcpStream) -> Result<Self, ErrorKind> {
        if let Some(kind) = guard.expired() {
            return Err(kind);
        }
        guard.watch(Some(s.as_raw_fd()));
        Ok(Watch(guard))
    }
}

impl<G: OpGuard> Drop for Watch<'_, G> {
    fn drop(&mut self) {
        self.0.watch(None);
    }
}

impl Transport {
    /// The protocol the server chose by ALPN (TLS only).
    pub fn alpn(&self) -> Option<Vec<u8>> {
        match self {
            Transport::Plain(_) => None,
            Transport::Tls(s) => s.alpn_protocol(),
        }
    }

    /// Reads into `buf`; on a TLS timeout the buffer is gone with the read.
    pub async fn read<B: IoBufMut + 'static>(
        &mut self,
        buf: B,
        guard: &impl OpGuard,
    ) -> Result<(usize, B), ErrorKind> {
        match self {
            Transport::Plain(s) => {
                let _watch = Watch::start(guard, s)?;
                let (res, buf) = s.read(buf).await;
                // Expired: the socket was shut down, and what the read
                // returned (end of stream, or data that came too late)
                // answers nothing.
                if let Some(kind) = guard.expired() {
                    return Err(kind);
                }
                Ok((res.map_err(|e| io_error_kind(&e, guard))?, buf))
            }
            // Boxed: the TLS read future is large, and inline it would size
            // every worker's future, TLS or not.
            Transport::Tls(s) => {
                Box::pin(guarded(guard, async {
                    let (res, buf) = s.read(buf).await;
                    Ok((res.map_err(|e| io_error_kind(&e, guard))?, buf))
                }))
                .await
            }
        }
    }

    pub async fn write_all<B: IoBuf + 'static>(
        &mut self,
        buf: B,
        guard: &impl OpGuard,
    ) -> Result<B, ErrorKind> {
        let (res, buf) = match self {
            Transport::Plain(s) => {
                let _watch = Watch::start(guard, s)?;
                AsyncWriteRentExt::write_all(s, buf).await
            }
            Transport::Tls(s) => {
                Box::pin(guarded(guard, async {
                    Ok(AsyncWriteRentExt::write_all(&mut **s, buf).await)
                }))
                .await?
            }
        };
        res.map(|_| buf).map_err(|e| io_error_kind(&e, guard))
    }

    /// A non-blocking read into `buf`'s spare room with the kernel's receive
    /// timestamp of the data (monotonic ns, when the socket reports one);
    /// `None` for TLS, whose records are read through rustls.
    pub fn try_read_stamped(&self, buf: &mut Vec<u8>) -> Option<io::Result<(usize, Option<u64>)>> {
        let Transport::Plain(s) = self else {
            return None;
        };
        Some(recv_stamped(s.as_raw_fd(), buf))
    }

    /// What happened on an idle connection since its last response. Plain
    /// TCP asks the kernel (a non-blocking `MSG_PEEK`, about half a µs). TLS
    /// cannot tell without decrypting (TLS 1.3 servers send session tickets
    /// after the handshake), so a TLS connection counts as clean.
    pub fn idle_state(&self) -> IdleState {
        let Transport::Plain(s) = self else {
            return IdleState::Clean;
        };
        let mut byte = 0u8;
        // SAFETY: a 1-byte peek into a byte we own; nothing is consumed.
        let n = unsafe {
            libc::recv(
                s.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        match n {
            1.. => IdleState::Unsolicited,
            0 => IdleState::Closed,
            _ if io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock => IdleState::Clean,
            _ => IdleState::Closed,
        }
    }

    /// Throws away up to `max` received bytes without copying them into user
    /// space, waiting for some if none are there; returns how many (0 =
    /// closed). `None` over TLS, whose bytes must be decrypted to be framed.
    pub async fn discard(
        &mut self,
        max: usize,
        guard: &impl OpGuard,
    ) -> Option<Result<usize, ErrorKind>> {
        match self {
            Transport::Plain(s) => Some(discard_plain(s, max, guard).await),
            Transport::Tls(_) => None,
        }
    }
}

/// The most bytes a large-body wait asks to be queued before it wakes. With
/// the whole body (1 MiB) as the low mark, nginx's throughput fell 15-40 %;
/// half of it kept the throughput and most of the saving (bench, 1 MiB:
/// 64 KiB 179-195, 256 KiB 120-126, 512 KiB 97-101, whole body 74-84
/// CPU-us per MiB; wrk 327-414).
const RCVLOWAT_MAX_BYTES: usize = 512 * 1024;

fn set_rcvlowat(s: &TcpStream, bytes: usize) {
    let val = bytes.min(i32::MAX as usize) as libc::c_int;
    // SAFETY: plain setsockopt on our socket with a c_int we own. A failure
    // only means more wake-ups, so it is ignored.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&val as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

/// `recv(MSG_TRUNC)` on TCP drops the bytes in the kernel (no copy); it is a
/// direct non-blocking syscall, tried first because the rest of a large body
/// is usually queued already, and awaited through a readiness wait otherwise.
async fn discard_plain(
    s: &TcpStream,
    max: usize,
    guard: &impl OpGuard,
) -> Result<usize, ErrorKind> {
    loop {
        // SAFETY: the null buffer is never written: with MSG_TRUNC, TCP
        // discards the bytes instead of copying them.
        let n = unsafe {
            libc::recv(
                s.as_raw_fd(),
                std::ptr::null_mut(),
                max,
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::WouldBlock => {
                // Wake only once that many bytes are queued (or on FIN): a
                // large body arrives in many segments, and one wake-up per
                // segment cost more than the copy this path avoids.
                set_rcvlowat(s, max.min(RCVLOWAT_MAX_BYTES));
                let ready = guarded(guard, async {
                    s.readable(false)
                        .await
                        .map_err(|e| io_error_kind(&e, guard))
                })
                .await;
                set_rcvlowat(s, 1);
                ready?;
            }
            io::ErrorKind::Interrupted => {}
            _ => return Err(io_error_kind(&err, guard)),
        }
    }
}

/// Asks the kernel to timestamp received data (read back by
/// [`Transport::try_read_stamped`]).
fn enable_rx_timestamps(s: &TcpStream) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads one c_int from a live local.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `recvmsg(MSG_DONTWAIT)` into the spare room of `buf`, returning the bytes
/// read and the receive timestamp of the last segment read, moved from
/// CLOCK_REALTIME (what the kernel stamps) to our monotonic clock.
fn recv_stamped(fd: std::os::fd::RawFd, buf: &mut Vec<u8>) -> io::Result<(usize, Option<u64>)> {
    let spare = buf.spare_capacity_mut();
    let mut iov = libc::iovec {
        iov_base: spare.as_mut_ptr().cast(),
        iov_len: spare.len(),
    };
    // Room for one SCM_TIMESTAMPNS control message (a timespec), aligned.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: recvmsg writes at most iov_len bytes into the spare room and at
    // most msg_controllen bytes into `control`.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: recvmsg initialised these n bytes.
    unsafe { buf.set_len(buf.len() + n as usize) };
    let mut stamp_ns = None;
    // SAFETY: the CMSG_* walk stays within msg_controllen, as the kernel set it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                let real_ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
                stamp_ns = wall_to_monotonic_ns(real_ns);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, stamp_ns))
}

/// Dials `addr` and, with `tls`, completes the TLS handshake, all within
/// `timeout`.
pub async fn dial(
    addr: SocketAddr,
    tls: Option<&TlsClient>,
    timeout: Duration,
) -> io::Result<Transport> {
    let work = async {
        let stream = TcpStream::connect_addr(addr).await?;
        stream.set_nodelay(true)?;
        stream.set_tcp_keepalive(Some(KEEPALIVE), None, None)?;
        match tls {
            None => {
                enable_rx_timestamps(&stream)?;
                Ok(Transport::Plain(stream))
            }
            Some(t) => {
                let s = t
                    .connector
                    .connect(t.server_name.clone(), stream)
                    .await
                    .map_err(io::Error::from)?;
                Ok(Transport::Tls(Box::new(s)))
            }
        }
    };
    match monoio::time::timeout(timeout, work).await {
        Ok(res) => res,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    }
}

/// The ALPN result as the summary shows it (`http/1.1` when none was chosen).
pub fn alpn_name(alpn: Option<Vec<u8>>) -> String {
    match alpn {
        Some(p) => String::from_utf8_lossy(&p).into_owned(),
        None => "http/1.1".to_string(),
    }
}
