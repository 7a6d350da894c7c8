//! Back-end calls against a tiny in-test HTTP server (axum on
//! 127.0.0.1:0) where each behaviour is under exact control: statuses,
//! retries only for idempotent operations, the size cap on an endless
//! body, redirects, the concurrency limit, deadlines, auth headers,
//! allow_http, the HTTP version. Each behaviour over HTTP/1.1 and HTTP/2.

mod backend_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use backend_support::{backends, config, req, serve};
use bawaba::backend::{BackendError, Backends};
use bawaba::engine::Outcome;
use tokio::sync::{Notify, Semaphore};

#[derive(Default)]
struct Server {
    hits: AtomicU32,
    admin_hits: AtomicU32,
    /// Requests to /flaky that fail before one succeeds.
    flaky_failures: AtomicU32,
    headers: Mutex<Vec<HeaderMap>>,
    arrived: Notify,
    gate: Gate,
}

/// Holds /gated answers until a permit is added.
struct Gate(Semaphore);

impl Default for Gate {
    fn default() -> Self {
        Gate(Semaphore::new(0))
    }
}

fn json(status: u16, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

fn app(s: Arc<Server>) -> Router {
    let hit = |s: &Arc<Server>, h: HeaderMap| {
        s.hits.fetch_add(1, Ordering::SeqCst);
        s.headers.lock().unwrap().push(h);
    };
    let (s1, s2, s3, s4, s5, s6) = (
        s.clone(),
        s.clone(),
        s.clone(),
        s.clone(),
        s.clone(),
        s.clone(),
    );
    Router::new()
        .route("/ok", get(move |h: HeaderMap| async move { hit(&s1, h); json(200, r#"{"a":"1"}"#) }))
        .route(
            "/status/{code}",
            get(move |h: HeaderMap, axum::extract::Path(code): axum::extract::Path<u16>| async move {
                hit(&s2, h);
                json(code, r#"{"error":"x"}"#)
            }),
        )
        .route("/flaky", get(flaky(s3.clone())).post(flaky(s3)))
        .route(
            "/redirect",
            get(move |h: HeaderMap| async move {
                hit(&s4, h);
                (StatusCode::FOUND, [("location", "/admin")]).into_response()
            }),
        )
        .route(
            "/admin",
            get(move || async move {
                s5.admin_hits.fetch_add(1, Ordering::SeqCst);
                json(200, r#"{"admin":"yes"}"#)
            }),
        )
        .route("/endless", get(|| async { Body::from_stream(endless()) }))
        .route("/declared", get(|| async { ([("content-length", "10000000")], Body::from_stream(endless())) }))
        .route("/exact", get(|| async { ([("content-type", "application/json")], exact()) }))
        .route(
            "/gated",
            get(move |h: HeaderMap| async move {
                hit(&s6, h);
                s6.arrived.notify_one();
                let _ = s6.gate.0.acquire().await;
                json(200, r#"{"a":"gated"}"#)
            }),
        )
        .route("/hang", get(std::future::pending::<Response>))
        .route("/post", post(|| async { json(201, r#"{"id":"9"}"#) }))
        .route(
            "/version",
            get(|v: axum::http::Version| async move {
                let mut r = json(200, "");
                *r.body_mut() = Body::from(format!("{{\"v\":\"{v:?}\"}}"));
                r
            }),
        )
}

fn flaky(
    s: Arc<Server>,
) -> impl Fn(HeaderMap) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> + Clone
{
    move |h: HeaderMap| {
        let s = s.clone();
        Box::pin(async move {
            s.hits.fetch_add(1, Ordering::SeqCst);
            s.headers.lock().unwrap().push(h);
            let left = s.flaky_failures.load(Ordering::SeqCst);
            if left > 0 {
                s.flaky_failures.store(left - 1, Ordering::SeqCst);
                return json(503, r#"{"error":"busy"}"#);
            }
            json(200, r#"{"a":"finally"}"#)
        })
    }
}

/// 1 KiB chunks, forever.
fn endless() -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::repeat_with(|| Ok(vec![b' '; 1024]))
}

/// A JSON object of exactly 1024 bytes (the smallest cap).
fn exact() -> String {
    format!("{{\"a\":\"{}\"}}", "x".repeat(1024 - 8))
}

/// The behaviour tests run over each transport: reqwest's HTTP/1.1 and
/// our own HTTP/2 connection (src/backend/http2.rs).
const VERSIONS: [&str; 2] = ["http_version = \"1.1\"", "http_version = \"2\""];

fn on(version: &str, extra: &str) -> String {
    format!("{version}\n{extra}")
}

async fn start(extra: &str) -> (Arc<Server>, Backends) {
    let s = Arc::new(Server::default());
    let addr = serve(app(s.clone())).await;
    let ops = [
        "ok = { method = \"GET\", path = \"/ok\" }",
        "status = { method = \"GET\", path = \"/status/{code}\" }",
        "flaky = { method = \"GET\", path = \"/flaky\" }",
        "flaky_post = { method = \"POST\", path = \"/flaky\" }",
        "flaky_post_idem = { method = \"POST\", path = \"/flaky\", idempotent = true }",
        "redirect = { method = \"GET\", path = \"/redirect\" }",
        "endless = { method = \"GET\", path = \"/endless\" }",
        "declared = { method = \"GET\", path = \"/declared\" }",
        "exact = { method = \"GET\", path = \"/exact\" }",
        "gated = { method = \"GET\", path = \"/gated\" }",
        "hang = { method = \"GET\", path = \"/hang\" }",
        "post = { method = \"POST\", path = \"/post\" }",
        "version = { method = \"GET\", path = \"/version\" }",
    ];
    // Two identical back-ends, `t` and `u`, on the same server.
    let toml = ["t", "u"].map(|name| {
        format!(
            "[[backends]]\nname = \"{name}\"\nbase_url = \"http://{addr}\"\nallow_http = true\n{extra}\n[backends.operations]\n{}\n",
            ops.join("\n")
        )
    });
    let toml = toml.join("\n");
    (s, backends(&toml))
}

#[tokio::test]
async fn each_status_maps_to_its_outcome() {
    for v in VERSIONS {
        let (_s, b) = start(&on(v, "retries = 0")).await;
        let r = b.call(req("t", "ok", &[])).await;
        assert_eq!((r.outcome, r.data["a"].as_str()), (Outcome::Ok, Some("1")));
        let r = b.call(req("t", "post", &[])).await;
        assert_eq!((r.outcome, r.data["id"].as_str()), (Outcome::Ok, Some("9")));
        for (code, outcome) in [
            ("404", Outcome::NotFound),
            ("400", Outcome::Failed),
            ("403", Outcome::Failed),
            ("500", Outcome::Failed),
            ("503", Outcome::Failed),
        ] {
            let r = b.call(req("t", "status", &[("code", code)])).await;
            assert_eq!(
                (r.outcome, &r.data),
                (outcome, &serde_json::Value::Null),
                "{code}"
            );
        }
        assert_eq!(b.call(req("t", "nope", &[])).await.outcome, Outcome::Failed);
        assert_eq!(
            b.call(req("nope", "ok", &[])).await.outcome,
            Outcome::Failed
        );
    }
}

#[tokio::test]
async fn a_refused_connection_is_failed() {
    for v in VERSIONS {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let b = backends(&format!(
            "[[backends]]\nname = \"t\"\nbase_url = \"http://{addr}\"\nallow_http = true\nretries = 2\n{v}\n\
             [backends.operations]\nok = {{ method = \"GET\", path = \"/ok\" }}\n"
        ));
        let r = b.call(req("t", "ok", &[])).await;
        assert_eq!(
            (r.outcome, r.attempts),
            (Outcome::Failed, 3),
            "connection errors are retried"
        );
    }
}

#[tokio::test]
async fn only_idempotent_operations_are_retried_with_the_same_key() {
    for v in VERSIONS {
        let (s, b) = start(&on(v, "retries = 2")).await;
        s.flaky_failures.store(2, Ordering::SeqCst);
        let r = b.call(req("t", "flaky", &[])).await;
        assert_eq!((r.outcome, r.attempts), (Outcome::Ok, 3));
        assert_eq!(s.hits.load(Ordering::SeqCst), 3);
        let keys: Vec<_> = s
            .headers
            .lock()
            .unwrap()
            .iter()
            .map(|h| h["idempotency-key"].clone())
            .collect();
        assert!(
            keys.iter().all(|k| k == "sess-42:step-3"),
            "every attempt, same key"
        );
        s.flaky_failures.store(2, Ordering::SeqCst);
        let r = b.call(req("t", "flaky_post", &[])).await;
        assert_eq!(
            (r.outcome, r.attempts),
            (Outcome::Failed, 1),
            "a POST is sent once"
        );
        assert_eq!(s.hits.load(Ordering::SeqCst), 4);
        let r = b.call(req("t", "flaky_post_idem", &[])).await;
        assert_eq!(
            (r.outcome, r.attempts),
            (Outcome::Ok, 2),
            "idempotent = true opts in"
        );
        // A 4xx is about the request: not retried.
        let r = b.call(req("t", "status", &[("code", "400")])).await;
        assert_eq!((r.outcome, r.attempts), (Outcome::Failed, 1));
    }
}

#[tokio::test]
async fn the_size_cap_stops_reading_an_endless_body() {
    for v in VERSIONS {
        let (_s, b) = start(&on(v, "max_response_bytes = \"1KiB\"\ntimeout = \"5s\"")).await;
        let r = b.call(req("t", "endless", &[])).await;
        assert_eq!(
            r.outcome,
            Outcome::Failed,
            "oversized, not a timeout: {r:?}"
        );
        assert!(r.elapsed < Duration::from_secs(1), "{:?}", r.elapsed);
        let r = b.call(req("t", "declared", &[])).await;
        assert_eq!(r.outcome, Outcome::Failed, "refused on Content-Length");
        assert_eq!(exact().len(), 1024);
        assert_eq!(
            b.call(req("t", "exact", &[])).await.outcome,
            Outcome::Ok,
            "at the cap is fine"
        );
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    for v in VERSIONS {
        let (s, b) = start(&on(v, "")).await;
        let r = b.call(req("t", "redirect", &[])).await;
        assert_eq!((r.outcome, r.attempts), (Outcome::Failed, 1));
        assert_eq!(s.admin_hits.load(Ordering::SeqCst), 0);
    }
}

/// Holds one call to `t` in flight, then checks a call to `second` fails
/// at once without a request, and succeeds once the first is done.
async fn a_full_limit_fails_fast(s: &Server, b: &Backends, second: &str) {
    let first = tokio::spawn({
        let b = b.clone();
        async move { b.call(req("t", "gated", &[])).await }
    });
    s.arrived.notified().await;
    let r = b.call(req(second, "ok", &[])).await;
    assert_eq!((r.outcome, r.attempts), (Outcome::Failed, 0));
    assert!(r.elapsed < Duration::from_millis(50), "{:?}", r.elapsed);
    assert_eq!(
        s.hits.load(Ordering::SeqCst),
        1,
        "the second call sent nothing"
    );
    s.gate.0.add_permits(1);
    assert_eq!(first.await.unwrap().outcome, Outcome::Ok);
    let again = b.call(req(second, "ok", &[])).await;
    assert_eq!(again.outcome, Outcome::Ok, "the slot is back");
}

#[tokio::test]
async fn a_full_concurrency_limit_fails_fast() {
    for v in VERSIONS {
        let (s, b) = start(&on(v, "concurrency = 1")).await;
        a_full_limit_fails_fast(&s, &b, "t").await;
    }
}

#[tokio::test]
async fn the_total_limit_spans_every_back_end() {
    for v in VERSIONS {
        let (s, b) = start(&on(v, "concurrency = 8")).await;
        a_full_limit_fails_fast(&s, &b.with_total_limit(1), "u").await;
    }
}

#[tokio::test]
async fn the_deadline_caps_the_whole_call_retries_included() {
    for v in VERSIONS {
        let (s, b) = start(&on(v, "retries = 5\ntimeout = \"2s\"")).await;
        let mut hang = req("t", "hang", &[]);
        hang.deadline = Some(Duration::from_millis(250));
        let r = b.call(hang).await;
        assert_eq!(r.outcome, Outcome::Timeout);
        assert!(
            r.elapsed >= Duration::from_millis(250) && r.elapsed < Duration::from_millis(500),
            "{:?}",
            r.elapsed
        );
        // Failing fast five times over would take the backoff past 100ms: the
        // call stops retrying rather than overrun its deadline.
        s.flaky_failures.store(100, Ordering::SeqCst);
        let mut flaky = req("t", "flaky", &[]);
        flaky.deadline = Some(Duration::from_millis(100));
        let r = b.call(flaky).await;
        assert_eq!(r.outcome, Outcome::Failed);
        assert!(r.attempts >= 2 && r.attempts < 6, "{}", r.attempts);
        assert!(r.elapsed < Duration::from_millis(100), "{:?}", r.elapsed);
        // Without a step budget the back-end's own timeout applies.
        let r = b.call(req("t", "hang", &[])).await;
        assert_eq!(r.outcome, Outcome::Timeout);
        assert!(
            r.elapsed >= Duration::from_secs(2) && r.elapsed < Duration::from_millis(2500),
            "{:?}",
            r.elapsed
        );
    }
}

#[tokio::test]
async fn auth_headers_are_sent() {
    for v in VERSIONS {
        let (s, b) = start(&on(
            v,
            "auth = { type = \"bearer\", token = \"tok-SECRET-123\" }",
        ))
        .await;
        assert_eq!(b.call(req("t", "ok", &[])).await.outcome, Outcome::Ok);
        let (s2, b2) = start(&on(
            v,
            "auth = { type = \"api_key\", header = \"X-Api-Key\", token = \"key-SECRET-456\" }",
        ))
        .await;
        assert_eq!(b2.call(req("t", "ok", &[])).await.outcome, Outcome::Ok);
        let h = s.headers.lock().unwrap()[0].clone();
        assert_eq!(h["authorization"], "Bearer tok-SECRET-123");
        assert_eq!(h["x-correlation-id"], "corr-7f3a");
        let h = s2.headers.lock().unwrap()[0].clone();
        assert_eq!(h["x-api-key"], "key-SECRET-456");
        assert!(!h.contains_key("authorization"));
        assert!(!format!("{b:?}").contains("SECRET"));
    }
}

#[tokio::test]
async fn plain_http_needs_allow_http() {
    let text = "[[backends]]\nname = \"t\"\nbase_url = \"http://127.0.0.1:1\"\n[backends.operations]\nok = { method = \"GET\", path = \"/ok\" }\n";
    let full = format!(
        "[[operators]]\nname = \"zain\"\nhost = \"h\"\nport = 2775\nsystem_id = \"b\"\npassword = \"p\"\n{text}"
    );
    let err = bawaba::config::Config::from_str(&full, "t.toml").unwrap_err();
    let problem = &err.problems()[0];
    assert_eq!(problem.key, "backends[0].base_url");
    assert!(
        problem.message.contains("allow_http"),
        "{}",
        problem.message
    );
    // And the client refuses too, whatever built the configuration.
    let mut c = config(&text.replace("[backends.op", "allow_http = true\n[backends.op"));
    c.backends[0].allow_http = false;
    let err = Backends::from_config(&c.backends).unwrap_err();
    assert!(matches!(err, BackendError::PlainHttp { .. }), "{err}");
}

#[tokio::test]
async fn each_http_version_is_spoken_as_configured() {
    // Over plain http, `auto` is HTTP/1.1 (no ALPN to ask with); `2` is
    // HTTP/2 with prior knowledge, every call over one connection.
    for (extra, want) in [
        ("", "HTTP/1.1"),
        ("http_version = \"auto\"", "HTTP/1.1"),
        ("http_version = \"1.1\"", "HTTP/1.1"),
        ("http_version = \"2\"", "HTTP/2.0"),
    ] {
        let (_s, b) = start(&format!("{extra}\nconcurrency = 64")).await;
        let calls = (0..40).map(|_| b.call(req("t", "version", &[])));
        for r in futures::future::join_all(calls).await {
            assert_eq!(r.outcome, Outcome::Ok, "{extra}");
            assert_eq!(r.data["v"].as_str(), Some(want), "{extra}");
        }
    }
    // Over HTTP/2 every outcome maps as over HTTP/1.1.
    let (_s, b) = start("http_version = \"2\"\nretries = 0").await;
    let r = b.call(req("t", "status", &[("code", "404")])).await;
    assert_eq!(r.outcome, Outcome::NotFound);
    let r = b.call(req("t", "status", &[("code", "503")])).await;
    assert_eq!(r.outcome, Outcome::Failed);
    let r = b.call(req("t", "endless", &[])).await;
    assert_eq!(r.outcome, Outcome::Failed, "the size cap holds");
    let r = b.call(req("t", "ok", &[])).await;
    assert_eq!(
        r.outcome,
        Outcome::Ok,
        "the connection survives a cut stream"
    );
}

#[test]
fn an_unknown_http_version_is_refused_naming_the_line() {
    let text = "[[operators]]\nname = \"zain\"\nhost = \"h\"\nport = 2775\nsystem_id = \"b\"\npassword = \"p\"\n\
        [[backends]]\nname = \"t\"\nbase_url = \"https://example.org\"\nhttp_version = \"3\"\n\
        [backends.operations]\nok = { method = \"GET\", path = \"/ok\" }\n";
    let err = bawaba::config::Config::from_str(text, "t.toml").unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("t.toml:10:"), "{shown}");
    assert!(shown.contains("http_version"), "{shown}");
    assert!(
        shown.contains("`1.1`") && shown.contains("`auto`"),
        "{shown}"
    );
}
