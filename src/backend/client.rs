//! One back-end's HTTP side: a pooled reqwest client (rustls on ring,
//! HTTP/1.1 or HTTP/2 as `http_version` says, no redirects, no proxy,
//! timeouts set), its auth header, and one attempt: send, read the body in
//! chunks up to `max_response_bytes` (never buffering more), classify.
//!
//! HTTP/2 carries every call to a back-end over one connection, and many
//! calls' frames in one write: at the Kannel bench's saturation the
//! back-end call was a quarter of the gateway's CPU, half of it one
//! loopback `writev` per call over HTTP/1.1, and HTTP/2 took the CPU per
//! message from 81–95 µs to 63–69 µs.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

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

/// The HTTP client and credentials of one back-end.
pub struct Http {
    client: reqwest::Client,
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
        let mut tls = tls_config(b).map_err(|detail| BackendError::Tls {
            backend: b.name.clone(),
            detail,
        })?;
        // The TLS config is ours, so the ALPN offer is too (reqwest reads
        // what the server picked).
        tls.alpn_protocols = match b.http_version {
            HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
            HttpVersion::Http2 => vec![b"h2".to_vec()],
            HttpVersion::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        let https = b.base_url.scheme() == "https";
        let builder = match (b.http_version, https) {
            (HttpVersion::Http1, _) | (HttpVersion::Auto, false) => {
                reqwest::Client::builder().http1_only()
            }
            (HttpVersion::Http2, _) => reqwest::Client::builder().http2_prior_knowledge(),
            (HttpVersion::Auto, true) => reqwest::Client::builder(),
        };
        let client = builder
            // One HTTP/2 connection carries every call: a peer that stops
            // answering is noticed by a PING within 10 s rather than by
            // each call's deadline, and the next call opens a new one.
            .http2_keep_alive_interval(H2_PING_EVERY)
            .http2_keep_alive_timeout(H2_PING_TIMEOUT)
            .http2_keep_alive_while_idle(true)
            // What a ministry may send before we read it: one answer's cap
            // per call (64 KiB to 2 MiB), hyper's 5 MiB per connection.
            .http2_initial_stream_window_size(h2_stream_window(b.max_response_bytes))
            .tls_backend_preconfigured(tls)
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
            .user_agent(concat!("bawaba/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BackendError::Client {
                backend: b.name.clone(),
                detail: e.to_string(),
            })?;
        Ok(Http {
            client,
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
