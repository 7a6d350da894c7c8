//! The admin listener (`[admin] listen`, loopback by default): health for
//! orchestrators, Prometheus metrics, and the operators' API to publish,
//! stage and roll back flows and to look at and end sessions.
//!
//! Reads (`viewer` or `publisher` token): `/metrics`, `GET /v1/status`,
//! `/v1/binds`, `/v1/flows`, `/v1/flows/history`, `/v1/sessions`,
//! `/v1/audit`, `/v1/audit/verify`. Writes (`publisher` token only): `POST
//! /v1/flows/drafts`, `/v1/flows/publish`, `/v1/flows/rollback`,
//! `/v1/flows/staging/promote`, `/v1/flows/staging/drop`, `DELETE
//! /v1/sessions/{key}`. `/healthz` and `/readyz` need no token. With no
//! `[[admin.tokens]]` (a loopback listener only) reads are open and every
//! write is refused (403). With `allowed_ips`, any other peer gets 403.
//!
//! Owns: the listener, its routes, its auth, and an audit record for every
//! write it refuses or makes outside the publisher (which audits flow
//! changes itself). Must not: publish by itself (it calls
//! `runtime::Control`) or answer slowly: at most [`MAX_REQUESTS`] at once,
//! reads bounded by [`REQUEST_TIMEOUT`], bodies by [`MAX_BODY`].

mod flows;
mod read;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{self, AdminRole, AdminToken};
use crate::runtime::{Control, Probe};

/// Requests served at once; more get 503 at once.
pub const MAX_REQUESTS: usize = 16;
/// A read that takes longer gets 503 (a write runs to its end: a publish
/// is never cut between its history record and the swap).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest request body: a whole draft, every file in it.
pub const MAX_BODY: usize = crate::engine::diagnostic::MAX_FLOW_BYTES as usize;

struct Shared {
    probe: Probe,
    control: Control,
    tokens: Vec<AdminToken>,
    allowed: Vec<ipnet::IpNet>,
    permits: Semaphore,
}

/// A running admin listener.
pub struct Admin {
    local_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Admin {
    /// Serves on `listener` (bound by the caller, `[admin] listen`) until
    /// [`Admin::stop`].
    pub fn serve(
        listener: TcpListener,
        cfg: &config::Admin,
        probe: Probe,
        control: Control,
    ) -> Admin {
        let local_addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let shared = Arc::new(Shared {
            probe,
            control,
            tokens: cfg.tokens.clone(),
            allowed: cfg.allowed_ips.clone(),
            permits: Semaphore::new(MAX_REQUESTS),
        });
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(read::readyz))
            .route("/metrics", get(read::metrics))
            .route("/v1/status", get(read::status))
            .route("/v1/binds", get(read::binds))
            .route("/v1/sessions", get(read::sessions))
            .route("/v1/sessions/{key}", delete(read::end_session))
            .route("/v1/audit", get(read::audit))
            .route("/v1/audit/verify", get(read::verify_audit))
            .route("/v1/flows", get(flows::list))
            .route("/v1/flows/history", get(flows::history))
            .route("/v1/flows/drafts", post(flows::draft))
            .route("/v1/flows/publish", post(flows::publish))
            .route("/v1/flows/rollback", post(flows::rollback))
            .route("/v1/flows/staging/promote", post(flows::promote))
            .route("/v1/flows/staging/drop", post(flows::drop_staged))
            .layer(middleware::from_fn_with_state(shared.clone(), gate))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared);
        let stop = CancellationToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let serve = axum::serve(listener, app).with_graceful_shutdown(until.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "admin listener failed");
            }
        });
        tracing::info!(%local_addr, "admin listener up");
        Admin {
            local_addr,
            stop,
            task,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops taking connections; requests in flight finish (bounded by
    /// [`REQUEST_TIMEOUT`]).
    pub async fn stop(self) {
        self.stop.cancel();
        if tokio::time::timeout(REQUEST_TIMEOUT, self.task)
            .await
            .is_err()
        {
            tracing::warn!("admin listener did not stop in time");
        }
    }
}

/// Every request: the allowlist, then the bound on requests at once.
async fn gate(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if !allowed(&s.allowed, peer) {
        tracing::debug!(peer = ?peer, "admin request from a peer not in allowed_ips; refused");
        return (StatusCode::FORBIDDEN, "forbidden\n").into_response();
    }
    let Ok(_permit) = s.permits.try_acquire() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy\n").into_response();
    };
    next.run(req).await
}

fn allowed(list: &[ipnet::IpNet], peer: Option<IpAddr>) -> bool {
    if list.is_empty() {
        return true;
    }
    let Some(peer) = peer else { return false };
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    list.iter().any(|n| n.contains(&peer))
}

/// Runs a read under the time bound: 503 when it is slow.
async fn bounded<F>(f: F) -> Response
where
    F: std::future::Future<Output = Response>,
{
    match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "timed out\n").into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Who is calling: the token's name, or `-` when no tokens are set.
struct Caller {
    name: String,
    role: AdminRole,
}

/// Why a caller is refused: 401 without a known token, 403 with too
/// small a role (or no publisher token configured for a write).
#[derive(Clone, Copy, Debug)]
enum Denied {
    Unauthorized,
    Forbidden(&'static str),
}

impl Denied {
    fn status(self) -> StatusCode {
        match self {
            Denied::Unauthorized => StatusCode::UNAUTHORIZED,
            Denied::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Unauthorized => {
                let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
                (StatusCode::UNAUTHORIZED, challenge, "token required\n").into_response()
            }
            Denied::Forbidden(msg) => json_error(StatusCode::FORBIDDEN, msg),
        }
    }
}

/// The caller, if allowed `need`.
fn authorize(s: &Shared, headers: &HeaderMap, need: AdminRole) -> Result<Caller, Denied> {
    if s.tokens.is_empty() {
        if need == AdminRole::Viewer {
            return Ok(Caller {
                name: "-".into(),
                role: AdminRole::Viewer,
            });
        }
        let msg = "no publisher token is configured ([[admin.tokens]] with role = \"publisher\")";
        return Err(Denied::Forbidden(msg));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Every token is compared, so the time does not say which matched.
    let mut found = None;
    for t in &s.tokens {
        let same = t
            .secret
            .expose()
            .is_some_and(|v| constant_time_eq(given.as_bytes(), v.as_bytes()));
        if same {
            found = Some(t);
        }
    }
    let Some(t) = found else {
        return Err(Denied::Unauthorized);
    };
    if t.role < need {
        return Err(Denied::Forbidden(
            "this token may only read (role = \"viewer\")",
        ));
    }
    Ok(Caller {
        name: t.name.clone(),
        role: t.role,
    })
}

/// Equal bytes, in time that depends only on the lengths (a token's
/// length is not a secret worth protecting; its content is).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// `key=value` pairs of a query string (no decoding needed: our values
/// are numbers, hex and words).
fn query(uri: &axum::http::Uri) -> Vec<(&str, &str)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .take(16)
        .collect()
}

/// `?{key}=N&limit=M` of a paged listing: (N or `from`, M clamped to
/// `1..=max`, `limit` when absent); or why not (answered 400).
fn paging(
    uri: &axum::http::Uri,
    key: &str,
    from: u64,
    (limit, max): (usize, usize),
) -> Result<(u64, usize), String> {
    let (mut at, mut n) = (from, limit);
    for (k, v) in query(uri) {
        if k != key && k != "limit" {
            continue;
        }
        let Ok(v) = v.parse::<u64>() else {
            return Err(format!("{k} must be a number"));
        };
        if k == key {
            at = v;
        } else {
            n = v.clamp(1, max as u64) as usize;
        }
    }
    Ok((at, n))
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::{allowed, constant_time_eq};

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"s3cret-token-xyz", b"s3cret-token-xyz"));
        assert!(!constant_time_eq(b"s3cret-token-xyz", b"s3cret-token-xyZ"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret-token-xyz"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn the_allowlist_takes_blocks_and_mapped_addresses() {
        let list: Vec<ipnet::IpNet> = vec!["10.20.0.0/24".parse().unwrap()];
        assert!(allowed(&list, Some("10.20.0.9".parse().unwrap())));
        assert!(allowed(&list, Some("::ffff:10.20.0.9".parse().unwrap())));
        assert!(!allowed(&list, Some("10.20.1.9".parse().unwrap())));
        assert!(!allowed(&list, None));
        assert!(allowed(&[], None));
    }
}
