//! HTTP/2 to one back-end straight over the `h2` crate: one connection
//! (TLS with ALPN `h2`, or prior knowledge over plain http), every call a
//! stream on it.
//!
//! Why not reqwest for this: at the Kannel bench's saturation, reqwest's
//! layers around each HTTP/2 call (its request builder and `Url`, tower's
//! retry and redirect futures, hyper-util's pool checkout, hyper's dispatch
//! channel) were ~18 % of the gateway's CPU, more than the HTTP/2 framing
//! itself. Here a call is a clone of the connection's `SendRequest`, one
//! `send_request`, and the read of its stream.
//!
//! The connection is opened on first use, by one caller while the others
//! wait for it, and again after it ends. A connection found dead when a
//! call starts is replaced once within that attempt. A task per connection
//! drives it and pings it every 30 s; an unanswered ping (10 s) closes it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
}

/// The live connection's generation and sender, if there is one.
type Live = Option<(u64, SendRequest<Bytes>)>;

/// One back-end's HTTP/2 connection.
pub struct H2 {
    settings: Settings,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// The live connection's sender and its generation.
    live: Arc<Mutex<Live>>,
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
            live: Arc::new(Mutex::new(None)),
            generation: AtomicU64::new(0),
            connecting: tokio::sync::Mutex::new(()),
            not_h2: AtomicBool::new(false),
        })
    }

    /// Sends `req` (with `body`, if any) on a stream and waits for the
    /// response's head.
    pub async fn send(
        &self,
        req: Request<()>,
        body: Option<Bytes>,
    ) -> Result<Response<h2::RecvStream>, OpenError> {
        let mut fresh = false;
        loop {
            let (generation, sender) = match self.current() {
                Some(live) => live,
                None => {
                    fresh = true;
                    // Boxed: rare, and its TLS and h2 handshakes would
                    // otherwise make every call's future ~5 KiB larger
                    // (moved into its box, and about, on every call).
                    Box::pin(self.connect()).await?
                }
            };
            let mut sender = match sender.ready().await {
                Ok(s) => s,
                Err(e) if !fresh => {
                    // Ended (GOAWAY, reset) since it was last used.
                    tracing::debug!(error = %e, "h2 connection gone; reconnecting");
                    self.forget(generation);
                    continue;
                }
                Err(e) => return Err(OpenError::Failed(transport(&e))),
            };
            let end = body.is_none();
            let (response, mut stream) = match sender.send_request(req, end) {
                Ok(sent) => sent,
                Err(e) => {
                    self.forget(generation);
                    return Err(OpenError::Failed(transport(&e)));
                }
            };
            if let Some(body) = body {
                stream
                    .send_data(body, true)
                    .map_err(|e| OpenError::Failed(transport(&e)))?;
            }
            return response.await.map_err(|e| OpenError::Failed(transport(&e)));
        }
    }

    fn current(&self) -> Live {
        lock(&self.live).clone()
    }

    fn forget(&self, generation: u64) {
        let mut live = lock(&self.live);
        if live.as_ref().is_some_and(|(g, _)| *g == generation) {
            *live = None;
        }
    }

    /// Opens the connection unless another caller did meanwhile.
    async fn connect(&self) -> Result<(u64, SendRequest<Bytes>), OpenError> {
        let _one = self.connecting.lock().await;
        if let Some(live) = self.current() {
            return Ok(live);
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
        *lock(&self.live) = Some((generation, sender.clone()));
        Ok((generation, sender))
    }

    /// The HTTP/2 preface and settings; spawns the connection's driver.
    async fn handshake<T>(&self, io: T, generation: u64) -> Result<SendRequest<Bytes>, OpenError>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let s = &self.settings;
        let handshake = h2::client::Builder::new()
            .enable_push(false)
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
        tokio::spawn(async move {
            let keep_alive = async {
                let Some(pings) = pings.as_mut() else {
                    return std::future::pending().await;
                };
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
            let mut live = lock(&live);
            if live.as_ref().is_some_and(|(g, _)| *g == generation) {
                *live = None;
            }
        });
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

fn transport(e: &h2::Error) -> Failure {
    tracing::debug!(error = %e, "h2 transport error");
    Failure::Transport
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
