//! The SMSC: `Smsc::start` binds the listener and spawns the accept loop; `SmscHandle` is what
//! tests hold to observe binds and MTs and to script misbehaviour. Shared state lives in `Shared`;
//! the per-connection protocol lives in `session`. Does not decode PDUs itself.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::BytesMut;
use rusmpp::pdus::DeliverSm;
use rusmpp::CommandStatus;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Behaviour, SmscConfig};
use crate::observe::{BindId, BindInfo, Counters, NackReceived, ProtocolError, Stats, Submitted};
use crate::session::{self, Control};

/// Errors the handle and the phones return.
#[derive(Debug, Error)]
pub enum SimError {
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    #[error("no bind matches (a receiver or transceiver is needed to deliver)")]
    NoBind,
    #[error("the bind closed before the operation finished")]
    BindClosed,
    #[error("the gateway answered deliver_sm with {0:?}")]
    DeliverRejected(CommandStatus),
    #[error("the USSD session already ended")]
    SessionEnded,
    #[error("text does not fit in one deliver_sm: {0}")]
    Text(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Which binds a runtime action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Bind(BindId),
    SystemId(String),
}

impl Target {
    fn matches(&self, info: &BindInfo) -> bool {
        match self {
            Target::All => true,
            Target::Bind(id) => info.id == *id,
            Target::SystemId(s) => info.system_id == *s,
        }
    }
}

pub(crate) struct BindEntry {
    pub info: BindInfo,
    pub control: mpsc::Sender<Control>,
}

/// Where submits for phones go: USSD by (MSISDN, session number), SMS by MSISDN.
#[derive(Default)]
pub(crate) struct Routes {
    pub ussd: HashMap<(String, Option<u8>), mpsc::Sender<Submitted>>,
    pub sms: HashMap<String, mpsc::Sender<Submitted>>,
}

const RECORD_CAP: usize = 1000;

pub(crate) struct Shared {
    pub config: SmscConfig,
    pub counters: Counters,
    behaviour: Mutex<Behaviour>,
    refuse_until: Mutex<Option<Instant>>,
    pub binds: Mutex<BTreeMap<BindId, BindEntry>>,
    pub routes: Mutex<Routes>,
    protocol_errors: Mutex<Vec<ProtocolError>>,
    nacks: Mutex<Vec<NackReceived>>,
    changed: watch::Sender<u64>,
    submits_tx: mpsc::Sender<Submitted>,
    submits_rx: tokio::sync::Mutex<mpsc::Receiver<Submitted>>,
    next_bind: Mutex<u64>,
    next_message_id: Mutex<u64>,
    next_ussd_session: Mutex<u8>,
    pub submit_count: Mutex<u64>,
    pub shutdown: CancellationToken,
}

/// Locks a std mutex, recovering the data if a panicking holder poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Wakes every `wait_*` so it re-checks its condition.
    pub fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
    pub fn behaviour(&self) -> Behaviour {
        lock(&self.behaviour).clone()
    }
    /// Consumes one refusal if binds are being refused right now.
    pub fn take_bind_refusal(&self) -> bool {
        if lock(&self.refuse_until).is_some_and(|until| Instant::now() < until) {
            return true;
        }
        let mut b = lock(&self.behaviour);
        if b.refuse_binds > 0 {
            b.refuse_binds -= 1;
            return true;
        }
        false
    }
    pub fn record_protocol_error(&self, e: ProtocolError) {
        tracing::warn!(bind = e.bind.0, command_id = e.command_id, seq = e.sequence, reason = %e.reason, "protocol error from ESME");
        crate::observe::bump(&self.counters.protocol_errors);
        let mut v = lock(&self.protocol_errors);
        if v.len() < RECORD_CAP {
            v.push(e);
        }
    }
    pub fn record_nack(&self, n: NackReceived) {
        crate::observe::bump(&self.counters.generic_nacks_received);
        let mut v = lock(&self.nacks);
        if v.len() < RECORD_CAP {
            v.push(n);
        }
    }
    pub fn new_message_id(&self) -> String {
        let mut n = lock(&self.next_message_id);
        *n += 1;
        format!("{:08x}", *n)
    }
    pub fn new_ussd_session(&self) -> u8 {
        let mut n = lock(&self.next_ussd_session);
        *n = n.wrapping_add(1);
        *n
    }
    pub fn new_bind_id(&self) -> BindId {
        let mut n = lock(&self.next_bind);
        *n += 1;
        BindId(*n)
    }
    /// Hands a decoded MT to whoever waits for it: a USSD phone, an SMS phone, or the queue.
    pub fn route_submit(&self, s: Submitted) {
        let ussd_key = |session| (s.dest.clone(), session);
        let sender = {
            let routes = lock(&self.routes);
            let session = s.its_session_info.map(|[n, _]| n);
            routes
                .ussd
                .get(&ussd_key(session))
                .or_else(|| routes.ussd.get(&ussd_key(None)))
                .or_else(|| routes.sms.get(&s.dest))
                .cloned()
        };
        let sent = match sender {
            Some(tx) => tx.try_send(s).map_err(|e| e.into_inner()),
            None => Err(s),
        };
        if let Err(s) = sent {
            if self.submits_tx.try_send(s).is_err() {
                crate::observe::bump(&self.counters.observer_overflow);
            }
        }
    }
    /// Control channels of the binds `target` selects.
    pub fn controls(&self, target: &Target) -> Vec<(BindInfo, mpsc::Sender<Control>)> {
        lock(&self.binds)
            .values()
            .filter(|e| target.matches(&e.info))
            .map(|e| (e.info.clone(), e.control.clone()))
            .collect()
    }
    /// A bind that can take a deliver_sm: `target` first, receivers before transmitters.
    pub fn receiver(&self, target: &Target) -> Option<mpsc::Sender<Control>> {
        self.controls(target)
            .into_iter()
            .find(|(i, _)| i.kind.can_receive())
            .map(|(_, c)| c)
    }
}

/// The simulated SMSC.
#[derive(Debug)]
pub struct Smsc;

impl Smsc {
    /// Binds `config.listen` and starts accepting ESMEs. Each connection is one task.
    pub async fn start(config: SmscConfig) -> Result<SmscHandle, SimError> {
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let (submits_tx, submits_rx) = mpsc::channel(config.submit_queue.max(1));
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            behaviour: Mutex::new(config.behaviour.clone()),
            refuse_until: Mutex::new(None),
            binds: Mutex::default(),
            routes: Mutex::default(),
            protocol_errors: Mutex::default(),
            nacks: Mutex::default(),
            changed: watch::channel(0).0,
            submits_tx,
            submits_rx: tokio::sync::Mutex::new(submits_rx),
            next_bind: Mutex::new(0),
            next_message_id: Mutex::new(0),
            next_ussd_session: Mutex::new(0),
            submit_count: Mutex::new(0),
            shutdown: CancellationToken::new(),
            config,
        });
        tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::info!(%local_addr, "SMSC simulator listening");
        Ok(SmscHandle { shared, local_addr })
    }
}

/// At most this many ESME connections at once.
const MAX_CONNECTIONS: usize = 64;

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    session::run(stream, peer, shared).await;
                    drop(permit);
                });
            }
            Err(e) => tracing::warn!(error = %e, "accept failed"),
        }
    }
}

/// What tests hold. Cloning it is cheap; dropping the last clone does not stop the SMSC,
/// [`SmscHandle::shutdown`] does.
#[derive(Clone)]
pub struct SmscHandle {
    pub(crate) shared: Arc<Shared>,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for SmscHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmscHandle")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl SmscHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    pub fn config(&self) -> &SmscConfig {
        &self.shared.config
    }
    /// The binds that are up now.
    pub fn binds(&self) -> Vec<BindInfo> {
        lock(&self.shared.binds)
            .values()
            .map(|e| e.info.clone())
            .collect()
    }
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }
    /// Malformed or out-of-place PDUs our ESME sent (first 1000).
    pub fn protocol_errors(&self) -> Vec<ProtocolError> {
        lock(&self.shared.protocol_errors).clone()
    }
    /// generic_nacks our ESME sent to the SMSC (first 1000).
    pub fn nacks_received(&self) -> Vec<NackReceived> {
        lock(&self.shared.nacks).clone()
    }

    /// Waits (up to `observe_timeout`) until `ready` holds for the binds and counters.
    pub async fn wait_until(
        &self,
        what: &'static str,
        mut ready: impl FnMut(&[BindInfo], &Stats) -> bool,
    ) -> Result<(), SimError> {
        let mut rx = self.shared.changed.subscribe();
        let t = self.shared.config.observe_timeout;
        let wait = async {
            loop {
                if ready(&self.binds(), &self.stats()) {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(t, wait)
            .await
            .map_err(|_| SimError::Timeout(t, what))
    }
    /// Waits until at least `n` binds are up and returns them.
    pub async fn wait_bound(&self, n: usize) -> Result<Vec<BindInfo>, SimError> {
        self.wait_until("binds", |b, _| b.len() >= n).await?;
        Ok(self.binds())
    }
    /// Waits until at most `n` binds are up (e.g. after `drop_link`).
    pub async fn wait_bound_at_most(&self, n: usize) -> Result<(), SimError> {
        self.wait_until("binds to go down", |b, _| b.len() <= n)
            .await
    }
    /// Waits until `stats` satisfies `ready`, returning the snapshot that did.
    pub async fn wait_stats(&self, ready: impl Fn(&Stats) -> bool) -> Result<Stats, SimError> {
        self.wait_until("counters", |_, s| ready(s)).await?;
        Ok(self.stats())
    }

    /// The next MT no phone claimed, in arrival order, waiting up to `observe_timeout`.
    pub async fn next_submit(&self) -> Result<Submitted, SimError> {
        let t = self.shared.config.observe_timeout;
        let mut rx = self.shared.submits_rx.lock().await;
        match tokio::time::timeout(t, rx.recv()).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(SimError::BindClosed),
            Err(_) => Err(SimError::Timeout(t, "a submit_sm")),
        }
    }
    /// The next queued MT, if one is already there.
    pub fn try_next_submit(&self) -> Option<Submitted> {
        self.shared.submits_rx.try_lock().ok()?.try_recv().ok()
    }

    pub fn behaviour(&self) -> Behaviour {
        self.shared.behaviour()
    }
    pub fn set_behaviour(&self, b: Behaviour) {
        *lock(&self.shared.behaviour) = b;
    }
    pub fn update_behaviour(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut lock(&self.shared.behaviour));
    }
    /// Refuses every bind attempt (ESME_RBINDFAIL) for `d`, measured on tokio's clock.
    pub fn refuse_binds_for(&self, d: Duration) {
        *lock(&self.shared.refuse_until) = Some(Instant::now() + d);
    }

    async fn each(&self, target: &Target, make: impl Fn(oneshot::Sender<()>) -> Control) -> usize {
        let mut done = 0;
        for (_, control) in self.shared.controls(target) {
            let (tx, rx) = oneshot::channel();
            if control.send(make(tx)).await.is_ok() && rx.await.is_ok() {
                done += 1;
            }
        }
        done
    }
    /// Closes the TCP link of the selected binds now, without unbind. Returns how many closed.
    pub async fn drop_link(&self, target: Target) -> usize {
        self.each(&target, |done| Control::Drop { done }).await
    }
    /// Sends unbind to the selected binds; resolves once written. The session closes when the
    /// ESME answers unbind_resp (or closes the link).
    pub async fn send_unbind(&self, target: Target) -> usize {
        self.each(&target, |done| Control::Unbind { done }).await
    }
    /// Writes `bytes` as they are onto the selected links; resolves once written.
    pub async fn send_raw(&self, target: Target, bytes: &[u8]) -> usize {
        let n = self
            .each(&target, |done| Control::Raw {
                bytes: BytesMut::from(bytes),
                done: Some(done),
            })
            .await;
        (0..n).for_each(|_| crate::observe::bump(&self.shared.counters.garbage_sent));
        n
    }
    /// Writes bytes that are not SMPP (no valid header).
    pub async fn send_garbage(&self, target: Target) -> usize {
        self.send_raw(target, b"\x00\x00\x00\x01GARBAGE\xff\xfe\x00not smpp")
            .await
    }
    /// Writes a 16-byte header claiming `command_length` (e.g. 0xFFFF_FFF0) for a deliver_sm.
    pub async fn send_oversized(&self, target: Target, command_length: u32) -> usize {
        let mut bytes = crate::frame::header_only(0x0000_0005, 0, 0x7FFF_FFF0);
        bytes[..4].copy_from_slice(&command_length.to_be_bytes());
        self.send_raw(target, &bytes).await
    }
    /// Sends a deliver_sm of your own making on a bind `target` selects (receiver or
    /// transceiver) and returns the ESME's deliver_sm_resp status.
    pub async fn deliver(&self, target: Target, pdu: DeliverSm) -> Result<CommandStatus, SimError> {
        let control = self.shared.receiver(&target).ok_or(SimError::NoBind)?;
        session::deliver(&control, pdu, self.shared.config.observe_timeout).await
    }
    /// Stops accepting and closes every connection.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        let _ = self.wait_bound_at_most(0).await;
    }
}
