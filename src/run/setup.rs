//! Cold: turns the configuration into what each core's clients are built
//! from, before any core starts. Targets are grouped by origin (scheme,
//! host, port): each origin gets its TLS client (ALPN offer, SNI, roots,
//! client certificate), one probe handshake that fails fast on certificate
//! problems and learns the server's ALPN choice, and one connection pool
//! per core; each target's request is encoded once in its origin's protocol
//! (for gRPC from `--proto` or server reflection). Runs on a short-lived
//! monoio runtime of the calling thread.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use prost_reflect::MessageDescriptor;

use super::client::{H2Spec, Http1Request, Http1Spec, OriginSpec, OriginWire};
use super::error::{config_error, RunError};
use crate::plan::config::{Config, HttpVersion};
use crate::plan::error::ConfigError;
use crate::plan::target::{Scheme, Target, TargetSpec};
use crate::plan::template;
use crate::protocol::h2::H2Pool;
use crate::protocol::h2_request::H2Request;
use crate::protocol::h2_template::{H2Parts, H2Template};
use crate::protocol::http1::{encode_request, RequestTemplate};
use crate::protocol::tls::{self, TlsClient};
use crate::protocol::{grpc, reflection};

const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// What every core builds, and what the summary says about it.
pub struct Prepared {
    /// One connection pool per distinct origin (scheme, host, port).
    pub origins: Vec<OriginSpec>,
    /// Per target of the configuration: its origin and its place in that
    /// origin's requests.
    pub placement: Vec<(usize, usize)>,
    /// `http/1.1`, `h2`, `h2c` or `grpc`; several joined by `+`.
    pub protocol: String,
    /// Some origin is reached over TLS.
    pub tls: bool,
    /// Connections, all origins and cores together.
    pub connections: usize,
}

/// Builds what each core needs to reach every target of `cfg` on `cores` cores.
pub fn prepare(cfg: &Config, cores: usize) -> Result<Prepared, RunError> {
    let mut rt = monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .build()
        .map_err(|e| RunError::Io(format!("cannot build a runtime: {e}")))?;
    let mut prepared = Prepared {
        origins: Vec::new(),
        placement: Vec::with_capacity(cfg.targets.len()),
        protocol: String::new(),
        tls: false,
        connections: 0,
    };
    let mut keys: Vec<(Scheme, String, SocketAddr)> = Vec::new();
    let mut protocols: Vec<&'static str> = Vec::new();
    for spec in &cfg.targets {
        let t = &spec.target;
        let key = (t.scheme, t.authority.clone(), t.addr);
        let origin = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                let (origin, protocol) = rt.block_on(prepare_origin(cfg, cores, spec))?;
                prepared.tls |= origin.tls.is_some();
                prepared.connections += origin.connections;
                if !protocols.contains(&protocol) {
                    protocols.push(protocol);
                }
                prepared.origins.push(origin);
                keys.push(key);
                keys.len() - 1
            }
        };
        let o = &mut prepared.origins[origin];
        let index = rt.block_on(add_request(cfg, o, spec))?;
        prepared.placement.push((origin, index));
    }
    prepared.protocol = protocols.join("+");
    Ok(prepared)
}

/// The TLS client of an origin (ALPN offer, SNI, roots, client certificate).
fn tls_client(cfg: &Config, target: &Target) -> Result<Option<TlsClient>, RunError> {
    let scheme = target.scheme;
    if !scheme.tls() {
        return Ok(None);
    }
    let offer: &[&[u8]] = match cfg.http {
        _ if scheme.grpc() => &[ALPN_H2],
        HttpVersion::Http2 => &[ALPN_H2],
        HttpVersion::Http1 => &[ALPN_HTTP1],
        HttpVersion::Auto => &[ALPN_H2, ALPN_HTTP1],
    };
    TlsClient::new(&cfg.tls, &target.host, offer)
        .map(Some)
        .map_err(config_error)
}

/// The origin of `spec`'s target: TLS client, one probe handshake that
/// fails fast on certificate problems and learns the server's ALPN choice,
/// the protocol, the connections.
async fn prepare_origin(
    cfg: &Config,
    cores: usize,
    spec: &TargetSpec,
) -> Result<(OriginSpec, &'static str), RunError> {
    let target = &spec.target;
    let tls = tls_client(cfg, target)?;
    let connect_timeout = Duration::from_nanos(cfg.connect_timeout_ns);
    let mut h2 = cfg.forced_h2(target);
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
    // HTTP/2 multiplexes: one connection per core unless told.
    let connections = if h2 && !cfg.connections_given {
        cores
    } else {
        cfg.connections
    };
    let (wire, protocol) = match (h2, target.scheme.grpc(), tls.is_some()) {
        (false, _, _) => (OriginWire::Http1(Vec::new()), "http/1.1"),
        (true, true, _) => (h2_wire(cfg), "grpc"),
        (true, false, true) => (h2_wire(cfg), "h2"),
        (true, false, false) => (h2_wire(cfg), "h2c"),
    };
    let origin = OriginSpec {
        addr: target.addr,
        tls,
        connections,
        wire,
    };
    Ok((origin, protocol))
}

fn h2_wire(cfg: &Config) -> OriginWire {
    OriginWire::H2 {
        max_streams: cfg.max_streams,
        lean: !cfg.h2_crate,
        requests: Vec::new(),
    }
}

/// Encodes `spec`'s request once, in its origin's protocol; returns its
/// index among the origin's requests.
async fn add_request(
    cfg: &Config,
    origin: &mut OriginSpec,
    spec: &TargetSpec,
) -> Result<usize, RunError> {
    let target = &spec.target;
    let tls = origin.tls.clone();
    match &mut origin.wire {
        OriginWire::Http1(requests) => {
            let line = (
                spec.method.as_str(),
                target.authority.as_str(),
                target.path_and_query.as_str(),
            );
            let mut csv = |file: &str, column: &str| csv_values(&spec.folder.join(file), column);
            let template =
                RequestTemplate::parse(line, &spec.headers, &spec.body, cfg.seed, &mut csv)
                    .map_err(|e| config_error(format!("target '{}': {e}", spec.label)))?;
            let request = match template {
                Some(t) => Http1Request::Template(Arc::new(t)),
                None => Http1Request::Bytes(encode_request(
                    line.0,
                    line.1,
                    line.2,
                    &spec.headers,
                    &spec.body,
                )),
            };
            requests.push(Http1Spec {
                request,
                no_body: spec.method.eq_ignore_ascii_case("HEAD"),
                idempotent: idempotent(&spec.method),
            });
            Ok(requests.len() - 1)
        }
        OriginWire::H2 { requests, .. } => {
            let http_scheme = if tls.is_some() { "https" } else { "http" };
            let base = format!("{http_scheme}://{}", target.authority);
            // A templated path is rendered per request; the static request
            // holds the origin's root until then.
            let path = match has_placeholder(target.path_and_query.as_bytes()) {
                true => "/",
                false => target.path_and_query.as_str(),
            };
            let uri: Uri = format!("{base}{path}")
                .parse()
                .map_err(|e| config_error(format!("invalid URL '{}': {e}", target.url)))?;
            let (request, message) = if target.scheme.grpc() {
                let (request, input) = grpc_request(cfg, spec, &base, uri, tls).await?;
                (request, Some(input))
            } else {
                (plain_request(spec, uri)?, None)
            };
            let (headers, body) = match &message {
                Some(_) => (&spec.grpc.metadata, spec.grpc.data_json.as_bytes()),
                None => (&spec.headers, &spec.body[..]),
            };
            let parts = H2Parts {
                base: &base,
                path_and_query: &target.path_and_query,
                headers,
                body,
                message,
            };
            let mut csv = |file: &str, column: &str| csv_values(&spec.folder.join(file), column);
            let template = H2Template::parse(&parts, cfg.seed, &mut csv)
                .map_err(|e| config_error(format!("target '{}': {e}", spec.label)))?;
            requests.push(H2Spec {
                request: Box::new(request),
                template: template.map(Arc::new),
            });
            Ok(requests.len() - 1)
        }
    }
}

fn plain_request(spec: &TargetSpec, uri: Uri) -> Result<H2Request, RunError> {
    let method = Method::from_bytes(spec.method.as_bytes())
        .map_err(|_| config_error(format!("invalid --method '{}'", spec.method)))?;
    let mut headers = HeaderMap::new();
    // Templated values are added per request (`H2Template`).
    for (name, value) in spec
        .headers
        .iter()
        .filter(|(_, v)| !has_placeholder(v.as_bytes()))
    {
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
        headers: headers.into(),
        body: Bytes::from(spec.body.clone()),
        grpc: false,
        block: Default::default(),
    })
}

/// Resolves the gRPC method (from `--proto` or reflection) and encodes the
/// request message once; returns the request and the message's type.
async fn grpc_request(
    cfg: &Config,
    spec: &TargetSpec,
    base: &str,
    uri: Uri,
    tls: Option<TlsClient>,
) -> Result<(H2Request, MessageDescriptor), RunError> {
    let (target, opts) = (&spec.target, &spec.grpc);
    let (service, method) = grpc::split_path(&target.path_and_query).ok_or_else(|| {
        config_error(format!(
            "invalid gRPC URL '{}': expected grpc://host:port/package.Service/Method",
            target.url
        ))
    })?;
    let descriptors = if opts.protos.is_empty() {
        let pool = H2Pool::new(target.addr, tls, (1, 1, false), cfg.connect_timeout_ns);
        let warm = pool.warm().await;
        if let Some(e) = warm.first_error {
            return Err(RunError::Io(format!(
                "cannot reach {} for gRPC reflection: {e}",
                target.addr
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
        grpc::compile(&opts.protos, &opts.includes).map_err(config_error)?
    };
    let method = grpc::find_method(&descriptors, service, method).map_err(config_error)?;
    // A message with placeholders is encoded per request (`H2Template`).
    let body = match has_placeholder(opts.data_json.as_bytes()) {
        true => Bytes::new(),
        false => grpc::encode_json(&method, &opts.data_json).map_err(config_error)?,
    };
    let metadata: Vec<(String, String)> = opts
        .metadata
        .iter()
        .filter(|(_, v)| !has_placeholder(v.as_bytes()))
        .cloned()
        .collect();
    let request = grpc::request(uri, body, &metadata, cfg.timeout_ns).map_err(config_error)?;
    Ok((request, method.input()))
}

/// Whether a request with this method may be sent again after a lost
/// connection without risk of the server applying it twice (RFC 9110 §9.2.2).
fn idempotent(method: &str) -> bool {
    ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// Whether `text` holds a placeholder (`{{` always starts one).
fn has_placeholder(text: &[u8]) -> bool {
    text.windows(2).any(|w| w == b"{{")
}

/// `{{csv FILE COLUMN}}`'s values, read once before the run.
fn csv_values(path: &Path, column: &str) -> Result<Arc<[Box<[u8]>]>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read '{}': {e}", path.display())))?;
    template::csv_column(&text, column)
        .map(Arc::from)
        .map_err(|e| ConfigError(format!("'{}': {e}", path.display())))
}
