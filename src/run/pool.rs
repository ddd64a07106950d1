//! The core-local connection pool: dialled before the first planned send
//! (bounded parallelism, so no connection storm), kept across phases (and
//! across the steps of `rwg search`, grown when a step needs more), and
//! refilled on demand when the server closes a connection. Shared by the
//! core's workers only, so a `RefCell` is all the locking it needs.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use crate::base::clock::now_ns;
use crate::base::kind::ErrorKind;
use crate::base::waitq::WaitQueue;
use crate::protocol::http1::Conn;
use crate::protocol::tls::{self, IdleState, TlsClient};
use crate::protocol::{guarded, OpGuard, WarmReport};

struct Inner {
    idle: Vec<Conn>,
    /// Connections open or being dialled.
    open: usize,
}

pub struct Pool {
    addr: SocketAddr,
    tls: Option<TlsClient>,
    handshake_ns: Cell<u64>,
    alpn: RefCell<Option<String>>,
    max: Cell<usize>,
    connect_timeout: Duration,
    inner: RefCell<Inner>,
    waiters: WaitQueue,
    /// Connections closed because bytes came that no request asked for.
    unsolicited: Cell<u64>,
    /// Connections dialled again after warm-up.
    redials: Cell<u64>,
}

impl Pool {
    pub fn new(
        addr: SocketAddr,
        tls: Option<TlsClient>,
        max: usize,
        connect_timeout_ns: u64,
    ) -> Rc<Pool> {
        Rc::new(Pool {
            addr,
            tls,
            handshake_ns: Cell::new(0),
            alpn: RefCell::new(None),
            max: Cell::new(max),
            connect_timeout: Duration::from_nanos(connect_timeout_ns),
            inner: RefCell::new(Inner {
                idle: Vec::with_capacity(max),
                open: 0,
            }),
            waiters: WaitQueue::default(),
            unsolicited: Cell::new(0),
            redials: Cell::new(0),
        })
    }

    async fn dial(&self) -> std::io::Result<Conn> {
        let t0_ns = now_ns();
        let stream = tls::dial(self.addr, self.tls.as_ref(), self.connect_timeout).await?;
        self.handshake_ns
            .set(self.handshake_ns.get() + (now_ns() - t0_ns));
        if self.alpn.borrow().is_none() {
            *self.alpn.borrow_mut() = Some(tls::alpn_name(stream.alpn()));
        }
        Ok(Conn::new(stream))
    }

    /// Raises the number of connections to `max` (never lowers it: idle
    /// connections cost the next step nothing); [`Pool::warm`] dials them.
    pub fn grow_to(&self, max: usize) {
        self.max.set(self.max.get().max(max));
    }

    /// Dials the connections of this core not open yet, `parallel` at a time.
    pub async fn warm(self: &Rc<Self>, parallel: usize) -> WarmReport {
        let t0_ns = now_ns();
        let report = Rc::new(RefCell::new(WarmReport::default()));
        let open = self.inner.borrow().open;
        let next = Rc::new(RefCell::new(open));
        let dialers: Vec<_> = (0..parallel.clamp(1, self.max.get().saturating_sub(open).max(1)))
            .map(|_| {
                let (pool, report, next) = (self.clone(), report.clone(), next.clone());
                monoio::spawn(async move {
                    loop {
                        {
                            let mut n = next.borrow_mut();
                            if *n >= pool.max.get() {
                                return;
                            }
                            *n += 1;
                        }
                        match pool.dial().await {
                            Ok(conn) => {
                                report.borrow_mut().connected += 1;
                                let mut inner = pool.inner.borrow_mut();
                                inner.open += 1;
                                inner.idle.push(conn);
                            }
                            Err(e) => {
                                let mut r = report.borrow_mut();
                                r.failed += 1;
                                r.first_error.get_or_insert_with(|| e.to_string());
                            }
                        }
                    }
                })
            })
            .collect();
        for d in dialers {
            d.await;
        }
        let mut out = report.borrow().clone();
        out.elapsed_ns = now_ns() - t0_ns;
        out.handshake_ns = self.handshake_ns.get();
        out.alpn.clone_from(&self.alpn.borrow());
        out
    }

    /// Takes an idle connection, dials one if below the limit, or waits in
    /// line (first come, first served) until one is released or the
    /// request's deadline passes.
    pub async fn acquire(&self, guard: &impl OpGuard) -> Result<Conn, ErrorKind> {
        let mut place = self.waiters.place();
        loop {
            if place.may_take() {
                let (idle, dial, more_left) = {
                    let mut inner = self.inner.borrow_mut();
                    let idle = self.pop_clean(&mut inner);
                    let max = self.max.get();
                    let dial = idle.is_none() && inner.open < max;
                    inner.open += usize::from(dial);
                    (idle, dial, !inner.idle.is_empty() || inner.open < max)
                };
                if idle.is_some() || dial {
                    place.taken(more_left);
                }
                if let Some(conn) = idle {
                    return Ok(conn);
                }
                if dial {
                    // Boxed (cold): the dial + TLS handshake future is large,
                    // and inline it would size every worker's future. The
                    // request's deadline (or the stop's grace) bounds the dial
                    // too, not only --connect-timeout.
                    let dial =
                        Box::pin(async { self.dial().await.map_err(|_| ErrorKind::Connect) });
                    let dialled = guarded(guard, dial).await;
                    // Counted once it connects: a failed dial is a connect
                    // error of its request.
                    match dialled {
                        Ok(_) => self.redials.set(self.redials.get() + 1),
                        Err(_) => self.retire(),
                    }
                    return dialled;
                }
            }
            place.wait(|cx| guard.poll_expired(cx)).await?;
        }
    }

    /// Pops an idle connection that can carry a request. Those the server
    /// closed, or sent bytes on that no request asked for, are dropped (and
    /// their bytes credited to nothing); a dial then replaces them.
    fn pop_clean(&self, inner: &mut Inner) -> Option<Conn> {
        while let Some(conn) = inner.idle.pop() {
            match conn.idle_state() {
                IdleState::Clean => return Some(conn),
                IdleState::Unsolicited => self.note_unsolicited(),
                IdleState::Closed => {}
            }
            inner.open -= 1;
        }
        None
    }

    /// Counts a connection closed for bytes that no request asked for.
    pub fn note_unsolicited(&self) {
        self.unsolicited.set(self.unsolicited.get() + 1);
    }

    /// Connections dialled again, and made, after warm-up.
    pub fn redials(&self) -> u64 {
        self.redials.get()
    }

    /// Connections closed so far for bytes that no request asked for.
    pub fn unsolicited(&self) -> u64 {
        self.unsolicited.get()
    }

    /// Returns a healthy connection.
    pub fn release(&self, conn: Conn) {
        self.inner.borrow_mut().idle.push(conn);
        self.waiters.wake_one();
    }

    /// Forgets a connection that was closed or broken (the caller dropped it).
    pub fn retire(&self) {
        self.inner.borrow_mut().open -= 1;
        self.waiters.wake_one();
    }

    /// Closes idle connections (end of run).
    pub fn close_all(&self) {
        let mut inner = self.inner.borrow_mut();
        let n = inner.idle.len();
        inner.idle.clear();
        inner.open -= n;
    }
}
