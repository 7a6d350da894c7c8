//! The notification API on the real path: `bawaba serve` as a process,
//! the simulator SMSC over TCP, sled on disk, HTTP over TCP. Accepted ->
//! delivered from receipts; idempotent retries; refusals (401, 400, 413,
//! 422, 429); MTs accepted while the SMSC is down and before a SIGKILL are
//! delivered after the restart; bulk drains at the configured TPS.

mod e2e_support;
mod notify_support;

use std::time::Duration;

use bawaba::store::{audit, SledConfig, SledStore, Store};
use notify_support::*;

const TO: &str = "9647701234567";
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_then_delivered_idempotent_scoped_and_audited() {
    let rig = Rig::new(Op::default());
    let smsc = rig.smsc().await;
    let sink = Sink::start(rig.callback).await;
    let mut serve = rig.serve("gw.log").await;
    let body = text_to(TO, "Your passport is ready");

    let first = post(rig.api, DEMO, Some("order-1"), &body).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let id = first.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        first.header("location"),
        Some(format!("/v1/messages/{id}").as_str())
    );
    let again = post(rig.api, DEMO, Some("order-1"), &body).await;
    assert_eq!(
        again.status, 200,
        "a retry is not accepted again: {}",
        again.body
    );
    assert_eq!(
        again.json()["id"],
        id.as_str(),
        "the same key names the same message"
    );

    let done = wait_status(rig.api, DEMO, &id, "delivered", WAIT).await;
    assert_eq!(done.json()["parts"], 1);
    sink.wait_for(&id, "delivered", WAIT).await;
    let s = smsc.stats();
    assert_eq!(s.submits, 1, "one SMS for one Idempotency-Key: {s:?}");

    let templated = serde_json::json!({
        "to": "07701234567", "template": "bill_due", "language": "en",
        "params": { "amount": "20,000" }, "reference": "bill-77"
    });
    let t = post(rig.api, DEMO, None, &templated.to_string()).await;
    assert_eq!(t.status, 202, "{}", t.body);
    assert_eq!(t.json()["reference"], "bill-77");
    let tid = t.json()["id"].as_str().unwrap().to_string();
    assert_ne!(tid, id);
    wait_status(rig.api, DEMO, &tid, "delivered", WAIT).await;
    sink.wait_for(&tid, "delivered", WAIT).await;
    let calls = sink.bodies.lock().unwrap().clone();
    let mine: Vec<_> = calls.iter().filter(|b| b["id"] == tid.as_str()).collect();
    assert_eq!(mine.last().unwrap()["reference"], "bill-77", "{calls:?}");
    assert!(
        mine.len() <= 2,
        "sent and/or delivered, once each: {calls:?}"
    );
    let texts = [
        smsc.next_submit().await.unwrap(),
        smsc.next_submit().await.unwrap(),
    ];
    let texts: Vec<&str> = texts.iter().map(|s| s.text.as_str()).collect();
    assert!(texts.contains(&"Electricity bill: 20,000 IQD"), "{texts:?}");
    assert!(texts.contains(&"Your passport is ready"), "{texts:?}");

    assert_eq!(
        get(rig.api, OTHER, &id).await.status,
        404,
        "another client's message"
    );
    assert_eq!(get(rig.api, DEMO, &"0".repeat(32)).await.status, 404);
    assert_eq!(get(rig.api, DEMO, "mt#1").await.status, 404);
    assert_eq!(get(rig.api, "no-such-token-000000", &id).await.status, 401);

    serve.signal("TERM");
    assert!(serve.wait(WAIT).await.success(), "{}", serve.logs());
    let logs = serve.logs();
    assert!(
        !logs.contains(DEMO) && !logs.contains("passport is ready"),
        "{logs}"
    );

    // One audit record per request (2 + 1 POSTs, GETs: polls + 4), chained.
    let store = SledStore::open(SledConfig::new(rig.store_dir().join("store")))
        .await
        .unwrap();
    let entries = store.audit_entries(0, 10_000).await.unwrap();
    store.close().await.unwrap();
    assert_eq!(audit::verify(&entries), Ok(()));
    let records: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| serde_json::from_slice(&e.record).unwrap())
        .collect();
    let sends: Vec<_> = records.iter().filter(|r| r["action"] == "send").collect();
    assert_eq!(sends.len(), 3, "{records:#?}");
    assert_eq!(sends[0]["status"], 202);
    assert_eq!(
        (sends[1]["status"].clone(), sends[1]["replay"].clone()),
        (200.into(), true.into())
    );
    assert_eq!(sends[0]["to"], "964********67");
    assert_eq!(sends[0]["client"], "demo");
    assert!(records
        .iter()
        .any(|r| r["status"] == 401 && r["client"].is_null()));
    assert!(records
        .iter()
        .any(|r| r["status"] == 404 && r["client"] == "other"));
    for e in &entries {
        let text = String::from_utf8_lossy(&e.record);
        assert!(!text.contains("passport") && !text.contains(TO), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_say_why_and_name_the_field() {
    let rig = Rig::new(Op::default());
    let _smsc = rig.smsc().await;
    let _serve = rig.serve("gw.log").await;
    let ok = text_to(TO, "hello");

    let r = http(rig.api, "POST", "/v1/messages", &[], ok.as_bytes()).await;
    assert_eq!(
        (r.status, r.header("www-authenticate")),
        (401, Some("Bearer"))
    );
    assert_eq!(
        post(rig.api, "wrong-token-0123456789", None, &ok)
            .await
            .status,
        401
    );

    let too_long = "x".repeat(10 * 153 + 1);
    let cases = [
        (r#"{"to":"12ab","text":"hi"}"#.to_string(), 422, "to"),
        (r#"{"to":"07701234567","text":"   "}"#.into(), 422, "text"),
        (text_to(TO, &too_long), 422, "text"),
        (text_to(TO, &"x".repeat(1000)), 422, "text"), // over the operator's 4 parts
        (
            r#"{"to":"07701234567","template":"nope","language":"en"}"#.into(),
            422,
            "template",
        ),
        (
            r#"{"to":"07701234567","template":"bill_due","language":"fr"}"#.into(),
            422,
            "language",
        ),
        (
            r#"{"to":"07701234567","template":"bill_due","language":"en"}"#.into(),
            422,
            "params",
        ),
        (
            r#"{"to":"07701234567","text":"hi","colour":"red"}"#.into(),
            400,
            "colour",
        ),
        (r#"{"text":"hi"}"#.into(), 400, "to"),
        ("{".into(), 400, ""),
    ];
    for (body, status, field) in cases {
        let r = post(rig.api, DEMO, None, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        let e = &r.json()["error"];
        assert_eq!(
            e["field"].as_str().unwrap_or(""),
            field,
            "{body}: {}",
            r.body
        );
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    let big = text_to(TO, &"x".repeat(20 * 1024));
    let r = post(rig.api, DEMO, None, &big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "too_large");

    // slow: burst 2, then 1/s.
    for _ in 0..2 {
        assert_eq!(post(rig.api, SLOW, None, &ok).await.status, 202);
    }
    let r = post(rig.api, SLOW, None, &ok).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let after: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&after), "{after}");
    assert_eq!(
        post(rig.api, DEMO, None, &ok).await.status,
        202,
        "limits are per client"
    );
}

/// Posts `n` messages as `token`, `conns` at a time; their ids in order.
async fn post_many(
    api: std::net::SocketAddr,
    token: &'static str,
    n: usize,
    conns: usize,
) -> Vec<String> {
    post_many_timed(api, token, n, conns).await.0
}

/// [`post_many`], with each request's latency, sorted.
async fn post_many_timed(
    api: std::net::SocketAddr,
    token: &'static str,
    n: usize,
    conns: usize,
) -> (Vec<String>, Vec<Duration>) {
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..conns {
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for i in (c..n).step_by(conns) {
                let to = format!("96477{:08}", i);
                let body = text_to(&to, &format!("notice {i}"));
                let t0 = tokio::time::Instant::now();
                let r = post(api, token, Some(&format!("bulk-{i}")), &body).await;
                let took = t0.elapsed();
                assert_eq!(r.status, 202, "{}", r.body);
                ids.push((i, r.json()["id"].as_str().unwrap().to_string(), took));
            }
            ids
        });
    }
    let mut all = Vec::new();
    while let Some(ids) = tasks.join_next().await {
        all.extend(ids.unwrap());
    }
    all.sort();
    let mut took: Vec<Duration> = all.iter().map(|(_, _, t)| *t).collect();
    took.sort();
    (all.into_iter().map(|(_, id, _)| id).collect(), took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_while_the_smsc_is_down_and_before_a_kill_are_delivered_after_restart() {
    const N: usize = 40;
    let rig = Rig::new(Op::default());
    // No SMSC yet: the gateway cannot bind, the API still takes messages.
    let mut first = rig.serve("first.log").await;
    let ids = post_many(rig.api, DEMO, N, 4).await;
    first.signal("KILL");
    assert_eq!(first.wait(WAIT).await.code(), None);

    let smsc = rig.smsc().await;
    let _second = rig.serve("second.log").await;
    for id in &ids {
        wait_status(rig.api, DEMO, id, "delivered", WAIT).await;
    }
    assert_eq!(smsc.stats().submits, N as u64, "each accepted message once");
}

/// Queues `n` bulk MTs while the SMSC is down, then starts it and
/// measures the submit rate the SMSC sees against the configured TPS.
async fn bulk_rate(n: usize, tps: i64) {
    let rig = Rig::new(Op { tps, window: 50 });
    let serve = rig.serve("gw.log").await;
    let started = tokio::time::Instant::now();
    let (ids, lat) = post_many_timed(rig.api, BULK, n, 16).await;
    let took = started.elapsed();
    let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    println!(
        "{n} POSTs accepted (202, durable) in {took:?}: {:.0}/s, 16 connections, latency p50 {:?} p99 {:?}",
        n as f64 / took.as_secs_f64(),
        pct(50),
        pct(99)
    );
    let smsc = rig.smsc().await;
    smsc.wait_stats(|s| s.submits >= 1).await.unwrap();
    let t0 = tokio::time::Instant::now();
    smsc.wait_stats(|s| s.submits >= n as u64).await.unwrap();
    let elapsed = t0.elapsed();
    let rate = (n - 1) as f64 / elapsed.as_secs_f64();
    println!(
        "{n} bulk MTs at tps={tps}: {elapsed:?}, {rate:.0}/s ({:.0}% of the TPS)",
        100.0 * rate / tps as f64
    );
    assert!(
        rate <= tps as f64 * 1.1,
        "{rate:.0}/s is over the configured {tps}/s"
    );
    assert!(
        rate >= tps as f64 * 0.5,
        "{rate:.0}/s: the drain is far below {tps}/s"
    );
    wait_status(rig.api, BULK, &ids[n - 1], "delivered", WAIT).await;
    drop(serve);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_drains_at_the_configured_tps() {
    bulk_rate(1000, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10 000 MTs: about a minute in debug; run with --ignored"]
async fn bulk_of_10k_drains_at_the_configured_tps() {
    bulk_rate(10_000, 2000).await;
}
