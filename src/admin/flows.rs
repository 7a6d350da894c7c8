//! The flow endpoints: list (in force, kept for sessions, staged),
//! history, drafts, publish (to everyone or a staging list), rollback,
//! promote and drop. Every change goes through `runtime::publish` and
//! runs to its end even if the caller goes away.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{authorize, bounded, json_error, Caller, Shared};
use crate::config::AdminRole;
use crate::engine::Diagnostic;
use crate::msisdn::Msisdn;
use crate::runtime::publish::{wall_ms, Change, Files, FlowFile, Refused};

/// History entries per page at most.
const MAX_HISTORY: usize = 200;

pub(super) async fn list(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&s, &headers, AdminRole::Viewer) {
        return r.into_response();
    }
    bounded(async {
        let files = s.control.files().await;
        let set = s.probe.flows();
        let in_force = crate::runtime::publish::infos(&set, &files);
        let (kept, staged) = super::read::kept_and_staged(&s, &set);
        let body = serde_json::json!({"flows": in_force, "retired": kept, "staged": staged});
        axum::Json(body).into_response()
    })
    .await
}

/// `GET /v1/flows/history?before=SEQ&limit=N`, newest first.
pub(super) async fn history(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(r) = authorize(&s, &headers, AdminRole::Viewer) {
        return r.into_response();
    }
    let (before, limit) = match super::paging(&uri, "before", u64::MAX, (50, MAX_HISTORY)) {
        Ok(p) => p,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, msg),
    };
    bounded(async {
        match s.control.history(before, limit).await {
            Ok(entries) => {
                let list: Vec<_> = entries
                    .into_iter()
                    .map(|(seq, e)| serde_json::json!({"seq": seq, "entry": e}))
                    .collect();
                axum::Json(serde_json::json!({"history": list})).into_response()
            }
            Err(e) => json_error(StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}")),
        }
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    files: Option<Vec<FlowFile>>,
    #[serde(default)]
    draft: Option<u64>,
    #[serde(default)]
    staging: Option<Vec<String>>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    version: Option<u32>,
}

/// The request body, or why it is refused (status and message).
fn body(raw: Result<Bytes, BytesRejection>) -> Result<Body, (StatusCode, String)> {
    let raw = raw.map_err(|e| {
        let too_big = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
        let msg = if too_big {
            format!(
                "the body is over {} KiB, the most a draft may be",
                super::MAX_BODY / 1024
            )
        } else {
            e.body_text()
        };
        (e.status(), msg)
    })?;
    serde_json::from_slice(&raw)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("not a valid request: {e}")))
}

pub(super) async fn draft(
    s: State<Arc<Shared>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    write(s, peer, headers, raw, "draft", |b| {
        let files = b.files.ok_or("give `files`: [{name, text}]")?;
        Ok(Change::Draft(files))
    })
    .await
}

pub(super) async fn publish(
    s: State<Arc<Shared>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    write(s, peer, headers, raw, "publish", |b| {
        let files = match (b.files, b.draft) {
            (Some(f), None) => Files::Given(f),
            (None, Some(d)) => Files::Draft(d),
            _ => return Err("give either `files` or `draft`".into()),
        };
        let staging = match b.staging {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|m| {
                        Msisdn::parse(m)
                            .map_err(|e| format!("staging: {}: {e}", crate::msisdn::mask(m)))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Change::Publish { files, staging })
    })
    .await
}

pub(super) async fn rollback(
    s: State<Arc<Shared>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    write(s, peer, headers, raw, "rollback", |b| {
        match (b.id, b.version) {
            (Some(id), Some(version)) => Ok(Change::Rollback { id, version }),
            _ => Err("give `id` and `version`".into()),
        }
    })
    .await
}

pub(super) async fn promote(
    s: State<Arc<Shared>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let empty = Ok(Bytes::from_static(b"{}"));
    write(s, peer, headers, empty, "promote", |_| Ok(Change::Promote)).await
}

pub(super) async fn drop_staged(
    s: State<Arc<Shared>>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let empty = Ok(Bytes::from_static(b"{}"));
    write(s, peer, headers, empty, "drop", |_| Ok(Change::Drop)).await
}

/// Authorises a publisher, reads the body, makes the change in a task of
/// its own (it finishes even if the caller hangs up), answers.
async fn write(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    action: &'static str,
    make: impl FnOnce(Body) -> Result<Change, String>,
) -> Response {
    let audited = format!("flows.{action}");
    let caller: Caller = match authorize(&s, &headers, AdminRole::Publisher) {
        Ok(c) => c,
        Err(r) => {
            audit_refusal(&s, peer, &audited, r.status()).await;
            return r.into_response();
        }
    };
    debug_assert!(caller.role == AdminRole::Publisher);
    let change = match body(raw).and_then(|b| make(b).map_err(|m| (StatusCode::BAD_REQUEST, m))) {
        Ok(c) => c,
        Err((status, msg)) => return json_error(status, msg),
    };
    let control = s.control.clone();
    let who = caller.name.clone();
    let task = tokio::spawn(async move { control.change(&who, change).await });
    let outcome = match task.await {
        Ok(o) => o,
        Err(e) => {
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("publish task: {e}"),
            )
        }
    };
    match outcome {
        Ok(o) => (StatusCode::OK, axum::Json(o)).into_response(),
        Err(refused) => {
            let (status, diags) = match &refused {
                Refused::Flows(d) => (StatusCode::UNPROCESSABLE_ENTITY, d.as_slice()),
                Refused::Conflict(_) => (StatusCode::CONFLICT, &[][..]),
                Refused::NotFound(_) => (StatusCode::NOT_FOUND, &[][..]),
                Refused::Invalid(_) => (StatusCode::BAD_REQUEST, &[][..]),
                Refused::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, &[][..]),
            };
            // Drafts are checks, not changes: a refused one is not audited.
            if action != "draft" {
                let record = serde_json::json!({
                    "at": wall_ms(), "actor": caller.name, "action": audited,
                    "peer": peer.ip().to_string(), "status": status.as_u16(),
                    "problems": diags.len().max(1),
                });
                s.control.audit(record).await;
            }
            (status, axum::Json(refusal(&refused, diags))).into_response()
        }
    }
}

fn refusal(refused: &Refused, diags: &[Diagnostic]) -> serde_json::Value {
    let list: Vec<_> = diags
        .iter()
        .map(|d| serde_json::json!({"file": d.path, "line": d.line, "column": d.column, "message": d.message, "text": d.to_string()}))
        .collect();
    serde_json::json!({"error": refused.to_string(), "diagnostics": list})
}

/// An audit record for a write refused before it was looked at (no
/// token, a viewer's token, none configured).
pub(super) async fn audit_refusal(s: &Shared, peer: SocketAddr, action: &str, status: StatusCode) {
    let record = serde_json::json!({
        "at": wall_ms(), "actor": serde_json::Value::Null, "action": action,
        "peer": peer.ip().to_string(), "status": status.as_u16(),
    });
    s.control.audit(record).await;
}
