//! What a port speaks, when rwg's own protocol failed on it: one blocking
//! probe with std sockets (after the run, or after a failed setup; never on
//! the hot path) sends what rwg would have sent and names what came back —
//! HTTP/2 frames on an HTTP/1.1 request, HTTP/1.1 on the HTTP/2 preface, a
//! TLS record on cleartext, cleartext where TLS was expected — with the flag
//! or scheme that fits.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// What rwg spoke to the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spoke {
    /// HTTP/1.1 over cleartext.
    Http1,
    /// HTTP/2 by prior knowledge (`--h2c`, `grpc://`).
    H2Prior,
    /// TLS (`https://`, `grpcs://`).
    Tls,
}

/// What the port answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Heard {
    Http1,
    Http2Frame,
    TlsRecord,
    /// The connection closed with nothing sent.
    Closed,
    /// Nothing came within the probe's time.
    Silent,
    /// Other bytes: the first ones, escaped.
    Other(String),
}

/// HTTP/2's connection preface and an empty SETTINGS frame.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// Probes `addr` as rwg spoke to it; a sentence for the user when the port
/// speaks something else, `None` when it cannot tell (or it speaks as
/// expected: the failure lies elsewhere).
pub fn explain(
    addr: SocketAddr,
    authority: &str,
    spoke: Spoke,
    timeout: Duration,
) -> Option<String> {
    let request = match spoke {
        Spoke::H2Prior => PREFACE.to_vec(),
        // Over TLS, whether the port answers plain HTTP.
        Spoke::Http1 | Spoke::Tls => {
            format!("GET / HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").into_bytes()
        }
    };
    let heard = probe(addr, &request, timeout)?;
    hint(spoke, &heard)
}

fn probe(addr: SocketAddr, request: &[u8], timeout: Duration) -> Option<Heard> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    // A server may close on a bad first byte before reading it all.
    let _ = s.write_all(request);
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 9 {
        match s.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e)
                if got == 0
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
            {
                return Some(Heard::Silent)
            }
            Err(_) => break,
        }
    }
    Some(classify(&buf[..got]))
}

fn classify(b: &[u8]) -> Heard {
    if b.is_empty() {
        Heard::Closed
    } else if b.starts_with(b"HTTP/1.") || b.starts_with(b"HTTP/1") && b.len() < 7 {
        Heard::Http1
    } else if matches!(b, [0x14..=0x17, 0x03, 0..=4, ..]) {
        Heard::TlsRecord
    } else if b.len() >= 9 && matches!(b[3], 4 | 7) && b[5..9] == [0, 0, 0, 0] {
        // SETTINGS or GOAWAY on stream 0: how an HTTP/2 server opens or
        // refuses a connection.
        Heard::Http2Frame
    } else {
        Heard::Other(
            b.iter()
                .take(32)
                .flat_map(|&c| std::ascii::escape_default(c))
                .map(char::from)
                .collect(),
        )
    }
}

fn hint(spoke: Spoke, heard: &Heard) -> Option<String> {
    let text = match (spoke, heard) {
        (Spoke::Http1, Heard::Http2Frame) => {
            "expected an HTTP/1.1 status line, the port answers with HTTP/2 frames: an HTTP/2-only (h2c) port? try --h2c".to_string()
        }
        (Spoke::Http1 | Spoke::H2Prior, Heard::TlsRecord) => {
            "the port speaks TLS: try https:// (grpcs:// for gRPC)".to_string()
        }
        (Spoke::Http1, Heard::Other(b)) => format!("expected an HTTP/1.1 status line, the port sends '{b}'"),
        (Spoke::H2Prior, Heard::Http1) => {
            "expected HTTP/2 frames, the port answers in HTTP/1.1: an HTTP/1.1-only port? (--h2c and gRPC need HTTP/2)".to_string()
        }
        (Spoke::H2Prior, Heard::Other(b)) => format!("expected HTTP/2 frames, the port sends '{b}'"),
        (Spoke::Tls, Heard::Http1) => "TLS: the server answered in plain HTTP — try http://".to_string(),
        (Spoke::Tls, Heard::Http2Frame) => {
            "TLS: the port speaks cleartext HTTP/2 — try http:// with --h2c (grpc:// for gRPC)".to_string()
        }
        (_, Heard::Closed) => "the server closes the connection without answering".to_string(),
        (_, Heard::Silent) => return None,
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_the_port_speaks() {
        let settings = [0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100];
        assert_eq!(classify(&settings), Heard::Http2Frame);
        assert_eq!(classify(b"HTTP/1.1 400 Bad Request\r\n"), Heard::Http1);
        assert_eq!(
            classify(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]),
            Heard::TlsRecord
        );
        assert_eq!(classify(b""), Heard::Closed);
        assert_eq!(
            classify(b"garbage\x01"),
            Heard::Other("garbage\\x01".into())
        );
        let h1_on_h2 = hint(Spoke::Http1, &Heard::Http2Frame).unwrap();
        assert!(h1_on_h2.contains("try --h2c"), "{h1_on_h2}");
        assert!(hint(Spoke::Tls, &Heard::Http1)
            .unwrap()
            .contains("try http://"));
        assert!(hint(Spoke::H2Prior, &Heard::Http1)
            .unwrap()
            .contains("HTTP/1.1-only port"));
        assert_eq!(hint(Spoke::Http1, &Heard::Http1), None);
        assert_eq!(hint(Spoke::H2Prior, &Heard::Http2Frame), None);
    }
}
