//! `Operator`: the handle on every bind of one SMSC account. Submits go
//! into one bounded queue that every submitting bind pulls from when it is
//! bound, has window room and a TPS token, so the load spreads over the
//! binds that can take it and never waits on one that is down.
//!
//! TPS: the configured `tps` is per operator account; each submitting bind
//! (a transceiver, or the transmitter of a tx_rx pair) gets
//! `throttle::share(tps, binds, index)`, i.e. an equal part.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::bind::{self, BindCtx, Kind};
use super::inbound::Inbound;
use super::{throttle, Options, Request, SubmitResult};
use crate::config::{self, BindMode};
use crate::smpp::pdu::{Body, DataSm, Sm};

/// How many binds are up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bound {
    /// Transceivers and transmitters.
    pub submitters: u32,
    pub all: u32,
}

/// Live counters of one bind.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    bound: AtomicBool,
    in_flight: AtomicUsize,
    rate_milli: AtomicU64,
    throttled: AtomicU64,
    queue_full: AtomicU64,
    unknown: AtomicU64,
    busy: AtomicU64,
    malformed: AtomicU64,
    rejected_binds: AtomicU64,
    binds: AtomicU64,
}

macro_rules! bump {
    ($($f:ident => $field:ident),*) => {
        impl Counters { $(pub fn $f(&self) { self.$field.fetch_add(1, Ordering::Relaxed); })* }
    };
}
bump!(add_queue_full => queue_full, add_busy => busy, add_malformed => malformed, add_rejected_bind => rejected_binds);

impl Counters {
    pub fn set_bound(&self, up: bool) {
        self.bound.store(up, Ordering::Relaxed);
        if up {
            self.binds.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn set_in_flight(&self, n: usize) {
        self.in_flight.store(n, Ordering::Relaxed);
    }
    pub fn add_unknown(&self, n: u64) {
        self.unknown.fetch_add(n, Ordering::Relaxed);
    }
    pub fn throttled(&self, rate: f64) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        self.set_rate(rate);
    }
    pub fn set_rate(&self, rate: f64) {
        self.rate_milli
            .store((rate * 1000.0) as u64, Ordering::Relaxed);
    }
}

/// A snapshot of one bind, for metrics and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct BindStats {
    pub index: u32,
    /// "transceiver", "transmitter" or "receiver".
    pub kind: &'static str,
    pub bound: bool,
    /// Submits in flight now.
    pub in_flight: usize,
    /// Submits/s after the last ESME_RTHROTTLED (the share until then).
    pub rate: f64,
    pub throttled: u64,
    pub queue_full: u64,
    /// Submits reported Unknown (link died or response timer fired).
    pub unknown: u64,
    /// Inbound PDUs answered ESME_RX_T_APPN because the application was full.
    pub busy: u64,
    /// Malformed PDUs from the SMSC (answered, link kept).
    pub malformed: u64,
    pub rejected_binds: u64,
    /// Successful binds so far (1 + rebinds).
    pub binds: u64,
}

struct BindSlot {
    index: u32,
    kind: Kind,
    counters: Arc<Counters>,
}

struct Inner {
    name: Arc<str>,
    options: Options,
    queue: mpsc::Sender<Request>,
    /// USSD screens: every bind pulls this lane first.
    urgent: mpsc::Sender<Request>,
    bound: watch::Receiver<Bound>,
    slots: Vec<BindSlot>,
    cancel: CancellationToken,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// Every bind of one operator account. Cheap to clone.
#[derive(Clone)]
pub struct Operator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("name", &self.inner.name)
            .field("bound", &*self.inner.bound.borrow())
            .finish()
    }
}

impl Operator {
    /// Starts every bind of `cfg` (`binds` transceivers, or `binds`
    /// transmitter + receiver pairs). Must run inside a tokio runtime.
    pub fn start(
        cfg: Arc<config::Operator>,
        inbound: mpsc::Sender<Inbound>,
        shutdown: CancellationToken,
    ) -> Operator {
        Self::start_with(cfg, inbound, shutdown, Options::default())
    }

    pub fn start_with(
        cfg: Arc<config::Operator>,
        inbound: mpsc::Sender<Inbound>,
        shutdown: CancellationToken,
        options: Options,
    ) -> Operator {
        let name: Arc<str> = Arc::from(cfg.name.as_str());
        let binds = cfg.binds.max(1);
        let capacity = (cfg.window.max(1) * binds) as usize;
        let (queue_tx, queue_rx) = mpsc::channel(capacity);
        let queue = Arc::new(Mutex::new(queue_rx));
        let (urgent_tx, urgent_rx) = mpsc::channel(capacity);
        let urgent = Arc::new(Mutex::new(urgent_rx));
        let (bound_tx, bound_rx) = watch::channel(Bound::default());
        let cancel = shutdown.child_token();
        let kinds: &[Kind] = match cfg.bind_mode {
            BindMode::Transceiver => &[Kind::Transceiver],
            BindMode::TxRx => &[Kind::Transmitter, Kind::Receiver],
        };
        let mut slots = Vec::new();
        let mut tasks = Vec::new();
        for index in 0..binds {
            for &kind in kinds {
                let counters = Arc::new(Counters::default());
                let tps = throttle::share(cfg.tps, binds, index);
                counters.set_rate(f64::from(tps));
                let ctx = BindCtx {
                    operator: name.clone(),
                    index,
                    kind,
                    tps,
                    cfg: cfg.clone(),
                    options: options.clone(),
                    queue: kind.submits().then(|| queue.clone()),
                    urgent: kind.submits().then(|| urgent.clone()),
                    inbound: inbound.clone(),
                    stats: counters.clone(),
                    bound: bound_tx.clone(),
                    cancel: cancel.clone(),
                };
                tasks.push(tokio::spawn(bind::run(ctx)));
                slots.push(BindSlot {
                    index,
                    kind,
                    counters,
                });
            }
        }
        Operator {
            inner: Arc::new(Inner {
                name,
                options,
                queue: queue_tx,
                urgent: urgent_tx,
                bound: bound_rx,
                slots,
                cancel,
                tasks: std::sync::Mutex::new(tasks),
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// submit_sm on whichever bind takes it first; waits for window room
    /// and a TPS token, at most `Options::submit_wait` for a bind to take it.
    pub async fn submit(&self, sm: Sm) -> SubmitResult {
        self.send(Body::SubmitSm(sm), self.inner.options.submit_wait)
            .await
    }

    /// Like `submit`, waiting at most `wait` for a bind to take it.
    pub async fn submit_within(&self, sm: Sm, wait: Duration) -> SubmitResult {
        self.send(Body::SubmitSm(sm), wait).await
    }

    /// data_sm, as `submit`.
    pub async fn submit_data(&self, sm: DataSm) -> SubmitResult {
        self.send(Body::DataSm(sm), self.inner.options.submit_wait)
            .await
    }

    /// Like `submit_within`, on the interactive lane: binds take it before
    /// anything in the shared queue (a USSD screen must not wait behind a
    /// bulk send; it still takes a TPS token and window room).
    pub async fn submit_interactive(&self, sm: Sm, wait: Duration) -> SubmitResult {
        self.send_on(&self.inner.urgent, Body::SubmitSm(sm), wait)
            .await
    }

    async fn send(&self, body: Body, wait: Duration) -> SubmitResult {
        self.send_on(&self.inner.queue, body, wait).await
    }

    async fn send_on(
        &self,
        lane: &mpsc::Sender<Request>,
        body: Body,
        wait: Duration,
    ) -> SubmitResult {
        if self.inner.cancel.is_cancelled() {
            return SubmitResult::NotBound;
        }
        let pickup = Instant::now() + wait;
        let (req, ticket) = Request::new(body);
        match tokio::time::timeout_at(pickup, lane.send(req)).await {
            Ok(Ok(())) => ticket.wait(pickup).await,
            Ok(Err(_)) | Err(_) => SubmitResult::NotBound,
        }
    }

    /// A transceiver or transmitter is bound.
    pub fn is_bound(&self) -> bool {
        self.inner.bound.borrow().submitters > 0
    }

    /// Waits until a bind that can submit is up.
    pub async fn wait_bound(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |b| b.submitters > 0).await
    }

    /// Waits until every configured bind is up.
    pub async fn wait_all_bound(&self, timeout: Duration) -> bool {
        let n = self.inner.slots.len() as u32;
        self.wait_for(timeout, |b| b.all >= n).await
    }

    async fn wait_for(&self, timeout: Duration, ready: impl Fn(&Bound) -> bool) -> bool {
        let mut rx = self.inner.bound.clone();
        tokio::time::timeout(timeout, rx.wait_for(|b| ready(b)))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Per-bind counters.
    pub fn stats(&self) -> Vec<BindStats> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        self.inner
            .slots
            .iter()
            .map(|s| {
                let c = &s.counters;
                BindStats {
                    index: s.index,
                    kind: s.kind.name(),
                    bound: c.bound.load(Ordering::Relaxed),
                    in_flight: c.in_flight.load(Ordering::Relaxed),
                    rate: load(&c.rate_milli) as f64 / 1000.0,
                    throttled: load(&c.throttled),
                    queue_full: load(&c.queue_full),
                    unknown: load(&c.unknown),
                    busy: load(&c.busy),
                    malformed: load(&c.malformed),
                    rejected_binds: load(&c.rejected_binds),
                    binds: load(&c.binds),
                }
            })
            .collect()
    }

    /// Graceful: no new submits; every bind lets its window drain, sends
    /// unbind and waits for unbind_resp (each step bounded by
    /// `Options::unbind_grace`), then closes. Later submits get NotBound.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        let tasks: Vec<_> =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let grace = 2 * self.inner.options.unbind_grace + Duration::from_secs(1);
        let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
        let all = futures::future::join_all(tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(operator = %self.inner.name, "binds did not stop within the grace; aborted");
            aborts.iter().for_each(|a| a.abort());
        }
    }
}
