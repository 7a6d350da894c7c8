//! The file as written: serde types that mirror the TOML one to one, with
//! `deny_unknown_fields` everywhere and `Option` for every key that has a
//! default (defaults are applied in validation, which must know what the
//! user set: a USSD profile's keys override only what is written).
//! Numbers are read as `i64` so range errors can say "got 0" instead of a
//! serde type error. Nothing here is checked beyond its TOML type.

use serde::Deserialize;
use toml::Spanned;

use super::model::{
    AuthKind, BindMode, DialString, Encoding, HttpVersion, LogFormat, Method, Receipts, SessionKey,
    SplitMode,
};
use super::secret::SecretSpec;
use super::units::{Dur, Size};

type S<T> = Spanned<T>;
type Int = Option<S<i64>>;
type Time = Option<S<Dur>>;
type Text = Option<S<String>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGateway {
    pub node: Text,
    pub flows_dir: Text,
    pub watch_flows: Option<bool>,
    pub shutdown_grace: Time,
    pub workers: Int,
    pub queues: Option<RawQueues>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueues {
    pub worker: Int,
    pub outbound: Int,
    pub backend_calls: Int,
    pub intake: Int,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub path: Text,
    pub cache_capacity: Option<S<Size>>,
    pub group_commit: Option<RawGroupCommit>,
    pub retention: Option<RawRetention>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroupCommit {
    pub max_batch: Int,
    pub max_delay: Time,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetention {
    pub sessions: Time,
    pub receipts: Time,
    pub inbound: Time,
    pub failed_messages: Time,
    pub sweep_interval: Time,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub format: Option<LogFormat>,
    pub level: Text,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSms {
    pub fallback: Option<S<RawTexts>>,
    pub default_language: Option<S<String>>,
    pub session_idle: Time,
    pub dedupe_window: Time,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTexts {
    pub ar: Text,
    pub ckb: Text,
    pub en: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperator {
    // Required: Option so that every missing one is reported, not only the
    // first serde meets.
    pub name: Text,
    pub host: Text,
    pub port: Int,
    pub system_id: Text,
    pub password: Option<S<SecretSpec>>,
    pub system_type: Text,
    pub bind_mode: Option<BindMode>,
    pub binds: Int,
    pub window: Int,
    pub tps: Int,
    pub addr_ton: Int,
    pub addr_npi: Int,
    pub address_range: Text,
    pub bind_timeout: Time,
    pub response_timeout: Time,
    pub enquire_link: Option<RawEnquireLink>,
    pub reconnect: Option<RawReconnect>,
    pub max_pdu_size: Option<S<Size>>,
    pub encodings: Option<S<Vec<Encoding>>>,
    pub data_coding: Option<RawDataCoding>,
    pub msisdn_prefixes: Option<Vec<S<String>>>,
    pub sms: Option<RawOperatorSms>,
    pub ussd: Option<RawOperatorUssd>,
    /// `true` or a table: checked by hand (`config::tls`) so that each
    /// mistake gets its own message.
    pub tls: Option<S<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEnquireLink {
    pub idle: Time,
    pub timeout: Time,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReconnect {
    pub min: Time,
    pub max: Time,
    pub rejected_max: Time,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDataCoding {
    pub gsm7: Int,
    pub ucs2: Int,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperatorSms {
    pub short_codes: Option<Vec<S<String>>>,
    pub split: Option<SplitMode>,
    pub max_parts: Int,
    pub receipts: Option<Receipts>,
}

/// `[operators.ussd]`: the codes this operator routes to us, an optional
/// named profile, and any profile key to override for this operator.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperatorUssd {
    pub service_codes: Option<Vec<S<String>>>,
    pub profile: Text,
    pub service_type: Text,
    pub ops: Option<RawOps>,
    pub session_key: Option<S<SessionKey>>,
    pub dial_string: Option<S<DialString>>,
    pub budget: Option<RawBudget>,
    pub timers: Option<RawTimers>,
}

impl RawOperatorUssd {
    /// The profile keys written on the operator itself.
    pub(crate) fn overrides(&self) -> RawUssdProfile {
        RawUssdProfile {
            service_type: self.service_type.clone(),
            ops: self.ops.clone(),
            session_key: self.session_key.clone(),
            dial_string: self.dial_string.clone(),
            budget: self.budget.clone(),
            timers: self.timers.clone(),
        }
    }
}

/// `[ussd_profiles.NAME]`: how one vendor's USSD gateway speaks SMPP.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUssdProfile {
    pub service_type: Text,
    pub ops: Option<RawOps>,
    pub session_key: Option<S<SessionKey>>,
    pub dial_string: Option<S<DialString>>,
    pub budget: Option<RawBudget>,
    pub timers: Option<RawTimers>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOps {
    pub begin: Int,
    pub user_reply: Int,
    pub our_continue: Int,
    pub our_end: Int,
    pub abort: Option<S<Vec<S<i64>>>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBudget {
    pub gsm7: Int,
    pub ucs2: Int,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimers {
    pub reply_deadline: Time,
    pub user_idle: Time,
    pub session_max: Time,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackend {
    pub name: Text,
    pub base_url: Text,
    pub allow_http: Option<bool>,
    pub http_version: Option<S<HttpVersion>>,
    pub auth: Option<S<RawAuth>>,
    pub timeout: Time,
    pub concurrency: Int,
    pub retries: Int,
    pub circuit_breaker: Option<RawBreaker>,
    pub max_response_bytes: Option<S<Size>>,
    pub cache_ttl: Time,
    pub operations: Option<S<std::collections::BTreeMap<String, S<RawOperation>>>>,
}

/// `auth = { type = "...", ... }`. A flat struct rather than a tagged
/// enum: serde's tagged enums buffer their content and lose the spans we
/// report with; validation checks which keys fit which `type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    #[serde(rename = "type")]
    pub kind: Option<S<AuthKind>>,
    pub token: Option<S<SecretSpec>>,
    pub header: Text,
    pub cert: Text,
    pub key: Text,
    pub ca: Text,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreaker {
    pub failures: Int,
    pub open_for: Time,
    pub half_open_probes: Int,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperation {
    pub method: Option<Method>,
    pub path: Text,
    pub query: Option<S<std::collections::BTreeMap<String, S<String>>>>,
    pub body: Option<S<toml::Value>>,
    pub headers: Option<S<std::collections::BTreeMap<String, S<String>>>>,
    pub idempotent: Option<bool>,
    pub not_found: Option<S<Vec<S<i64>>>>,
    pub response: Option<S<std::collections::BTreeMap<String, S<String>>>>,
}
