//! The notification API: government back-ends send SMS to citizens over
//! HTTP (`POST /v1/messages`, `GET /v1/messages/{id}`).
//!
//! Owns: the HTTP listener and its bounds (body size, requests in flight,
//! request timeout), client authentication (`auth`), per-client rate
//! limits (`limit`), request validation and templates (`request`), the
//! audit record of every request (`audit`) and the mapping of outbox
//! statuses to what clients see.
//! Must not: touch SMPP or sled directly (it goes through a [`Port`], which
//! the runtime implements over the outbox and the store), log a token or a
//! message text, or log an MSISDN unmasked.
//!
//! # Contract
//! * `202 Accepted` only once the MT **and** its idempotency record are on
//!   disk (one durable write, `Store::enqueue_outbound_once`); a store that
//!   is busy or failing answers `503` with `Retry-After` and nothing is
//!   promised.
//! * `Idempotency-Key` (per client, kept for `store.retention.receipts`):
//!   the same key again answers `200` with the first message's id and queues
//!   nothing. The retried body is not compared with the first.
//! * Message ids are 32 hex digits, opaque; they are scoped to the client
//!   (another client's id is `404`, as is an MT queued by a flow).
//! * Priority: normal (1), or bulk (2) for a client with `bulk = true`;
//!   interactive USSD/SMS replies (0) are claimed first by the outbox.
//! * Callbacks (a client's `callback_url`): best effort, see `callback`.

mod allowlist;
mod api;
mod audit;
mod auth;
mod callback;
mod limit;
mod reply;
mod request;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Notify;
use crate::msisdn::Msisdn;
use crate::outbox::{self, SmsStatus};
use crate::store::{self, MessageId, OutboundId, Priority};

/// What the API needs of the gateway; the runtime implements it over the
/// outbox and the store, so this module stays free of the store's type.
pub trait Port: Send + Sync + 'static {
    /// Queue `text` to `to` at `priority` from the operator's short code,
    /// under `key` (see [`outbox::Outbox::enqueue_once`]).
    fn send(
        &self,
        key: MessageId,
        to: Msisdn,
        text: String,
        priority: Priority,
    ) -> BoxFuture<'_, Result<(OutboundId, bool), outbox::Error>>;
    /// The MT `key` names, if kept.
    fn keyed(&self, key: MessageId) -> BoxFuture<'_, Result<Option<OutboundId>, outbox::Error>>;
    fn status(&self, id: OutboundId) -> BoxFuture<'_, Result<Option<SmsStatus>, outbox::Error>>;
    /// Append one audit record (durable when it resolves).
    fn audit(&self, record: Vec<u8>) -> BoxFuture<'_, Result<(), store::Error>>;
}

/// The running API listener.
pub struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `config.listen` and serves until [`Server::stop`] (or until
    /// `shutdown` is cancelled).
    pub async fn start(
        config: &Notify,
        port: Arc<dyn Port>,
        shutdown: &CancellationToken,
    ) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let stop = shutdown.child_token();
        let callbacks = callback::Callbacks::start(port.clone(), stop.clone());
        let app = api::router(config, port, callbacks);
        let until = stop.clone().cancelled_owned();
        let allowed = config.allowed_ips.clone();
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            // tap_io also because axum gives `ConnectInfo<SocketAddr>` to a
            // `TapIo` over any listener whose address is a SocketAddr. No
            // Nagle: an HTTP/2 answer's HEADERS and DATA frames may go in
            // two writes, and the second would wait for the client's ACK.
            let listener = allowlist::Allowlisted::new(listener, allowed).tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let served = axum::serve(listener, service).with_graceful_shutdown(until);
            if let Err(e) = served.await {
                tracing::error!(error = %e, "notify: the API listener failed");
            }
        });
        tracing::info!(%addr, clients = config.clients.len(), "notify: API listening");
        Ok(Server { addr, stop, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops taking connections; requests in flight get up to `grace`.
    pub async fn stop(mut self, grace: Duration) {
        self.stop.cancel();
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            tracing::warn!("notify: requests still in flight after the grace; dropped");
            self.task.abort();
        }
    }
}
