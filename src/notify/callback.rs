//! Status callbacks: for a client with a `callback_url`, each message it
//! queued is watched, and when its status becomes `sent`, `delivered` or
//! `failed`, a small JSON (`{"id", "status", "reason"?, "reference"?}`) is
//! POSTed there, retried with backoff.
//!
//! Best effort, and bounded: at most [`WATCHED`] messages are watched (more
//! are not, with a warning), statuses are polled from the outbox every
//! [`TICK`] (a change faster than that is reported once, as the later
//! status), a callback is tried [`ATTEMPTS`] times, and the watch list
//! lives in memory: after a restart no callback comes for messages queued
//! before it. `GET /v1/messages/{id}` is always the source of truth. The
//! URL comes from the configuration, never from a request (no request can
//! make the gateway call an address of its choosing).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Port;
use crate::outbox::SmsStatus;
use crate::store::OutboundId;

/// Most messages watched at once.
pub const WATCHED: usize = 10_000;
/// How often statuses are read.
pub const TICK: Duration = Duration::from_millis(500);
/// Tries per callback (backoff 0.5 s, 1 s, 2 s between them).
pub const ATTEMPTS: u32 = 4;
/// Statuses read per tick (round robin over the watch list).
const READS_PER_TICK: usize = 1000;
/// Callbacks in flight at once.
const CONCURRENT: usize = 16;
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// One message to report on.
#[derive(Debug, Clone)]
pub(super) struct Watch {
    pub url: Arc<str>,
    pub public: String,
    pub id: OutboundId,
    pub reference: Option<String>,
    last: &'static str,
}

impl Watch {
    pub fn new(url: Arc<str>, public: String, id: OutboundId, reference: Option<String>) -> Watch {
        Watch {
            url,
            public,
            id,
            reference,
            last: "queued",
        }
    }
}

/// Where the API hands messages to watch.
#[derive(Clone)]
pub(super) struct Callbacks {
    tx: mpsc::Sender<Watch>,
}

impl Callbacks {
    /// Starts the watcher; it ends when `stop` is cancelled.
    pub fn start(port: Arc<dyn Port>, stop: CancellationToken) -> Callbacks {
        let (tx, rx) = mpsc::channel(WATCHED);
        tokio::spawn(run(port, rx, stop));
        Callbacks { tx }
    }

    pub fn watch(&self, w: Watch) {
        if self.tx.try_send(w).is_err() {
            tracing::warn!("notify: callback watch list full; this message gets no callback");
        }
    }
}

async fn run(port: Arc<dyn Port>, mut rx: mpsc::Receiver<Watch>, stop: CancellationToken) {
    let client = match http_client() {
        Ok(c) => c,
        Err(e) => return tracing::error!(error = %e, "notify: no HTTP client; callbacks are off"),
    };
    let mut watching: VecDeque<Watch> = VecDeque::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        while watching.len() < WATCHED {
            match rx.try_recv() {
                Ok(w) => watching.push_back(w),
                Err(_) => break,
            }
        }
        let mut due = Vec::new();
        for _ in 0..watching.len().min(READS_PER_TICK) {
            let Some(mut w) = watching.pop_front() else {
                break;
            };
            let status = match port.status(w.id).await {
                Ok(Some(s)) => s,
                Ok(None) => continue, // expired: nothing more will change
                Err(_) => {
                    watching.push_back(w);
                    continue;
                }
            };
            let (label, reason) = label(&status);
            if label != w.last && label != "queued" {
                w.last = label;
                due.push((w.clone(), reason));
            }
            if !matches!(label, "delivered" | "failed") {
                watching.push_back(w);
            }
        }
        let calls = due
            .into_iter()
            .map(|(w, reason)| deliver(&client, w, reason));
        futures::stream::iter(calls)
            .buffer_unordered(CONCURRENT)
            .collect::<Vec<()>>()
            .await;
    }
}

fn label(s: &SmsStatus) -> (&'static str, Option<String>) {
    match s {
        SmsStatus::Queued { .. } => ("queued", None),
        SmsStatus::Sent { .. } => ("sent", None),
        SmsStatus::Delivered { .. } => ("delivered", None),
        SmsStatus::Failed { reason } => ("failed", Some(reason.clone())),
    }
}

async fn deliver(client: &reqwest::Client, w: Watch, reason: Option<String>) {
    let mut body = json!({ "id": w.public, "status": w.last });
    if let Some(r) = reason {
        body["reason"] = r.into();
    }
    if let Some(r) = &w.reference {
        body["reference"] = r.clone().into();
    }
    let body = body.to_string();
    let mut backoff = Duration::from_millis(500);
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(&*w.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .timeout(CALL_TIMEOUT)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                tracing::debug!(id = %w.public, status = %r.status(), attempt, "notify: callback refused")
            }
            Err(e) => {
                tracing::debug!(id = %w.public, error = %e, attempt, "notify: callback failed")
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    tracing::warn!(id = %w.public, status = w.last, "notify: callback not delivered; given up");
}

fn http_client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| e.to_string())?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .http1_only()
        .connect_timeout(Duration::from_secs(3))
        .user_agent(concat!("bawaba/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}
