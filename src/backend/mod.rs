//! Calls to government HTTP back-ends on behalf of flows.
//!
//! `Backends::call` turns one `CallRequest` (back-end, operation, the
//! citizen's parameters) into an `engine::Outcome` plus JSON data, within
//! the call's deadline (retries included). Per back-end, from the
//! configuration only: one pooled client, a concurrency limit that fails
//! fast, a circuit breaker, a response size cap, an optional GET cache.
//! Requests are built by typed builders (`request`), never by string
//! templating. Every attempt carries the caller's Idempotency-Key and
//! X-Correlation-Id; the correlation id is a field of the call's span.
//!
//! Must not: follow redirects, retry a non-idempotent operation, log
//! parameters, bodies or credentials (parameter values are national ids
//! and PINs), or wait past the deadline.

pub mod breaker;
pub mod cache;
pub mod client;
pub mod http2;
pub mod outcome;
pub mod request;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{Backend, Operation};
use crate::engine::Outcome;
use breaker::Breaker;
use cache::Cache;
use client::{CallHeaders, Http};
use outcome::{Answer, Failure};

/// One call a flow wants made.
#[derive(Debug, Clone)]
pub struct CallRequest {
    pub backend: String,
    pub operation: String,
    /// Values for the operation's placeholders. Never logged.
    pub params: BTreeMap<String, String>,
    /// Sent as Idempotency-Key on every attempt: derived by the caller
    /// from session + step, so a replayed step is recognisable.
    pub idempotency_key: String,
    /// Sent as X-Correlation-Id and logged.
    pub correlation_id: String,
    /// Tighter than the back-end's `timeout` (the USSD step budget).
    pub deadline: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    pub outcome: Outcome,
    /// The answer's object (mapped by the operation's `response`) for
    /// `Ok`; `Null` otherwise.
    pub data: serde_json::Value,
    pub elapsed: Duration,
    /// HTTP requests sent (0: answered from the cache or refused at once).
    pub attempts: u32,
}

/// Why the back-ends could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("backend {backend}: base_url is plain http but allow_http is not set")]
    PlainHttp { backend: String },
    #[error("backend {backend}: the auth secret is unresolved or not a valid header value")]
    Secret { backend: String },
    #[error("backend {backend}: TLS: {detail}")]
    Tls { backend: String, detail: String },
    #[error("backend {backend}: HTTP client: {detail}")]
    Client { backend: String, detail: String },
}

/// First retry pause; doubled per attempt, with jitter, capped.
const BACKOFF_BASE: Duration = Duration::from_millis(25);
const BACKOFF_MAX: Duration = Duration::from_millis(500);
/// A retry is only worth it with at least this much of the deadline left.
const MIN_ATTEMPT: Duration = Duration::from_millis(20);

struct Target {
    config: Backend,
    http: Http,
    limit: Semaphore,
    breaker: Breaker,
    cache: Option<Cache>,
}

/// Every configured back-end. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct Backends {
    targets: Arc<BTreeMap<String, Target>>,
    /// Calls in flight across every back-end (`gateway.queues.backend_calls`).
    total: Option<Arc<Semaphore>>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.targets.keys()).finish()
    }
}

impl Backends {
    pub fn from_config(backends: &[Backend]) -> Result<Backends, BackendError> {
        let mut targets = BTreeMap::new();
        for b in backends {
            let target = Target {
                http: Http::new(b)?,
                limit: Semaphore::new(b.concurrency),
                breaker: Breaker::new(b.circuit_breaker.clone()),
                cache: (!b.cache_ttl.is_zero())
                    .then(|| Cache::new(b.cache_ttl, cache::CAPACITY, cache::BYTES)),
                config: b.clone(),
            };
            targets.insert(b.name.clone(), target);
        }
        Ok(Backends {
            targets: Arc::new(targets),
            total: None,
        })
    }

    /// Caps the calls in flight across every back-end
    /// (`gateway.queues.backend_calls`): beyond it a call fails at once,
    /// like a full per-back-end `concurrency`.
    pub fn with_total_limit(mut self, total: usize) -> Backends {
        self.total = Some(Arc::new(Semaphore::new(total)));
        self
    }

    /// The breaker state of `backend` (for tests and the admin API).
    pub fn breaker(&self, backend: &str) -> Option<breaker::State> {
        self.targets.get(backend).map(|t| t.breaker.state())
    }

    /// Makes the call. Never fails: every problem is an outcome.
    pub async fn call(&self, req: CallRequest) -> CallResult {
        let span = tracing::info_span!(
            "backend_call",
            backend = %req.backend,
            operation = %req.operation,
            correlation_id = %req.correlation_id,
        );
        self.call_inner(req).instrument(span).await
    }

    async fn call_inner(&self, req: CallRequest) -> CallResult {
        let start = Instant::now();
        let found = self.targets.get(&req.backend).and_then(|t| {
            let op = t.config.operations.get(&req.operation)?;
            Some((t, op))
        });
        let (result, attempts) = match found {
            Some((target, op)) => target.call(op, &req, start, self.total.as_deref()).await,
            None => (Err(Failure::Unknown), 0),
        };
        let elapsed = start.elapsed();
        let elapsed_ms = elapsed.as_secs_f64() * 1e3;
        let (outcome, data) = match result {
            Ok(Answer::Found(data)) => (Outcome::Ok, data),
            Ok(Answer::NotFound) => (Outcome::NotFound, serde_json::Value::Null),
            Err(f) => {
                tracing::warn!(reason = f.reason(), status = ?status_of(f), attempts, elapsed_ms, "back-end call failed");
                (f.outcome(), serde_json::Value::Null)
            }
        };
        tracing::info!(
            outcome = outcome.key(),
            attempts,
            elapsed_ms,
            "back-end call"
        );
        if found.is_some() {
            // Only configured names: the label set stays bounded.
            crate::metrics::get().backend_call(&req.backend, outcome.key(), elapsed);
        }
        CallResult {
            outcome,
            data,
            elapsed,
            attempts,
        }
    }
}

fn status_of(f: Failure) -> Option<u16> {
    match f {
        Failure::Status(s) => Some(s),
        _ => None,
    }
}

impl Target {
    /// The call within its deadline: cache, limits, attempts.
    async fn call(
        &self,
        op: &Operation,
        req: &CallRequest,
        start: Instant,
        total: Option<&Semaphore>,
    ) -> (Result<Answer, Failure>, u32) {
        let budget = req
            .deadline
            .map_or(self.config.timeout, |d| d.min(self.config.timeout));
        let deadline = start + budget;
        let prepared = match request::build(&self.config.base_url, op, &req.params) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "back-end request refused");
                return (Err(Failure::Request), 0);
            }
        };
        let headers = match call_headers(req) {
            Some(h) => h,
            None => return (Err(Failure::Request), 0),
        };
        let cache = self
            .cache
            .as_ref()
            .filter(|_| prepared.method == reqwest::Method::GET);
        let cache_key = cache.map(|_| prepared.cache_key());
        if let (Some(cache), Some(key)) = (cache, &cache_key) {
            if let Some(data) = cache.get(key, start) {
                tracing::debug!("answered from the cache");
                return (Ok(Answer::Found(data)), 0);
            }
        }
        let Ok(_permit) = self.limit.try_acquire() else {
            return (Err(Failure::Busy), 0);
        };
        let _total = match total.map(Semaphore::try_acquire) {
            Some(Err(_)) => return (Err(Failure::Busy), 0),
            permit => permit,
        };
        let Some(ticket) = self.breaker.admit(start) else {
            return (Err(Failure::Open), 0);
        };
        let (result, attempts) = self.attempts(op, &prepared, &headers, deadline).await;
        let healthy = !matches!(result, Err(f) if f.unhealthy());
        ticket.record(healthy, Instant::now());
        let result = result.map(|a| self.shape(op, a));
        if let (Some(cache), Some(key), Ok(Answer::Found(data))) = (cache, cache_key, &result) {
            cache.put(key, data.clone(), Instant::now());
        }
        (result, attempts)
    }

    /// Attempts until an answer, a failure not worth retrying, the last
    /// allowed retry, or too little of the deadline left for another.
    async fn attempts(
        &self,
        op: &Operation,
        prepared: &request::Prepared,
        headers: &CallHeaders,
        deadline: Instant,
    ) -> (Result<Answer, Failure>, u32) {
        let max_attempts = 1 + if op.idempotent {
            self.config.retries
        } else {
            0
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let sent = self.http.attempt(prepared, headers, &op.not_found);
            let (status, result) = match tokio::time::timeout_at(deadline, sent).await {
                Ok(r) => r,
                Err(_) => (None, Err(Failure::Timeout)),
            };
            tracing::debug!(attempt = attempts, status, "attempt done");
            match result {
                Err(f) if f.retryable() && attempts < max_attempts => {
                    let pause = backoff(attempts);
                    if Instant::now() + pause + MIN_ATTEMPT >= deadline {
                        return (Err(f), attempts);
                    }
                    tokio::time::sleep(pause).await;
                }
                other => return (other, attempts),
            }
        }
    }

    /// Applies the operation's `response` map (variable -> JSON pointer).
    fn shape(&self, op: &Operation, answer: Answer) -> Answer {
        match answer {
            Answer::Found(data) if !op.response.is_empty() => Answer::Found(
                op.response
                    .iter()
                    .filter_map(|(var, ptr)| Some((var.clone(), data.pointer(ptr)?.clone())))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            ),
            other => other,
        }
    }
}

fn call_headers(req: &CallRequest) -> Option<CallHeaders> {
    let valid = |v: &str, what: &str| match HeaderValue::from_str(v) {
        Ok(h) if !v.is_empty() => Some(h),
        _ => {
            tracing::warn!("{what} is empty or not a valid header value");
            None
        }
    };
    Some(CallHeaders {
        idempotency_key: valid(&req.idempotency_key, "idempotency key")?,
        correlation_id: valid(&req.correlation_id, "correlation id")?,
    })
}

/// Exponential backoff with "equal jitter": half fixed, half random, so
/// retries from many sessions do not arrive in step.
fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let exp = BACKOFF_BASE.saturating_mul(1 << attempt.saturating_sub(1).min(8));
    let cap = exp.min(BACKOFF_MAX);
    let half = cap / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            let cap = (super::BACKOFF_BASE * (1 << (attempt - 1).min(8))).min(super::BACKOFF_MAX);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(30) <= Duration::from_millis(500));
    }
}
