//! Back-end calls from flows: the [`Calls`] seam (the app implements it for
//! `backend::Backends`, tests with canned answers), a global bound on calls
//! in flight, idempotency keys and correlation ids.
//!
//! A call future is `'static` and owns its permit, so when a USSD turn's
//! budget runs out the same call keeps running and its answer becomes an
//! SMS follow-up (see `followup`).

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::Semaphore;

use crate::backend::{CallRequest, CallResult};
use crate::engine::Outcome;
use crate::store::SessionKey;

/// Runs one back-end call. Never fails: a failure is a `CallResult` whose
/// outcome the flow branches on.
pub trait Calls: Send + Sync + 'static {
    fn call(&self, req: CallRequest) -> BoxFuture<'static, CallResult>;
}

/// The production implementation: the configured HTTP back-ends.
impl Calls for crate::backend::Backends {
    fn call(&self, req: CallRequest) -> BoxFuture<'static, CallResult> {
        let backends = self.clone();
        Box::pin(async move { backends.call(req).await })
    }
}

/// The calls a flow asked for, bounded by `[gateway.queues] backend_calls`.
#[derive(Clone)]
pub struct CallGate {
    calls: Arc<dyn Calls>,
    permits: Arc<Semaphore>,
    node: Arc<str>,
    next: Arc<AtomicU64>,
}

/// A call as the runtime keeps it (also in a follow-up record).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub call_id: u64,
    pub backend: String,
    pub operation: String,
    /// None when the parameters held a secret and were not written down.
    pub params: Option<BTreeMap<String, String>>,
    pub idempotency_key: String,
    pub correlation_id: String,
    /// The parameters hold a secret: never write them down.
    #[serde(skip)]
    pub redact: bool,
    /// The call checks a secret (`verifies:`): its answer counts towards
    /// the PIN lockout, even when it comes late (a follow-up).
    #[serde(default)]
    pub check: Option<crate::engine::SecretCheck>,
}

impl Pending {
    /// The form written to a follow-up record: without secret parameters.
    pub fn for_record(&self) -> Pending {
        let mut p = self.clone();
        if p.redact {
            p.params = None;
        }
        p
    }
}

impl CallGate {
    pub fn new(calls: Arc<dyn Calls>, in_flight: usize, node: &str) -> CallGate {
        CallGate {
            calls,
            permits: Arc::new(Semaphore::new(in_flight.max(1))),
            node: node.into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Names a call: the idempotency key is the same for the same session,
    /// dialogue start and call id (a replay after a restart repeats it);
    /// the correlation id is fresh and appears in logs on both sides.
    pub fn pending(
        &self,
        key: &SessionKey,
        started_ms: u64,
        call_id: u64,
        backend: String,
        operation: String,
        params: BTreeMap<String, String>,
    ) -> Pending {
        let mut h = DefaultHasher::new();
        key.0.hash(&mut h);
        started_ms.hash(&mut h);
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Pending {
            call_id,
            backend,
            operation,
            params: Some(params),
            idempotency_key: format!("{:016x}-{started_ms}-{call_id}", h.finish()),
            correlation_id: format!("{}-{n}", self.node),
            redact: false,
            check: None,
        }
    }

    /// Starts the call (waiting for a permit inside the returned future).
    /// A call whose parameters were not kept fails at once.
    pub fn start(&self, p: &Pending) -> BoxFuture<'static, CallResult> {
        let Some(params) = p.params.clone() else {
            return Box::pin(async { failed() });
        };
        let req = CallRequest {
            backend: p.backend.clone(),
            operation: p.operation.clone(),
            params,
            idempotency_key: p.idempotency_key.clone(),
            correlation_id: p.correlation_id.clone(),
            deadline: None,
        };
        let calls = self.calls.clone();
        let permits = self.permits.clone();
        let span = tracing::info_span!("call", correlation_id = %p.correlation_id, backend = %p.backend, operation = %p.operation);
        Box::pin(tracing::Instrument::instrument(
            async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return failed();
                };
                let r = calls.call(req).await;
                tracing::info!(
                    outcome = r.outcome.key(),
                    elapsed_ms = r.elapsed.as_millis() as u64,
                    attempts = r.attempts,
                    "back-end call done"
                );
                r
            },
            span,
        ))
    }
}

fn failed() -> CallResult {
    CallResult {
        outcome: Outcome::Failed,
        data: serde_json::Value::Null,
        elapsed: std::time::Duration::ZERO,
        attempts: 0,
    }
}
