//! The shape of an HTTP/2 request (plain or gRPC), built once per run and
//! turned into a fresh `http::Request` head for every stream (the h2
//! crate's client) or sent as one header block kept with it (the lean one).

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};

/// The request every stream sends, built once per run (`Send`: it crosses
/// to the core threads).
#[derive(Clone, Debug)]
pub struct H2Request {
    pub method: Method,
    /// Absolute URI: h2 derives `:scheme` and `:authority` from it.
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Read the gRPC status (trailers or trailers-only) instead of `:status`.
    pub grpc: bool,
    /// The lean client's header block for this request, once encoded.
    pub block: HeadBlock,
}

/// A request's HPACK header block, encoded on first use and kept: the lean
/// client's blocks never touch the dynamic table, so every stream of the
/// request sends the same bytes. A clone starts empty (a rendered copy's
/// head is not the original's); a one-off request (a rendered template)
/// keeps nothing, its block encoded straight where it goes.
#[derive(Debug, Default)]
pub struct HeadBlock {
    encoded: OnceLock<Vec<u8>>,
    one_off: bool,
}

impl HeadBlock {
    /// For a request sent once.
    pub fn one_off() -> Self {
        HeadBlock {
            encoded: OnceLock::new(),
            one_off: true,
        }
    }

    /// Appends the block to `out`: the kept one, or what `encode` writes.
    pub fn put(&self, out: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
        if self.one_off {
            encode(out);
            return;
        }
        out.extend_from_slice(self.encoded.get_or_init(|| {
            let mut block = Vec::new();
            encode(&mut block);
            block
        }));
    }
}

impl Clone for HeadBlock {
    fn clone(&self) -> Self {
        HeadBlock {
            encoded: OnceLock::new(),
            one_off: self.one_off,
        }
    }
}

impl H2Request {
    pub fn build(&self) -> Request<()> {
        let mut req = Request::new(());
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}
