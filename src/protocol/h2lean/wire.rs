//! HOT: the lean client's byte streams: the two halves of a TCP connection,
//! plain or carrying TLS records. For TLS a rustls `ClientConnection` is
//! shared by the reader and the writer and driven here, record by record.
//! monoio-rustls's stream, split in two, would let a read that meets a bad
//! record write an alert through the buffer an in-flight write holds (a
//! panic); here a bad record only ends the reader, and the connection.

use std::cell::RefCell;
use std::io::{self, BufRead, Write};
use std::rc::Rc;

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt, OwnedReadHalf, OwnedWriteHalf};
use monoio::net::TcpStream;
use rustls::ClientConnection;

/// Ciphertext read at once from the socket.
const CIPHER_READ_BYTES: usize = 64 * 1024;

type Session = Rc<RefCell<ClientConnection>>;

fn bad_record(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Ciphertext read from the socket and not yet taken by rustls (which
/// takes about 4 KiB at a time): `bytes[start..]`.
pub struct Pending {
    bytes: Vec<u8>,
    start: usize,
}

impl Pending {
    fn new() -> Self {
        Pending {
            bytes: Vec::with_capacity(CIPHER_READ_BYTES),
            start: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.start == self.bytes.len()
    }

    /// Reads the next ciphertext from the socket (when all is taken);
    /// Ok(0) at its end.
    async fn read_from<R: AsyncReadRent>(&mut self, tcp: &mut R) -> io::Result<usize> {
        self.bytes.clear();
        self.start = 0;
        let (res, bytes) = tcp.read(std::mem::take(&mut self.bytes)).await;
        self.bytes = bytes;
        res
    }

    /// Gives rustls what it takes and decrypts it.
    fn feed(&mut self, conn: &mut ClientConnection) -> io::Result<()> {
        let mut rest = &self.bytes[self.start..];
        let before = rest.len();
        conn.read_tls(&mut rest)?;
        let used = before - rest.len();
        if used == 0 {
            // rustls took nothing (its plaintext is drained first, so this
            // is no back-pressure): looping would spin.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS records that rustls does not take",
            ));
        }
        self.start += used;
        conn.process_new_packets().map_err(bad_record)?;
        Ok(())
    }
}

/// Completes the TLS handshake on `tcp`; returns the session and the
/// ciphertext read past the handshake (the server's first records may
/// come with its last handshake message), for the reader to start with.
pub async fn handshake(
    tcp: &mut TcpStream,
    mut conn: ClientConnection,
) -> io::Result<(ClientConnection, Pending)> {
    let mut raw = Pending::new();
    let mut out = Vec::new();
    loop {
        while conn.wants_write() {
            conn.write_tls(&mut out)?;
        }
        if !out.is_empty() {
            let (res, sent) = tcp.write_all(std::mem::take(&mut out)).await;
            res?;
            out = sent;
            out.clear();
        }
        if !conn.is_handshaking() {
            // Writes are encrypted and handed to the socket at once: the
            // limit on rustls's outgoing buffer would only split them.
            conn.set_buffer_limit(None);
            return Ok((conn, raw));
        }
        if raw.is_empty() && raw.read_from(tcp).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection during the TLS handshake",
            ));
        }
        raw.feed(&mut conn)?;
    }
}

/// The reading half.
pub struct Reader {
    tcp: OwnedReadHalf<TcpStream>,
    /// TLS: the session and ciphertext not yet given to it.
    tls: Option<(Session, Pending)>,
}

impl Reader {
    /// Appends the next bytes to arrive to `buf` (read into its spare
    /// capacity); Ok(0) at the end of the stream.
    pub async fn fill(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let Some((session, raw)) = &mut self.tls else {
            let len = buf.len();
            let (res, slice) = self.tcp.read(std::mem::take(buf).slice_mut(len..)).await;
            *buf = slice.into_inner();
            return res;
        };
        loop {
            if let Some(n) = plaintext(&mut session.borrow_mut(), buf)? {
                return Ok(n);
            }
            if !raw.is_empty() {
                raw.feed(&mut session.borrow_mut())?;
                continue;
            }
            if raw.read_from(&mut self.tcp).await? == 0 {
                // The socket's end: rustls tells a close_notify (a clean
                // end, Ok(0)) from a cut connection (an error).
                session.borrow_mut().read_tls(&mut io::empty())?;
            }
        }
    }
}

/// Moves the plaintext rustls holds into `buf`: Some(bytes moved), Some(0)
/// after the server's close_notify, None when it needs more records.
fn plaintext(conn: &mut ClientConnection, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
    let mut reader = conn.reader();
    let mut moved = 0;
    loop {
        match reader.fill_buf() {
            Ok([]) => return Ok(Some(moved)),
            Ok(chunk) => {
                let n = chunk.len();
                buf.extend_from_slice(chunk);
                reader.consume(n);
                moved += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Ok((moved > 0).then_some(moved));
            }
            Err(_) if moved > 0 => return Ok(Some(moved)),
            Err(e) => return Err(e),
        }
    }
}

/// The writing half.
pub struct Writer {
    tcp: OwnedWriteHalf<TcpStream>,
    /// TLS: the session and a buffer for the records of one write.
    tls: Option<(Session, Vec<u8>)>,
}

impl Writer {
    /// Writes all of `batch` (as TLS records when TLS); gives it back.
    pub async fn write_all(&mut self, batch: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let Some((session, records)) = &mut self.tls else {
            let (res, batch) = self.tcp.write_all(batch).await;
            return (res.map(drop), batch);
        };
        {
            let mut conn = session.borrow_mut();
            if let Err(e) = seal(&mut conn, &batch, records) {
                return (Err(e), batch);
            }
        }
        let (res, sent) = self.tcp.write_all(std::mem::take(records)).await;
        *records = sent;
        records.clear();
        (res.map(drop), batch)
    }

    /// Ends the writing side (after a close_notify when TLS).
    pub async fn shutdown(&mut self) {
        if let Some((session, _)) = &self.tls {
            session.borrow_mut().send_close_notify();
            let _ = self.write_all(Vec::new()).await;
        }
        let _ = self.tcp.shutdown().await;
    }
}

/// Encrypts `plain` into `records`, with anything else rustls has to send.
fn seal(conn: &mut ClientConnection, plain: &[u8], records: &mut Vec<u8>) -> io::Result<()> {
    conn.writer().write_all(plain)?;
    while conn.wants_write() {
        conn.write_tls(records)?;
    }
    Ok(())
}

/// Splits `tcp` into the two halves, sharing `tls`'s session when given
/// (with the ciphertext its handshake read ahead).
pub fn split(tcp: TcpStream, tls: Option<(ClientConnection, Pending)>) -> (Reader, Writer) {
    let (rd, wr) = monoio::io::Splitable::into_split(tcp);
    match tls {
        None => (Reader { tcp: rd, tls: None }, Writer { tcp: wr, tls: None }),
        Some((conn, ahead)) => {
            let session = Rc::new(RefCell::new(conn));
            (
                Reader {
                    tcp: rd,
                    tls: Some((session.clone(), ahead)),
                },
                Writer {
                    tcp: wr,
                    tls: Some((session, Vec::new())),
                },
            )
        }
    }
}
