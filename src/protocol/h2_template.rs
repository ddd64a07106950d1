//! Placeholders in an HTTP/2 or gRPC request: the path and query, header
//! values (gRPC: metadata) and the body (gRPC: the JSON message, encoded
//! and framed per request, field by field where `grpc_wire` can). Parsed once; each arrival renders its own
//! [`H2Request`] from the static one (HTTP/2 builds a request head per
//! stream anyway, so the rendered parts cost only their own buffers).
//!
//! A URI cannot hold every byte a placeholder may render (a CSV value with
//! a space): those bytes are percent-encoded. A header value or a message
//! that cannot hold what was rendered fails the request as `request`
//! (nothing is sent), never a silently different request.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Uri};
use prost_reflect::MessageDescriptor;

use super::grpc;
use super::grpc_wire::WireTemplate;
use super::h2_request::{H2Request, HeadBlock};
use crate::plan::error::ConfigError;
use crate::plan::template::{Arrival, CsvLoader, Template};

/// What a target's placeholders render.
#[derive(Debug)]
pub struct H2Template {
    /// `scheme://authority` and the templated path and query.
    uri: Option<Template>,
    /// Header values with placeholders (not in the static request).
    headers: Vec<(HeaderName, Template)>,
    body: Option<BodyTemplate>,
    seed: u64,
    /// Some placeholder reads the clock (`{{now_ms}}`).
    clock: bool,
    /// The head every rendered request sends, when only the body varies.
    head: Option<HeadBlock>,
}

#[derive(Debug)]
enum BodyTemplate {
    Plain(Template),
    /// The JSON of a gRPC message of this type, and its fields rendered
    /// straight into the wire format where they can be.
    Grpc(Template, MessageDescriptor, Option<WireTemplate>),
}

/// The parts of a target that may hold placeholders.
pub struct H2Parts<'a> {
    /// `scheme://authority`, without placeholders.
    pub base: &'a str,
    pub path_and_query: &'a str,
    /// Header (gRPC: metadata) names, lower case, and values.
    pub headers: &'a [(String, String)],
    /// The body, or the gRPC message's JSON.
    pub body: &'a [u8],
    /// The gRPC method's input type; `None` for plain HTTP/2.
    pub message: Option<MessageDescriptor>,
}

impl H2Template {
    /// The template of a request, or `None` when nothing in it is a
    /// placeholder. Renders arrival 0 once, so that a template whose every
    /// rendering fails is an error now (exit 2), not a run of failures.
    pub fn parse(
        parts: &H2Parts<'_>,
        seed: u64,
        csv: &mut CsvLoader,
    ) -> Result<Option<H2Template>, ConfigError> {
        let mut salt = 0;
        let path = Template::parse(parts.path_and_query, &mut salt, csv)?;
        let mut headers = Vec::new();
        for (name, value) in parts.headers {
            let value = Template::parse(value, &mut salt, csv)?;
            if value.is_static() {
                continue;
            }
            let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| ConfigError(format!("invalid header name '{name}'")))?;
            headers.push((name, value));
        }
        let body = match std::str::from_utf8(parts.body) {
            Ok(text) => Template::parse(text, &mut salt, csv)?,
            Err(_) => Template::literal(parts.body),
        };
        if path.is_static() && headers.is_empty() && body.is_static() {
            return Ok(None);
        }
        let clock =
            path.uses_clock() || headers.iter().any(|(_, t)| t.uses_clock()) || body.uses_clock();
        let template = H2Template {
            // Evaluated first: the fields below take what it reads.
            head: (path.is_static() && headers.is_empty()).then(HeadBlock::for_bodies),
            uri: (!path.is_static())
                .then(|| Template::literal(parts.base.as_bytes()).followed_by(path)),
            headers,
            body: match (body.is_static(), &parts.message) {
                (true, _) => None,
                (false, Some(m)) => {
                    let wire = WireTemplate::compile(&body, m, seed);
                    Some(BodyTemplate::Grpc(body, m.clone(), wire))
                }
                (false, None) => Some(BodyTemplate::Plain(body)),
            },
            seed,
            clock,
        };
        let sample = H2Request {
            method: http::Method::GET,
            uri: Uri::from_static("http://sample/"),
            headers: Default::default(),
            body: Bytes::new(),
            grpc: parts.message.is_some(),
            block: Default::default(),
        };
        template
            .render(&sample, 0)
            .map_err(|e| ConfigError(format!("the request of arrival 0: {e}")))?;
        Ok(Some(template))
    }

    /// `request` with the placeholders of arrival `seq` rendered in.
    pub fn render(&self, request: &H2Request, seq: u64) -> Result<H2Request, String> {
        let arrival = Arrival::new(seq, self.seed, self.clock);
        let mut out = H2Request {
            method: request.method.clone(),
            uri: request.uri.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            grpc: request.grpc,
            block: self
                .head
                .as_ref()
                .map_or_else(HeadBlock::one_off, HeadBlock::share),
        };
        let mut buf = Vec::new();
        if let Some(t) = &self.uri {
            t.render(&arrival, &mut buf);
            let encoded = percent_encode_uri(&buf);
            out.uri = Uri::from_maybe_shared(Bytes::from(encoded))
                .map_err(|e| format!("rendered URL: {e}"))?;
        }
        for (name, t) in &self.headers {
            buf.clear();
            t.render(&arrival, &mut buf);
            let value = HeaderValue::from_bytes(&buf).map_err(|_| {
                format!(
                    "rendered value of header '{name}' is not a valid header value: {:?}",
                    String::from_utf8_lossy(&buf)
                )
            })?;
            Arc::make_mut(&mut out.headers).append(name.clone(), value);
        }
        match &self.body {
            None => {}
            Some(BodyTemplate::Plain(t)) => {
                buf.clear();
                t.render(&arrival, &mut buf);
                out.body = Bytes::from(std::mem::take(&mut buf));
            }
            Some(BodyTemplate::Grpc(t, message, wire)) => {
                if let Some(body) = wire.as_ref().and_then(|w| w.render(&arrival, &mut buf)) {
                    out.body = body;
                } else {
                    buf.clear();
                    t.render(&arrival, &mut buf);
                    let json = String::from_utf8_lossy(&buf);
                    out.body = grpc::encode_message(message, &json)?;
                }
            }
        }
        Ok(out)
    }
}

/// `uri` with every byte a URI cannot hold (controls, space, `"<>\^`{|}`,
/// non-ASCII) percent-encoded; `%` itself is kept.
fn percent_encode_uri(uri: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(uri.len());
    for &b in uri {
        let plain = b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b);
        if plain {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_csv(_: &str, _: &str) -> Result<std::sync::Arc<[Box<[u8]>]>, ConfigError> {
        Err(ConfigError("no csv".into()))
    }

    fn request() -> H2Request {
        H2Request {
            method: http::Method::POST,
            uri: Uri::from_static("http://h:1/a"),
            headers: Default::default(),
            body: Bytes::from_static(b"static"),
            grpc: false,
            block: Default::default(),
        }
    }

    #[test]
    fn renders_path_headers_and_body_per_arrival() {
        let headers = vec![
            ("X-Seq".to_string(), "n{{seq}}".to_string()),
            ("X-Fixed".to_string(), "same".to_string()),
        ];
        let parts = H2Parts {
            base: "http://h:1",
            path_and_query: "/items/{{seq}}?pick={{rand_choice a%20b c}}",
            headers: &headers,
            body: b"{\"id\":{{seq}}}",
            message: None,
        };
        let t = H2Template::parse(&parts, 1, &mut no_csv).unwrap().unwrap();
        let r = t.render(&request(), 42).unwrap();
        let uri = r.uri.to_string();
        assert!(uri.starts_with("http://h:1/items/42?pick="), "{uri}");
        assert_eq!(r.headers["x-seq"], "n42");
        assert!(
            r.headers.get("x-fixed").is_none(),
            "static headers stay in the request"
        );
        assert_eq!(&r.body[..], b"{\"id\":42}");
        assert_eq!(r.method, http::Method::POST);
        let again = t.render(&request(), 42).unwrap();
        assert_eq!(again.uri, r.uri, "a function of seed and arrival alone");
    }

    /// Encodes of the head over two renders of `path` with a templated body.
    fn head_encodes(path: &str) -> usize {
        let parts = H2Parts {
            base: "http://h:1",
            path_and_query: path,
            headers: &[],
            body: b"{\"id\":{{seq}}}",
            message: None,
        };
        let t = H2Template::parse(&parts, 1, &mut no_csv).unwrap().unwrap();
        let shape = request();
        let mut encodes = 0;
        for seq in [1, 22] {
            let r = t.render(&shape, seq).unwrap();
            r.block.put(&mut Vec::new(), |_| encodes += 1, |_| {});
        }
        encodes
    }

    #[test]
    fn a_body_template_sends_the_static_head_encoded_once() {
        assert_eq!(head_encodes("/a"), 1);
        assert_eq!(
            head_encodes("/a/{{seq}}"),
            2,
            "a templated head is per request"
        );
    }

    #[test]
    fn static_requests_have_no_template() {
        let parts = H2Parts {
            base: "http://h:1",
            path_and_query: "/a?b=1",
            headers: &[("x".into(), "y".into())],
            body: b"body",
            message: None,
        };
        assert!(H2Template::parse(&parts, 1, &mut no_csv).unwrap().is_none());
    }

    #[test]
    fn uri_bytes_are_percent_encoded() {
        assert_eq!(
            percent_encode_uri(b"/a b\"%7C\xc3\xa9"),
            b"/a%20b%22%7C%C3%A9"
        );
    }
}
