//! The SMSC: `Smsc::start` binds the listener and spawns the accept loop; `SmscHandle` is what
//! tests hold to observe binds and MTs and to script misbehaviour. Shared state lives in `Shared`;
//! the per-connection protocol lives in `session`. Does not decode PDUs itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusmpp::CommandStatus;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Behaviour, SmscConfig};
use crate::handle::SmscHandle;
use crate::observe::{BindId, BindInfo, Counters, NackReceived, ProtocolError, Submitted};
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
    pub behaviour: Mutex<Behaviour>,
    refuse_until: Mutex<Option<Instant>>,
    pub binds: Mutex<BTreeMap<BindId, BindEntry>>,
    pub routes: Mutex<Routes>,
    pub protocol_errors: Mutex<Vec<ProtocolError>>,
    pub nacks: Mutex<Vec<NackReceived>>,
    pub changed: watch::Sender<u64>,
    submits_tx: mpsc::Sender<Submitted>,
    pub submits_rx: tokio::sync::Mutex<mpsc::Receiver<Submitted>>,
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
    pub fn refuse_binds_until(&self, until: Instant) {
        *lock(&self.refuse_until) = Some(until);
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
        let phones = shared.config.phones;
        let shutdown = shared.shutdown.clone();
        tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::info!(%local_addr, "SMSC simulator listening");
        let mut handle = SmscHandle {
            shared,
            local_addr,
            phones_addr: None,
        };
        if let Some(addr) = phones {
            match crate::phone_port::start(addr, handle.clone(), shutdown).await {
                Ok(a) => handle.phones_addr = Some(a),
                Err(e) => {
                    handle.shutdown().await;
                    return Err(e.into());
                }
            }
        }
        Ok(handle)
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
