//! One back-end's HTTP side: its auth header, and one attempt: send, read
//! the body in chunks up to `max_response_bytes` (never buffering more),
//! classify. Two transports, as `http_version` says:
//! - HTTP/2 (`2`, and `auto` over https when the server picks h2 by ALPN):
//!   our own connections on the `h2` crate (`super::http2`);
//! - HTTP/1.1 (`1.1`, `auto` over plain http, and `auto` over https when the
//!   server picks http/1.1): a pooled reqwest client, HTTP/1.1 only.
//!
//! Both: rustls on ring, no redirects, no proxy, timeouts set.
//!
//! HTTP/2 carries every call to a back-end over one connection, and many
//! calls' frames in one write: at the Kannel bench's saturation the
//! back-end call was a quarter of the gateway's CPU, half of it one
//! loopback `writev` per call over HTTP/1.1, and HTTP/2 took the CPU per
//! message from 81–95 µs to 63–69 µs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT,
};

use super::http2::{self, OpenError, H2};
use super::outcome::{classify, Answer, Failure};
use super::request::Prepared;
use super::BackendError;
use crate::config::{Auth, Backend, HttpVersion, Secret};

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// Connection set-up never takes more than this, whatever the timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// An HTTP/2 connection is pinged this often, and closed when a ping is
/// not answered within the timeout.
const H2_PING_EVERY: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP/2 connections to one back-end at most; a second is opened only
/// when the first is at the server's limit on concurrent streams (nginx
/// 128, hyper 200), and so on.
const H2_MAX_CONNECTIONS: usize = 8;

const AGENT: &str = concat!("bawaba/", env!("CARGO_PKG_VERSION"));

/// The HTTP clients and credentials of one back-end.
pub struct Http {
    /// HTTP/1.1 (and the way on for `auto` when the server picks it).
    client: reqwest::Client,
    /// HTTP/2, unless `http_version` is `1.1` or `auto` over plain http.
    h2: Option<H2>,
    /// `2`: never HTTP/1.1, even when the server offers nothing else.
    h2_only: bool,
    /// `auto` over https, and the server picked http/1.1: calls go by
    /// `client` from then on (until the gateway restarts).
    picked_h1: AtomicBool,
    auth: Option<(HeaderName, HeaderValue)>,
    max_bytes: u64,
}

/// The call-level headers every attempt carries.
pub struct CallHeaders {
    pub idempotency_key: HeaderValue,
    pub correlation_id: HeaderValue,
}

impl Http {
    pub fn new(b: &Backend) -> Result<Http, BackendError> {
        if b.base_url.scheme() != "https" && !b.allow_http {
            return Err(BackendError::PlainHttp {
                backend: b.name.clone(),
            });
        }
        let tls = tls_config(b).map_err(|detail| BackendError::Tls {
            backend: b.name.clone(),
            detail,
        })?;
        // The TLS configs are ours, so the ALPN offers are too: h2 as
        // `http_version` allows for our HTTP/2 connection, http/1.1 alone
        // for reqwest's pool.
        let alpn = |protocols: &[&[u8]]| {
            let mut t = tls.clone();
            t.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
            t
        };
        let https = b.base_url.scheme() == "https";
        let h2 = match (b.http_version, https) {
            (HttpVersion::Http1, _) | (HttpVersion::Auto, false) => None,
            (HttpVersion::Http2, _) => Some(h2_client(b, https.then(|| alpn(&[b"h2"])))?),
            (HttpVersion::Auto, true) => Some(h2_client(b, Some(alpn(&[b"h2", b"http/1.1"])))?),
        };
        let client = reqwest::Client::builder()
            .http1_only()
            .tls_backend_preconfigured(alpn(&[b"http/1.1"]))
            .https_only(!b.allow_http)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .connect_timeout(CONNECT_TIMEOUT.min(b.timeout))
            // No client-wide `timeout`: the call's deadline (<= `timeout`,
            // `tokio::time::timeout_at` around each attempt) bounds every
            // attempt, and a second timer per request costs throughput.
            .pool_max_idle_per_host(b.concurrency)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(AGENT)
            .build()
            .map_err(|e| BackendError::Client {
                backend: b.name.clone(),
                detail: e.to_string(),
            })?;
        Ok(Http {
            client,
            h2,
            h2_only: b.http_version == HttpVersion::Http2,
            picked_h1: AtomicBool::new(false),
            auth: auth_header(b)?,
            max_bytes: b.max_response_bytes,
        })
    }

    /// One attempt. The caller bounds it with the call's deadline.
    pub async fn attempt(
        &self,
        req: &Prepared,
        call: &CallHeaders,
        not_found: &[u16],
    ) -> (Option<u16>, Result<Answer, Failure>) {
        if let Some(h2) = self
            .h2
            .as_ref()
            .filter(|_| !self.picked_h1.load(Ordering::Relaxed))
        {
            match self.attempt_h2(h2, req, call, not_found).await {
                Ok(done) => return done,
                Err(()) if self.h2_only => {
                    tracing::warn!("the back-end does not speak HTTP/2 (http_version = \"2\")");
                    return (None, Err(Failure::Transport));
                }
                Err(()) => {
                    tracing::info!("the back-end picked HTTP/1.1; calls go over HTTP/1.1");
                    self.picked_h1.store(true, Ordering::Relaxed);
                }
            }
        }
        self.attempt_h1(req, call, not_found).await
    }

    /// One attempt over HTTP/2. `Err(())`: the server picked HTTP/1.1.
    async fn attempt_h2(
        &self,
        h2: &H2,
        req: &Prepared,
        call: &CallHeaders,
        not_found: &[u16],
    ) -> Result<(Option<u16>, Result<Answer, Failure>), ()> {
        let Ok(uri) = http::Uri::try_from(req.url.as_str()) else {
            return Ok((None, Err(Failure::Request)));
        };
        let length = req.body.as_ref().map(Vec::len);
        let build = || {
            let mut request = http::Request::new(());
            *request.method_mut() = req.method.clone();
            *request.uri_mut() = uri.clone();
            let headers = request.headers_mut();
            headers.clone_from(&req.headers);
            // New with every call: "never indexed" spares HPACK's table an
            // insert and an eviction per call that no later call would use.
            headers.insert(IDEMPOTENCY_KEY, never_indexed(&call.idempotency_key));
            headers.insert(CORRELATION_ID, never_indexed(&call.correlation_id));
            headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
            if let Some((name, value)) = &self.auth {
                headers.insert(name.clone(), value.clone());
            }
            if let Some(length) = length {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
            }
            request
        };
        let body = req.body.as_deref().map(Bytes::copy_from_slice);
        let (response, _stream) = match h2.send(build, body).await {
            Ok(sent) => sent,
            Err(OpenError::NotH2) => return Err(()),
            Err(OpenError::Failed(f)) => return Ok((None, Err(f))),
        };
        let status = response.status().as_u16();
        if http2::content_length(response.headers()).is_some_and(|n| n > self.max_bytes) {
            return Ok((Some(status), Err(Failure::TooLarge)));
        }
        let mut stream = response.into_body();
        Ok(match http2::read_body(&mut stream, self.max_bytes).await {
            Ok(body) => (Some(status), classify(status, &body, not_found)),
            Err(None) => (Some(status), Err(Failure::TooLarge)),
            Err(Some(f)) => (Some(status), Err(f)),
        })
    }

    /// One attempt over reqwest (HTTP/1.1).
    async fn attempt_h1(
        &self,
        req: &Prepared,
        call: &CallHeaders,
        not_found: &[u16],
    ) -> (Option<u16>, Result<Answer, Failure>) {
        let mut builder = self
            .client
            .request(req.method.clone(), req.url.clone())
            .headers(req.headers.clone())
            .header(IDEMPOTENCY_KEY, call.idempotency_key.clone())
            .header(CORRELATION_ID, call.correlation_id.clone());
        if let Some((name, value)) = &self.auth {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let mut response = match builder.send().await {
            Ok(r) => r,
            Err(e) => return (None, Err(transport(e))),
        };
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return (Some(status), Err(Failure::TooLarge));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > self.max_bytes {
                        // Dropping the response closes the connection.
                        return (Some(status), Err(Failure::TooLarge));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return (Some(status), Err(transport(e))),
            }
        }
        (Some(status), classify(status, &body, not_found))
    }
}

fn never_indexed(v: &HeaderValue) -> HeaderValue {
    let mut v = v.clone();
    v.set_sensitive(true);
    v
}

/// The HTTP/2 connection of `b`: TLS with the ALPN offer already set, or
/// prior knowledge over plain http.
fn h2_client(b: &Backend, tls: Option<rustls::ClientConfig>) -> Result<H2, BackendError> {
    let client_error = |detail: String| BackendError::Client {
        backend: b.name.clone(),
        detail,
    };
    let host = match b.base_url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(client_error("base_url has no host".into())),
    };
    let port = b
        .base_url
        .port_or_known_default()
        .ok_or_else(|| client_error("base_url has no port".into()))?;
    H2::new(http2::Settings {
        host,
        port,
        tls: tls.map(Arc::new),
        connect_timeout: CONNECT_TIMEOUT.min(b.timeout),
        stream_window: h2_stream_window(b.max_response_bytes),
        ping_every: H2_PING_EVERY,
        ping_timeout: H2_PING_TIMEOUT,
        remember_not_h2: b.http_version == HttpVersion::Auto,
        max_connections: b.concurrency.clamp(1, H2_MAX_CONNECTIONS),
    })
    .map_err(client_error)
}

fn h2_stream_window(max_response_bytes: u64) -> u32 {
    max_response_bytes.clamp(64 << 10, 2 << 20) as u32
}

/// A connect timeout is a connection failure like any other; only the
/// call's deadline (enforced by the caller) is `Timeout`. The URL is cut
/// from the message: its path holds the citizen's parameters.
fn transport(e: reqwest::Error) -> Failure {
    let e = e.without_url();
    let source = std::error::Error::source(&e).map(ToString::to_string);
    tracing::debug!(error = %e, source, "transport error");
    Failure::Transport
}

fn auth_header(b: &Backend) -> Result<Option<(HeaderName, HeaderValue)>, BackendError> {
    let secret_error = || BackendError::Secret {
        backend: b.name.clone(),
    };
    let value = |prefix: &str, token: &Secret| -> Result<HeaderValue, BackendError> {
        let token = token
            .expose()
            .filter(|t| !t.is_empty())
            .ok_or_else(secret_error)?;
        let mut v =
            HeaderValue::from_str(&format!("{prefix}{token}")).map_err(|_| secret_error())?;
        v.set_sensitive(true);
        Ok(v)
    };
    Ok(match &b.auth {
        Auth::None | Auth::Mtls { .. } => None,
        Auth::Bearer { token } => Some((AUTHORIZATION, value("Bearer ", token)?)),
        Auth::ApiKey { header, token } => {
            let name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| secret_error())?;
            Some((name, value("", token)?))
        }
    })
}

/// rustls with the ring provider, TLS 1.2+. Roots: the mTLS `ca` alone when
/// given (a ministry's private CA, pinned), else the platform's. Plain-HTTP
/// back-ends get an empty root store: nothing can be trusted over TLS.
fn tls_config(b: &Backend) -> Result<rustls::ClientConfig, String> {
    use crate::tls::Trust;
    let (ca, identity) = match &b.auth {
        Auth::Mtls { cert, key, ca } => (ca.as_deref(), Some((cert.as_path(), key.as_path()))),
        _ => (None, None),
    };
    let trust = match ca {
        Some(ca) => Trust::CaFile(ca),
        None if b.base_url.scheme() == "https" => Trust::Platform,
        None => Trust::Nobody,
    };
    crate::tls::client_config(trust, identity)
}
