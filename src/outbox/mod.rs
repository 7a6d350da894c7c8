//! The durable outbound SMS queue (MT) and delivery receipts.
//!
//! Owns: routing an MT to an operator, encoding and splitting it per that
//! operator, the per-operator sender loops over the store's leased queue,
//! the retry policy, recording receipts and answering `status`.
//! Must not: open sockets (the session layer's `Operator` does), keep
//! unbounded work in memory (claims are bounded by what the binds can take),
//! or log a message body at info (MSISDNs only masked).
//!
//! # Delivery contract: at-least-once
//! `enqueue` returns once the MT is on disk. An MT leaves the queue only
//! after the SMSC accepted every part and the ids were recorded. When the
//! link dies with a submit in flight (`Unknown`), after a crash between
//! submit_sm_resp and `complete`, or when a lease expires with the sender
//! still holding the MT, it is sent again: the citizen may get it twice
//! (parts already accepted are not resent on a retry of the same process).
//! It is never dropped without a `Failed` status saying why.
//!
//! # Wiring (runtime / app)
//! ```text
//! operators = for each config.operators: Operator::start(cfg, inbound_tx, shutdown)
//! outbox    = Outbox::new(store, config, operators.clone())
//! sender    = outbox.spawn(shutdown.clone())
//! inbound loop: deliver_sm with receipts::is_receipt(esm_class)
//!     -> a task per receipt (bounded, e.g. a 256-permit semaphore):
//!        outbox.take_receipt(&inbound.operator, &sm, inbound.responder)
//!     (records durably, then deliver_sm_resp ESME_ROK; ESME_RX_T_APPN if
//!     the store cannot take it now); every other deliver_sm -> the bearer.
//! flow `sms` effects, SMS replies: outbox.enqueue(OutboundSms { priority: 0 })
//! back-end notifications: priority 1; campaigns: priority 2. HTTP 202 only
//!     after enqueue resolved; Error::Store(e) with e.is_transient() -> 503.
//! periodic: store.sweep_receipts(now, n) every retention.sweep_interval
//!     (receipts and the outbox's per-MT records expire with retention.receipts).
//! shutdown: cancel -> sender.await (in-flight MTs settle within
//!     gateway.shutdown_grace) -> each operator.shutdown() -> store sync/close.
//! ```

pub mod encode;
pub mod receipts;
pub mod retry;
pub mod routing;
mod sender;
pub mod status;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::msisdn::Msisdn;
use crate::smpp::pdu::{CommandStatus, Sm};
use crate::smpp::session::{Operator, Responder};
use crate::store::{
    self, Claimed, InboundId, Lease, NewOutbound, OutboundId, OutboundState, Priority, SendRace,
    Store, Timestamp,
};
use status::{progress_key, Counters, Dlr, Progress};

pub use encode::{PartSpec, TextPolicy};
pub use retry::RetryPolicy;
pub use routing::Routes;
pub use status::{OutboxStats, SmsStatus};

/// How long a reply's idempotency key and progress are kept ([`Inner::kept_until`]).
pub const INTERACTIVE_KEEP: Duration = Duration::from_secs(3600);

/// An MT to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSms {
    pub to: Msisdn,
    /// The short code (or sender name) it comes from.
    pub from: String,
    pub text: String,
    /// `None`: routed by the operators' `msisdn_prefixes`.
    pub operator: Option<String>,
    /// 0 interactive (a citizen waits for it), 1 normal, 2 (or more) bulk.
    pub priority: u8,
}

/// Why the outbox refused or could not do something.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no operator serves {0} (no msisdn_prefixes entry matches)")]
    NoRoute(Msisdn),
    #[error("no operator named {0:?}")]
    UnknownOperator(String),
    #[error("the text cannot be sent: {0}")]
    Text(#[from] crate::smpp::text::Error),
    #[error("the sender {0:?} is not a valid source address (1 to 20 printable ASCII characters)")]
    BadSource(String),
    #[error("not a delivery receipt (esm_class message type is not 0x04)")]
    NotAReceipt,
    #[error("malformed delivery receipt: {0}")]
    MalformedReceipt(&'static str),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The queued form of an MT (the store's opaque payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub to: String,
    pub from: String,
    pub text: String,
    pub operator: String,
    /// When it was queued (ms since the epoch; 0 in records without it).
    #[serde(default)]
    pub queued_at: u64,
}

impl Payload {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    pub fn decode(bytes: &[u8]) -> Option<Payload> {
        serde_json::from_slice(bytes).ok()
    }
}

/// Knobs of the outbox that are not in the configuration file.
#[derive(Debug, Clone)]
pub struct Settings {
    pub retry: RetryPolicy,
    /// How long a claim holds an MT. Longer than the worst send (window
    /// wait plus the response timer, per part); an MT whose sender died
    /// (crash, restart) comes back after this.
    pub lease: Duration,
    /// How often the dispatcher looks for due MTs when nothing woke it.
    pub poll: Duration,
    /// How long a submit may wait for a bind to take it before the MT is
    /// put back as "not bound".
    pub submit_wait: Duration,
    /// MTs in flight per operator; `None`: one second of the operator's
    /// TPS, at least its window times binds (every window full) and at
    /// most four times that (room for MTs whose ids the store is
    /// settling), so none waits in `submit` much longer than a second.
    pub in_flight: Option<usize>,
    /// Message id renderings per operator (default: both text).
    pub message_ids: BTreeMap<String, receipts::IdBases>,
    /// How long shutdown waits for MTs in flight.
    pub shutdown_grace: Duration,
    /// An MT not sent within this after it was queued fails as expired
    /// (a notification days late does more harm than none).
    pub validity: Duration,
}

impl Settings {
    /// Defaults, with timers taken from the configuration.
    pub fn from_config(config: &Config) -> Settings {
        let worst_response = config
            .operators
            .iter()
            .map(|o| o.response_timeout * (u32::from(o.sms.max_parts) + 1))
            .max()
            .unwrap_or_default();
        Settings {
            retry: RetryPolicy::default(),
            lease: worst_response + Duration::from_secs(60),
            poll: Duration::from_millis(500),
            submit_wait: Duration::from_secs(5),
            in_flight: None,
            message_ids: BTreeMap::new(),
            shutdown_grace: config.gateway.shutdown_grace,
            validity: Duration::from_secs(24 * 3600),
        }
    }
}

/// One operator as the outbox uses it.
pub(crate) struct Slot {
    pub operator: Operator,
    pub policy: TextPolicy,
    pub in_flight: usize,
}

pub(crate) struct Inner<S> {
    pub store: Arc<S>,
    pub config: Arc<Config>,
    pub routes: Routes,
    pub operators: BTreeMap<String, Slot>,
    pub settings: Settings,
    /// Wakes the dispatcher when an MT is queued.
    pub wake: Notify,
    /// The express lane: interactive MTs queued already leased (first
    /// attempt) go straight to the sender, skipping the claim (a scan and a lease
    /// write per MT) and the dispatcher's wake-up. Bounded: when it is
    /// full an MT is queued the ordinary way.
    pub express: mpsc::Sender<Express>,
    pub express_rx: std::sync::Mutex<Option<mpsc::Receiver<Express>>>,
    /// When this outbox was made: leases ending before `created + lease`
    /// were given out by an earlier run.
    pub created: Timestamp,
    pub counters: Counters,
}

impl<S> Inner<S> {
    pub fn receipt_expiry(&self) -> Timestamp {
        now().after(self.config.store.retention.receipts)
    }

    /// How long an MT's idempotency key and progress record are kept: as
    /// long as receipts, except for an interactive MT (a reply), whose key
    /// only has to outlive a crash between queueing it and marking its MO
    /// done, and whose status nobody asks for days later. A reply per SMS
    /// kept for three days was most of the store at SMS peak rates.
    pub fn kept_until(&self, priority: Priority) -> Timestamp {
        let keep = self.config.store.retention.receipts;
        match priority {
            Priority::Interactive => now().after(keep.min(INTERACTIVE_KEEP)),
            _ => now().after(keep),
        }
    }

    /// Whether MTs of `priority` to `operator` ask for a delivery receipt
    /// (the operator's `sms.receipts`).
    pub fn receipt_wanted(&self, operator: &str, priority: Priority) -> bool {
        let op = self.config.operator(operator);
        op.is_some_and(|o| o.sms.receipts.wanted(priority as u8))
    }

    /// How `operator` renders message ids.
    pub fn id_bases(&self, operator: &str) -> receipts::IdBases {
        let bases = self.settings.message_ids.get(operator);
        bases.copied().unwrap_or_default()
    }
}

/// An MT in the express lane: written leased (its first attempt), or
/// about to be.
pub(crate) struct Express {
    /// Its lease and priority; `payload` there is left empty: the MT
    /// travels decoded, in `payload` below.
    pub claimed: Claimed,
    /// The MT itself, handed over as prepared (not encoded for the lane
    /// and decoded again by the sender).
    pub payload: Payload,
    /// Set for a reply handed over before it was stored
    /// ([`Outbox::enqueue_replies`]): `claimed.lease.id` is then a
    /// placeholder until the [`Pending`] write gives the MT's id (or the
    /// sender queues a [`Pending::Direct`] one it could not send at once).
    /// The sender may submit before that, but touches a stored MT only
    /// after.
    pub written: Option<Pending>,
    /// Set with a `Pending::Write`: a reply sent before its write is
    /// applied, that needs no record, is then not stored at all
    /// ([`SendRace`]).
    pub race: Option<SendRace>,
    /// The turn's replies go out in order: this one is submitted only once
    /// the one before it in the turn was (or was dropped), and it signals
    /// the one after it the same way.
    pub order: Order,
}

/// What stands behind an express MT handed over before it was stored.
pub(crate) enum Pending {
    /// Its durable write is under way: its id once the write is durable,
    /// or nothing if it failed (nothing was queued).
    Write(oneshot::Receiver<OutboundId>),
    /// Nothing is written: the MO it answers stays journalled until it is
    /// sent ([`Outbox::enqueue_replies`]).
    Direct(Box<Direct>),
}

/// A reply sent with no write of its own: the record to queue, with its
/// MOs out of the journal, if it is not sent at once; the MOs to take out
/// of the journal once it is.
pub(crate) struct Direct {
    pub msg: NewOutbound,
    pub done: Vec<InboundId>,
}

/// Where a reply stands among its turn's replies ([`Express::order`]).
#[derive(Default)]
pub(crate) struct Order {
    pub after: Option<oneshot::Receiver<()>>,
    pub then: Option<oneshot::Sender<()>>,
}

/// The durable MT queue. Cheap to clone.
pub struct Outbox<S: Store> {
    inner: Arc<Inner<S>>,
}

impl<S: Store> Clone for Outbox<S> {
    fn clone(&self) -> Self {
        Outbox {
            inner: self.inner.clone(),
        }
    }
}

impl<S: Store> Outbox<S> {
    pub fn new(store: Arc<S>, config: Arc<Config>, operators: BTreeMap<String, Operator>) -> Self {
        let settings = Settings::from_config(&config);
        Self::with_settings(store, config, operators, settings)
    }

    pub fn with_settings(
        store: Arc<S>,
        config: Arc<Config>,
        operators: BTreeMap<String, Operator>,
        settings: Settings,
    ) -> Self {
        let slots: BTreeMap<String, Slot> = operators
            .into_iter()
            .filter_map(|(name, operator)| {
                let Some(cfg) = config.operator(&name) else {
                    tracing::warn!(operator = %name, "outbox: operator not in the configuration; not used");
                    return None;
                };
                let windows = (cfg.window.max(1) * cfg.binds.max(1)) as usize;
                let default = (cfg.tps as usize).clamp(windows, 4 * windows);
                let slot = Slot {
                    operator,
                    policy: TextPolicy::of(cfg),
                    in_flight: settings.in_flight.unwrap_or(default).max(1),
                };
                Some((name, slot))
            })
            .collect();
        let routes = Routes::from_config(&config);
        let lane: usize = slots.values().map(|s| s.in_flight).sum();
        let (express, express_rx) = mpsc::channel(lane.max(1));
        Outbox {
            inner: Arc::new(Inner {
                store,
                routes,
                operators: slots,
                settings,
                wake: Notify::new(),
                express,
                express_rx: std::sync::Mutex::new(Some(express_rx)),
                created: now(),
                counters: Counters::default(),
                config,
            }),
        }
    }

    /// Queues `sms`; resolves once it is on disk. Refused at once (nothing
    /// queued) when no operator serves the number, the named operator does
    /// not exist, or the text cannot be sent within the operator's
    /// encodings and `max_parts`.
    pub async fn enqueue(&self, sms: OutboundSms) -> Result<OutboundId, Error> {
        let (mut msg, to, operator, _, payload) = self.prepare(sms)?;
        let priority = msg.priority;
        let lane = self.express_lane(&operator, &mut msg);
        let id = self.inner.store.enqueue_outbound(msg).await?;
        self.queued(id, &to, &operator, priority, lane.map(|l| (l, payload)));
        Ok(id)
    }

    /// [`Outbox::enqueue`] under an idempotency `key` (see
    /// [`Store::enqueue_outbound_once`]): `(id, true)` when queued now,
    /// `(id, false)` when `key` already named MT `id` (nothing queued).
    /// The key is kept as long as receipts (`store.retention.receipts`),
    /// an interactive MT's for at most [`INTERACTIVE_KEEP`].
    pub async fn enqueue_once(
        &self,
        key: &store::MessageId,
        sms: OutboundSms,
    ) -> Result<(OutboundId, bool), Error> {
        let (mut msg, to, operator, _, payload) = self.prepare(sms)?;
        let priority = msg.priority;
        let lane = self.express_lane(&operator, &mut msg);
        let expires = self.inner.kept_until(priority);
        let (id, fresh) = self
            .inner
            .store
            .enqueue_outbound_once(key, msg, expires)
            .await?;
        if fresh {
            self.queued(id, &to, &operator, priority, lane.map(|l| (l, payload)));
        }
        Ok((id, fresh))
    }

    /// Queues the replies to the MOs journalled as `done` and takes those
    /// out of the journal, in one durable write ([`Store::enqueue_replies`]):
    /// no idempotency key per reply, since an MO still journalled after a
    /// crash has, at worst, replies that may go out twice. Refused at once
    /// (nothing queued, the MOs stay) like [`Outbox::enqueue`].
    ///
    /// A reply that takes the express lane goes to the sender at once, in
    /// parallel with the durable write: the citizen waits for one group
    /// commit (the MO's), not two. This is safe because the MO leaves the
    /// journal only in that same write: if the process dies before it,
    /// the MO is processed again and its reply sent again (at-least-once),
    /// and if the write fails the reply may have gone out while the MO
    /// stays journalled, with the same outcome. The sender settles the MT
    /// only once its write is durable.
    ///
    /// The usual turn, one reply of one part that wants no receipt, is not
    /// written at all when it takes the express lane: its MO stays in the
    /// journal until the reply is sent, and is then taken out (with the
    /// next flush). The journal entry is the reply's durable record: a
    /// crash before the send, or before that removal is on disk, answers
    /// the MO again. A send that does not succeed at once queues the reply
    /// the ordinary way, MOs out in the same write ([`Pending::Direct`]).
    /// Resolves once the replies are with the sender or queued.
    pub async fn enqueue_replies(
        &self,
        replies: Vec<OutboundSms>,
        done: Vec<InboundId>,
    ) -> Result<(), Error> {
        let mut msgs = Vec::with_capacity(replies.len());
        let mut prepared = Vec::with_capacity(replies.len());
        let one = replies.len() == 1;
        for sms in replies {
            let (mut msg, to, operator, parts, payload) = self.prepare(sms)?;
            let lane = self.express_lane(&operator, &mut msg);
            let direct = one && parts == 1 && !self.inner.receipt_wanted(&operator, msg.priority);
            let permit = match (lane, direct) {
                (Some(permit), true) => permit,
                (lane, _) => {
                    let lane = lane.map(|permit| {
                        let race = SendRace::default();
                        msg.unless_sent = Some(race.clone());
                        (permit, payload, race)
                    });
                    prepared.push((to, operator, msg.priority, lane));
                    msgs.push(msg);
                    continue;
                }
            };
            tracing::debug!(%to, operator, "outbox: reply with the sender, nothing written");
            Counters::bump(&self.inner.counters.enqueued);
            permit.send(Express {
                claimed: Claimed {
                    lease: Lease {
                        id: OutboundId(0),
                        attempt: 1,
                    },
                    priority: msg.priority,
                    payload: Vec::new(),
                },
                payload,
                written: Some(Pending::Direct(Box::new(Direct { msg, done }))),
                race: None,
                order: Order::default(),
            });
            return Ok(());
        }
        let mut after = Vec::with_capacity(prepared.len());
        let mut previous: Option<oneshot::Receiver<()>> = None;
        for (to, operator, priority, lane) in prepared {
            let written = lane.map(|(permit, payload, race)| {
                let (then, next) = oneshot::channel();
                let order = Order {
                    after: previous.replace(next),
                    then: Some(then),
                };
                let (tx, rx) = oneshot::channel();
                permit.send(Express {
                    claimed: Claimed {
                        lease: Lease {
                            id: OutboundId(0),
                            attempt: 1,
                        },
                        priority,
                        payload: Vec::new(),
                    },
                    payload,
                    written: Some(Pending::Write(rx)),
                    race: Some(race),
                    order,
                });
                tx
            });
            after.push((to, operator, priority, written));
        }
        // A failed write drops the senders: the sender then leaves those
        // MTs alone (nothing was queued).
        let ids = self.inner.store.enqueue_replies(msgs, done).await?;
        for (id, (to, operator, priority, written)) in ids.iter().zip(after) {
            let Some(tx) = written else {
                self.queued(*id, &to, &operator, priority, None);
                continue;
            };
            tracing::debug!(%id, %to, operator, ?priority, "outbox: reply queued, already with the sender");
            Counters::bump(&self.inner.counters.enqueued);
            let _ = tx.send(*id); // a sender gone at shutdown: the lease expires
        }
        Ok(())
    }

    /// The MT `key` names, if it is still kept.
    pub async fn keyed(&self, key: &store::MessageId) -> Result<Option<OutboundId>, Error> {
        let r = self.inner.store.receipt_status(key).await?;
        Ok(r.and_then(|r| r.outbound))
    }

    /// Routes and checks `sms`; the record to queue, and its part count.
    fn prepare(
        &self,
        sms: OutboundSms,
    ) -> Result<(NewOutbound, Msisdn, String, usize, Payload), Error> {
        let operator = self.inner.routes.route(&sms.to, sms.operator.as_deref())?;
        let Some(slot) = self.inner.operators.get(&operator) else {
            return Err(Error::UnknownOperator(operator));
        };
        let parts = slot.policy.parts(&sms.text, OutboundId(0))?.len();
        if sms.from.is_empty()
            || sms.from.len() > 20
            || !sms.from.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::BadSource(sms.from));
        }
        let now = now();
        let payload = Payload {
            to: sms.to.as_str().to_string(),
            from: sms.from,
            text: sms.text,
            operator: operator.clone(),
            queued_at: now.0,
        };
        let priority = Priority::from_u8(sms.priority).unwrap_or(Priority::Bulk);
        let msg = NewOutbound {
            priority,
            due_at: now,
            payload: payload.encode(),
            lease_until: None,
            unless_sent: None,
        };
        Ok((msg, sms.to, operator, parts, payload))
    }

    /// A place in the express lane for an interactive MT (a citizen is
    /// waiting for it) to `operator`, if its binds are up and the lane has
    /// room; `msg` is then written leased. Notifications and bulk go
    /// through the claim, which takes them in priority order, so a
    /// campaign never fills the lane ahead of a reply.
    fn express_lane(
        &self,
        operator: &str,
        msg: &mut NewOutbound,
    ) -> Option<mpsc::Permit<'_, Express>> {
        if msg.priority != Priority::Interactive {
            return None;
        }
        let bound = self.inner.operators.get(operator)?.operator.is_bound();
        let permit = self.inner.express.try_reserve().ok().filter(|_| bound)?;
        msg.lease_until = Some(now().after(self.inner.settings.lease));
        Some(permit)
    }

    fn queued(
        &self,
        id: OutboundId,
        to: &Msisdn,
        operator: &str,
        priority: Priority,
        lane: Option<(mpsc::Permit<'_, Express>, Payload)>,
    ) {
        tracing::debug!(%id, %to, operator, ?priority, express = lane.is_some(), "outbox: MT queued");
        Counters::bump(&self.inner.counters.enqueued);
        match lane {
            Some((permit, payload)) => permit.send(Express {
                claimed: Claimed {
                    lease: Lease { id, attempt: 1 },
                    priority,
                    payload: Vec::new(),
                },
                payload,
                written: None,
                race: None,
                order: Order::default(),
            }),
            None => self.inner.wake.notify_one(),
        }
    }

    /// Starts the sender; it stops claiming when `shutdown` fires and ends
    /// once the MTs in flight are settled (or the shutdown grace passed).
    pub fn spawn(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(sender::run(self.inner.clone(), shutdown))
    }

    /// Records a delivery receipt deliver_sm from `operator` (durable when
    /// it resolves). Answer the SMSC with [`receipt_response`] of the result.
    pub async fn on_receipt(&self, operator: &str, sm: &Sm) -> Result<Option<OutboundId>, Error> {
        let text: &[u8] = if sm.short_message.is_empty() {
            sm.tlvs.message_payload.as_deref().unwrap_or_default()
        } else {
            &sm.short_message
        };
        let parsed = receipts::parse(receipts::DlrFields {
            esm_class: sm.esm_class,
            receipted_message_id: sm.tlvs.receipted_message_id.as_deref(),
            message_state: sm.tlvs.message_state,
            network_error_code: sm.tlvs.network_error_code,
            text,
        })?;
        let base = self.inner.id_bases(operator).receipt;
        let expires = self.inner.receipt_expiry();
        let r = receipts::record(&*self.inner.store, (operator, base), &parsed, expires).await?;
        Counters::bump(&self.inner.counters.receipts);
        tracing::debug!(operator, message_id = %parsed.message_id, stat = %parsed.dlr.stat, outbound = ?r.outbound, "outbox: receipt recorded");
        Ok(r.outbound)
    }

    /// [`Outbox::on_receipt`], then answers the SMSC on the bind it came
    /// from. Each receipt waits for a durable write (a group commit): call
    /// it from a task per receipt (bounded), not in turn from one loop, or
    /// receipts back up behind each other at bulk rates.
    pub async fn take_receipt(&self, operator: &str, sm: &Sm, responder: Responder) {
        let r = self.on_receipt(operator, sm).await;
        if let Err(e) = &r {
            tracing::warn!(operator, error = %e, "outbox: receipt not recorded");
        }
        responder.respond(receipt_response(&r));
    }

    /// Counters since this outbox was made.
    pub fn stats(&self) -> OutboxStats {
        self.inner.counters.snapshot()
    }

    /// Where MT `id` is; `None` if unknown (or its records expired).
    pub async fn status(&self, id: OutboundId) -> Option<SmsStatus> {
        match self.try_status(id).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, %id, "outbox: status unreadable");
                None
            }
        }
    }

    /// [`Outbox::status`], with store errors.
    pub async fn try_status(&self, id: OutboundId) -> Result<Option<SmsStatus>, Error> {
        let store = &*self.inner.store;
        let progress = store
            .receipt_status(&progress_key(id))
            .await?
            .and_then(|r| r.status)
            .and_then(|s| Progress::decode(&s));
        if let Some(m) = store.get_outbound(id).await? {
            let p = progress.unwrap_or_default();
            return Ok(Some(match m.state {
                OutboundState::Failed { .. } => SmsStatus::Failed {
                    reason: p.failed.unwrap_or_else(|| "failed".into()),
                },
                _ => SmsStatus::Queued {
                    attempts: p.tries,
                    last_error: p.last_error,
                },
            }));
        }
        let Some(p) = progress else { return Ok(None) };
        if let Some(reason) = p.failed {
            return Ok(Some(SmsStatus::Failed { reason }));
        }
        let ids = p.message_ids();
        let mut dlrs = Vec::with_capacity(ids.len());
        for mid in &ids {
            let base = self.inner.id_bases(&p.operator).submit;
            let key = receipts::receipt_key(&p.operator, mid, base);
            let dlr = store.receipt_status(&key).await?.and_then(|r| r.status);
            dlrs.push(dlr.as_deref().and_then(Dlr::decode));
        }
        Ok(Some(status::of_receipts(ids, &dlrs)))
    }
}

/// The deliver_sm_resp status for a receipt `on_receipt` handled: OK once
/// recorded, and OK for one that can never be recorded (not a receipt,
/// no id: the SMSC resending it would not help); ESME_RX_T_APPN when the
/// store could not take it now, so the SMSC tries again.
pub fn receipt_response<T>(result: &Result<T, Error>) -> CommandStatus {
    match result {
        Err(Error::Store(_)) => CommandStatus::ESME_RX_T_APPN,
        _ => CommandStatus::ESME_ROK,
    }
}

/// Wall-clock now, as the store keeps time.
pub(crate) fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp(ms)
}
