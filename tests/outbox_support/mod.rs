//! The real path for outbox tests: the simulator SMSC on loopback, the
//! session layer's `Operator` bound to it, a `SledStore` in a temp dir, and
//! a receipt router doing what the runtime does with receipt deliver_sms.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bawaba::config::Config;
use bawaba::msisdn::Msisdn;
use bawaba::outbox::{receipts, OutboundSms, Outbox, RetryPolicy, Settings, SmsStatus};
use bawaba::smpp::pdu::CommandStatus;
use bawaba::smpp::session::{Inbound, InboundPdu, Operator};
use bawaba::store::{OutboundId, SledConfig, SledStore};
use bawaba_sim::{Smsc, SmscConfig, SmscHandle};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const OPERATOR: &str = "sim";
pub const SHORT_CODE: &str = "2150";

/// Operator settings that vary between tests.
#[derive(Clone)]
pub struct Op {
    pub window: u32,
    pub tps: u32,
    pub split: &'static str,
    pub max_parts: u8,
    pub response_timeout: &'static str,
}

impl Default for Op {
    fn default() -> Self {
        Op {
            window: 10,
            tps: 1000,
            split: "udh8",
            max_parts: 4,
            response_timeout: "2s",
        }
    }
}

pub fn config(addr: SocketAddr, op: &Op) -> Arc<Config> {
    let text = format!(
        r#"
[store.retention]
receipts = "1h"

[[operators]]
name = "{OPERATOR}"
host = "127.0.0.1"
port = {port}
system_id = "bawaba"
password = "secret"
window = {window}
tps = {tps}
response_timeout = "{rt}"
bind_timeout = "2s"
reconnect = {{ min = "100ms", max = "1s", rejected_max = "1s" }}
msisdn_prefixes = ["964"]
sms = {{ short_codes = ["{SHORT_CODE}"], split = "{split}", max_parts = {max_parts} }}
"#,
        port = addr.port(),
        window = op.window,
        tps = op.tps,
        rt = op.response_timeout,
        split = op.split,
        max_parts = op.max_parts,
    );
    Arc::new(Config::from_str(&text, "/tmp/outbox-test.toml").expect("test config is valid"))
}

/// Fast retries so tests finish in seconds.
pub fn settings(config: &Config) -> Settings {
    Settings {
        retry: RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(50),
            max: Duration::from_millis(300),
            not_bound: Duration::from_millis(100),
        },
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(50),
        submit_wait: Duration::from_millis(500),
        ..Settings::from_config(config)
    }
}

pub async fn open_store(dir: &Path) -> Arc<SledStore> {
    Arc::new(
        SledStore::open(SledConfig::new(dir.join("store")))
            .await
            .expect("store opens"),
    )
}

/// One gateway's worth of outbox: operator, outbox, sender, receipt router.
pub struct Gateway {
    pub outbox: Outbox<SledStore>,
    pub operator: Operator,
    pub shutdown: CancellationToken,
    sender: Option<JoinHandle<()>>,
    router: JoinHandle<()>,
}

impl Gateway {
    /// Enqueues `sms(to, text, priority)`, which must be accepted.
    pub async fn enqueue(&self, to: &str, text: &str, priority: u8) -> OutboundId {
        self.outbox.enqueue(sms(to, text, priority)).await.unwrap()
    }

    /// Starts the operator's binds and the receipt router; the sender only
    /// if `send` (tests that stage the queue first start it later).
    pub fn start(
        store: Arc<SledStore>,
        config: Arc<Config>,
        settings: Settings,
        send: bool,
    ) -> Gateway {
        let shutdown = CancellationToken::new();
        let (tx, rx) = mpsc::channel(256);
        let cfg = Arc::new(config.operators[0].clone());
        let operator = Operator::start(cfg, tx, shutdown.clone());
        let operators = BTreeMap::from([(OPERATOR.to_string(), operator.clone())]);
        let outbox = Outbox::with_settings(store, config, operators, settings);
        let router_outbox = outbox.clone();
        let router = tokio::spawn(route_receipts(router_outbox, rx));
        let mut gw = Gateway {
            outbox,
            operator,
            shutdown,
            sender: None,
            router,
        };
        if send {
            gw.start_sender();
        }
        gw
    }

    pub fn start_sender(&mut self) {
        self.sender = Some(self.outbox.spawn(self.shutdown.clone()));
    }

    /// Stops everything this gateway started and gives the store back.
    pub async fn stop(self) {
        self.shutdown.cancel();
        if let Some(s) = self.sender {
            s.await.expect("sender ends");
        }
        self.operator.shutdown().await;
        self.router.abort();
        let _ = self.router.await;
    }
}

/// What the runtime does with inbound PDUs, receipts only: a task per
/// receipt, at most 256 at once.
pub async fn route_receipts(outbox: Outbox<SledStore>, mut rx: mpsc::Receiver<Inbound>) {
    let slots = Arc::new(Semaphore::new(256));
    while let Some(inbound) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let outbox = outbox.clone();
        tokio::spawn(async move {
            match inbound.pdu {
                InboundPdu::Deliver(sm) if receipts::is_receipt(sm.esm_class) => {
                    outbox
                        .take_receipt(&inbound.operator, &sm, inbound.responder)
                        .await
                }
                _ => inbound.responder.respond(CommandStatus::ESME_ROK),
            }
            drop(slot);
        });
    }
}

pub async fn smsc(config: SmscConfig) -> SmscHandle {
    Smsc::start(config).await.expect("simulator starts")
}

pub fn sms(to: &str, text: &str, priority: u8) -> OutboundSms {
    OutboundSms {
        to: Msisdn::parse(to).expect("test number"),
        from: SHORT_CODE.to_string(),
        text: text.to_string(),
        operator: None,
        priority,
    }
}

/// Waits (polling the outbox, bounded) until `id`'s status satisfies `ok`.
pub async fn wait_status(
    outbox: &Outbox<SledStore>,
    id: OutboundId,
    within: Duration,
    ok: impl Fn(&SmsStatus) -> bool,
) -> SmsStatus {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let s = outbox.try_status(id).await.expect("status readable");
        match s {
            Some(s) if ok(&s) => return s,
            _ if tokio::time::Instant::now() >= deadline => {
                panic!("{id}: status {s:?} still not as expected after {within:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

pub fn delivered(s: &SmsStatus) -> bool {
    matches!(s, SmsStatus::Delivered { .. })
}

/// A loopback address nothing listens on (yet).
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// A simulator, a store in a temp dir and a gateway on them.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub smsc: SmscHandle,
    pub config: Arc<Config>,
    pub gw: Gateway,
}

/// Starts the simulator with `behaviour`, then a gateway with `op` and the
/// test [`settings`] as `tweak` leaves them.
pub async fn rig(
    behaviour: bawaba_sim::Behaviour,
    op: Op,
    tweak: impl FnOnce(&mut Settings),
    send: bool,
) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sc = SmscConfig::local("bawaba", "secret");
    sc.behaviour = behaviour;
    let smsc = smsc(sc).await;
    let config = config(smsc.local_addr(), &op);
    let mut s = settings(&config);
    tweak(&mut s);
    let gw = Gateway::start(open_store(dir.path()).await, config.clone(), s, send);
    Rig {
        dir,
        smsc,
        config,
        gw,
    }
}
