//! The HTTP surface: routes, bounds (requests in flight, timeout, body
//! size), and the two handlers. Every request ends in exactly one audit
//! record, written before the answer is sent.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use tokio::sync::Semaphore;

use super::audit::Record;
use super::auth::{self, Client, Denied};
use super::callback::{Callbacks, Watch};
use super::limit::Limits;
use super::reply::{refusal, reply, status_body, Outcome, Refusal, Reply};
use super::request::{self, Problem};
use super::Port;
use crate::config::{Notify, NotifyTemplate};
use crate::outbox;
use crate::store::{MessageId, Priority};

pub(super) struct Api {
    port: Arc<dyn Port>,
    clients: Vec<Client>,
    limits: Limits,
    templates: BTreeMap<String, NotifyTemplate>,
    max_parts: u8,
    max_body: usize,
    slots: Arc<Semaphore>,
    timeout: Duration,
    callbacks: Callbacks,
    /// Each client's callback URL, by index.
    callback_urls: Vec<Option<Arc<str>>>,
}

pub(super) fn router(config: &Notify, port: Arc<dyn Port>, callbacks: Callbacks) -> Router {
    let api = Arc::new(Api {
        port,
        clients: config.clients.iter().cloned().map(Client::new).collect(),
        limits: Limits::new(config.clients.iter().map(|c| c.rate)),
        templates: config.templates.clone(),
        max_parts: config.max_parts,
        max_body: config.max_body,
        slots: Arc::new(Semaphore::new(config.concurrency)),
        timeout: config.request_timeout,
        callbacks,
        callback_urls: config
            .clients
            .iter()
            .map(|c| c.callback_url.as_ref().map(|u| Arc::from(u.as_str())))
            .collect(),
    });
    Router::new()
        .route("/v1/messages", post(send))
        .route("/v1/messages/{id}", get(status))
        .layer(middleware::from_fn_with_state(api.clone(), bounds))
        .layer(DefaultBodyLimit::max(config.max_body))
        .with_state(api)
}

/// Requests in flight and the request timeout, for every route.
async fn bounds(State(api): State<Arc<Api>>, req: Request, next: Next) -> Response {
    // Refusals here never reach a handler: they are audited here (before
    // authentication, so without a client).
    let started = tokio::time::Instant::now();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let action = if req.method() == axum::http::Method::POST {
        "send"
    } else {
        "status"
    };
    let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let Ok(_slot) = api.slots.clone().try_acquire_owned() else {
        let p = Problem::new(503, "busy", "too many requests in flight; try again");
        let r = Refusal {
            problem: p,
            retry_after: Some(1),
        };
        return api.finish(Record::new(action, peer), Err(r), started).await;
    };
    match tokio::time::timeout(api.timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let msg = "not answered in time; retry with the same Idempotency-Key";
            let p = Problem::new(503, "timeout", msg);
            let r = Refusal {
                problem: p,
                retry_after: Some(1),
            };
            api.finish(Record::new(action, peer), Err(r), started).await
        }
    }
}

async fn send(
    State(api): State<Arc<Api>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = tokio::time::Instant::now();
    let mut rec = Record::new("send", peer.ip());
    let outcome = api.send(&headers, peer.ip(), body, &mut rec).await;
    api.finish(rec, outcome, started).await
}

async fn status(
    State(api): State<Arc<Api>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let started = tokio::time::Instant::now();
    let mut rec = Record::new("status", peer.ip());
    let outcome = api.status(&headers, peer.ip(), id, &mut rec).await;
    api.finish(rec, outcome, started).await
}

impl Api {
    async fn send(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
        body: Result<Bytes, BytesRejection>,
        rec: &mut Record,
    ) -> Outcome {
        let i = self.authenticate(headers, peer, rec)?;
        if let Err(wait) = self.limits.take(i) {
            let msg = format!(
                "over this client's rate of {}/s",
                self.clients[i].config.rate.per_second
            );
            return Err(Refusal {
                problem: Problem::new(429, "rate_limited", msg),
                retry_after: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
            });
        }
        let key = idempotency_key(headers)?;
        let body = body.map_err(|e| self.body_refused(e))?;
        let m = request::parse(&body, &self.templates, self.max_parts)?;
        rec.to = Some(m.to.masked().to_string());
        rec.template = m.template.clone();
        rec.reference = m.reference.clone();
        let client = &self.clients[i].config;
        let public = key.map_or_else(random_id, |k| hex(&auth::sha256(k.as_bytes())[..16]));
        rec.id = Some(public.clone());
        let priority = if client.bulk {
            Priority::Bulk
        } else {
            Priority::Normal
        };
        let sent = self
            .port
            .send(store_key(&client.name, &public), m.to, m.text, priority);
        let (id, fresh) = sent.await.map_err(queue_refused)?;
        rec.replay = !fresh;
        if let (true, Some(url)) = (fresh, &self.callback_urls[i]) {
            let w = Watch::new(url.clone(), public.clone(), id, m.reference.clone());
            self.callbacks.watch(w);
        }
        tracing::debug!(client = %client.name, %id, public, fresh, "notify: message accepted");
        let mut body = json!({ "id": public, "status": "queued" });
        if let Some(r) = m.reference {
            body["reference"] = r.into();
        }
        Ok(Reply {
            status: if fresh {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            },
            body,
            location: Some(format!("/v1/messages/{public}")),
        })
    }

    async fn status(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
        id: String,
        rec: &mut Record,
    ) -> Outcome {
        let i = self.authenticate(headers, peer, rec)?;
        let not_found = || Problem::new(404, "not_found", "no such message for this client");
        if id.len() != 32
            || !id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(not_found().into());
        }
        rec.id = Some(id.clone());
        let key = store_key(&self.clients[i].config.name, &id);
        let oid = self.port.keyed(key).await.map_err(queue_refused)?;
        let Some(oid) = oid else {
            return Err(not_found().into());
        };
        let s = self.port.status(oid).await.map_err(queue_refused)?;
        let Some(s) = s else {
            return Err(not_found().into());
        };
        Ok(Reply {
            status: StatusCode::OK,
            body: status_body(&id, &s),
            location: None,
        })
    }

    fn authenticate(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
        rec: &mut Record,
    ) -> Result<usize, Refusal> {
        match auth::authenticate(&self.clients, headers, peer) {
            Ok(i) => {
                rec.client = Some(self.clients[i].config.name.clone());
                Ok(i)
            }
            Err(Denied::Unauthenticated) => {
                let msg = "a valid `Authorization: Bearer <token>` header is required";
                Err(Problem::new(401, "unauthorized", msg).into())
            }
            Err(Denied::Address(i)) => {
                rec.client = Some(self.clients[i].config.name.clone());
                let msg = format!("this client may not call from {peer}");
                Err(Problem::new(403, "forbidden_address", msg).into())
            }
        }
    }

    fn body_refused(&self, e: BytesRejection) -> Refusal {
        let p = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                413,
                "too_large",
                format!("the body is larger than {} bytes", self.max_body),
            )
        } else {
            Problem::new(
                400,
                "malformed_body",
                format!("the body could not be read: {e}"),
            )
        };
        p.into()
    }

    /// Audits the request, then answers it.
    async fn finish(
        &self,
        mut rec: Record,
        outcome: Outcome,
        started: tokio::time::Instant,
    ) -> Response {
        let response = match &outcome {
            Ok(r) => {
                rec.status = r.status.as_u16();
                reply(r)
            }
            Err(r) => {
                rec.status = r.problem.status;
                rec.code = Some(r.problem.code);
                refusal(r)
            }
        };
        if let Err(e) = self.port.audit(rec.encode()).await {
            tracing::error!(error = %e, client = ?rec.client, status = rec.status, "notify: audit record not written");
        }
        let m = crate::metrics::get();
        m.notify_request(
            rec.client.as_deref(),
            rec.action,
            rec.status,
            started.elapsed(),
        );
        response
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, Refusal> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k))
        }
        _ => {
            let mut p = Problem::new(400, "invalid_header", "1 to 255 printable ASCII characters");
            p.field = Some("Idempotency-Key".into());
            Err(p.into())
        }
    }
}

/// Where the store keeps (client, public id) -> MT: a receipts-tree key
/// no SMSC message id can take (SMPP ids never hold NUL).
fn store_key(client: &str, public: &str) -> MessageId {
    MessageId(format!("\0notify:{client}:{public}"))
}

fn queue_refused(e: outbox::Error) -> Refusal {
    match e {
        outbox::Error::NoRoute(_) => Problem::field("to", "no operator serves this number").into(),
        outbox::Error::Text(e) => Problem::field("text", format!("cannot be sent: {e}")).into(),
        outbox::Error::Store(e) => {
            tracing::warn!(error = %e, "notify: store refused; answering 503");
            let msg = "the message store cannot take it now; nothing was queued, try again";
            Refusal {
                problem: Problem::new(503, "unavailable", msg),
                retry_after: Some(1),
            }
        }
        other => {
            tracing::error!(error = %other, "notify: message refused by the outbox");
            Problem::new(500, "internal", "the gateway could not queue the message").into()
        }
    }
}

fn random_id() -> String {
    hex(&rand::random::<[u8; 16]>())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
