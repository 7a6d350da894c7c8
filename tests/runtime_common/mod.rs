//! Shared rig for the runtime tests: the simulator SMSC on loopback, the
//! real sled store in a tempdir, the shipped flows, and either canned
//! back-end answers or the mock ministries through `backend::Backends`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bawaba::backend::{CallRequest, CallResult};
use bawaba::config::Config;
use bawaba::engine::{compile, CompileContext, FlowSet, Outcome, Source};
use bawaba::runtime::{Calls, Clock, Gateway, GatewayHandle};
use bawaba::store::{SledConfig, SledStore};
use bawaba_sim::{Smsc, SmscConfig, SmscHandle};
use futures::future::BoxFuture;

pub const MSISDN: &str = "9647801234567";

/// Knobs for the generated configuration.
#[derive(Clone)]
pub struct Opts {
    pub workers: usize,
    pub worker_queue: usize,
    pub reply_deadline: &'static str,
    pub backend_url: String,
    pub extra_ussd: &'static str,
    pub backend_timeout: &'static str,
    pub tps: u32,
    pub binds: u32,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            workers: 2,
            worker_queue: 64,
            reply_deadline: "4s",
            backend_url: "http://127.0.0.1:9".into(),
            extra_ussd: "",
            backend_timeout: "1s",
            tps: 1000,
            binds: 1,
        }
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn config_text(port: u16, store: &Path, o: &Opts) -> String {
    let flows = repo().join("flows");
    let base = &o.backend_url;
    format!(
        r#"
[gateway]
node = "t"
flows_dir = "{flows}"
shutdown_grace = "3s"
workers = {workers}
queues = {{ worker = {queue} }}

[store]
path = "{store}"

[sms]
session_idle = "10m"
dedupe_window = "10m"

[[operators]]
name = "sim"
host = "127.0.0.1"
port = {port}
system_id = "bawaba"
password = "secret"
window = 10
tps = {tps}
binds = {binds}
enquire_link = {{ idle = "30s", timeout = "5s" }}
reconnect = {{ min = "100ms", max = "1s" }}
msisdn_prefixes = ["964"]
sms = {{ short_codes = ["2150"] }}

[operators.ussd]
service_codes = ["*123#"]
timers = {{ reply_deadline = "{rd}" }}
{extra}

[[backends]]
name = "pds"
base_url = "{base}/pds/v1"
allow_http = true
timeout = "{bt}"

[backends.operations]
balance = {{ method = "GET", path = "/cards/{{card}}/balance" }}
entitlements = {{ method = "GET", path = "/cards/{{card}}/entitlements" }}

[[backends]]
name = "electricity"
base_url = "{base}/electricity/v1"
allow_http = true
timeout = "{bt}"

[backends.operations.bill]
method = "GET"
path = "/accounts/{{account}}/bill"
response = {{ subscriber = "/holder", amount = "/amount", due = "/due_date" }}

[[backends]]
name = "passport"
base_url = "{base}/passport/v1"
allow_http = true
timeout = "{bt}"

[backends.operations.status]
method = "GET"
path = "/applications/{{application}}/status"
response = {{ state = "/status", office_ar = "/office" }}

[[backends]]
name = "pension"
base_url = "{base}/pension/v1"
allow_http = true
timeout = "{bt}"
retries = 0

[backends.operations.inquiry]
method = "POST"
path = "/inquiry"
body = {{ pension_number = "{{number}}", pin = "{{pin}}" }}
not_found = [403, 404]
response = {{ pensioner = "/holder", amount = "/amount", pay_date = "/next_payment" }}
"#,
        flows = flows.display(),
        workers = o.workers,
        queue = o.worker_queue,
        store = store.display(),
        rd = o.reply_deadline,
        extra = o.extra_ussd,
        bt = o.backend_timeout,
        tps = o.tps,
        binds = o.binds,
    )
}

pub fn flows(config: &Config) -> Arc<FlowSet> {
    Arc::new(flows_edited(config, |_, text| text))
}

/// The shipped flows with `edit(path, text)` applied to each file first.
pub fn flows_edited(config: &Config, edit: impl Fn(&str, String) -> String) -> FlowSet {
    let dir = repo().join("flows");
    let mut sources = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let path = p.display().to_string();
            let text = edit(&path, std::fs::read_to_string(&p).unwrap());
            sources.push(Source { path, text });
        }
    }
    sources.sort_by(|a, b| a.path.cmp(&b.path));
    let ctx = CompileContext {
        backends: Some(config.backend_operations()),
        budget: config.strictest_budget(),
    };
    compile(&sources, &ctx).expect("edited flows compile")
}

/// An answer and how long it takes.
pub type Answer = (Outcome, serde_json::Value, Duration);

/// Canned answers by (backend, operation), each after an optional delay.
#[derive(Default)]
pub struct Canned {
    pub answers: Mutex<BTreeMap<(String, String), Answer>>,
    pub seen: Mutex<Vec<CallRequest>>,
}

impl Canned {
    pub fn answer(
        &self,
        backend: &str,
        op: &str,
        outcome: Outcome,
        data: serde_json::Value,
        delay: Duration,
    ) {
        self.answers
            .lock()
            .unwrap()
            .insert((backend.into(), op.into()), (outcome, data, delay));
    }
}

/// Whether `screen` shows the balance [`pds_balance`] answers (25,000 IQD),
/// in Arabic-Indic or Western digits.
pub fn shows_balance(screen: &str) -> bool {
    screen.contains("٢٥٬٠٠٠") || screen.contains("25,000")
}

/// The PDS balance answer the runtime tests' citizen gets, after `delay`.
pub fn pds_balance(delay: Duration) -> Arc<Canned> {
    let c = Arc::new(Canned::default());
    c.answer(
        "pds",
        "balance",
        Outcome::Ok,
        serde_json::json!({"holder": "Ali Hassan Jasim", "members": "6", "balance": "25000"}),
        delay,
    );
    c
}

impl Calls for Canned {
    fn call(&self, req: CallRequest) -> BoxFuture<'static, CallResult> {
        let a = self
            .answers
            .lock()
            .unwrap()
            .get(&(req.backend.clone(), req.operation.clone()))
            .cloned();
        self.seen.lock().unwrap().push(req);
        Box::pin(async move {
            let (outcome, data, delay) =
                a.unwrap_or((Outcome::Failed, serde_json::Value::Null, Duration::ZERO));
            tokio::time::sleep(delay).await;
            CallResult {
                outcome,
                data,
                elapsed: delay,
                attempts: 1,
            }
        })
    }
}

pub struct Rig {
    pub smsc: SmscHandle,
    pub dir: tempfile::TempDir,
    pub config: Arc<Config>,
    pub flows: Arc<FlowSet>,
    pub calls: Arc<dyn Calls>,
    pub clock: Option<Arc<dyn Clock>>,
    pub gw: Option<GatewayHandle>,
}

impl Rig {
    pub async fn new(opts: Opts, calls: Arc<dyn Calls>) -> Rig {
        Self::with_smsc(opts, calls, SmscConfig::local("bawaba", "secret")).await
    }

    pub async fn with_smsc(opts: Opts, calls: Arc<dyn Calls>, sc: SmscConfig) -> Rig {
        Self::build(opts, calls, sc, None).await
    }

    pub async fn with_clock(opts: Opts, calls: Arc<dyn Calls>, clock: Arc<dyn Clock>) -> Rig {
        Self::build(
            opts,
            calls,
            SmscConfig::local("bawaba", "secret"),
            Some(clock),
        )
        .await
    }

    async fn build(
        opts: Opts,
        calls: Arc<dyn Calls>,
        sc: SmscConfig,
        clock: Option<Arc<dyn Clock>>,
    ) -> Rig {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let smsc = Smsc::start(sc).await.expect("simulator SMSC");
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(smsc.local_addr().port(), &dir.path().join("store"), &opts);
        let config =
            Arc::new(Config::from_str(&text, dir.path().join("bawaba.toml")).expect("config"));
        let flows = flows(&config);
        let mut rig = Rig {
            smsc,
            dir,
            config,
            flows,
            calls,
            clock,
            gw: None,
        };
        rig.start().await;
        rig
    }

    /// Opens the store and starts the gateway; returns once it is bound.
    pub async fn start(&mut self) {
        // After a crash (a dropped gateway) sled releases its lock once the
        // last task holding the store has ended: retry for a while.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let store = loop {
            match SledStore::open(SledConfig::new(self.dir.path().join("store"))).await {
                Ok(s) => break s,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(e) => panic!("sled store: {e}"),
            }
        };
        let mut gw = Gateway::new(
            self.config.clone(),
            Arc::new(store),
            self.flows.clone(),
            self.calls.clone(),
        );
        if let Some(c) = &self.clock {
            gw = gw.with_clock(c.clone());
        }
        let gw = gw.start().await.expect("gateway starts");
        assert!(
            gw.wait_bound(Duration::from_secs(10)).await,
            "gateway never bound"
        );
        // And the SMSC has registered the binds (phones route through them).
        let binds: u32 = self.config.operators.iter().map(|o| o.binds).sum();
        self.smsc
            .wait_bound(binds as usize)
            .await
            .expect("SMSC sees the binds");
        self.gw = Some(gw);
    }

    /// Graceful shutdown; the store is closed when this returns.
    pub async fn stop(&mut self) {
        if let Some(gw) = self.gw.take() {
            gw.shutdown().await;
        }
    }
}
