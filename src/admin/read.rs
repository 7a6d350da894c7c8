//! Readiness, metrics, status, binds, sessions (and ending one), and the
//! audit chain's check.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{authorize, bounded, json_error, query, Shared};
use crate::config::AdminRole;
use crate::msisdn::mask;
use crate::runtime::{Probe, StoreState};
use crate::store::SessionKey;

pub(super) async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    bounded(async {
        let unbound = s.probe.unbound();
        let state = s.probe.store_state().await;
        let store = state == StoreState::Ok;
        let body = serde_json::json!({
            "ready": unbound.is_empty() && store,
            "operators_without_bind": unbound,
            "store": state.as_str(),
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

pub(super) async fn metrics(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&s, &headers, AdminRole::Viewer) {
        return r.into_response();
    }
    bounded(async {
        let text = crate::metrics::get().render(&s.probe.snapshot());
        let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        ([(header::CONTENT_TYPE, kind)], text).into_response()
    })
    .await
}

fn binds_json(probe: &Probe) -> Vec<serde_json::Value> {
    probe
        .snapshot()
        .binds
        .iter()
        .map(|(op, b)| {
            serde_json::json!({
                "operator": op, "bind": b.index, "kind": b.kind, "bound": b.bound,
                "in_flight": b.in_flight, "rate": b.rate, "binds": b.binds,
                "rejected_binds": b.rejected_binds,
                "throttled": b.throttled, "unknown": b.unknown,
            })
        })
        .collect()
}

pub(super) async fn binds(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&s, &headers, AdminRole::Viewer) {
        return r.into_response();
    }
    let body = serde_json::json!({ "binds": binds_json(&s.probe), "operators_without_bind": s.probe.unbound() });
    axum::Json(body).into_response()
}

/// The versions kept for sessions in progress, and the staged set.
pub(super) fn kept_and_staged(
    s: &Shared,
    flows: &crate::engine::FlowSet,
) -> (Vec<serde_json::Value>, Option<serde_json::Value>) {
    let kept = flows
        .retired()
        .map(|(id, version)| serde_json::json!({"id": id, "version": version}))
        .collect();
    let staged = s
        .control
        .staged()
        .map(|(flows, n)| serde_json::json!({"flows": flows, "msisdns": n}));
    (kept, staged)
}

pub(super) async fn status(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&s, &headers, AdminRole::Viewer) {
        return r.into_response();
    }
    bounded(async {
        let snap = s.probe.snapshot();
        let unbound = s.probe.unbound();
        let state = s.probe.store_state().await;
        let store = state == StoreState::Ok;
        let flows = s.probe.flows();
        let current: Vec<_> = flows
            .flows()
            .map(|f| serde_json::json!({"id": f.id(), "version": f.version(), "checksum": f.checksum()}))
            .collect();
        let (retired, staged) = kept_and_staged(&s, &flows);
        let o = snap.outbox;
        let body = serde_json::json!({
            "ready": unbound.is_empty() && store,
            "store": state.as_str(),
            "binds": binds_json(&s.probe),
            "flows": current,
            "retired_flows": retired,
            "staged": staged,
            "outbox": {"enqueued": o.enqueued, "sent": o.sent, "retried": o.retried,
                       "held": o.held, "failed": o.failed, "receipts": o.receipts},
            "worker_queue": snap.worker_queue,
            "turns_in_flight": snap.in_flight,
        });
        axum::Json(body).into_response()
    })
    .await
}

/// `GET /v1/sessions?limit=N&after=KEY&all=true`: open sessions (every
/// stored one with `all`), a page at a time; `next` continues.
pub(super) async fn sessions(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(r) = authorize(&s, &headers, AdminRole::Viewer) {
        return r.into_response();
    }
    let mut limit = 100;
    let mut after = None;
    let mut all = false;
    for (k, v) in query(&uri) {
        match k {
            "limit" => match v.parse() {
                Ok(n) => limit = n,
                Err(_) => return json_error(StatusCode::BAD_REQUEST, "limit must be a number"),
            },
            "after" => match crate::runtime::sessions_unhex(v) {
                Some(k) => after = Some(SessionKey(k)),
                None => {
                    return json_error(StatusCode::BAD_REQUEST, "after must be a key from `next`")
                }
            },
            "all" => all = v == "true",
            _ => {}
        }
    }
    bounded(async {
        match s.control.sessions(after, limit, all).await {
            Ok((page, next)) => {
                let next = if page.is_empty() { None } else { next };
                axum::Json(serde_json::json!({"sessions": page, "next": next})).into_response()
            }
            Err(e) => json_error(StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}")),
        }
    })
    .await
}

/// `DELETE /v1/sessions/{key}`: ends the session (audited).
pub(super) async fn end_session(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let caller = match authorize(&s, &headers, AdminRole::Publisher) {
        Ok(c) => c,
        Err(r) => {
            super::flows::audit_refusal(&s, peer, "sessions.end", r.status()).await;
            return r.into_response();
        }
    };
    let Some(raw) = crate::runtime::sessions_unhex(&key) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "not a session key (hex, from GET /v1/sessions)",
        );
    };
    let who = String::from_utf8_lossy(&raw)
        .rsplit('\0')
        .find(|p| p.len() > 6 && p.bytes().all(|b| b.is_ascii_digit()))
        .map(|m| mask(m).to_string());
    let ended = s.control.end_session(SessionKey(raw)).await;
    let (status, body) = match ended {
        Ok(true) => (StatusCode::OK, serde_json::json!({"ended": true})),
        Ok(false) => (
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "no such session"}),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"error": format!("store: {e}")}),
        ),
    };
    let record = serde_json::json!({
        "at": crate::runtime::publish::wall_ms(), "actor": caller.name,
        "action": "sessions.end", "peer": peer.ip().to_string(), "msisdn": who,
        "status": status.as_u16(),
    });
    s.control.audit(record).await;
    (status, axum::Json(body)).into_response()
}

/// Audit entries per page at most.
const MAX_AUDIT: usize = 500;

/// `GET /v1/audit?after=SEQ&limit=N`: entries oldest first, each with its
/// hash and record (JSON; no message text, masked numbers).
pub(super) async fn audit(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = authorize(&s, &headers, AdminRole::Viewer) {
        return r.into_response();
    }
    let (after, limit) = match super::paging(&uri, "after", 0, (100, MAX_AUDIT)) {
        Ok(p) => p,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, msg),
    };
    bounded(async {
        match s.control.audit_entries(after, limit).await {
            Ok(entries) => {
                let list: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        let record = serde_json::from_slice::<serde_json::Value>(&e.record)
                            .unwrap_or_else(|_| String::from_utf8_lossy(&e.record).into());
                        let hash = crate::runtime::sessions_hex(&e.hash);
                        serde_json::json!({"seq": e.seq, "hash": hash, "record": record})
                    })
                    .collect();
                axum::Json(serde_json::json!({"entries": list})).into_response()
            }
            Err(e) => json_error(StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}")),
        }
    })
    .await
}

/// `GET /v1/audit/verify`: walks the whole chain.
pub(super) async fn verify_audit(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&s, &headers, AdminRole::Viewer) {
        return r.into_response();
    }
    // The whole chain may take longer than a read's bound: it is paged
    // and reads only.
    match s.control.verify_audit().await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => json_error(StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}")),
    }
}
