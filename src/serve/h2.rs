//! `rwg serve --h2c` / `--grpc`: HTTP/2 over cleartext (h2 server through
//! monoio-compat), with the same delay / stall / status-mix knobs as the
//! HTTP/1.1 target. `--grpc` serves the unary echo method of
//! `proto/echo.proto` (`/rwg.echo.v1.Echo/Call`, the reply carries the
//! request's `message`) plus server reflection (v1 and v1alpha), so a gRPC
//! run needs no `--proto`. The status mix maps to gRPC codes (503 and 429 →
//! RESOURCE_EXHAUSTED, 504 → DEADLINE_EXCEEDED, 400 → INVALID_ARGUMENT,
//! 404 → NOT_FOUND, other errors → INTERNAL).

use std::rc::Rc;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
use h2::server::SendResponse;
use h2::RecvStream;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio_compat::StreamWrapper;
use prost::Message;

use super::conn::ThreadState;

const ECHO_PROTO: &str = include_str!("../../proto/echo.proto");
const ECHO_PATH: &str = "/rwg.echo.v1.Echo/Call";
const ECHO_SERVICE: &str = "rwg.echo.v1.Echo";
const REFLECTION_PATHS: [&str; 2] = [
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The shipped echo.proto, compiled once: its encoded FileDescriptorProto.
pub(crate) fn echo_descriptor() -> Result<Vec<u8>, String> {
    struct Embedded;
    impl protox::file::FileResolver for Embedded {
        fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
            if name == "echo.proto" {
                protox::file::File::from_source(name, ECHO_PROTO)
            } else {
                Err(protox::Error::file_not_found(name))
            }
        }
    }
    let mut compiler = protox::Compiler::with_file_resolver(Embedded);
    compiler
        .open_file("echo.proto")
        .map_err(|e| format!("echo.proto: {e}"))?;
    let set = compiler.file_descriptor_set();
    let file = set.file.last().ok_or("echo.proto: empty")?;
    Ok(file.encode_to_vec())
}

/// One h2c connection: accept streams until the client goes away.
pub(crate) async fn serve<S>(stream: S, local: Rc<ThreadState>)
where
    S: AsyncReadRent + AsyncWriteRent + Unpin + 'static,
{
    // The wrapper holds pointers into itself: box it before h2 moves it.
    let io = Box::new(StreamWrapper::new(stream));
    let Ok(mut conn) = h2::server::handshake(io).await else {
        return;
    };
    while let Some(Ok((req, respond))) = conn.accept().await {
        monoio::spawn(handle(req, respond, local.clone()));
    }
}

/// Reads the request body, waits out the delay / stall, answers.
async fn handle(
    req: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    local: Rc<ThreadState>,
) {
    let path = req.uri().path().to_string();
    let grpc = local.shared.grpc;
    let (head, mut body) = req.into_parts();
    if grpc && REFLECTION_PATHS.contains(&path.as_str()) {
        reflect(&mut body, respond, &local).await;
        return;
    }
    let mut data = BytesMut::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    if let Some(capture) = &local.shared.capture {
        capture.record_h2(&head, &data);
    }
    let target = head.uri.path_and_query().map_or("/", |p| p.as_str());
    let wait_ns = local.delay_ns(target).max(local.stall_wait_ns());
    if wait_ns > 0 {
        super::conn::sleep_until(local.done_at(Instant::now(), wait_ns)).await;
    }
    let code = local.shared.codes[local.pick_response()];
    if !grpc {
        let mut resp = Response::new(());
        *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
        let body = local.shared.body.clone();
        resp.headers_mut()
            .insert("content-length", HeaderValue::from(body.len()));
        if let Ok(mut tx) = respond.send_response(resp, body.is_empty()) {
            let _ = tx.send_data(body, true);
        }
        return;
    }
    if path != ECHO_PATH {
        trailers_only(
            &mut respond,
            12,
            "unknown method; this server has rwg.echo.v1.Echo/Call",
        );
        return;
    }
    let status = grpc_code(code);
    if status != 0 {
        trailers_only(&mut respond, status, "status mix");
        return;
    }
    // EchoReply shares field 1 with EchoRequest: keep only `message`.
    let message = EchoMessage::decode(data.get(5..).unwrap_or_default()).unwrap_or_default();
    let reply = frame(
        &EchoMessage {
            message: message.message,
        }
        .encode_to_vec(),
    );
    send_grpc(&mut respond, &[reply]);
}

#[derive(Clone, PartialEq, Message)]
struct EchoMessage {
    #[prost(string, tag = "1")]
    message: String,
}

fn grpc_code(http: u16) -> u16 {
    match http {
        200..=299 => 0,
        503 | 429 => 8,
        504 => 4,
        400 => 3,
        404 => 5,
        _ => 13,
    }
}

fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(message.len() as u32);
    out.put_slice(message);
    out.freeze()
}

fn grpc_head() -> Response<()> {
    let mut resp = Response::new(());
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    resp
}

/// An error answer: status in the headers, no body, no trailers.
fn trailers_only(respond: &mut SendResponse<Bytes>, status: u16, message: &'static str) {
    let mut resp = grpc_head();
    resp.headers_mut()
        .insert("grpc-status", HeaderValue::from(status));
    resp.headers_mut()
        .insert("grpc-message", HeaderValue::from_static(message));
    let _ = respond.send_response(resp, true);
}

/// Headers, the framed messages, then `grpc-status: 0` trailers.
fn send_grpc(respond: &mut SendResponse<Bytes>, messages: &[Bytes]) {
    let Ok(mut tx) = respond.send_response(grpc_head(), false) else {
        return;
    };
    for m in messages {
        if tx.send_data(m.clone(), false).is_err() {
            return;
        }
    }
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let _ = tx.send_trailers(trailers);
}

#[derive(Clone, PartialEq, Message)]
struct ReflectionRequest {
    #[prost(string, optional, tag = "3")]
    file_by_filename: Option<String>,
    #[prost(string, optional, tag = "4")]
    file_containing_symbol: Option<String>,
    #[prost(string, optional, tag = "7")]
    list_services: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct ReflectionResponse {
    #[prost(message, optional, tag = "4")]
    file_descriptor_response: Option<FileDescriptorResponse>,
    #[prost(message, optional, tag = "6")]
    list_services_response: Option<ListServiceResponse>,
    #[prost(message, optional, tag = "7")]
    error_response: Option<ErrorResponse>,
}

#[derive(Clone, PartialEq, Message)]
struct FileDescriptorResponse {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file_descriptor_proto: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
struct ListServiceResponse {
    #[prost(message, repeated, tag = "1")]
    service: Vec<ServiceResponse>,
}

#[derive(Clone, PartialEq, Message)]
struct ServiceResponse {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, Message)]
struct ErrorResponse {
    #[prost(int32, tag = "1")]
    error_code: i32,
    #[prost(string, tag = "2")]
    error_message: String,
}

fn reflection_answer(req: &ReflectionRequest, descriptor: &[u8]) -> ReflectionResponse {
    let mut resp = ReflectionResponse::default();
    let known = |s: &str| s == "echo.proto" || s == ECHO_SERVICE || s.starts_with("rwg.echo.v1.");
    if req.list_services.is_some() {
        resp.list_services_response = Some(ListServiceResponse {
            service: vec![ServiceResponse {
                name: ECHO_SERVICE.into(),
            }],
        });
    } else if let Some(name) = req
        .file_by_filename
        .as_deref()
        .or(req.file_containing_symbol.as_deref())
        .filter(|n| known(n))
    {
        let _ = name;
        resp.file_descriptor_response = Some(FileDescriptorResponse {
            file_descriptor_proto: vec![descriptor.to_vec()],
        });
    } else {
        resp.error_response = Some(ErrorResponse {
            error_code: 5,
            error_message: "not found".into(),
        });
    }
    resp
}

/// The bidirectional reflection stream: one answer per request message.
async fn reflect(body: &mut RecvStream, mut respond: SendResponse<Bytes>, local: &ThreadState) {
    let Ok(mut tx) = respond.send_response(grpc_head(), false) else {
        return;
    };
    let mut buf = BytesMut::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        buf.extend_from_slice(&chunk);
        while buf.len() >= 5 {
            let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
            if buf.len() < 5 + len {
                break;
            }
            let msg = buf.split_to(5 + len);
            let req = ReflectionRequest::decode(&msg[5..]).unwrap_or_default();
            let answer = reflection_answer(&req, &local.shared.descriptor);
            if tx.send_data(frame(&answer.encode_to_vec()), false).is_err() {
                return;
            }
        }
    }
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let _ = tx.send_trailers(trailers);
}
