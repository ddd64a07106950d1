//! `rwg serve --capture FILE`: every request exactly as the server read it,
//! for tests and for checking what a generator sends.
//!
//! COLD: a test knob. Each request is one `write` of an unbuffered file
//! under a lock, so requests from different connections never interleave
//! and a request is in the file before its response is sent.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use http::request::Parts;

/// The open capture file.
pub(crate) struct Capture {
    file: Mutex<File>,
    warned: AtomicBool,
}

impl Capture {
    pub(crate) fn create(path: &Path) -> io::Result<Capture> {
        let file = File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("--capture {}: {e}", path.display())))?;
        Ok(Capture {
            file: Mutex::new(file),
            warned: AtomicBool::new(false),
        })
    }

    /// Appends one request's bytes.
    pub(crate) fn record(&self, request: &[u8]) {
        let res = match self.file.lock() {
            Ok(mut f) => f.write_all(request),
            Err(_) => Ok(()),
        };
        // A full disk must not stop the server; say so once.
        if let Err(e) = res {
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!("rwg serve: --capture: {e}; later requests may be missing");
            }
        }
    }

    /// Appends an HTTP/2 request written as HTTP/1.1-style text: the request
    /// line (`METHOD PATH HTTP/2`), the headers as received (lower case,
    /// `:authority` as `host`), a `content-length` with the body's length
    /// when the client sent none, a blank line, the body.
    pub(crate) fn record_h2(&self, head: &Parts, body: &[u8]) {
        let path = head.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut text = format!("{} {path} HTTP/2\r\n", head.method).into_bytes();
        if let Some(authority) = head.uri.authority() {
            text.extend_from_slice(format!("host: {authority}\r\n").as_bytes());
        }
        for (name, value) in &head.headers {
            text.extend_from_slice(name.as_str().as_bytes());
            text.extend_from_slice(b": ");
            text.extend_from_slice(value.as_bytes());
            text.extend_from_slice(b"\r\n");
        }
        if !head.headers.contains_key(http::header::CONTENT_LENGTH) {
            text.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        text.extend_from_slice(b"\r\n");
        text.extend_from_slice(body);
        self.record(&text);
    }
}
