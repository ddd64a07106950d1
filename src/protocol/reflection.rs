//! Cold: gRPC server reflection (v1, falling back to v1alpha) over one h2
//! connection before the run, to describe a method when no `--proto` is
//! given. Each query is one short unary-like exchange on the bidirectional
//! `ServerReflectionInfo` stream; files' dependencies are fetched until the
//! descriptor pool is complete.

use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Uri};
use prost::Message;
use prost_reflect::prost_types::FileDescriptorProto;
use prost_reflect::DescriptorPool;

use super::grpc::{frame, unframe};
use super::h2::H2Pool;
use super::h2_request::H2Request;

const SERVICES: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];
const UNIMPLEMENTED: u16 = 12;

/// `ServerReflectionRequest`, with only the fields rwg sends.
#[derive(Clone, PartialEq, Message)]
struct ReflectionRequest {
    #[prost(string, tag = "1")]
    host: String,
    #[prost(string, optional, tag = "3")]
    file_by_filename: Option<String>,
    #[prost(string, optional, tag = "4")]
    file_containing_symbol: Option<String>,
}

/// `ServerReflectionResponse`, with only the fields rwg reads.
#[derive(Clone, PartialEq, Message)]
struct ReflectionResponse {
    #[prost(message, optional, tag = "4")]
    file_descriptor_response: Option<FileDescriptorResponse>,
    #[prost(message, optional, tag = "7")]
    error_response: Option<ErrorResponse>,
}

#[derive(Clone, PartialEq, Message)]
struct FileDescriptorResponse {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file_descriptor_proto: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
struct ErrorResponse {
    #[prost(int32, tag = "1")]
    error_code: i32,
    #[prost(string, tag = "2")]
    error_message: String,
}

/// A failed query: the gRPC code (when there was one) and what happened.
struct QueryError(Option<u16>, String);

/// One request message on one stream; returns the first response message.
async fn query(
    pool: &Rc<H2Pool>,
    base: &str,
    service: &str,
    req: &ReflectionRequest,
) -> Result<ReflectionResponse, QueryError> {
    let uri: Uri = format!("{base}/{service}/ServerReflectionInfo")
        .parse()
        .map_err(|e| QueryError(None, format!("{e}")))?;
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/grpc"));
    headers.insert("te", HeaderValue::from_static("trailers"));
    let request = H2Request {
        method: Method::POST,
        uri,
        headers: headers.into(),
        body: frame(&req.encode_to_vec()),
        grpc: true,
        block: Default::default(),
    };
    let (status, body) = pool.call(&request).await.map_err(|e| QueryError(None, e))?;
    if status != 0 {
        return Err(QueryError(
            Some(status),
            format!("reflection failed with gRPC status {status}"),
        ));
    }
    let msg = unframe(&body).ok_or_else(|| QueryError(None, "empty reflection reply".into()))?;
    ReflectionResponse::decode(msg)
        .map_err(|e| QueryError(None, format!("bad reflection reply: {e}")))
}

/// Asks the server for the files describing `symbol` (a service name) and
/// their dependencies.
pub async fn fetch(pool: &Rc<H2Pool>, base: &str, symbol: &str) -> Result<DescriptorPool, String> {
    let mut chosen = None;
    let mut first = None;
    for service in SERVICES {
        let req = ReflectionRequest {
            file_containing_symbol: Some(symbol.to_string()),
            ..Default::default()
        };
        match query(pool, base, service, &req).await {
            Ok(resp) => {
                chosen = Some(service);
                first = Some(resp);
                break;
            }
            Err(QueryError(Some(UNIMPLEMENTED), _)) => continue,
            Err(QueryError(_, e)) => return Err(format!("gRPC reflection: {e}")),
        }
    }
    let (Some(service), Some(first)) = (chosen, first) else {
        return Err(
            "the server does not offer gRPC reflection (v1 or v1alpha): pass --proto FILE".into(),
        );
    };
    let mut files: BTreeMap<String, FileDescriptorProto> = BTreeMap::new();
    let mut pending = vec![first];
    while let Some(resp) = pending.pop() {
        if let Some(e) = resp.error_response {
            return Err(format!(
                "gRPC reflection: {} (code {}): is '{symbol}' a service of this server?",
                e.error_message, e.error_code
            ));
        }
        for raw in resp
            .file_descriptor_response
            .map(|f| f.file_descriptor_proto)
            .unwrap_or_default()
        {
            let file = FileDescriptorProto::decode(Bytes::from(raw))
                .map_err(|e| format!("gRPC reflection: bad file descriptor: {e}"))?;
            files.insert(file.name().to_string(), file);
        }
        let missing: Vec<String> = files
            .values()
            .flat_map(|f| f.dependency.iter())
            .filter(|d| !files.contains_key(*d))
            .cloned()
            .collect();
        for name in missing {
            let req = ReflectionRequest {
                file_by_filename: Some(name),
                ..Default::default()
            };
            let resp = query(pool, base, service, &req)
                .await
                .map_err(|QueryError(_, e)| format!("gRPC reflection: {e}"))?;
            pending.push(resp);
        }
    }
    let mut descriptors = DescriptorPool::new();
    descriptors
        .add_file_descriptor_protos(files.into_values())
        .map_err(|e| format!("gRPC reflection: {e}"))?;
    Ok(descriptors)
}
