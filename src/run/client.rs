//! HOT: the core's protocol client, chosen once from the configuration:
//! HTTP/1.1 on a pool of keep-alive connections (plain or TLS), or HTTP/2
//! streams multiplexed over a few connections (h2c, h2 over TLS, gRPC).
//! [`exchange`] is the one call a worker makes per request.

use std::rc::Rc;

use crate::base::clock::now_ns;
use crate::base::kind::ErrorKind;
use crate::protocol::h2::{self, H2Pool};
use crate::protocol::h2_request::H2Request;
use crate::protocol::http1::RequestBytes;
use crate::protocol::tls::TlsClient;
use crate::protocol::WarmReport;
use crate::protocol::{OpGuard, Response};
use crate::run::pool::Pool;

/// What a core's client is built from (crosses to the core threads).
#[derive(Clone, Debug)]
pub enum ClientSpec {
    /// The encoded HTTP/1.1 request; `no_body` for HEAD; `idempotent` when
    /// it may be sent again after a lost connection (RFC 9110 §9.2.2).
    Http1 {
        request: Vec<u8>,
        no_body: bool,
        idempotent: bool,
    },
    /// The HTTP/2 (or gRPC) request and the cap on streams per connection.
    H2 {
        request: Box<H2Request>,
        max_streams: usize,
    },
}

pub enum Client {
    Http1 {
        pool: Rc<Pool>,
        request: RequestBytes,
        no_body: bool,
        idempotent: bool,
    },
    H2 {
        pool: Rc<H2Pool>,
        request: Box<H2Request>,
    },
}

impl Client {
    /// Builds the client and dials its connections (before the first send).
    pub async fn warm(
        spec: ClientSpec,
        addr: std::net::SocketAddr,
        tls: Option<TlsClient>,
        connections: usize,
        connect_timeout_ns: u64,
        warm_parallel: usize,
    ) -> (Client, WarmReport) {
        match spec {
            ClientSpec::Http1 {
                request,
                no_body,
                idempotent,
            } => {
                let pool = Pool::new(addr, tls, connections, connect_timeout_ns);
                let warm = pool.warm(warm_parallel).await;
                let request = RequestBytes::new(request);
                (
                    Client::Http1 {
                        pool,
                        request,
                        no_body,
                        idempotent,
                    },
                    warm,
                )
            }
            ClientSpec::H2 {
                request,
                max_streams,
            } => {
                let pool = H2Pool::new(addr, tls, connections, max_streams, connect_timeout_ns);
                let warm = pool.warm().await;
                (Client::H2 { pool, request }, warm)
            }
        }
    }

    /// Whether statuses are gRPC codes.
    pub fn grpc(&self) -> bool {
        matches!(self, Client::H2 { request, .. } if request.grpc)
    }

    /// Connections closed for bytes that no request asked for (HTTP/1.1).
    pub fn unsolicited_closes(&self) -> u64 {
        match self {
            Client::Http1 { pool, .. } => pool.unsolicited(),
            Client::H2 { .. } => 0,
        }
    }

    /// Connections dialled again after warm-up.
    pub fn redials(&self) -> u64 {
        match self {
            Client::Http1 { pool, .. } => pool.redials(),
            Client::H2 { pool, .. } => pool.redials(),
        }
    }

    pub fn close_all(&self) {
        match self {
            Client::Http1 { pool, .. } => pool.close_all(),
            Client::H2 { pool, .. } => pool.close_all(),
        }
    }
}

/// One request; `sent_ns` is set when its first byte is handed over.
pub async fn exchange(
    client: &Client,
    guard: &impl OpGuard,
    sent_ns: &mut u64,
) -> Result<Response, ErrorKind> {
    match client {
        Client::Http1 {
            pool,
            request,
            no_body,
            idempotent,
        } => exchange_http1(pool, request, (*no_body, *idempotent), guard, sent_ns).await,
        // Boxed: the h2 exchange future is large, and inline it would size
        // every worker's future (thousands per core) for the h2 case.
        Client::H2 { pool, request } => Box::pin(h2::exchange(pool, request, guard, sent_ns)).await,
    }
}

/// One request on a pooled connection. A reused connection that the server
/// closed while idle fails before any response byte; an idempotent request
/// is then sent once more on a fresh connection, as HTTP clients do. Any
/// other request may have been applied, so it is recorded as failed.
async fn exchange_http1(
    pool: &Pool,
    request: &RequestBytes,
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
