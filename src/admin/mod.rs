//! The admin listener (`[admin] listen`, loopback by default): health for
//! orchestrators and Prometheus metrics for operators.
//!
//! * `GET /healthz`: 200 while the process serves HTTP (liveness).
//! * `GET /readyz`: 200 when every operator has a bind up and the store
//!   answers a read; else 503 with what is missing (readiness).
//! * `GET /metrics`: the OpenMetrics text of [`crate::metrics`].
//! * `GET /v1/status`: JSON for `bawaba status`: readiness, every bind,
//!   the flows in force and the versions kept for sessions in progress,
//!   the outbox's counters.
//!
//! With `[admin] token` set, `/metrics` and `/v1/` need
//! `Authorization: Bearer <token>`.
//!
//! Owns: the listener, its routes and its auth. Must not: change the
//! gateway (no endpoint here writes anything), or answer slowly: every
//! request is bounded (at most [`MAX_REQUESTS`] at once, [`REQUEST_TIMEOUT`]
//! each) and bodies are not read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Secret};
use crate::runtime::Probe;

/// Requests served at once; more get 503 at once.
pub const MAX_REQUESTS: usize = 16;
/// A request that takes longer gets 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

struct Shared {
    probe: Probe,
    token: Option<Secret>,
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
    pub fn serve(listener: TcpListener, cfg: &config::Admin, probe: Probe) -> Admin {
        let local_addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let shared = Arc::new(Shared {
            probe,
            token: cfg.token.clone(),
            permits: Semaphore::new(MAX_REQUESTS),
        });
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .route("/v1/status", get(status))
            .with_state(shared);
        let stop = CancellationToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
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

/// Runs `f` under the request bound: 503 when too many run or it is slow.
async fn bounded<F>(s: &Shared, f: F) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let Ok(_permit) = s.permits.try_acquire() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy\n").into_response();
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "timed out\n").into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    bounded(&s, async {
        let unbound = s.probe.unbound();
        let store = s.probe.store_ok().await;
        let body = serde_json::json!({
            "ready": unbound.is_empty() && store,
            "operators_without_bind": unbound,
            "store": if store { "ok" } else { "not answering" },
        });
        let status = if unbound.is_empty() && store {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, axum::Json(body)).into_response()
    })
    .await
}

async fn metrics(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(s.token.as_ref(), &headers) {
        let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
        return (StatusCode::UNAUTHORIZED, challenge, "token required\n").into_response();
    }
    bounded(&s, async {
        let text = crate::metrics::get().render(&s.probe.snapshot());
        let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        ([(header::CONTENT_TYPE, kind)], text).into_response()
    })
    .await
}

async fn status(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(s.token.as_ref(), &headers) {
        let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
        return (StatusCode::UNAUTHORIZED, challenge, "token required\n").into_response();
    }
    bounded(&s, async {
        let snap = s.probe.snapshot();
        let unbound = s.probe.unbound();
        let store = s.probe.store_ok().await;
        let flows = s.probe.flows();
        let binds: Vec<_> = snap
            .binds
            .iter()
            .map(|(op, b)| {
                serde_json::json!({
                    "operator": op, "bind": b.index, "kind": b.kind, "bound": b.bound,
                    "in_flight": b.in_flight, "rate": b.rate, "binds": b.binds,
                    "throttled": b.throttled, "unknown": b.unknown,
                })
            })
            .collect();
        let current: Vec<_> = flows
            .flows()
            .map(|f| serde_json::json!({"id": f.id(), "version": f.version(), "checksum": f.checksum()}))
            .collect();
        let retired: Vec<_> = flows
            .retired()
            .map(|(id, version)| serde_json::json!({"id": id, "version": version}))
            .collect();
        let o = snap.outbox;
        let body = serde_json::json!({
            "ready": unbound.is_empty() && store,
            "store": if store { "ok" } else { "not answering" },
            "binds": binds,
            "flows": current,
            "retired_flows": retired,
            "outbox": {"enqueued": o.enqueued, "sent": o.sent, "retried": o.retried,
                       "held": o.held, "failed": o.failed, "receipts": o.receipts},
            "worker_queue": snap.worker_queue,
            "turns_in_flight": snap.in_flight,
        });
        axum::Json(body).into_response()
    })
    .await
}

/// No token configured: open (the listener is loopback unless a token is
/// set; the configuration enforces that). Else `Bearer <token>`, compared
/// in constant time.
fn authorized(token: Option<&Secret>, headers: &HeaderMap) -> bool {
    let Some(token) = token else { return true };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // An unresolved secret lets nobody in.
    token
        .expose()
        .is_some_and(|t| constant_time_eq(given.as_bytes(), t.as_bytes()))
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

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"s3cret-token-xyz", b"s3cret-token-xyz"));
        assert!(!constant_time_eq(b"s3cret-token-xyz", b"s3cret-token-xyZ"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret-token-xyz"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
