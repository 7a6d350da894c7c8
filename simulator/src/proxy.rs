//! A fault-injecting TCP proxy for tests (toxiproxy's server is not installable here): put it
//! between the gateway and the SMSC and break the link on purpose, at run time.
//!
//! [`Faults`] are standing conditions read by every connection as it forwards each chunk:
//! added latency with jitter, a half-open link (`blackhole`: no byte either way, both sockets
//! stay open, new connections are accepted and swallowed too), a one-way stall, a close after
//! N bytes, and refusing new connections. [`ProxyHandle::reset`] is the one-off: every open
//! connection is aborted with a TCP RST on both sides.
//!
//! Bytes held by a blackhole or a stall are kept (bounded: [`HELD`] chunks per direction, then
//! the reader stops reading and TCP flow control pushes back), and flow once the fault heals,
//! as TCP retransmission would deliver them. An EOF is held the same way, so a half-open link
//! never shows either end a close.
//!
//! Must not: parse what it carries, or grow without bound.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Chunks held per direction of one connection before the proxy stops reading.
pub const HELD: usize = 64;
/// Connections open at once; beyond it new ones are reset.
pub const MAX_CONNECTIONS: usize = 1024;
/// Largest chunk read at once.
const CHUNK: usize = 16 * 1024;

/// A direction through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Client to upstream (gateway to SMSC).
    Up,
    /// Upstream to client (SMSC to gateway).
    Down,
}

/// Standing faults; [`Faults::default`] forwards everything at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Added to every chunk, each way.
    pub latency: Duration,
    /// Plus a uniform random delay in `0..=jitter` (order is kept: a chunk never overtakes
    /// the one before it).
    pub jitter: Duration,
    /// Half-open link: no byte moves either way, no close is passed on, sockets stay open.
    pub blackhole: bool,
    /// One-way stall: bytes in this direction stop (held), the other way flows.
    pub stall: Option<Flow>,
    /// Close each connection (FIN both ways) once it has carried this many bytes, both
    /// directions together, counted from its start.
    pub close_after: Option<u64>,
    /// New connections are reset at once (as if nothing listened upstream).
    pub refuse: bool,
}

impl Faults {
    fn holds(&self, flow: Flow) -> bool {
        self.blackhole || self.stall == Some(flow)
    }
    fn delay(&self) -> Duration {
        let jitter = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            self.jitter.mul_f64(rand::random::<f64>())
        };
        self.latency + jitter
    }
}

/// Counters a test reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted since start (refused ones included).
    pub accepted: u64,
    /// Connections reset at accept (`refuse` set, or `MAX_CONNECTIONS` open).
    pub refused: u64,
    /// Connections open now.
    pub open: u64,
    /// Bytes forwarded, each way.
    pub bytes_up: u64,
    pub bytes_down: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

struct Shared {
    faults: watch::Sender<Faults>,
    counters: Counters,
    /// Open connections: id -> (both sockets, the token that ends the connection).
    conns: Mutex<HashMap<u64, Conn>>,
    upstream: SocketAddr,
}

struct Conn {
    sockets: [Arc<TcpStream>; 2],
    end: CancellationToken,
}

/// The running proxy. Dropping the handle does not stop it; [`ProxyHandle::shutdown`] does.
#[derive(Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    stop: CancellationToken,
}

/// Starts a proxy listening on `listen` (`127.0.0.1:0` in tests) forwarding to `upstream`.
pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<ProxyHandle> {
    let listener = TcpListener::bind(listen).await?;
    let local_addr = listener.local_addr()?;
    let (faults, _) = watch::channel(Faults::default());
    let shared = Arc::new(Shared {
        faults,
        counters: Counters::default(),
        conns: Mutex::new(HashMap::new()),
        upstream,
    });
    let stop = CancellationToken::new();
    tokio::spawn(accept_loop(listener, shared.clone(), stop.clone()));
    Ok(ProxyHandle {
        shared,
        local_addr,
        stop,
    })
}

impl ProxyHandle {
    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// Replaces the standing faults; open connections follow at their next chunk.
    pub fn set(&self, faults: Faults) {
        self.shared.faults.send_replace(faults);
    }
    /// Changes the standing faults in place.
    pub fn update(&self, f: impl FnOnce(&mut Faults)) {
        self.shared.faults.send_modify(f);
    }
    /// No faults any more: held bytes flow.
    pub fn heal(&self) {
        self.set(Faults::default());
    }
    pub fn faults(&self) -> Faults {
        self.shared.faults.borrow().clone()
    }
    /// Aborts every open connection with a TCP RST on both sides; returns how many.
    pub fn reset(&self) -> usize {
        let conns: Vec<Conn> = lock(&self.shared.conns).drain().map(|(_, c)| c).collect();
        for c in &conns {
            for s in &c.sockets {
                let _ = s.set_zero_linger();
            }
            c.end.cancel();
        }
        conns.len()
    }
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.counters;
        ProxyStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            open: lock(&self.shared.conns).len() as u64,
            bytes_up: c.bytes_up.load(Ordering::Relaxed),
            bytes_down: c.bytes_down.load(Ordering::Relaxed),
        }
    }
    /// Stops accepting and closes every connection.
    pub fn shutdown(&self) {
        self.stop.cancel();
        for (_, c) in lock(&self.shared.conns).drain() {
            c.end.cancel();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let mut next_id = 0u64;
    loop {
        let (client, _) = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "proxy accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let full = lock(&shared.conns).len() >= MAX_CONNECTIONS;
        if full || shared.faults.borrow().refuse {
            shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            let _ = client.set_zero_linger();
            drop(client);
            continue;
        }
        next_id += 1;
        tokio::spawn(connection(next_id, client, shared.clone()));
    }
}

/// One proxied connection: connect upstream, then two pumps until either side ends it.
async fn connection(id: u64, client: TcpStream, shared: Arc<Shared>) {
    let upstream = match TcpStream::connect(shared.upstream).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "proxy: upstream connect failed; resetting the client");
            let _ = client.set_zero_linger();
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (client, upstream) = (Arc::new(client), Arc::new(upstream));
    let end = CancellationToken::new();
    lock(&shared.conns).insert(
        id,
        Conn {
            sockets: [client.clone(), upstream.clone()],
            end: end.clone(),
        },
    );
    let carried = Arc::new(AtomicU64::new(0));
    let mut pumps = JoinSet::new();
    for (flow, from, to) in [
        (Flow::Up, client.clone(), upstream.clone()),
        (Flow::Down, upstream.clone(), client.clone()),
    ] {
        let pump = Pump {
            flow,
            from,
            to,
            shared: shared.clone(),
            carried: carried.clone(),
            end: end.clone(),
        };
        pumps.spawn(pump.run());
    }
    // Each pump half-closes its destination at EOF; the connection ends when both have, or at
    // once on a reset, a close-after or shutdown.
    tokio::select! {
        _ = end.cancelled() => pumps.abort_all(),
        _ = async { while pumps.join_next().await.is_some() {} } => {}
    }
    while pumps.join_next().await.is_some() {}
    lock(&shared.conns).remove(&id);
}

/// What one direction's reader hands its writer.
enum Piece {
    Data(Bytes, Instant),
    Eof(Instant),
}

struct Pump {
    flow: Flow,
    from: Arc<TcpStream>,
    to: Arc<TcpStream>,
    shared: Arc<Shared>,
    carried: Arc<AtomicU64>,
    end: CancellationToken,
}

impl Pump {
    /// Runs until this direction has passed on its EOF, or the connection ends.
    async fn run(self) {
        let (tx, rx) = mpsc::channel(HELD);
        let reader = read_side(self.from.clone(), self.shared.faults.subscribe(), tx);
        tokio::join!(reader, self.write_side(rx));
    }

    async fn write_side(&self, mut rx: mpsc::Receiver<Piece>) {
        let mut faults = self.shared.faults.subscribe();
        while let Some(piece) = rx.recv().await {
            let due = match &piece {
                Piece::Data(_, due) | Piece::Eof(due) => *due,
            };
            tokio::time::sleep_until(due).await;
            while faults.borrow_and_update().holds(self.flow) {
                if faults.changed().await.is_err() {
                    return;
                }
            }
            let data = match piece {
                Piece::Eof(_) => {
                    half_close(&self.to);
                    return;
                }
                Piece::Data(data, _) => data,
            };
            let limit = faults.borrow().close_after;
            let before = self.carried.fetch_add(data.len() as u64, Ordering::AcqRel);
            let (send, close) = match limit {
                Some(n) if before + data.len() as u64 >= n => (
                    &data[..n.saturating_sub(before).min(data.len() as u64) as usize],
                    true,
                ),
                _ => (&data[..], false),
            };
            if write_all(&self.to, send).await.is_err() {
                self.end.cancel();
                return;
            }
            let c = &self.shared.counters;
            let counter = match self.flow {
                Flow::Up => &c.bytes_up,
                Flow::Down => &c.bytes_down,
            };
            counter.fetch_add(send.len() as u64, Ordering::Relaxed);
            if close {
                half_close(&self.to);
                half_close(&self.from);
                self.end.cancel();
                return;
            }
        }
    }
}

/// Reads chunks and stamps each with when it may be written (never before the previous one).
async fn read_side(from: Arc<TcpStream>, faults: watch::Receiver<Faults>, tx: mpsc::Sender<Piece>) {
    let mut last_due = Instant::now();
    let mut buf = vec![0u8; CHUNK];
    loop {
        // A read error ends this direction like an EOF.
        let n: usize = read_some(&from, &mut buf).await.unwrap_or_default();
        let due = (Instant::now() + faults.borrow().delay()).max(last_due);
        last_due = due;
        let piece = if n == 0 {
            Piece::Eof(due)
        } else {
            Piece::Data(Bytes::copy_from_slice(&buf[..n]), due)
        };
        let eof = matches!(piece, Piece::Eof(_));
        if tx.send(piece).await.is_err() || eof {
            return;
        }
    }
}

async fn read_some(s: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        s.readable().await?;
        match s.try_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

async fn write_all(s: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// FIN towards this socket's peer (our write side only).
fn half_close(s: &TcpStream) {
    let _ = socket_shutdown_write(s);
}

fn socket_shutdown_write(s: &TcpStream) -> io::Result<()> {
    use std::os::fd::AsFd;
    let fd = s.as_fd().try_clone_to_owned()?;
    let std = std::net::TcpStream::from(fd);
    std.shutdown(std::net::Shutdown::Write)
}
