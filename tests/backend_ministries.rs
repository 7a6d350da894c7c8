//! Back-end calls through real HTTP against the real mock ministries
//! (bawaba_sim::ministries, in process on 127.0.0.1:0): every outcome,
//! the demo configuration's operations, knobs (errors, malformed answers,
//! latency), injection attempts as the server's raw request log saw them,
//! and what reaches the logs.

mod backend_support;

use std::time::Duration;

use backend_support::{backends, req, Logs};
use bawaba::backend::{Backends, CallRequest};
use bawaba::engine::Outcome;
use bawaba_sim::ministries::{
    Knobs, Malformed, Ministries, MinistriesConfig, MinistriesHandle, Scope, Service,
};
use serde_json::json;

async fn ministries() -> MinistriesHandle {
    Ministries::start(MinistriesConfig::local()).await.unwrap()
}

/// The back-end sections of config/demo.toml, pointed at `m`.
fn demo_backends(m: &MinistriesHandle) -> Backends {
    let demo =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.toml")).unwrap();
    let at = demo.find("[[backends]]").expect("demo.toml has back-ends");
    let section = demo[at..].replace("http://127.0.0.1:8090", &m.base_url());
    backends(&section)
}

/// One GET back-end with knobs-friendly settings.
fn pds(m: &MinistriesHandle, extra: &str) -> Backends {
    backends(&format!(
        "[[backends]]\nname = \"pds\"\nbase_url = \"{}/pds/v1\"\nallow_http = true\n\
         auth = {{ type = \"bearer\", token = \"tok-SECRET-123\" }}\n{extra}\n\
         [backends.operations]\nbalance = {{ method = \"GET\", path = \"/cards/{{card}}/balance\", query = {{ lang = \"{{lang}}\" }} }}\n",
        m.base_url()
    ))
}

fn balance(card: &str) -> CallRequest {
    req("pds", "balance", &[("card", card), ("lang", "en")])
}

#[tokio::test]
async fn the_demo_configuration_reaches_every_ministry() {
    let m = ministries().await;
    let b = demo_backends(&m);
    let r = b.call(req("pds", "balance", &[("card", "123458")])).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.data["members"], "9");
    assert_eq!(r.data["holder"], "كريم عباس البياتي");
    let r = b
        .call(req("pds", "entitlements", &[("card", "123458")]))
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert!(r.data["items"].as_array().is_some_and(|i| i.len() >= 4));
    // `response` maps the ministry's names to the flow's variables.
    let r = b
        .call(req("electricity", "bill", &[("account", "123458")]))
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    let keys: Vec<&String> = r.data.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["amount", "due", "subscriber"]);
    let r = b
        .call(req("passport", "status", &[("application", "123458")]))
        .await;
    assert_eq!(
        (r.outcome, &r.data["state"]),
        (Outcome::Ok, &json!("rejected"))
    );
    let pension = |pin: &str| {
        req(
            "pension",
            "inquiry",
            &[("number", "123458"), ("pin", pin), ("lang", "en")],
        )
    };
    let r = b.call(pension("6507")).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert!(r.data["pensioner"].is_string() && r.data["pay_date"].is_string());
    // A wrong PIN is a 403, which this operation reads as "not found".
    assert_eq!(b.call(pension("0000")).await.outcome, Outcome::NotFound);
    // Unknown ids, per the simulator's table.
    assert_eq!(
        b.call(req("passport", "status", &[("application", "123456")]))
            .await
            .outcome,
        Outcome::NotFound
    );
    assert_eq!(
        b.call(req("pds", "balance", &[("card", "123461")]))
            .await
            .outcome,
        Outcome::NotFound
    );
    let log = m.requests();
    let post = log.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.path, "/pension/v1/inquiry");
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body, json!({"pension_number": "123458", "pin": "6507"}));
    assert!(post
        .headers
        .contains(&("content-type".into(), "application/json".into())));
}

#[tokio::test]
async fn every_request_carries_idempotency_key_correlation_id_and_auth() {
    let m = ministries().await;
    let b = pds(&m, "");
    assert_eq!(b.call(balance("123458")).await.outcome, Outcome::Ok);
    let r = &m.requests()[0];
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("idempotency-key"), Some("sess-42:step-3"));
    assert_eq!(header("x-correlation-id"), Some("corr-7f3a"));
    assert_eq!(
        header("authorization"),
        Some("***"),
        "sent (the mock masks it)"
    );
    assert_eq!(
        (r.path.as_str(), r.query.as_deref()),
        ("/pds/v1/cards/123458/balance", Some("lang=en"))
    );
}

#[tokio::test]
async fn injection_attempts_arrive_encoded_and_harmless() {
    let m = ministries().await;
    let b = pds(&m, "");
    let cases = [
        ("1/../admin", "/pds/v1/cards/1%2F..%2Fadmin/balance"),
        ("1&x=2", "/pds/v1/cards/1&x=2/balance"),
        ("\"},{\"", "/pds/v1/cards/%22%7D,%7B%22/balance"),
        (
            "١٢٣٤٥٦",
            "/pds/v1/cards/%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6/balance",
        ),
        ("1?lang=ckb#x", "/pds/v1/cards/1%3Flang=ckb%23x/balance"),
    ];
    for (card, _) in cases {
        let r = b.call(balance(card)).await;
        assert_eq!(
            r.outcome,
            Outcome::Failed,
            "{card:?}: the ministry refuses the id (400)"
        );
    }
    let mut injected = req(
        "pds",
        "balance",
        &[("card", "123458"), ("lang", "en&admin=1")],
    );
    injected.correlation_id = "corr-q".into();
    assert_eq!(
        b.call(injected).await.outcome,
        Outcome::Failed,
        "unsupported lang"
    );
    let log = m.requests();
    for ((card, path), r) in cases.iter().zip(&log) {
        assert_eq!(&r.path, path, "{card:?}");
        assert_eq!(
            r.query.as_deref(),
            Some("lang=en"),
            "{card:?}: one query pair"
        );
    }
    assert_eq!(
        log[cases.len()].query.as_deref(),
        Some("lang=en%26admin%3D1")
    );
    // `.` and `..` would vanish from the path (and url strips tabs and
    // newlines first): refused before any request.
    for card in ["..", ".", "", "..\t", "\n..", "1\r\n2"] {
        let r = b.call(balance(card)).await;
        assert_eq!((r.outcome, r.attempts), (Outcome::Failed, 0), "{card:?}");
    }
    assert_eq!(m.requests().len(), cases.len() + 1);
    // A body value is one JSON string whatever it holds.
    let b = pension(&m);
    let r = b
        .call(req(
            "pension",
            "inquiry",
            &[("number", "\"},{\"pin\":\"6507"), ("pin", "x\"}")],
        ))
        .await;
    assert_eq!(
        r.outcome,
        Outcome::Failed,
        "400 bad_request/invalid_id, not a match"
    );
    let sent: serde_json::Value = serde_json::from_str(&m.requests().last().unwrap().body).unwrap();
    assert_eq!(
        sent,
        json!({"pension_number": "\"},{\"pin\":\"6507", "pin": "x\"}"})
    );
}

fn pension(m: &MinistriesHandle) -> Backends {
    backends(&format!(
        "[[backends]]\nname = \"pension\"\nbase_url = \"{}/pension/v1\"\nallow_http = true\n\
         [backends.operations.inquiry]\nmethod = \"POST\"\npath = \"/inquiry\"\n\
         body = {{ pension_number = \"{{number}}\", pin = \"{{pin}}\" }}\nnot_found = [403, 404]\n",
        m.base_url()
    ))
}

#[tokio::test]
async fn knobs_errors_malformed_and_latency_map_to_outcomes() {
    let m = ministries().await;
    let b = pds(&m, "retries = 1\ntimeout = \"1s\"");
    // Every second request fails: the GET's one retry gets through.
    m.set_knobs(
        Scope::Only(Service::Pds),
        Knobs {
            error_rate: 0.5,
            ..Knobs::default()
        },
    );
    let r = b.call(balance("123458")).await;
    assert_eq!((r.outcome, r.attempts), (Outcome::Ok, 1), "{r:?}");
    let r = b.call(balance("123458")).await;
    assert_eq!((r.outcome, r.attempts), (Outcome::Ok, 2), "{r:?}");
    m.set_knobs(
        Scope::Only(Service::Pds),
        Knobs {
            error_rate: 1.0,
            ..Knobs::default()
        },
    );
    let r = b.call(balance("123458")).await;
    assert_eq!((r.outcome, r.attempts), (Outcome::Failed, 2));
    for malformed in [Malformed::Truncated, Malformed::WrongTypes] {
        m.set_knobs(
            Scope::All,
            Knobs {
                malformed: Some(malformed),
                ..Knobs::default()
            },
        );
        let r = b.call(balance("123458")).await;
        let expected = match malformed {
            Malformed::Truncated => Outcome::Failed,
            // Well-formed JSON with odd types is still an answer; the
            // engine reads what it can.
            Malformed::WrongTypes => Outcome::Ok,
        };
        assert_eq!(r.outcome, expected, "{malformed:?}");
    }
    m.set_knobs(
        Scope::All,
        Knobs {
            latency: Duration::from_secs(5),
            ..Knobs::default()
        },
    );
    let mut slow = balance("123458");
    slow.deadline = Some(Duration::from_millis(300));
    let r = b.call(slow).await;
    assert_eq!(r.outcome, Outcome::Timeout);
    assert!(
        r.elapsed >= Duration::from_millis(300) && r.elapsed < Duration::from_millis(600),
        "{:?}",
        r.elapsed
    );
}

#[tokio::test]
async fn an_open_breaker_fails_fast_without_touching_the_network() {
    let m = ministries().await;
    let b = pds(
        &m,
        "retries = 0\ncircuit_breaker = { failures = 3, open_for = \"1s\" }",
    );
    m.set_knobs(
        Scope::All,
        Knobs {
            error_rate: 1.0,
            ..Knobs::default()
        },
    );
    for _ in 0..3 {
        assert_eq!(b.call(balance("123458")).await.outcome, Outcome::Failed);
    }
    let sent = m.requests().len();
    assert_eq!(sent, 3);
    m.set_knobs(Scope::All, Knobs::default());
    for _ in 0..50 {
        let r = b.call(balance("123458")).await;
        assert_eq!((r.outcome, r.attempts), (Outcome::Failed, 0));
        assert!(r.elapsed < Duration::from_millis(50), "{:?}", r.elapsed);
    }
    assert_eq!(m.requests().len(), sent, "no request while open");
    // open_for is the breaker's own clock: wait it out, then one probe closes it.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = b.call(balance("123458")).await;
    assert_eq!((r.outcome, r.attempts), (Outcome::Ok, 1));
    assert_eq!(m.requests().len(), sent + 1);
}

#[tokio::test]
async fn secrets_and_parameters_stay_out_of_the_logs() {
    let m = ministries().await;
    let (logs, _guard) = Logs::capture(tracing::Level::TRACE);
    let b = pds(&m, "");
    let p = pension(&m);
    assert_eq!(b.call(balance("123458")).await.outcome, Outcome::Ok);
    let r = p
        .call(req(
            "pension",
            "inquiry",
            &[("number", "123458"), ("pin", "6507")],
        ))
        .await;
    assert_eq!(r.outcome, Outcome::Ok);
    m.set_knobs(
        Scope::All,
        Knobs {
            error_rate: 1.0,
            ..Knobs::default()
        },
    );
    assert_eq!(b.call(balance("123459")).await.outcome, Outcome::Failed);
    // A refused connection: reqwest's error names the URL, the log must not.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let gone = backends(&format!(
        "[[backends]]\nname = \"pds\"\nbase_url = \"http://{addr}\"\nallow_http = true\n\
         [backends.operations]\nbalance = {{ method = \"GET\", path = \"/cards/{{card}}/balance\" }}\n"
    ));
    assert_eq!(gone.call(balance("123459")).await.outcome, Outcome::Failed);
    let text = logs.text();
    assert!(text.contains("transport error"), "{text}");
    assert!(
        text.contains("corr-7f3a"),
        "the correlation id is logged:\n{text}"
    );
    assert!(text.contains("back-end call"), "{text}");
    assert!(!text.contains("tok-SECRET-123"), "{text}");
    // Numbers count as whole runs of digits: "elapsed_ms=0.36507" holds
    // no PIN, "pin=6507" or "/cards/123458/" would.
    let runs: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .collect();
    for secret in ["6507", "123458", "123459"] {
        assert!(
            !runs.contains(&secret),
            "{secret} leaked into the logs:\n{text}"
        );
    }
}

#[tokio::test]
async fn reference_data_is_cached_for_gets_only() {
    let m = ministries().await;
    let b = pds(&m, "cache_ttl = \"1m\"");
    let first = b.call(balance("123458")).await;
    let again = b.call(balance("123458")).await;
    assert_eq!((first.outcome, first.attempts), (Outcome::Ok, 1));
    assert_eq!(
        (again.outcome, again.attempts),
        (Outcome::Ok, 0),
        "from the cache"
    );
    assert_eq!(again.data, first.data);
    assert_eq!(m.requests().len(), 1);
    // Another card, another language: other keys. Not found is not cached.
    assert_eq!(b.call(balance("123459")).await.attempts, 1);
    let mut ckb = balance("123458");
    ckb.params.insert("lang".into(), "ckb".into());
    assert_eq!(b.call(ckb).await.attempts, 1);
    for _ in 0..2 {
        assert_eq!(b.call(balance("123461")).await.outcome, Outcome::NotFound);
    }
    assert_eq!(m.requests().len(), 5);
    // A POST is never answered from a cache.
    let p = backends(&format!(
        "[[backends]]\nname = \"pension\"\nbase_url = \"{}/pension/v1\"\nallow_http = true\ncache_ttl = \"1m\"\n\
         [backends.operations]\ninquiry = {{ method = \"POST\", path = \"/inquiry\" }}\n",
        m.base_url()
    ));
    for _ in 0..2 {
        let r = p
            .call(req(
                "pension",
                "inquiry",
                &[("pension_number", "123458"), ("pin", "6507")],
            ))
            .await;
        assert_eq!((r.outcome, r.attempts), (Outcome::Ok, 1));
    }
    assert_eq!(m.requests().len(), 7);
}
