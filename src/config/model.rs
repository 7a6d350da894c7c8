//! The validated configuration: plain typed values with every default
//! applied and every cross-field rule already checked. Durations are
//! `std::time::Duration`, sizes are bytes. Nothing here can fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::secret::Secret;
pub use super::template::{JsonTemplate, Piece, Template};
use crate::charset::Budget;

/// The whole gateway configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from, as named by the caller.
    pub source: PathBuf,
    pub gateway: Gateway,
    pub store: Store,
    pub log: Log,
    pub admin: Admin,
    pub sms: Sms,
    pub security: super::security::Security,
    pub operators: Vec<Operator>,
    pub backends: Vec<Backend>,
    /// `[notify]`: the notification API; `None` (off) when absent.
    pub notify: Option<Notify>,
}

/// `[gateway]`: this node and its worker pool.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub node: String,
    /// Resolved against the configuration file's directory.
    pub flows_dir: PathBuf,
    pub watch_flows: bool,
    pub shutdown_grace: Duration,
    pub workers: usize,
    pub queues: Queues,
}

/// Bounds of the gateway's queues (every queue is bounded).
#[derive(Debug, Clone)]
pub struct Queues {
    /// Inbound turns waiting per worker.
    pub worker: usize,
    /// Outbound PDUs waiting per operator.
    pub outbound: usize,
    /// Back-end calls in flight across all back-ends.
    pub backend_calls: usize,
    /// MO SMS and receipts waiting for their durable write at once.
    pub intake: usize,
}

/// `[store]`: sled.
#[derive(Debug, Clone)]
pub struct Store {
    /// Resolved against the configuration file's directory.
    pub path: PathBuf,
    pub cache_capacity: u64,
    pub group_commit: GroupCommit,
    pub retention: Retention,
}

#[derive(Debug, Clone)]
pub struct GroupCommit {
    pub max_batch: usize,
    pub max_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct Retention {
    /// How long finished sessions are kept (resume offers, support).
    pub sessions: Duration,
    /// How long sent-message ids are kept to match delivery receipts.
    pub receipts: Duration,
    /// How long an MO left unprocessed in the journal is kept (retried at
    /// every start) before it is dropped. Processed MOs are removed at once.
    pub inbound: Duration,
    /// How long an MT that failed for good is kept (its status answers
    /// queries) before it is removed with its text. Sent MTs are removed at
    /// once; their receipts follow `receipts`.
    pub failed_messages: Duration,
    /// How often expired records are swept.
    pub sweep_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct Log {
    pub format: LogFormat,
    /// A `tracing` filter directive, e.g. `info,bawaba::smpp=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[admin]`: the admin/metrics listener (off when `listen` is absent).
#[derive(Debug, Clone)]
pub struct Admin {
    pub listen: Option<SocketAddr>,
    /// `[[admin.tokens]]`: who may call the API, and what they may do.
    pub tokens: Vec<AdminToken>,
    /// Peers allowed to connect; empty: any peer.
    pub allowed_ips: Vec<ipnet::IpNet>,
}

/// One `[[admin.tokens]]` entry.
#[derive(Debug, Clone)]
pub struct AdminToken {
    /// Named in the audit log and in the flow history.
    pub name: String,
    pub role: AdminRole,
    pub secret: Secret,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AdminRole {
    /// Reads: status, flows, history, sessions, metrics, the audit check.
    Viewer,
    /// Also writes: drafts, publish, rollback, staging, ending sessions.
    Publisher,
}

/// `[sms]`: the SMS bearer.
#[derive(Debug, Clone)]
pub struct Sms {
    /// The reply to an SMS that matches no keyword.
    pub fallback: Texts,
    pub default_language: Language,
    pub session_idle: Duration,
    pub dedupe_window: Duration,
}

/// One text per language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    pub ar: String,
    pub ckb: String,
    pub en: String,
}

impl Texts {
    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Ar => &self.ar,
            Language::Ckb => &self.ckb,
            Language::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Ar,
    Ckb,
    En,
}

/// One mobile operator's SMSC account.
#[derive(Debug, Clone)]
pub struct Operator {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub system_id: String,
    pub password: Secret,
    pub system_type: String,
    pub bind_mode: BindMode,
    /// Binds (transceiver) or bind pairs (tx_rx) to open.
    pub binds: u32,
    /// Requests in flight per bind.
    pub window: u32,
    /// Submits per second across all of this operator's binds.
    pub tps: u32,
    pub addr_ton: u8,
    pub addr_npi: u8,
    pub address_range: String,
    pub bind_timeout: Duration,
    pub response_timeout: Duration,
    pub enquire_link: EnquireLink,
    pub reconnect: Reconnect,
    /// The largest command_length accepted or sent.
    pub max_pdu_size: u32,
    pub encodings: Vec<Encoding>,
    pub data_coding: DataCoding,
    /// International-format prefixes (no '+') of this operator's subscribers.
    pub msisdn_prefixes: Vec<String>,
    pub sms: OperatorSms,
    pub ussd: OperatorUssd,
    /// SMPP over TLS (`None`: plain TCP).
    pub tls: Option<OperatorTls>,
}

/// TLS to one SMSC; the certificate is always verified.
#[derive(Debug, Clone)]
pub struct OperatorTls {
    /// A PEM file of CA certificates trusted alone; `None`: the platform's roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// The name (or IP address) the SMSC's certificate must carry.
    pub server_name: String,
    /// Our certificate chain and key (PEM), for SMSCs that demand one.
    pub client_cert: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindMode {
    Transceiver,
    TxRx,
}

#[derive(Debug, Clone)]
pub struct EnquireLink {
    pub idle: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Reconnect {
    pub min: Duration,
    pub max: Duration,
    /// The backoff cap after the SMSC rejects the bind (wrong password...):
    /// slower, so the account is not locked.
    pub rejected_max: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataCoding {
    pub gsm7: u8,
    pub ucs2: u8,
}

#[derive(Debug, Clone)]
pub struct OperatorSms {
    pub short_codes: Vec<String>,
    pub split: SplitMode,
    pub max_parts: u8,
    pub receipts: Receipts,
}

/// Which MTs ask the SMSC for a delivery receipt (registered_delivery).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Receipts {
    /// Every MT.
    All,
    /// MTs the notification API and back-ends send (priority 1 and up),
    /// whose status someone asks for; not the replies to a citizen's own
    /// SMS, who is there to read them.
    #[default]
    Notifications,
    /// None: statuses end at "sent".
    None,
}

impl Receipts {
    /// Whether an MT of `priority` (0 interactive, 1 normal, 2 bulk) asks.
    pub fn wanted(self, priority: u8) -> bool {
        match self {
            Receipts::All => true,
            Receipts::Notifications => priority >= 1,
            Receipts::None => false,
        }
    }
}

/// How a long SMS is cut into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMode {
    /// UDH with an 8-bit reference.
    Udh8,
    /// UDH with a 16-bit reference.
    Udh16,
    /// sar_* optional parameters.
    Sar,
    /// One submit_sm with message_payload; the SMSC splits.
    Payload,
}

#[derive(Debug, Clone)]
pub struct OperatorUssd {
    /// The dial codes this operator routes to us, e.g. `*123#`.
    pub service_codes: Vec<String>,
    pub profile: UssdProfile,
}

/// How one vendor's USSD gateway speaks SMPP: data, not code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UssdProfile {
    /// The named profile this came from, or `default`.
    pub name: String,
    pub service_type: String,
    pub ops: UssdOps,
    pub session_key: SessionKey,
    pub dial_string: DialString,
    pub budget: Budget,
    pub timers: UssdTimers,
}

/// ussd_service_op values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UssdOps {
    pub begin: u8,
    pub user_reply: u8,
    pub our_continue: u8,
    pub our_end: u8,
    pub abort: Vec<u8>,
}

/// What identifies one USSD dialogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKey {
    ItsSessionInfo,
    UserMessageReference,
    MsisdnServiceCode,
}

/// Where the dialled string arrives in the opening deliver_sm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialString {
    ShortMessage,
    DestinationAddr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UssdTimers {
    /// How long we may take to answer a turn.
    pub reply_deadline: Duration,
    /// How long the citizen may take to answer a screen.
    pub user_idle: Duration,
    /// The operator's cap on a whole dialogue.
    pub session_max: Duration,
}

/// One government back-end.
#[derive(Debug, Clone)]
pub struct Backend {
    pub name: String,
    pub base_url: url::Url,
    /// `base_url` may be plain `http://` (local test back-ends only).
    pub allow_http: bool,
    pub http_version: HttpVersion,
    pub auth: Auth,
    /// The whole call's deadline, retries included.
    pub timeout: Duration,
    pub concurrency: usize,
    pub retries: u32,
    pub circuit_breaker: CircuitBreaker,
    pub max_response_bytes: u64,
    /// Zero: answers are not cached.
    pub cache_ttl: Duration,
    pub operations: BTreeMap<String, Operation>,
}

/// `http_version`: which HTTP the calls to a back-end use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HttpVersion {
    /// HTTP/1.1 only: a pool of keep-alive connections, one call each at
    /// a time.
    #[serde(rename = "1.1")]
    Http1,
    /// HTTP/2 only: every call multiplexed over one connection (over
    /// `https` negotiated by ALPN, over `http` with prior knowledge).
    #[serde(rename = "2")]
    Http2,
    /// Over `https`, HTTP/2 when the server offers it by ALPN, else
    /// HTTP/1.1; over `http`, HTTP/1.1.
    #[serde(rename = "auto")]
    Auto,
}

#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Bearer {
        token: Secret,
    },
    ApiKey {
        header: String,
        token: Secret,
    },
    Mtls {
        cert: PathBuf,
        key: PathBuf,
        ca: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    None,
    Bearer,
    ApiKey,
    Mtls,
}

#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// How long it stays open before probing.
    pub open_for: Duration,
    /// Calls let through while half-open.
    pub half_open_probes: u32,
}

/// One operation a flow may call: `backend: pds, operation: balance`.
/// Every string that carries a parameter is a [`Template`]; the back-end
/// client encodes each rendered value for its slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub method: Method,
    /// A path template under the base URL, e.g. `/cards/{card}/balance`.
    pub path: String,
    /// The `{placeholders}` in `path`, in order.
    pub path_params: Vec<String>,
    /// `path` cut at its slashes: one template per segment.
    pub path_segments: Vec<Template>,
    /// Query pairs, in name order.
    pub query: Vec<(String, Template)>,
    /// The JSON body; `None` sends none (unless parameters are left over,
    /// see `leftover_params`).
    pub body: Option<JsonTemplate>,
    /// Extra request headers, in name order.
    pub headers: Vec<(String, Template)>,
    /// Whether a failed attempt may be sent again (GET, PUT, DELETE by
    /// default; `idempotent = true` for a POST the back-end dedupes by
    /// Idempotency-Key).
    pub idempotent: bool,
    /// Statuses that mean "no such record" (default `[404]`).
    pub not_found: Vec<u16>,
    /// Variable -> JSON pointer into the answer. Empty: the answer's
    /// top-level object is handed to the flow as it is.
    pub response: BTreeMap<String, String>,
}

impl Operation {
    /// Whether parameters used by no template go in the query (GET,
    /// DELETE) or a flat JSON body (POST, PUT, PATCH): only when the
    /// operation declares neither `query` nor `body`.
    pub fn leftover_params(&self) -> bool {
        self.query.is_empty() && self.body.is_none()
    }

    /// Whether a template uses the placeholder `name` (what [`params`]
    /// holds, without building the set: asked for every parameter of
    /// every call).
    ///
    /// [`params`]: Operation::params
    pub fn uses(&self, name: &str) -> bool {
        self.path_segments
            .iter()
            .chain(self.query.iter().map(|(_, t)| t))
            .chain(self.headers.iter().map(|(_, t)| t))
            .any(|t| t.params().any(|p| p == name))
            || self
                .body
                .iter()
                .flat_map(JsonTemplate::params)
                .any(|p| p == name)
    }

    /// Every placeholder the templates use: the parameters a call needs.
    pub fn params(&self) -> std::collections::BTreeSet<&str> {
        let mut out: std::collections::BTreeSet<&str> = self
            .path_segments
            .iter()
            .flat_map(Template::params)
            .collect();
        out.extend(self.query.iter().flat_map(|(_, t)| t.params()));
        out.extend(self.headers.iter().flat_map(|(_, t)| t.params()));
        out.extend(self.body.iter().flat_map(JsonTemplate::params));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Method {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "PATCH")]
    Patch,
    #[serde(rename = "DELETE")]
    Delete,
}

/// `[notify]`: the HTTP API through which back-ends send SMS to citizens.
#[derive(Debug, Clone)]
pub struct Notify {
    pub listen: SocketAddr,
    /// Largest request body in bytes (larger: 413).
    pub max_body: usize,
    /// Requests in flight, all clients together (more: 503).
    pub concurrency: usize,
    /// A request not answered within this gets 503.
    pub request_timeout: Duration,
    /// Most SMS parts one message may take (and never more than the
    /// operator's `sms.max_parts`).
    pub max_parts: u8,
    /// Source networks that may connect at all (empty: any); others are
    /// closed at accept, before any HTTP or authentication.
    pub allowed_ips: Vec<ipnet::IpNet>,
    pub clients: Vec<NotifyClient>,
    pub templates: BTreeMap<String, NotifyTemplate>,
}

/// One back-end allowed to send (`[[notify.clients]]`).
#[derive(Debug, Clone)]
pub struct NotifyClient {
    pub name: String,
    /// Bearer token; compared in constant time, never logged.
    pub token: Secret,
    pub rate: NotifyRate,
    /// Source addresses allowed (empty: any).
    pub allowed_ips: Vec<std::net::IpAddr>,
    /// Its messages go at bulk priority (after interactive and normal).
    pub bulk: bool,
    /// Where status changes of its messages are POSTed (best effort).
    pub callback_url: Option<url::Url>,
}

/// A token bucket: `per_second` refill, `burst` capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyRate {
    pub per_second: u32,
    pub burst: u32,
}

/// A message template, per language (at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyTemplate {
    pub ar: Option<Template>,
    pub ckb: Option<Template>,
    pub en: Option<Template>,
}

impl NotifyTemplate {
    pub fn get(&self, language: Language) -> Option<&Template> {
        match language {
            Language::Ar => self.ar.as_ref(),
            Language::Ckb => self.ckb.as_ref(),
            Language::En => self.en.as_ref(),
        }
    }
}
