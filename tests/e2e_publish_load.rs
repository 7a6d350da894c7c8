//! A publish while 1,000 USSD dialogues are open on `bawaba serve` (real
//! TCP, sled on disk, the simulator SMSC and mock ministries): none of them
//! breaks or changes version mid-way, every new session gets the new
//! version. Prints what it measured: the time from the publish request to
//! the first new session on the new version, and the step latencies (p50,
//! p99) of replies just before the publish and during/after it.
//!
//! `cargo test --release --test e2e_publish_load -- --nocapture`

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use bawaba_sim::UssdPhone;
use e2e_support::admin::{add_admin, admin_addr, request};
use e2e_support::Rig;
use futures::stream::{self, StreamExt};
use serde_json::json;
use tokio::time::Instant;

const PUBLISHER: &str = "publisher-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789ab";
const SESSIONS: usize = 1000;
/// Dialogues driven at once (the simulator and the gateway share 2 cores).
const AT_ONCE: usize = 32;
/// A ready passport in the mock ministry.
const READY: &str = "1122334455";

/// passport.yaml at version 2: another prompt and another "ready" text.
fn passport_v2() -> String {
    let text = std::fs::read_to_string(e2e_support::root("flows/passport.yaml")).unwrap();
    let v2 = text
        .replace("version: 1\n", "version: 2\n")
        .replace("أدخل رقم طلب الجواز", "نسخة 2 رقم طلب الجواز")
        .replace("جوازك جاهز.", "الجواز جاهز.");
    assert_ne!(v2, text);
    v2
}

fn is_v1_prompt(t: &str) -> bool {
    t.contains("أدخل رقم طلب الجواز")
}

fn is_v2_prompt(t: &str) -> bool {
    t.contains("نسخة 2 رقم طلب الجواز")
}

fn msisdn(i: usize) -> String {
    format!("96477{i:08}")
}

/// (phone, screen text, ended, step latency).
type Step = (UssdPhone, String, bool, Duration);

async fn dial(rig: &Rig, i: usize) -> Step {
    let mut p = rig.peers.smsc.ussd(&msisdn(i));
    let t = Instant::now();
    let s = p.dial("*123*3#").await.expect("dial answered");
    (p, s.text, s.end, t.elapsed())
}

async fn reply(mut p: UssdPhone) -> (Step, Instant) {
    let t = Instant::now();
    let s = p.reply(READY).await.expect("reply answered");
    ((p, s.text, s.end, t.elapsed()), t)
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn publish(admin: SocketAddr) -> (u16, String) {
    let body = json!({"files": [{"name": "passport.yaml", "text": passport_v2()}]});
    request(
        admin,
        "POST",
        "/v1/flows/publish",
        Some(PUBLISHER),
        Some(&body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_under_1000_open_dialogues_breaks_none() {
    let rig = Rig::start("text", "warn,bawaba::admin=info").await;
    add_admin(&rig.config, PUBLISHER, VIEWER, "");
    // The demo's 100 submits/s would make the step latency the TPS queue's.
    let text = std::fs::read_to_string(&rig.config).unwrap();
    assert!(text.contains("tps = 100\n"), "{text}");
    std::fs::write(&rig.config, text.replace("tps = 100\n", "tps = 5000\n")).unwrap();
    let mut serve = rig.serve("serve.log", 1).await;
    let admin = admin_addr(&serve).await;

    // 1,000 dialogues open on version 1, waiting for the application number.
    let opened: Vec<Step> = stream::iter(0..SESSIONS)
        .map(|i| dial(&rig, i))
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    for (_, text, end, _) in &opened {
        assert!(!end && is_v1_prompt(text), "{text}");
    }
    let mut phones: Vec<UssdPhone> = opened.into_iter().map(|(p, ..)| p).collect();
    let later = phones.split_off(SESSIONS / 2);

    // Half of them answer before the publish.
    let before: Vec<(Step, Instant)> = stream::iter(phones)
        .map(reply)
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;

    // The other half answer while the publish happens; a new phone dials
    // from the publish request on until it sees version 2.
    let asked = Instant::now();
    let publishing = async {
        let (status, body) = publish(admin).await;
        (status, body, asked.elapsed())
    };
    let first_new = async {
        for i in 0.. {
            let (mut p, text, _, _) = dial(&rig, SESSIONS + i).await;
            let _ = p.abort().await;
            if is_v2_prompt(&text) {
                return (asked.elapsed(), i + 1);
            }
            assert!(is_v1_prompt(&text), "{text}");
        }
        unreachable!()
    };
    let answering = stream::iter(later)
        .map(reply)
        .buffer_unordered(AT_ONCE)
        .collect::<Vec<_>>();
    let ((status, body, publish_rtt), (first_v2, tries), during) =
        tokio::join!(publishing, first_new, answering);
    assert_eq!(status, 200, "{body}");

    // Nobody broke, nobody changed version mid-way.
    for ((_, text, end, _), _) in before.iter().chain(&during) {
        assert!(*end, "the answer ends the dialogue: {text}");
        assert!(text.contains("جوازك جاهز."), "version 1 to the end: {text}");
    }
    // Every new session is on version 2.
    let fresh: Vec<Step> = stream::iter(0..50)
        .map(|i| dial(&rig, SESSIONS + 1000 + i))
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    for (_, text, _, _) in &fresh {
        assert!(is_v2_prompt(text), "{text}");
    }

    let lat =
        |v: &[(Step, Instant)]| -> Vec<Duration> { v.iter().map(|((.., d), _)| *d).collect() };
    let (b, d) = (lat(&before), lat(&during));
    let after_publish: Vec<Duration> = during
        .iter()
        .filter(|(_, started)| *started >= asked)
        .map(|((.., d), _)| *d)
        .collect();
    eprintln!(
        "publish under {SESSIONS} open dialogues: request answered in {:.1} ms; first new \
         session on the new version {:.1} ms after the request ({tries} dial(s))",
        ms(publish_rtt),
        ms(first_v2)
    );
    eprintln!(
        "reply steps before the publish: n={} p50 {:.1} ms p99 {:.1} ms; during/after: n={} \
         p50 {:.1} ms p99 {:.1} ms (n={} started after the request)",
        b.len(),
        ms(pct(b.clone(), 0.5)),
        ms(pct(b, 0.99)),
        d.len(),
        ms(pct(d.clone(), 0.5)),
        ms(pct(d, 0.99)),
        after_publish.len(),
    );
    serve.signal("TERM");
    assert!(serve.wait(Duration::from_secs(30)).await.success());
}
