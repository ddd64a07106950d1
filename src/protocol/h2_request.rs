//! The shape of an HTTP/2 request (plain or gRPC), built once per run and
//! turned into a fresh `http::Request` head for every stream (the h2
//! crate's client) or sent as one header block kept with it (the lean one).

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};

/// The request every stream sends, built once per run (`Send`: it crosses
/// to the core threads).
#[derive(Clone, Debug)]
pub struct H2Request {
    pub method: Method,
    /// Absolute URI: h2 derives `:scheme` and `:authority` from it.
    pub uri: Uri,
    /// Shared: a rendered template's request keeps the shape's (cloned
    /// only when the template renders a header).
    pub headers: Arc<HeaderMap>,
    pub body: Bytes,
    /// Read the gRPC status (trailers or trailers-only) instead of `:status`.
    pub grpc: bool,
    /// The lean client's header block for this request, once encoded.
    pub block: HeadBlock,
}

/// A request's HPACK header block, encoded on first use and kept: the lean
/// client's blocks never touch the dynamic table, so every stream of the
/// request sends the same bytes. A clone starts empty (a rendered copy's
/// head is not the original's). A template that renders only the body
/// keeps one [for its bodies](HeadBlock::for_bodies) and
/// [shares](HeadBlock::share) it with every request it renders: the head
/// is kept, each body's `content-length` is not. A one-off request (a
/// template that renders the head) keeps nothing, its block encoded
/// straight where it goes.
#[derive(Debug)]
pub struct HeadBlock {
    /// `None`: one-off.
    kept: Option<Arc<OnceLock<Vec<u8>>>>,
    /// The kept block leaves the body's length out.
    per_body: bool,
}

impl Default for HeadBlock {
    fn default() -> Self {
        HeadBlock {
            kept: Some(Arc::default()),
            per_body: false,
        }
    }
}

impl HeadBlock {
    /// For a request sent once.
    pub fn one_off() -> Self {
        HeadBlock {
            kept: None,
            per_body: false,
        }
    }

    /// For requests with this head and bodies of any length.
    pub fn for_bodies() -> Self {
        HeadBlock {
            kept: Some(Arc::default()),
            per_body: true,
        }
    }

    /// The same block, for another request with this head.
    pub fn share(&self) -> Self {
        HeadBlock {
            kept: self.kept.clone(),
            per_body: self.per_body,
        }
    }

    /// Appends the block to `out`: what `head` and then `length` (the
    /// body's `content-length`) write, from what is kept where it can.
    pub fn put(
        &self,
        out: &mut Vec<u8>,
        head: impl FnOnce(&mut Vec<u8>),
        length: impl FnOnce(&mut Vec<u8>),
    ) {
        match &self.kept {
            None => {
                head(out);
                length(out);
            }
            Some(kept) if self.per_body => {
                out.extend_from_slice(kept.get_or_init(|| {
                    let mut block = Vec::new();
                    head(&mut block);
                    block
                }));
                length(out);
            }
            Some(kept) => out.extend_from_slice(kept.get_or_init(|| {
                let mut block = Vec::new();
                head(&mut block);
                length(&mut block);
                block
            })),
        }
    }
}

impl Clone for HeadBlock {
    fn clone(&self) -> Self {
        HeadBlock {
            kept: self.kept.as_ref().map(|_| Arc::default()),
            per_body: self.per_body,
        }
    }
}

impl H2Request {
    pub fn build(&self) -> Request<()> {
        let mut req = Request::new(());
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = (*self.headers).clone();
        req
    }
}
