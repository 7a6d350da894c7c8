//! HTTP/2 to one back-end straight over the `h2` crate: one connection
//! (TLS with ALPN `h2`, or prior knowledge over plain http), every call a
//! stream on it; a further connection only while every open one is at the
//! server's limit on concurrent streams, up to `max_connections`.
//!
//! Why not reqwest for this: at the Kannel bench's saturation, reqwest's
//! layers around each HTTP/2 call (its request builder and `Url`, tower's
//! retry and redirect futures, hyper-util's pool checkout, hyper's dispatch
//! channel) were ~18 % of the gateway's CPU, more than the HTTP/2 framing
//! itself. Here a call is a clone of the connection's `SendRequest`, one
//! `send_request`, and the read of its stream.
//!
//! A connection is opened when needed, by one caller while the others
//! wait for it, offered to calls once a first PING is answered (the
//! server's SETTINGS, its stream limit among them, come before), and
//! dropped from the pool when it ends. A connection found dead when a
//! call starts is replaced once within that attempt; a request the server
//! did not process is sent once more. A task per connection drives it and
//! pings it every 30 s; an unanswered ping (10 s) closes it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http::{HeaderMap, HeaderValue, Request, Response};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::outcome::Failure;

/// What the server may send in a response's headers.
const MAX_HEADER_LIST: u32 = 64 << 10;
/// hyper's connection-level receive window, kept.
const CONNECTION_WINDOW: u32 = 5 << 20;

/// How an h2 connection to one back-end is made and kept.
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// `None`: plain TCP with prior knowledge.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub connect_timeout: Duration,
    pub stream_window: u32,
    pub ping_every: Duration,
    pub ping_timeout: Duration,
    /// `auto`: a server that picked HTTP/1.1 is not asked again (the
    /// caller goes on over HTTP/1.1). Otherwise every connect asks.
    pub remember_not_h2: bool,
    /// Connections opened at most, each only when the others are at the
    /// server's limit on concurrent streams.
    pub max_connections: usize,
}

/// One open connection: its sender, and the streams it carries now.
#[derive(Clone)]
struct Conn {
    generation: u64,
    sender: SendRequest<Bytes>,
    streams: Arc<AtomicUsize>,
}

impl Conn {
    /// Below the server's limit on concurrent streams (100 assumed until
    /// its SETTINGS arrive).
    fn has_room(&self) -> bool {
        self.streams.load(Ordering::Relaxed) < self.sender.current_max_send_streams()
    }
}

/// A stream counted against its connection until dropped: keep it until
/// the response's body is read.
pub struct Stream {
    streams: Arc<AtomicUsize>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One back-end's HTTP/2 connections: the first carries every call while
/// it has room under the server's stream limit; another is opened only
/// when all are full, up to `max_connections`.
pub struct H2 {
    settings: Settings,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    live: Arc<Mutex<Vec<Conn>>>,
    generation: AtomicU64,
    /// Held by the caller that opens a connection.
    connecting: tokio::sync::Mutex<()>,
    /// The server picked HTTP/1.1 by ALPN: callers that waited for that
    /// connection do not ask again.
    not_h2: AtomicBool,
}

/// Why no stream could be opened.
#[derive(Debug)]
pub enum OpenError {
    /// Over TLS the server chose HTTP/1.1 (or no protocol): only `auto`
    /// may then go on over HTTP/1.1.
    NotH2,
    Failed(Failure),
}

impl H2 {
    pub fn new(settings: Settings) -> Result<H2, String> {
        let tls = match &settings.tls {
            Some(config) => {
                let name = ServerName::try_from(settings.host.clone())
                    .map_err(|e| format!("{}: not a TLS server name: {e}", settings.host))?;
                Some((TlsConnector::from(config.clone()), name))
            }
            None => None,
        };
        Ok(H2 {
            settings,
            tls,
            live: Arc::new(Mutex::new(Vec::new())),
            generation: AtomicU64::new(0),
            connecting: tokio::sync::Mutex::new(()),
            not_h2: AtomicBool::new(false),
        })
    }

    /// Sends the request `build` makes (with `body`, if any) on a stream
    /// and waits for the response's head. Keep the `Stream` until the body
    /// is read. A request the server did not process (refused stream, or
    /// above the last stream of its GOAWAY: RFC 9113 6.8, 8.7) is sent
    /// again once, whatever its method; `build` makes it anew.
    pub async fn send(
        &self,
        build: impl Fn() -> Request<()>,
        body: Option<Bytes>,
    ) -> Result<(Response<h2::RecvStream>, Stream), OpenError> {
        let mut fresh = false;
        let mut resent = false;
        loop {
            let conn = match self.pick() {
                Some(conn) => conn,
                None => {
                    fresh = true;
                    // Boxed: rare, and its TLS and h2 handshakes would
                    // otherwise make every call's future ~5 KiB larger
                    // (moved into its box, and about, on every call).
                    Box::pin(self.connect()).await?
                }
            };
            conn.streams.fetch_add(1, Ordering::Relaxed);
            let stream = Stream {
                streams: conn.streams,
            };
            let mut sender = match conn.sender.ready().await {
                Ok(s) => s,
                Err(e) if !fresh => {
                    // Ended (GOAWAY, reset) since it was last used.
                    tracing::debug!(error = %e, "h2 connection gone; reconnecting");
                    self.forget(conn.generation);
                    continue;
                }
                Err(e) => return Err(OpenError::Failed(transport(&e))),
            };
            let end = body.is_none();
            let (response, mut sending) = match sender.send_request(build(), end) {
                Ok(sent) => sent,
                Err(e) => {
                    self.forget(conn.generation);
                    return Err(OpenError::Failed(transport(&e)));
                }
            };
            if let Some(body) = &body {
                // A send error shows again as the response's error.
                let _ = sending.send_data(body.clone(), true);
            }
            match response.await {
                Ok(response) => return Ok((response, stream)),
                Err(e) if !resent && unprocessed(&e) => {
                    tracing::debug!(error = %e, "h2 request not processed; sending it again");
                    if e.is_go_away() {
                        self.forget(conn.generation);
                    }
                    resent = true;
                }
                Err(e) => return Err(OpenError::Failed(transport(&e))),
            }
        }
    }

    /// The first connection with room; else, when no other may be opened,
    /// the least busy (its calls wait for a stream, within their
    /// deadline); else none.
    fn pick(&self) -> Option<Conn> {
        let live = lock(&self.live);
        if let Some(conn) = live.iter().find(|c| c.has_room()) {
            return Some(conn.clone());
        }
        if live.len() < self.settings.max_connections {
            return None;
        }
        live.iter()
            .min_by_key(|c| c.streams.load(Ordering::Relaxed))
            .cloned()
    }

    fn forget(&self, generation: u64) {
        lock(&self.live).retain(|c| c.generation != generation);
    }

    /// Opens a connection unless another caller made room meanwhile.
    async fn connect(&self) -> Result<Conn, OpenError> {
        let _one = self.connecting.lock().await;
        if let Some(conn) = self.pick() {
            return Ok(conn);
        }
        if self.not_h2.load(Ordering::Relaxed) {
            return Err(OpenError::NotH2);
        }
        let s = &self.settings;
        let failed = |e: &dyn std::fmt::Display| {
            tracing::debug!(error = %e, "h2 connect failed");
            OpenError::Failed(Failure::Transport)
        };
        let tcp = tokio::time::timeout(
            s.connect_timeout,
            TcpStream::connect((s.host.as_str(), s.port)),
        )
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))?;
        tcp.set_nodelay(true).map_err(|e| failed(&e))?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let sender = match &self.tls {
            None => self.handshake(tcp, generation).await?,
            Some((connector, name)) => {
                let tls =
                    tokio::time::timeout(s.connect_timeout, connector.connect(name.clone(), tcp))
                        .await
                        .map_err(|e| failed(&e))?
                        .map_err(|e| failed(&e))?;
                if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
                    self.not_h2.store(s.remember_not_h2, Ordering::Relaxed);
                    return Err(OpenError::NotH2);
                }
                self.handshake(tls, generation).await?
            }
        };
        let conn = Conn {
            generation,
            sender,
            streams: Arc::new(AtomicUsize::new(0)),
        };
        let mut live = lock(&self.live);
        live.push(conn.clone());
        tracing::debug!(connections = live.len(), "h2 connection opened");
        Ok(conn)
    }

    /// The HTTP/2 preface and settings; spawns the connection's driver.
    async fn handshake<T>(&self, io: T, generation: u64) -> Result<SendRequest<Bytes>, OpenError>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let s = &self.settings;
        let handshake = h2::client::Builder::new()
            .enable_push(false)
            // Until the server's SETTINGS say otherwise (RFC 9113 advises
            // at least 100).
            .initial_max_send_streams(100)
            .initial_window_size(s.stream_window)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_header_list_size(MAX_HEADER_LIST)
            .handshake::<_, Bytes>(io);
        let (sender, mut connection) = tokio::time::timeout(s.connect_timeout, handshake)
            .await
            .map_err(|_| OpenError::Failed(Failure::Transport))?
            .map_err(|e| OpenError::Failed(transport(&e)))?;
        let mut pings = connection.ping_pong();
        let (every, timeout) = (s.ping_every, s.ping_timeout);
        let live = Arc::clone(&self.live);
        // The server's SETTINGS (its limit on streams among them) come
        // before its answer to a first PING: once that is back, the
        // connection is offered to callers, who then never open more
        // streams than the server takes.
        let (settled_tx, settled) = tokio::sync::oneshot::channel::<()>();
        let driver = tokio::spawn(async move {
            let keep_alive = async {
                let Some(pings) = pings.as_mut() else {
                    drop(settled_tx);
                    return std::future::pending().await;
                };
                if pings.ping(h2::Ping::opaque()).await.is_err() {
                    return;
                }
                let _ = settled_tx.send(());
                loop {
                    tokio::time::sleep(every).await;
                    match tokio::time::timeout(timeout, pings.ping(h2::Ping::opaque())).await {
                        Ok(Ok(_)) => {}
                        _ => return,
                    }
                }
            };
            tokio::select! {
                ended = connection => {
                    if let Err(e) = ended {
                        tracing::debug!(error = %e, "h2 connection ended");
                    }
                }
                () = keep_alive => tracing::warn!("h2 connection dropped: ping unanswered"),
            }
            lock(&live).retain(|c| c.generation != generation);
        });
        match tokio::time::timeout(s.connect_timeout, settled).await {
            Ok(Ok(())) => {}
            _ => {
                tracing::debug!("h2 connection: no answer to the first PING");
                driver.abort();
                return Err(OpenError::Failed(Failure::Transport));
            }
        }
        Ok(sender)
    }
}

/// Reads `stream` to its end, at most `max` bytes (never buffering more),
/// giving the window back as it goes. `Err(None)`: too large.
pub async fn read_body(stream: &mut h2::RecvStream, max: u64) -> Result<Vec<u8>, Option<Failure>> {
    let mut body = Vec::new();
    while let Some(chunk) = stream.data().await {
        let chunk = chunk.map_err(|e| Some(transport(&e)))?;
        let _ = stream.flow_control().release_capacity(chunk.len());
        if (body.len() + chunk.len()) as u64 > max {
            // Dropping the stream resets it (CANCEL); the connection stays.
            return Err(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The response's declared length, if any.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v: &HeaderValue| v.to_str().ok()?.parse().ok())
}

/// The server says it did not process the request.
fn unprocessed(e: &h2::Error) -> bool {
    e.is_remote() && (e.is_go_away() || e.reason() == Some(h2::Reason::REFUSED_STREAM))
}

fn transport(e: &h2::Error) -> Failure {
    tracing::debug!(error = %e, "h2 transport error");
    Failure::Transport
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
