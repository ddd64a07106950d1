//! gRPC unary calls over HTTP/2. Cold: the method's descriptor comes from
//! `--proto` files compiled at run time (protox) or from server reflection;
//! the JSON request is turned into a message (prost-reflect), encoded and
//! framed once per run. Hot: [`status_of`] reads a response's status from
//! its trailers, or from the headers of a trailers-only response.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};

use super::h2_request::H2Request;
use crate::base::kind::{ErrorKind, GRPC_UNKNOWN};

/// A `grpc-status` value; a code beyond the 17 that gRPC defines counts as
/// UNKNOWN (2), so a recorded gRPC code is always below 17 and never reads
/// as an HTTP status (those start at 100). None when not a number.
pub fn code(value: &[u8]) -> Option<u16> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .map(|code| if code > 16 { GRPC_UNKNOWN } else { code })
}

fn parse_code(value: &HeaderValue) -> Result<u16, ErrorKind> {
    code(value.as_bytes()).ok_or(ErrorKind::Protocol)
}

/// The gRPC status of a response: trailers first, then the headers of a
/// trailers-only response. Without `grpc-status` (e.g. a proxy's HTTP error)
/// the response is a protocol failure, whatever its HTTP status.
pub fn status_of(
    http_status: u16,
    headers: &HeaderMap,
    trailers: Option<&HeaderMap>,
) -> Result<u16, ErrorKind> {
    if let Some(v) = trailers.and_then(|t| t.get("grpc-status")) {
        return parse_code(v);
    }
    let _ = http_status;
    match headers.get("grpc-status") {
        Some(v) => parse_code(v),
        None => Err(ErrorKind::Protocol),
    }
}

/// Frames one message: compressed flag 0, 4-byte big-endian length, bytes.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(message.len() as u32);
    out.put_slice(message);
    out.freeze()
}

/// The first framed message of a response body, if complete.
pub fn unframe(body: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(body.get(1..5)?.try_into().ok()?) as usize;
    body.get(5..5 + len)
}

/// `grpc-timeout` for a per-request timeout: at most 8 digits per the spec.
pub fn timeout_header(timeout_ns: u64) -> String {
    let ms = timeout_ns.div_ceil(1_000_000);
    if ms < 100_000_000 {
        format!("{ms}m")
    } else {
        format!("{}S", (timeout_ns / 1_000_000_000).min(99_999_999))
    }
}

/// Splits `/package.Service/Method`.
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.trim_start_matches('/').split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

/// Compiles `.proto` files (no protoc needed).
pub fn compile(
    files: &[std::path::PathBuf],
    includes: &[std::path::PathBuf],
) -> Result<DescriptorPool, String> {
    let mut includes = includes.to_vec();
    if includes.is_empty() {
        // Default import path: each file's own directory.
        for f in files {
            let dir = f.parent().map(|p| p.to_path_buf()).unwrap_or_default();
            let dir = if dir.as_os_str().is_empty() {
                ".".into()
            } else {
                dir
            };
            if !includes.contains(&dir) {
                includes.push(dir);
            }
        }
    }
    let set = protox::compile(files, &includes).map_err(|e| format!("--proto: {e}"))?;
    DescriptorPool::from_file_descriptor_set(set).map_err(|e| format!("--proto: {e}"))
}

/// Finds `service/method` in the pool; the error says what exists instead.
pub fn find_method(
    pool: &DescriptorPool,
    service: &str,
    method: &str,
) -> Result<MethodDescriptor, String> {
    let Some(svc) = pool.get_service_by_name(service) else {
        let known: Vec<String> = pool.services().map(|s| s.full_name().to_string()).collect();
        return Err(format!(
            "unknown gRPC service '{service}' (known: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    let found = svc.methods().find(|m| m.name() == method);
    match found {
        Some(m) if m.is_client_streaming() || m.is_server_streaming() => Err(format!(
            "gRPC method '{service}/{method}' is streaming; only unary methods are supported"
        )),
        Some(m) => Ok(m),
        None => {
            let known: Vec<String> = svc.methods().map(|m| m.name().to_string()).collect();
            Err(format!(
                "unknown gRPC method '{method}' of service '{service}' (known: {})",
                known.join(", ")
            ))
        }
    }
}

/// Encodes the JSON request as the method's input message, framed.
pub fn encode_json(method: &MethodDescriptor, json: &str) -> Result<Bytes, String> {
    encode_message(&method.input(), json)
}

/// Encodes JSON as a message of type `desc`, framed.
pub fn encode_message(desc: &MessageDescriptor, json: &str) -> Result<Bytes, String> {
    Ok(frame(&encode_unframed(desc, json)?))
}

/// The message of type `desc` that `json` describes, encoded (not framed).
pub fn encode_unframed(desc: &MessageDescriptor, json: &str) -> Result<Vec<u8>, String> {
    Ok(parse_message(desc, json)?.encode_to_vec())
}

/// The message of type `desc` that `json` describes.
pub fn parse_message(desc: &MessageDescriptor, json: &str) -> Result<DynamicMessage, String> {
    let mut de = serde_json::Deserializer::from_str(json);
    let bad = |e: &dyn std::fmt::Display, path: Option<String>| {
        let field = path.map_or(String::new(), |p| format!(" field '{p}':"));
        format!(
            "invalid --data for message '{}':{field} {e}",
            desc.full_name()
        )
    };
    // The path names the field a value does not fit (serde_json alone
    // gives only a line and column).
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut de, &mut track);
    let msg =
        serde::de::DeserializeSeed::deserialize(DescriptorSeed(desc), tracked).map_err(|e| {
            let path = track.path().to_string();
            bad(&e, (path != ".").then_some(path))
        })?;
    de.end().map_err(|e| bad(&e, None))?;
    Ok(msg)
}

/// The request every stream of a gRPC run sends.
pub fn request(
    uri: Uri,
    body: Bytes,
    metadata: &[(String, String)],
    timeout_ns: u64,
) -> Result<H2Request, String> {
    let mut headers = HeaderMap::new();
    let mut put = |name: &str, value: &str| -> Result<(), String> {
        let n = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("invalid --metadata key '{name}'"))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| format!("invalid --metadata value '{value}' of '{name}'"))?;
        headers.append(n, v);
        Ok(())
    };
    put("content-type", "application/grpc")?;
    put("te", "trailers")?;
    put("user-agent", concat!("rwg/", env!("CARGO_PKG_VERSION")))?;
    put("grpc-timeout", &timeout_header(timeout_ns))?;
    for (k, v) in metadata {
        put(k, v)?;
    }
    Ok(H2Request {
        method: Method::POST,
        uri,
        headers: headers.into(),
        body,
        grpc: true,
        block: Default::default(),
    })
}

/// Deserializes a message of a descriptor's type through any deserializer
/// (prost-reflect's own entry point takes the deserializer directly).
struct DescriptorSeed<'a>(&'a MessageDescriptor);

impl<'de> serde::de::DeserializeSeed<'de> for DescriptorSeed<'_> {
    type Value = DynamicMessage;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<DynamicMessage, D::Error> {
        DynamicMessage::deserialize(self.0.clone(), d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", HeaderValue::from_static("8"));
        assert_eq!(status_of(200, &HeaderMap::new(), Some(&t)), Ok(8));
        assert_eq!(status_of(200, &t, None), Ok(8), "trailers-only");
        t.insert("grpc-status", HeaderValue::from_static("200"));
        assert_eq!(status_of(200, &t, None), Ok(2), "beyond the codes: UNKNOWN");
        assert_eq!(
            status_of(503, &HeaderMap::new(), None),
            Err(ErrorKind::Protocol)
        );
    }

    #[test]
    fn framing_and_paths() {
        let f = frame(b"abc");
        assert_eq!(&f[..], b"\0\0\0\0\x03abc");
        assert_eq!(unframe(&f), Some(&b"abc"[..]));
        assert_eq!(split_path("/a.B/C"), Some(("a.B", "C")));
        assert_eq!(split_path("/a.B"), None);
        assert_eq!(timeout_header(1_500_000), "2m");
    }
}
