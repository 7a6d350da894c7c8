//! The running gateway's handle: readiness, SMS through the outbox, and
//! graceful shutdown (stop new dialogues, let steps in flight finish within
//! `gateway.shutdown_grace`, stop the outbox, unbind, sync the store).
//! Not generic over the store, so the app can hold it as one type.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::audit::Verdict;
use super::dispatch::QueueView;
use super::publish::{Change, Entry, FlowInfo, Outcome, Refused};
use super::sessions::SessionView;
use super::{Core, EnqueueError, Work};
use crate::engine::{FlowSet, SameVersionChanged};
use crate::metrics::Snapshot;
use crate::smpp::session::Operator;
use crate::store::{self, AuditEntry, OutboundId, SessionKey, Store};

pub(super) type EnqueueFn = Arc<
    dyn Fn(String, String) -> BoxFuture<'static, Result<OutboundId, EnqueueError>> + Send + Sync,
>;

/// How the store looks to `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreState {
    Ok,
    /// A read did not come back within half a second.
    NotAnswering,
    /// The last durable write failed (a full disk, an I/O error): MOs and
    /// API sends are being refused.
    WritesFailing,
}

impl StoreState {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreState::Ok => "ok",
            StoreState::NotAnswering => "not answering",
            StoreState::WritesFailing => "writes failing",
        }
    }
}

/// The parts of a running gateway that do not depend on the store type.
pub(super) trait Running: Send + Sync {
    fn bound(&self) -> Vec<Operator>;
    fn snapshot(&self) -> Snapshot;
    fn store_state(&self) -> BoxFuture<'_, StoreState>;
    fn flows(&self) -> Arc<FlowSet>;
    fn drain(&self) -> BoxFuture<'_, ()>;
    fn finish(&self, grace: Duration) -> BoxFuture<'_, ()>;
    fn grace(&self) -> Duration;
    fn set_flows(&self, flows: FlowSet) -> Result<(), Vec<SameVersionChanged>>;
    fn change<'a>(
        &'a self,
        who: &'a str,
        change: Change,
    ) -> BoxFuture<'a, Result<Outcome, Refused>>;
    fn staged(&self) -> Option<(Vec<FlowInfo>, usize)>;
    fn files(&self) -> BoxFuture<'_, std::collections::BTreeMap<String, String>>;
    fn history(&self, before: u64, max: usize) -> BoxFuture<'_, store::Result<Vec<(u64, Entry)>>>;
    fn sessions(
        &self,
        after: Option<SessionKey>,
        max: usize,
        all: bool,
    ) -> BoxFuture<'_, store::Result<(Vec<SessionView>, Option<String>)>>;
    fn end_session(&self, key: SessionKey) -> BoxFuture<'_, store::Result<bool>>;
    fn audit(&self, record: serde_json::Value) -> BoxFuture<'_, ()>;
    fn verify_audit(&self) -> BoxFuture<'_, store::Result<Verdict>>;
    fn audit_entries(
        &self,
        after: u64,
        max: usize,
    ) -> BoxFuture<'_, store::Result<Vec<AuditEntry>>>;
}

/// The running core, with a view of its worker queues.
pub(super) struct Live<S: Store> {
    pub core: Arc<Core<S>>,
    pub queues: QueueView<Work>,
}

impl<S: Store> std::ops::Deref for Live<S> {
    type Target = Arc<Core<S>>;
    fn deref(&self) -> &Arc<Core<S>> {
        &self.core
    }
}

impl<S: Store> Running for Live<S> {
    fn bound(&self) -> Vec<Operator> {
        self.operators.values().map(|(_, o)| o.clone()).collect()
    }

    fn flows(&self) -> Arc<FlowSet> {
        self.core.flows()
    }

    fn store_state(&self) -> BoxFuture<'_, StoreState> {
        Box::pin(async move {
            if !self.store.writes_ok() {
                return StoreState::WritesFailing;
            }
            // A key no subscriber has: a plain read, nothing written.
            let who = crate::store::SubscriberKey("readyz".into());
            let read = self.store.get_profile(&who);
            match tokio::time::timeout(STORE_PROBE, read).await {
                Ok(Ok(_)) => StoreState::Ok,
                _ => StoreState::NotAnswering,
            }
        })
    }

    fn snapshot(&self) -> Snapshot {
        let mut binds = Vec::new();
        let mut windows = Vec::new();
        for (name, (cfg, op)) in &self.operators {
            binds.extend(op.stats().into_iter().map(|b| (name.clone(), b)));
            windows.push((name.clone(), cfg.window as usize));
        }
        Snapshot {
            binds,
            windows,
            outbox: self.outbox.stats(),
            worker_queue: self.queues.queued(),
            in_flight: self.in_flight.load(Ordering::Acquire),
            sessions_active: self.active.counts(self.now_ms()),
        }
    }

    /// Stop taking new dialogues; wait until jobs in flight are done.
    fn drain(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.draining.store(true, Ordering::SeqCst);
            loop {
                let idle = self.idle.notified();
                if self.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        })
    }

    /// Follow-ups in flight get the rest of the grace; then unbind, sync.
    fn finish(&self, grace: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.followups.close();
            if tokio::time::timeout(grace, self.followups.wait())
                .await
                .is_err()
            {
                tracing::warn!("follow-ups still running at shutdown; they resume at next start");
            }
            for (_, op) in self.operators.values() {
                op.shutdown().await;
            }
            if let Err(e) = self.store.sync().await {
                tracing::error!(error = %e, "store sync at shutdown failed");
            }
        })
    }

    fn grace(&self) -> Duration {
        self.config.gateway.shutdown_grace
    }

    fn set_flows(&self, flows: FlowSet) -> Result<(), Vec<SameVersionChanged>> {
        self.replace_flows(flows)
    }

    fn change<'a>(
        &'a self,
        who: &'a str,
        change: Change,
    ) -> BoxFuture<'a, Result<Outcome, Refused>> {
        Box::pin(super::publish::apply(&self.core, who, change))
    }

    fn staged(&self) -> Option<(Vec<FlowInfo>, usize)> {
        self.core.staged().map(|s| {
            let flows = s
                .flows
                .flows()
                .map(|f| FlowInfo {
                    id: f.id().to_string(),
                    version: f.version(),
                    checksum: f.checksum(),
                    file: String::new(),
                })
                .collect();
            (flows, s.msisdns.len())
        })
    }

    fn files(&self) -> BoxFuture<'_, std::collections::BTreeMap<String, String>> {
        Box::pin(async move { self.core.publish.lock().await.files().clone() })
    }

    fn history(&self, before: u64, max: usize) -> BoxFuture<'_, store::Result<Vec<(u64, Entry)>>> {
        Box::pin(super::publish::entries(&*self.core.store, before, max))
    }

    fn sessions(
        &self,
        after: Option<SessionKey>,
        max: usize,
        all: bool,
    ) -> BoxFuture<'_, store::Result<(Vec<SessionView>, Option<String>)>> {
        Box::pin(super::sessions::page(&self.core, after, max, all))
    }

    fn end_session(&self, key: SessionKey) -> BoxFuture<'_, store::Result<bool>> {
        Box::pin(async move { super::sessions::end(&self.core, &key).await })
    }

    fn audit(&self, record: serde_json::Value) -> BoxFuture<'_, ()> {
        Box::pin(super::audit::append(&self.core, record))
    }

    fn verify_audit(&self) -> BoxFuture<'_, store::Result<Verdict>> {
        Box::pin(super::audit::verify(&*self.core.store))
    }

    fn audit_entries(
        &self,
        after: u64,
        max: usize,
    ) -> BoxFuture<'_, store::Result<Vec<AuditEntry>>> {
        Box::pin(self.core.store.audit_entries(after, max))
    }
}

/// How long a readiness check waits on the store.
const STORE_PROBE: Duration = Duration::from_millis(500);

/// A look at a running gateway (for `/readyz` and `/metrics`); it keeps
/// nothing running by itself.
#[derive(Clone)]
pub struct Probe(Arc<dyn Running>);

impl Probe {
    /// Binds, windows, queues now.
    pub fn snapshot(&self) -> Snapshot {
        self.0.snapshot()
    }

    /// Operators with no bind up (empty: every operator has one).
    pub fn unbound(&self) -> Vec<String> {
        self.0
            .bound()
            .iter()
            .filter(|o| !o.is_bound())
            .map(|o| o.name().to_string())
            .collect()
    }

    /// The flows in force for new sessions, and the versions kept for
    /// sessions that started on them.
    pub fn flows(&self) -> Arc<FlowSet> {
        self.0.flows()
    }

    /// Whether the store answers a read within half a second and its last
    /// durable write succeeded.
    pub async fn store_state(&self) -> StoreState {
        self.0.store_state().await
    }
}

/// What the admin listener changes through: flows (publish, stage,
/// roll back), sessions (end), audit records; and what it reads besides
/// the [`Probe`]: history, stored sessions, the audit chain's check.
#[derive(Clone)]
pub struct Control(Arc<dyn Running>);

impl Control {
    /// Makes a change to the flows (see `runtime::publish`), as `who`.
    pub async fn change(&self, who: &str, change: Change) -> Result<Outcome, Refused> {
        self.0.change(who, change).await
    }

    /// The staged set's flows and how many test MSISDNs get it.
    pub fn staged(&self) -> Option<(Vec<FlowInfo>, usize)> {
        self.0.staged()
    }

    /// The text of the set in force, by file name.
    pub async fn files(&self) -> std::collections::BTreeMap<String, String> {
        self.0.files().await
    }

    /// Flow history entries before `before`, newest first.
    pub async fn history(&self, before: u64, max: usize) -> store::Result<Vec<(u64, Entry)>> {
        self.0.history(before, max).await
    }

    /// A page of stored sessions and where the next one starts.
    pub async fn sessions(
        &self,
        after: Option<SessionKey>,
        max: usize,
        all: bool,
    ) -> store::Result<(Vec<SessionView>, Option<String>)> {
        self.0.sessions(after, max, all).await
    }

    pub async fn end_session(&self, key: SessionKey) -> store::Result<bool> {
        self.0.end_session(key).await
    }

    /// Appends an audit record (logged, not returned, when it fails).
    pub async fn audit(&self, record: serde_json::Value) {
        self.0.audit(record).await
    }

    /// Walks the audit chain.
    pub async fn verify_audit(&self) -> store::Result<Verdict> {
        self.0.verify_audit().await
    }

    /// Audit entries after `after`, oldest first, at most `max`.
    pub async fn audit_entries(&self, after: u64, max: usize) -> store::Result<Vec<AuditEntry>> {
        self.0.audit_entries(after, max).await
    }
}

/// A running gateway.
pub struct GatewayHandle {
    pub(super) core: Arc<dyn Running>,
    pub(super) enqueue: EnqueueFn,
    pub(super) port: Arc<dyn crate::notify::Port>,
    pub(super) intake: CancellationToken,
    pub(super) shutdown: CancellationToken,
    pub(super) outbox_stop: CancellationToken,
    pub(super) outbox_task: tokio::task::JoinHandle<()>,
    pub(super) tasks: JoinSet<()>,
    pub(super) workers: JoinSet<()>,
}

impl GatewayHandle {
    /// True once every operator has a bind up (within `timeout`).
    pub async fn wait_bound(&self, timeout: Duration) -> bool {
        let ops = self.core.bound();
        let all = futures::future::join_all(ops.iter().map(|o| o.wait_bound(timeout))).await;
        all.into_iter().all(|b| b)
    }

    /// Puts freshly compiled flows in force for new sessions (a reload
    /// after the flow files changed and compiled cleanly); sessions in
    /// progress finish on the version they started on. Refused whole, the
    /// running flows staying, when a flow changed without a new version.
    pub fn set_flows(&self, flows: FlowSet) -> Result<(), Vec<SameVersionChanged>> {
        let names: Vec<String> = flows
            .flows()
            .map(|f| format!("{}@{}", f.id(), f.version()))
            .collect();
        self.core.set_flows(flows)?;
        tracing::info!(flows = %names.join(" "), "flows replaced; sessions in progress keep their version");
        Ok(())
    }

    /// A cheap, shareable view for health checks and metrics.
    pub fn probe(&self) -> Probe {
        Probe(Arc::clone(&self.core))
    }

    /// What the admin listener changes the gateway through.
    pub fn control(&self) -> Control {
        Control(Arc::clone(&self.core))
    }

    /// Queues an SMS to `to` through the durable outbox.
    pub async fn enqueue_sms(&self, to: &str, text: &str) -> Result<OutboundId, EnqueueError> {
        (self.enqueue)(to.to_string(), text.to_string()).await
    }

    /// What the notification API sends and reads through.
    pub fn notify_port(&self) -> Arc<dyn crate::notify::Port> {
        self.port.clone()
    }

    /// Graceful: stop new dialogues and SMS, let steps in flight finish
    /// within `gateway.shutdown_grace`, stop the outbox, unbind, sync.
    pub async fn shutdown(mut self) {
        let grace = self.core.grace();
        let started = tokio::time::Instant::now();
        if tokio::time::timeout(grace, self.core.drain())
            .await
            .is_err()
        {
            tracing::warn!("steps still in flight after the shutdown grace");
        }
        self.intake.cancel();
        while self.tasks.join_next().await.is_some() {}
        let left = grace.saturating_sub(started.elapsed());
        if tokio::time::timeout(left, async {
            while self.workers.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            self.workers.abort_all();
        }
        self.outbox_stop.cancel();
        let _ = (&mut self.outbox_task).await;
        let left = grace.saturating_sub(started.elapsed());
        self.core.finish(left).await;
        self.shutdown.cancel();
        tracing::info!("gateway stopped");
    }
}

impl Drop for GatewayHandle {
    /// Dropped without `shutdown` (a crash, in tests): stop everything at
    /// once. Nothing acknowledged is lost: it is in the journal.
    fn drop(&mut self) {
        self.intake.cancel();
        self.outbox_stop.cancel();
        self.shutdown.cancel();
        self.outbox_task.abort();
    }
}
