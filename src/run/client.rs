//! HOT: a core's protocol clients, one per origin, chosen once from the
//! configuration: HTTP/1.1 on a pool of keep-alive connections (plain or
//! TLS), or HTTP/2 streams multiplexed over a few connections (h2c, h2 over
//! TLS, gRPC). Each target holds its encoded request and its origin's pool;
//! [`exchange`] is the one call a worker makes per request.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use crate::base::clock::now_ns;
use crate::base::kind::ErrorKind;
use crate::protocol::h2::{self, H2Pool};
use crate::protocol::h2_request::H2Request;
use crate::protocol::h2_template::H2Template;
use crate::protocol::http1::{Outgoing, RequestBytes, RequestTemplate};
use crate::protocol::tls::TlsClient;
use crate::protocol::WarmReport;
use crate::protocol::{OpGuard, Response};
use crate::run::pool::Pool;

/// One origin's pool and requests, as every core builds them (crosses to
/// the core threads).
#[derive(Clone)]
pub struct OriginSpec {
    pub addr: SocketAddr,
    pub tls: Option<TlsClient>,
    /// Connections to this origin, all cores together.
    pub connections: usize,
    pub wire: OriginWire,
}

/// The protocol an origin speaks, with the requests of its targets.
#[derive(Clone, Debug)]
pub enum OriginWire {
    Http1(Vec<Http1Spec>),
    /// HTTP/2 (or gRPC) requests and the cap on streams per connection.
    H2 {
        max_streams: usize,
        /// Through the lean client (unless `--h2-crate`).
        lean: bool,
        requests: Vec<H2Spec>,
    },
}

/// An HTTP/2 or gRPC request, encoded once, and its placeholders if any.
#[derive(Clone, Debug)]
pub struct H2Spec {
    pub request: Box<H2Request>,
    pub template: Option<Arc<H2Template>>,
}

/// An HTTP/1.1 request (encoded once, or a template); `no_body` for HEAD;
/// `idempotent` when it may be sent again after a lost connection
/// (RFC 9110 §9.2.2).
#[derive(Clone, Debug)]
pub struct Http1Spec {
    pub request: Http1Request,
    pub no_body: bool,
    pub idempotent: bool,
}

#[derive(Clone, Debug)]
pub enum Http1Request {
    Bytes(Vec<u8>),
    Template(Arc<RequestTemplate>),
}

/// What a core's HTTP/1.1 target sends.
#[derive(Clone)]
pub enum Http1Payload {
    Bytes(RequestBytes),
    Template(Arc<RequestTemplate>),
}

/// One origin's connection pool on a core.
#[derive(Clone)]
pub enum Client {
    Http1(Rc<Pool>),
    H2(Rc<H2Pool>),
}

/// What one target sends, and the pool of its origin.
#[derive(Clone)]
pub enum Target {
    Http1 {
        pool: Rc<Pool>,
        request: Http1Payload,
        no_body: bool,
        idempotent: bool,
    },
    H2 {
        pool: Rc<H2Pool>,
        request: Box<H2Request>,
        template: Option<Arc<H2Template>>,
    },
}

impl Client {
    /// Builds `spec`'s pool with `connections` and dials them (before the
    /// first send); returns it with the targets it serves, in the origin's
    /// order.
    pub async fn warm(
        spec: OriginSpec,
        connections: usize,
        connect_timeout_ns: u64,
        warm_parallel: usize,
    ) -> (Client, Vec<Target>, WarmReport) {
        match spec.wire {
            OriginWire::Http1(requests) => {
                let pool = Pool::new(spec.addr, spec.tls, connections, connect_timeout_ns);
                let warm = pool.warm(warm_parallel).await;
                let targets = requests
                    .into_iter()
                    .map(|r| Target::Http1 {
                        pool: pool.clone(),
                        request: match r.request {
                            Http1Request::Bytes(b) => Http1Payload::Bytes(RequestBytes::new(b)),
                            Http1Request::Template(t) => Http1Payload::Template(t),
                        },
                        no_body: r.no_body,
                        idempotent: r.idempotent,
                    })
                    .collect();
                (Client::Http1(pool), targets, warm)
            }
            OriginWire::H2 {
                max_streams,
                lean,
                requests,
            } => {
                let pool = H2Pool::new(
                    spec.addr,
                    spec.tls,
                    (connections, max_streams, lean),
                    connect_timeout_ns,
                );
                let warm = pool.warm().await;
                let targets = requests
                    .into_iter()
                    .map(|spec| Target::H2 {
                        pool: pool.clone(),
                        request: spec.request,
                        template: spec.template,
                    })
                    .collect();
                (Client::H2(pool), targets, warm)
            }
        }
    }

    /// A pool kept from the run before (a step of `rwg search`): HTTP/1.1
    /// grows to `connections` and dials those it lacks; HTTP/2 keeps its
    /// connections, which do not depend on the workers.
    pub async fn rewarm(&self, connections: usize, warm_parallel: usize) -> WarmReport {
        match self {
            Client::Http1(pool) => {
                pool.grow_to(connections);
                pool.warm(warm_parallel).await
            }
            Client::H2(_) => WarmReport::default(),
        }
    }

    /// Connections closed for bytes that no request asked for (HTTP/1.1).
    pub fn unsolicited_closes(&self) -> u64 {
        match self {
            Client::Http1(pool) => pool.unsolicited(),
            Client::H2(_) => 0,
        }
    }

    /// Connections dialled again after warm-up.
    pub fn redials(&self) -> u64 {
        match self {
            Client::Http1(pool) => pool.redials(),
            Client::H2(pool) => pool.redials(),
        }
    }

    pub fn close_all(&self) {
        match self {
            Client::Http1(pool) => pool.close_all(),
            Client::H2(pool) => pool.close_all(),
        }
    }
}

impl Target {
    /// Whether statuses are gRPC codes.
    pub fn grpc(&self) -> bool {
        matches!(self, Target::H2 { request, .. } if request.grpc)
    }
}

/// The request of arrival `seq`; `sent_ns` is set when its first byte is
/// handed over.
pub async fn exchange(
    target: &Target,
    seq: u64,
    guard: &impl OpGuard,
    sent_ns: &mut u64,
) -> Result<Response, ErrorKind> {
    match target {
        Target::Http1 {
            pool,
            request,
            no_body,
            idempotent,
        } => {
            let outgoing = match request {
                Http1Payload::Bytes(bytes) => Outgoing::Bytes(bytes),
                Http1Payload::Template(t) => Outgoing::Template(t, seq),
            };
            exchange_http1(pool, outgoing, (*no_body, *idempotent), guard, sent_ns).await
        }
        // The lean client's future is small: inline, no allocation.
        Target::H2 {
            pool,
            request,
            template: None,
        } if pool.lean() => h2::exchange_lean(pool, request, guard, sent_ns).await,
        // The rendered request is boxed (inline it would size every
        // worker's future); the exchange is not: boxing it cost an aligned
        // allocation per request (`posix_memalign`, ≈ 800 instructions).
        Target::H2 {
            pool,
            request,
            template: Some(t),
        } if pool.lean() => {
            let rendered = Box::new(t.render(request, seq).map_err(|_| ErrorKind::Request)?);
            h2::exchange_lean(pool, &rendered, guard, sent_ns).await
        }
        // Boxed: the h2 crate's exchange future (and a rendered request) is
        // large, and inline it would size every worker's future (thousands
        // per core).
        Target::H2 {
            pool,
            request,
            template,
        } => {
            Box::pin(async move {
                let rendered = match template {
                    Some(t) => Some(t.render(request, seq).map_err(|_| ErrorKind::Request)?),
                    None => None,
                };
                let request = rendered.as_ref().unwrap_or(request);
                h2::exchange(pool, request, guard, sent_ns).await
            })
            .await
        }
    }
}

/// One request on a pooled connection. A reused connection that the server
/// closed while idle fails before any response byte; an idempotent request
/// is then sent once more on a fresh connection, as HTTP clients do. Any
/// other request may have been applied, so it is recorded as failed.
async fn exchange_http1(
    pool: &Pool,
    request: Outgoing<'_>,
    (no_body, idempotent): (bool, bool),
    guard: &impl OpGuard,
    sent_ns: &mut u64,
) -> Result<Response, ErrorKind> {
    for attempt in 0..2 {
        let mut conn = pool.acquire(guard).await?;
        let reused = conn.served() > 0;
        if *sent_ns == 0 {
            *sent_ns = now_ns();
        }
        match conn.exchange(request, no_body, guard).await {
            Ok(resp) => {
                if resp.close {
                    if conn.saw_unsolicited() {
                        pool.note_unsolicited();
                    }
                    drop(conn);
                    pool.retire();
                } else {
                    pool.release(conn);
                }
                return Ok(resp);
            }
            Err(kind) => {
                let stale = kind == ErrorKind::Reset && reused && !conn.received_any();
                drop(conn);
                pool.retire();
                if !(stale && idempotent && attempt == 0) {
                    return Err(kind);
                }
            }
        }
    }
    Err(ErrorKind::Reset)
}
