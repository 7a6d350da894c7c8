//! Mock ministries: JSON services over HTTP/1.1 or HTTP/2 (h2c; PDS ration cards, electricity, passports,
//! pensions) answering for deterministic fake citizens ([`citizens`]), with misbehaviour
//! knobs ([`Knobs`]) and a bounded log of every request as received ([`RequestRecord`]).
//!
//! Built on axum for the server plumbing (hyper connections, graceful shutdown, body limit);
//! routing is done by hand in one handler so ids are validated on the raw, still
//! percent-encoded path (`1%2F..%2Fadmin` is a 400, never a decoded path) and every request,
//! junk included, passes through the same log. Endpoints: see simulator/README.md.

pub mod citizens;
mod knobs;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, Response, StatusCode};
use axum::serve::ListenerExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::smsc::lock;
use citizens::Lang;
pub use knobs::{Hang, Knobs, Malformed, Service};

/// Request bodies over this are refused with 413 (and logged with an empty body).
pub const MAX_BODY: usize = 16 * 1024;
/// Requests handled at once; beyond it the answer is an immediate 503 (fail fast, bounded).
pub const MAX_IN_FLIGHT: usize = 1024;

#[derive(Debug, Clone)]
pub struct MinistriesConfig {
    pub listen: SocketAddr,
    /// Knobs for every service without its own.
    pub knobs: Knobs,
    /// How many requests the log keeps (the oldest are dropped).
    pub request_log: usize,
}

impl MinistriesConfig {
    /// `127.0.0.1:0`, well-behaved, log of 1000: what tests want.
    pub fn local() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            knobs: Knobs::default(),
            request_log: 1000,
        }
    }
}

/// One request as the ministries received it. `path` and `query` are raw (percent-encoding
/// kept); secret-bearing headers (authorization, cookie, x-api-key) are logged as `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    /// UTF-8 (lossy) body, at most [`MAX_BODY`] bytes.
    pub body: String,
}

/// Which services a [`MinistriesHandle::set_knobs`] call applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Only(Service),
}

struct State {
    all: Mutex<Knobs>,
    per_service: Mutex<HashMap<Service, Knobs>>,
    counts: Mutex<HashMap<Service, u64>>,
    log: Mutex<VecDeque<RequestRecord>>,
    log_cap: usize,
    in_flight: Semaphore,
    shutdown: CancellationToken,
}

/// The mock ministries. See [`Ministries::start`].
#[derive(Debug)]
pub struct Ministries;

/// What tests and `bawaba demo` hold. Cheap to clone.
#[derive(Clone)]
pub struct MinistriesHandle {
    state: Arc<State>,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for MinistriesHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinistriesHandle")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl Ministries {
    /// Binds `config.listen` and serves until [`MinistriesHandle::shutdown`].
    pub async fn start(config: MinistriesConfig) -> std::io::Result<MinistriesHandle> {
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        // No Nagle, as a production server: over HTTP/2 an answer's HEADERS
        // and DATA frames may go in two writes, and the second would wait
        // for the client's delayed ACK (up to 40 ms).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let state = Arc::new(State {
            all: Mutex::new(config.knobs),
            per_service: Mutex::default(),
            counts: Mutex::default(),
            log: Mutex::default(),
            log_cap: config.request_log,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
            shutdown: CancellationToken::new(),
        });
        let s = state.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| handle(s.clone(), req));
        let stop = state.shutdown.clone();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "ministries server stopped");
            }
        });
        tracing::info!(%local_addr, "mock ministries listening");
        Ok(MinistriesHandle { state, local_addr })
    }
}

impl MinistriesHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// `http://127.0.0.1:PORT`, what a back-end config wants.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }
    /// The requests received so far, oldest first (the last `request_log` of them).
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.state.log).iter().cloned().collect()
    }
    /// Sets the knobs for every service (clearing per-service ones) or for one. The error-rate
    /// count restarts for the services it touches, so the pattern is predictable from here.
    pub fn set_knobs(&self, scope: Scope, knobs: Knobs) {
        match scope {
            Scope::All => {
                *lock(&self.state.all) = knobs;
                lock(&self.state.per_service).clear();
                lock(&self.state.counts).clear();
            }
            Scope::Only(s) => {
                lock(&self.state.per_service).insert(s, knobs);
                lock(&self.state.counts).remove(&s);
            }
        }
    }
    /// The knobs in force for `service`.
    pub fn knobs(&self, service: Service) -> Knobs {
        self.state.knobs(service)
    }
    /// Stops accepting; hanging requests are released (their connections close).
    pub fn shutdown(&self) {
        self.state.shutdown.cancel();
    }
}

impl State {
    fn knobs(&self, service: Service) -> Knobs {
        lock(&self.per_service)
            .get(&service)
            .copied()
            .unwrap_or_else(|| *lock(&self.all))
    }
    fn next_count(&self, service: Service) -> u64 {
        let mut c = lock(&self.counts);
        let n = c.entry(service).or_insert(0);
        *n += 1;
        *n - 1
    }
    fn record(&self, r: RequestRecord) {
        let mut log = lock(&self.log);
        if log.len() >= self.log_cap.max(1) {
            log.pop_front();
        }
        log.push_back(r);
    }
}

fn reply(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn error(status: StatusCode, code: &str) -> (StatusCode, Value) {
    (status, json!({ "error": code }))
}

async fn handle(state: Arc<State>, req: Request<Body>) -> Response<Body> {
    let Ok(_permit) = state.in_flight.try_acquire() else {
        let (s, v) = error(StatusCode::SERVICE_UNAVAILABLE, "busy");
        return reply(s, v.to_string());
    };
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await;
    let secret = |k: &str| matches!(k, "authorization" | "cookie" | "x-api-key");
    state.record(RequestRecord {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if secret(k.as_str()) {
                    "***".into()
                } else {
                    String::from_utf8_lossy(v.as_bytes()).into_owned()
                };
                (k.as_str().to_owned(), v)
            })
            .collect(),
        body: bytes
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default(),
    });
    let Ok(bytes) = bytes else {
        let (s, v) = error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
        return reply(s, v.to_string());
    };
    let segs: Vec<&str> = parts.uri.path().split('/').skip(1).collect();
    let service = segs.first().and_then(|s| Service::parse(s));
    let knobs = service.map(|s| (s, state.knobs(s)));
    if let Some((_, k)) = knobs {
        if misbehave_in_time(&state, k).await.is_err() {
            return reply(StatusCode::SERVICE_UNAVAILABLE, String::new());
        }
    }
    if let Some((s, k)) = knobs {
        if k.fails(state.next_count(s)) {
            let (s, v) = error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
            return reply(s, v.to_string());
        }
    }
    if let ["pds", "v1", "sms"] = segs[..] {
        return keyword_reply(parts.uri.query());
    }
    let (status, value) = route(&parts.method, &segs, parts.uri.query(), &bytes);
    match knobs.and_then(|(_, k)| k.malformed) {
        Some(m) if status.is_success() => reply(status, knobs::mangle(m, &value)),
        _ => reply(status, value.to_string()),
    }
}

/// `GET /pds/v1/sms?text=PDS+12345678`: the card balance as the plain-text SMS reply an
/// HTTP-keyword gateway (Kannel's `get-url`) sends back as it is. The card is the last run of
/// digits in `text`; the answer is the same text the Kannel comparison's Bawaba flow shows.
fn keyword_reply(query: Option<&str>) -> Response<Body> {
    let text = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("text="))
        .map(form_decode)
        .unwrap_or_default();
    let card = text
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|w| !w.is_empty())
        .unwrap_or("");
    let body = match citizens::pds_balance(card, Lang::En) {
        Some(v) if citizens::valid_id(card) => {
            format!(
                "Card {card}: balance {} IQD",
                v["balance"].as_str().unwrap_or("?")
            )
        }
        _ => "Unknown card".to_owned(),
    };
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A form-encoded query value: `+` is a space, `%XX` a byte (a bad escape stays as it is).
fn form_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (other, _) => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Latency, jitter and hanging. `Err` when shutdown cut a hang short.
async fn misbehave_in_time(state: &State, k: Knobs) -> Result<(), ()> {
    let jitter_ms = u64::try_from(k.jitter.as_millis()).unwrap_or(u64::MAX);
    let jitter = Duration::from_millis(if jitter_ms == 0 {
        0
    } else {
        rand::random_range(0..=jitter_ms)
    });
    let hang = async {
        match k.hang {
            Hang::Off => {}
            Hang::For(d) => tokio::time::sleep(d).await,
            Hang::Never => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = state.shutdown.cancelled() => Err(()),
        _ = async {
            // tokio's timer ticks in milliseconds: even a zero sleep waits
            // for the next tick (~1 ms), so "no latency" must not sleep.
            let delay = k.latency + jitter;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            hang.await
        } => Ok(()),
    }
}

/// The `lang` query parameter; absent means Arabic.
fn lang_of(query: Option<&str>) -> Option<Lang> {
    let value = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="));
    value.map_or(Some(Lang::Ar), Lang::parse)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PensionInquiry {
    pension_number: String,
    pin: String,
}

fn route(method: &Method, segs: &[&str], query: Option<&str>, body: &[u8]) -> (StatusCode, Value) {
    let Some(lang) = lang_of(query) else {
        return error(StatusCode::BAD_REQUEST, "unsupported_lang");
    };
    let get = *method == Method::GET;
    let found = |v: Option<Value>| match v {
        Some(v) => (StatusCode::OK, v),
        None => error(StatusCode::NOT_FOUND, "not_found"),
    };
    let id_ok = |id: &str| citizens::valid_id(id);
    match segs {
        ["pds", "v1", "cards", id, "balance"] if get && id_ok(id) => {
            found(citizens::pds_balance(id, lang))
        }
        ["pds", "v1", "cards", id, "entitlements"] if get && id_ok(id) => {
            found(citizens::pds_entitlements(id))
        }
        ["electricity", "v1", "accounts", id, "bill"] if get && id_ok(id) => {
            found(citizens::electricity_bill(id, lang))
        }
        ["passport", "v1", "applications", id, "status"] if get && id_ok(id) => {
            found(citizens::passport_status(id, lang))
        }
        ["pension", "v1", "inquiry"] if *method == Method::POST => pension(body, lang),
        ["pds", "v1", "cards", _, "balance" | "entitlements"]
        | ["electricity", "v1", "accounts", _, "bill"]
        | ["passport", "v1", "applications", _, "status"]
            if get =>
        {
            error(StatusCode::BAD_REQUEST, "invalid_id")
        }
        ["pds" | "electricity" | "passport", ..] if !get => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
        }
        ["pension", "v1", "inquiry"] => error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        _ => error(StatusCode::NOT_FOUND, "not_found"),
    }
}

fn pension(body: &[u8], lang: Lang) -> (StatusCode, Value) {
    let Ok(q) = serde_json::from_slice::<PensionInquiry>(body) else {
        return error(StatusCode::BAD_REQUEST, "bad_request");
    };
    if !citizens::valid_id(&q.pension_number) {
        return error(StatusCode::BAD_REQUEST, "invalid_id");
    }
    let Some(pin) = citizens::pension_pin(&q.pension_number) else {
        return error(StatusCode::NOT_FOUND, "not_found");
    };
    if q.pin != pin {
        return error(StatusCode::FORBIDDEN, "invalid_pin");
    }
    match citizens::pension(&q.pension_number, lang) {
        Some(v) => (StatusCode::OK, v),
        None => error(StatusCode::NOT_FOUND, "not_found"),
    }
}
