//! Cold: turns the configuration into what each core's client is built
//! from, before any core starts: the TLS client (ALPN offer, SNI, roots,
//! client certificate), one probe handshake that fails fast on certificate
//! problems and learns the server's ALPN choice, and for gRPC the encoded
//! request (from `--proto` or server reflection). Runs on a short-lived
//! monoio runtime of the calling thread.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::client::ClientSpec;
use super::error::{config_error, RunError};
use crate::plan::config::{Config, HttpVersion};
use crate::protocol::h2::H2Pool;
use crate::protocol::h2_request::H2Request;
use crate::protocol::http1::encode_request;
use crate::protocol::tls::{self, TlsClient};
use crate::protocol::{grpc, reflection};

const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// The client every core builds, and what the summary says about it.
pub struct Prepared {
    pub spec: ClientSpec,
    pub tls: Option<TlsClient>,
    /// `http/1.1`, `h2`, `h2c` or `grpc`.
    pub protocol: &'static str,
    /// Connections, all cores together (HTTP/2 default: one per core).
    pub connections: usize,
}

/// Builds the client spec for `cfg` on `cores` cores.
pub fn prepare(cfg: &Config, cores: usize) -> Result<Prepared, RunError> {
    let scheme = cfg.target.scheme;
    let tls = if scheme.tls() {
        let offer: &[&[u8]] = match cfg.http {
            _ if scheme.grpc() => &[ALPN_H2],
            HttpVersion::Http2 => &[ALPN_H2],
            HttpVersion::Http1 => &[ALPN_HTTP1],
            HttpVersion::Auto => &[ALPN_H2, ALPN_HTTP1],
        };
        Some(TlsClient::new(&cfg.tls, &cfg.target.host, offer).map_err(config_error)?)
    } else {
        None
    };
    let mut rt = monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .build()
        .map_err(|e| RunError::Io(format!("cannot build a runtime: {e}")))?;
    rt.block_on(prepare_async(cfg, cores, tls))
}

async fn prepare_async(
    cfg: &Config,
    cores: usize,
    tls: Option<TlsClient>,
) -> Result<Prepared, RunError> {
    let target = &cfg.target;
    let connect_timeout = Duration::from_nanos(cfg.connect_timeout_ns);
    let mut h2 = cfg.forced_h2();
    if let Some(client) = &tls {
        let probe = tls::dial(target.addr, Some(client), connect_timeout)
            .await
            .map_err(|e| {
                RunError::Io(format!(
                    "TLS handshake with {} ({}) failed: {e}",
                    target.host, target.addr
                ))
            })?;
        h2 |= probe.alpn().as_deref() == Some(ALPN_H2);
    }
    let connections = if h2 && !cfg.connections_given {
        cores
    } else {
        cfg.connections
    };
    if !h2 {
        let request = encode_request(
            &cfg.method,
            &target.authority,
            &target.path_and_query,
            &cfg.headers,
            &cfg.body,
        );
        return Ok(Prepared {
            spec: ClientSpec::Http1 {
                request,
                no_body: cfg.method.eq_ignore_ascii_case("HEAD"),
                idempotent: idempotent(&cfg.method),
            },
            tls,
            protocol: "http/1.1",
            connections,
        });
    }
    let http_scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{http_scheme}://{}", target.authority);
    let uri: Uri = format!("{base}{}", target.path_and_query)
        .parse()
        .map_err(|e| config_error(format!("invalid URL '{}': {e}", target.url)))?;
    let (request, protocol) = if target.scheme.grpc() {
        let request = grpc_request(cfg, &base, uri, tls.clone()).await?;
        (request, "grpc")
    } else {
        (
            plain_request(cfg, uri)?,
            if tls.is_some() { "h2" } else { "h2c" },
        )
    };
    Ok(Prepared {
        spec: ClientSpec::H2 {
            request: Box::new(request),
            max_streams: cfg.max_streams,
        },
        tls,
        protocol,
        connections,
    })
}

fn plain_request(cfg: &Config, uri: Uri) -> Result<H2Request, RunError> {
    let method = Method::from_bytes(cfg.method.as_bytes())
        .map_err(|_| config_error(format!("invalid --method '{}'", cfg.method)))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &cfg.headers {
        // Connection-specific headers are not allowed in HTTP/2; Host is
        // carried by :authority.
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "host" | "connection" | "keep-alive" | "transfer-encoding" | "upgrade"
        ) {
            continue;
        }
        let n = HeaderName::from_bytes(lower.as_bytes())
            .map_err(|_| config_error(format!("invalid header name '{name}'")))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| config_error(format!("invalid value of header '{name}'")))?;
        headers.append(n, v);
    }
    if !headers.contains_key("user-agent") {
        headers.insert(
            "user-agent",
            HeaderValue::from_static(concat!("rwg/", env!("CARGO_PKG_VERSION"))),
        );
    }
    Ok(H2Request {
        method,
        uri,
        headers,
        body: Bytes::from(cfg.body.clone()),
        grpc: false,
    })
}

/// Resolves the gRPC method (from `--proto` or reflection) and encodes the
/// request message once.
async fn grpc_request(
    cfg: &Config,
    base: &str,
    uri: Uri,
    tls: Option<TlsClient>,
) -> Result<H2Request, RunError> {
    let path = &cfg.target.path_and_query;
    let (service, method) = grpc::split_path(path).ok_or_else(|| {
        config_error(format!(
            "invalid gRPC URL '{}': expected grpc://host:port/package.Service/Method",
            cfg.target.url
        ))
    })?;
    let descriptors = if cfg.grpc.protos.is_empty() {
        let pool = H2Pool::new(cfg.target.addr, tls, 1, 1, cfg.connect_timeout_ns);
        let warm = pool.warm().await;
        if let Some(e) = warm.first_error {
            return Err(RunError::Io(format!(
                "cannot reach {} for gRPC reflection: {e}",
                cfg.target.addr
            )));
        }
        let timeout = Duration::from_nanos(cfg.timeout_ns.max(cfg.connect_timeout_ns));
        let fetched = monoio::time::timeout(timeout, reflection::fetch(&pool, base, service)).await;
        pool.close_all();
        match fetched {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return Err(config_error(e)),
            Err(_) => return Err(RunError::Io("gRPC reflection timed out".into())),
        }
    } else {
        grpc::compile(&cfg.grpc.protos, &cfg.grpc.includes).map_err(config_error)?
    };
    let method = grpc::find_method(&descriptors, service, method).map_err(config_error)?;
    let body = grpc::encode_json(&method, &cfg.grpc.data_json).map_err(config_error)?;
    grpc::request(uri, body, &cfg.grpc.metadata, cfg.timeout_ns).map_err(config_error)
}

/// Whether a request with this method may be sent again after a lost
/// connection without risk of the server applying it twice (RFC 9110 §9.2.2).
fn idempotent(method: &str) -> bool {
    ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}
