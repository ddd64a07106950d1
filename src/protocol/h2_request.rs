//! The shape of an HTTP/2 request (plain or gRPC), built once per run and
//! turned into a fresh `http::Request` head for every stream.

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
