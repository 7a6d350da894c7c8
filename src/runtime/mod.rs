//! The running gateway: joins the SMPP binds, the flow engine, the store,
//! the back-ends and the outbox.
//!
//! ```text
//! SMSC -> bind (smpp::session) -> Inbound -> router (inbound.rs)
//!   USSD MO: ack, hash MSISDN -> worker -> dialogue.rs: load, step, calls
//!            with a deadline, save -> submit_sm on the same operator
//!   SMS MO:  reserve a worker slot, journal (durable), ack -> worker ->
//!            sms.rs: dedupe, reassemble, step, save -> outbox (durable)
//!   DLR:     outbox.on_receipt
//! slow back-end in a USSD turn -> followup.rs: journal, "by SMS" end
//!   screen, the call's answer -> outbox
//! ```
//!
//! Owns: wiring, per-subscriber ordering, deadlines, replay at start and
//! graceful shutdown. Must not: encode PDUs (smpp), decide screens
//! (engine), write records other than through `Store`, send SMS other
//! than through the outbox.

mod active;
pub mod audit;
mod calls;
mod clock;
mod conversation;
mod dialogue;
mod dispatch;
mod followup;
mod handle;
mod housekeeping;
mod inbound;
mod journal;
mod limits;
mod lockout;
mod notice;
mod port;
pub mod publish;
mod sessions;
mod sms;
mod turn;
mod ussd;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{self, Config};
use crate::engine::{FlowSet, Lang, SameVersionChanged, StepContext};
use crate::msisdn::Msisdn;
use crate::outbox::{OutboundSms, Outbox};
use crate::smpp::session::Operator;
use crate::store::{self, OutboundId, Priority, Store};

pub use calls::{CallGate, Calls, Pending};
pub use clock::{Clock, ManualClock, SystemClock};
pub use conversation::{ussd_key, DialogueId, Record};
pub use notice::Notice;

use dispatch::Dispatch;
use turn::Engine;

/// Why an SMS could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("not a subscriber number: {0}")]
    BadNumber(#[from] crate::msisdn::MsisdnError),
    #[error(transparent)]
    Outbox(#[from] crate::outbox::Error),
}

/// Why a conversation step could not complete (the MO stays in the
/// journal, or the citizen is asked to try again).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Outbox(#[from] crate::outbox::Error),
}

/// The gateway, configured and not yet running.
pub struct Gateway<S: Store> {
    config: Arc<Config>,
    store: Arc<S>,
    flows: Arc<FlowSet>,
    calls: Arc<dyn Calls>,
    clock: Arc<dyn Clock>,
    /// The text of `flows`, by file name (what publishing merges into).
    files: std::collections::BTreeMap<String, String>,
}

/// Work for one subscriber, run on its worker.
pub(crate) enum Work {
    Ussd(dialogue::Turn),
    Sms(sms::Turn),
}

/// What every conversation shares.
pub(crate) struct Core<S: Store> {
    pub config: Arc<Config>,
    pub store: Arc<S>,
    /// The flows in force; swapped whole by `GatewayHandle::set_flows`
    /// (sessions carry their flow id and version; the engine decides what
    /// a session pinned to a replaced version does).
    pub flows: RwLock<Arc<FlowSet>>,
    pub gate: CallGate,
    pub clock: Arc<dyn Clock>,
    pub outbox: Outbox<S>,
    pub operators: BTreeMap<String, (Arc<config::Operator>, Operator)>,
    pub ctx: StepContext,
    pub followups: TaskTracker,
    pub reassembly: Mutex<sms::Reassembly>,
    /// `[security.limits]`: per-MSISDN and per-code rates.
    pub limits: limits::Limiter,
    /// Shutting down: no new dialogues or SMS.
    pub draining: AtomicBool,
    /// Jobs accepted and not finished (shutdown waits for zero).
    pub in_flight: AtomicUsize,
    pub idle: Notify,
    /// Cancelled when the gateway stops (or its handle is dropped).
    pub stop: CancellationToken,
    /// A set published to test MSISDNs only.
    pub(crate) staged: RwLock<Option<Arc<publish::Staging>>>,
    /// One change to the flows at a time.
    pub(crate) publish: tokio::sync::Mutex<publish::State>,
    pub(crate) active: active::Active,
}

impl<S: Store> Core<S> {
    /// The engine with the flows `who` is served: the staged set for a
    /// test MSISDN while one is staged, else the set in force.
    pub fn engine_for(&self, who: &Msisdn) -> Engine<'_> {
        Engine {
            flows: self.flows_for(who),
            ctx: &self.ctx,
            gate: &self.gate,
            lockout: None,
        }
    }

    /// The PIN lockout of `who`, as of `now_ms`.
    pub fn pin_lock<'a>(&'a self, who: &'a Msisdn, now_ms: u64) -> lockout::PinLock<'a, S> {
        lockout::PinLock {
            store: &*self.store,
            who,
            cfg: &self.config.security.pin_lockout,
            now_ms,
        }
    }

    /// The flows in force now.
    pub fn flows(&self) -> Arc<FlowSet> {
        self.flows.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The flows `who`'s sessions run on (see [`Core::engine_for`]).
    pub fn flows_for(&self, who: &Msisdn) -> Arc<FlowSet> {
        let staged = self.staged.read().unwrap_or_else(|e| e.into_inner());
        match staged.as_ref() {
            Some(s) if s.msisdns.contains(who.as_str()) => s.flows.clone(),
            _ => self.flows(),
        }
    }

    pub(crate) fn staged(&self) -> Option<Arc<publish::Staging>> {
        self.staged
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_staged(&self, staged: Option<publish::Staging>) {
        *self.staged.write().unwrap_or_else(|e| e.into_inner()) = staged.map(Arc::new);
    }

    /// Puts a set that already succeeded the one in force in force.
    pub(crate) fn swap_flows(&self, next: FlowSet) {
        *self.flows.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }

    /// Puts `next` in force for new sessions; the versions it replaces stay
    /// for the sessions pinned to them (see [`FlowSet::succeed`]).
    pub fn replace_flows(&self, next: FlowSet) -> Result<(), Vec<SameVersionChanged>> {
        let mut slot = self.flows.write().unwrap_or_else(|e| e.into_inner());
        let next = next.succeed(&slot, self.now_ms(), millis(self.pinned_for()))?;
        *slot = Arc::new(next);
        Ok(())
    }

    /// The longest a session can go on using the flow version it started
    /// on: a stored session is kept `store.retention.sessions`, an SMS
    /// conversation lives `sms.session_idle` past its last reply, a USSD
    /// dialogue at most its operator's `session_max` plus the resume window.
    pub(crate) fn pinned_for(&self) -> Duration {
        let ussd = self
            .config
            .operators
            .iter()
            .map(|o| o.ussd.profile.timers.session_max);
        let resume = Duration::from_millis(self.ctx.resume_window_ms);
        ussd.map(|d| d + resume)
            .chain([
                self.config.store.retention.sessions,
                self.config.sms.session_idle,
            ])
            .max()
            .unwrap_or_default()
    }

    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The language for runtime notices when the session has none.
    pub fn default_lang(&self) -> Lang {
        match self.config.sms.default_language {
            config::Language::Ar => Lang::Ar,
            config::Language::Ckb => Lang::Ckb,
            config::Language::En => Lang::En,
        }
    }

    /// Queues an SMS (durable when it returns).
    pub async fn send_sms(
        &self,
        operator: Option<&str>,
        to: &Msisdn,
        from: &str,
        text: &str,
    ) -> Result<OutboundId, crate::outbox::Error> {
        let sms = interactive_sms(operator, to, from, text);
        self.outbox.enqueue(sms).await
    }

    /// Queues `texts` as replies to the MO journalled as `done` and takes
    /// it out of the journal, in one durable write, or, for the usual one
    /// reply of one part, hands it to the sender, which takes the MO out
    /// once it is sent ([`crate::outbox::Outbox::enqueue_replies`]). False
    /// (nothing done) when there is no text.
    pub async fn send_replies<'t>(
        &self,
        (operator, to, from): (Option<&str>, &Msisdn, &str),
        texts: impl IntoIterator<Item = &'t str>,
        done: &[store::InboundId],
    ) -> Result<bool, crate::outbox::Error> {
        let replies: Vec<OutboundSms> = texts
            .into_iter()
            .map(|t| interactive_sms(operator, to, from, t))
            .collect();
        if replies.is_empty() {
            return Ok(false);
        }
        self.outbox.enqueue_replies(replies, done.to_vec()).await?;
        Ok(true)
    }

    /// The short code a follow-up or notification comes from.
    pub fn short_code_for(&self, operator: Option<&str>, to: &Msisdn) -> String {
        let ops = || self.config.operators.iter();
        let by_name = operator.and_then(|n| ops().find(|o| o.name == n));
        let by_prefix = || {
            ops().find(|o| {
                o.msisdn_prefixes
                    .iter()
                    .any(|p| to.as_str().starts_with(p.as_str()))
            })
        };
        by_name
            .or_else(by_prefix)
            .or_else(|| ops().next())
            .and_then(|o| o.sms.short_codes.first().cloned())
            .unwrap_or_default()
    }

    fn job_done(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

impl<S: Store> Gateway<S> {
    pub fn new(
        config: Arc<Config>,
        store: Arc<S>,
        flows: Arc<FlowSet>,
        calls: Arc<dyn Calls>,
    ) -> Self {
        Gateway {
            config,
            store,
            flows,
            calls,
            clock: Arc::new(SystemClock),
            files: Default::default(),
        }
    }

    /// The text of the flows it starts with, by file name: what the admin
    /// API's drafts merge into (without it a publish must give every file).
    pub fn with_flow_files(mut self, files: std::collections::BTreeMap<String, String>) -> Self {
        self.files = files;
        self
    }

    /// Replaces the wall clock (tests move time for idle timeouts).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Starts the binds, the outbox, the workers; replays the journal
    /// (unacknowledged work from before a restart); then takes traffic.
    pub async fn start(self) -> anyhow::Result<GatewayHandle> {
        let cfg = self.config.clone();
        let shutdown = CancellationToken::new();
        let binds = shutdown.child_token();
        let cap = cfg.gateway.queues.worker.max(1);
        let (in_tx, in_rx) = mpsc::channel(cap);
        let mut operators = BTreeMap::new();
        for op in &cfg.operators {
            let op_cfg = Arc::new(op.clone());
            let handle = Operator::start(op_cfg.clone(), in_tx.clone(), binds.clone());
            operators.insert(op.name.clone(), (op_cfg, handle));
        }
        drop(in_tx);
        let senders = operators
            .iter()
            .map(|(n, (_, o))| (n.clone(), o.clone()))
            .collect();
        let outbox = Outbox::new(self.store.clone(), cfg.clone(), senders);
        let outbox_stop = CancellationToken::new();
        let outbox_task = outbox.spawn(outbox_stop.clone());
        let ctx = StepContext {
            sms_idle_ms: millis(cfg.sms.session_idle),
            ..StepContext::default()
        };
        let core = Arc::new(Core {
            gate: CallGate::new(
                self.calls,
                cfg.gateway.queues.backend_calls,
                &cfg.gateway.node,
            ),
            config: cfg.clone(),
            store: self.store,
            flows: RwLock::new(self.flows),
            clock: self.clock,
            outbox,
            operators,
            ctx,
            followups: TaskTracker::new(),
            reassembly: Mutex::new(sms::Reassembly::new()),
            limits: limits::Limiter::new(cfg.security.limits.clone()),
            draining: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            stop: shutdown.clone(),
            staged: RwLock::new(None),
            publish: tokio::sync::Mutex::new(publish::State::new(self.files)),
            active: active::Active::default(),
        });
        let c = core.clone();
        let handler: dispatch::Handler<Work> = Arc::new(move |w| {
            let c = c.clone();
            Box::pin(async move {
                match w {
                    Work::Ussd(t) => dialogue::run(&c, t).await,
                    Work::Sms(t) => sms::run(&c, t).await,
                }
                c.job_done();
            })
        });
        let (dispatch, workers) = Dispatch::start(cfg.gateway.workers, cap, handler);
        let queues = dispatch.view();
        inbound::replay(&core, &dispatch).await?;
        let mut tasks = JoinSet::new();
        let intake = shutdown.child_token();
        tasks.spawn(inbound::route(
            core.clone(),
            dispatch,
            in_rx,
            intake.clone(),
        ));
        tasks.spawn(housekeeping::run(core.clone(), intake.clone()));
        tasks.spawn(audit::watch_binds(core.clone(), intake.clone()));
        tracing::info!(
            node = %cfg.gateway.node,
            operators = core.operators.len(),
            workers = cfg.gateway.workers,
            "gateway started"
        );
        let c = core.clone();
        Ok(GatewayHandle {
            enqueue: Arc::new(move |to, text| {
                let c = c.clone();
                Box::pin(async move {
                    let to = Msisdn::parse(&to)?;
                    let from = c.short_code_for(None, &to);
                    Ok(c.send_sms(None, &to, &from, &text).await?)
                })
            }),
            port: Arc::new(core.clone()),
            core: Arc::new(handle::Live { core, queues }),

            intake,
            shutdown,
            outbox_stop,
            outbox_task,
            tasks,
            workers,
        })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub use handle::{Control, GatewayHandle, Probe, StoreState};
pub use sessions::{hex as sessions_hex, unhex as sessions_unhex, SessionView};

fn interactive_sms(operator: Option<&str>, to: &Msisdn, from: &str, text: &str) -> OutboundSms {
    OutboundSms {
        to: to.clone(),
        from: from.to_string(),
        text: text.to_string(),
        operator: operator.map(str::to_string),
        priority: Priority::Interactive as u8,
    }
}
