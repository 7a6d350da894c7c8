//! A misbehaving SMSC (the simulator's knobs) against `bawaba serve`, the
//! real binary, with MTs coming in over the notification API: a
//! throttling storm, generic_nack, responses that never come, an unbind
//! from the SMSC, duplicate deliver_sm and a delivery receipt before its
//! submit_sm_resp. Each time: every MT answered 202 is accepted by the
//! SMSC exactly once, every MO is handled once, nothing is hammered.
//! (Queue-full and per-status retry delays are covered with short test
//! timers in tests/outbox_retry.rs and tests/session_submit.rs.)

mod e2e_support;
mod notify_support;

use std::collections::BTreeMap;
use std::time::Duration;

use bawaba_sim::rusmpp::CommandStatus;
use bawaba_sim::{Behaviour, SmscHandle, Target};
use e2e_support::{edit_config, first_operator, Serve};
use notify_support::{post, text_to, wait_status, Op, Rig, DEMO};
use tokio::time::Instant;

const TO: &str = "9647701234567";

async fn start() -> (Rig, SmscHandle, Serve) {
    let rig = Rig::new(Op {
        tps: 200,
        window: 10,
    });
    edit_config(&rig.config, |doc| {
        first_operator(doc).insert("response_timeout".into(), "2s".into());
    });
    let smsc = rig.smsc().await;
    let gateway = rig.serve("serve.log").await;
    smsc.wait_bound(1).await.unwrap();
    (rig, smsc, gateway)
}

/// Posts `n` MTs tagged `tag`; returns their (text, id).
async fn post_all(rig: &Rig, tag: &str, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let text = format!("{tag} {i}");
        let r = post(rig.api, DEMO, None, &text_to(TO, &text)).await;
        assert_eq!(r.status, 202, "{}", r.body);
        out.push((text, r.json()["id"].as_str().unwrap().to_string()));
    }
    out
}

/// Reads the SMSC's MTs until every text of `want` was accepted; returns
/// (accepted copies per text, submits seen in all).
async fn accepted(
    smsc: &SmscHandle,
    want: &[(String, String)],
    within: Duration,
) -> (BTreeMap<String, u32>, u32) {
    let deadline = Instant::now() + within;
    let (mut ok, mut seen) = (BTreeMap::<String, u32>::new(), 0);
    while !want.iter().all(|(t, _)| ok.contains_key(t)) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "not all accepted: {ok:?}");
        if let Ok(Ok(mt)) = tokio::time::timeout(left, smsc.next_submit()).await {
            seen += 1;
            if mt.message_id.is_some() {
                *ok.entry(mt.text).or_default() += 1;
            }
        }
    }
    // Anything still arriving shortly after would be a duplicate.
    while let Ok(Ok(mt)) =
        tokio::time::timeout(Duration::from_millis(500), smsc.next_submit()).await
    {
        seen += 1;
        if mt.message_id.is_some() {
            *ok.entry(mt.text).or_default() += 1;
        }
    }
    (ok, seen)
}

fn once_each(ok: &BTreeMap<String, u32>) {
    assert!(
        ok.values().all(|&n| n == 1),
        "accepted more than once: {ok:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_storm_and_generic_nack_are_retried_with_backoff_and_sent_once() {
    let (rig, smsc, mut gateway) = start().await;
    // Storm: every submit answered ESME_RTHROTTLED for 3 s.
    smsc.update_behaviour(|b| b.throttle_every = Some(1));
    let storm = post_all(&rig, "storm", 20).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = smsc.stats().submits;
    smsc.update_behaviour(|b| b.throttle_every = None);
    let (ok, _) = accepted(&smsc, &storm, Duration::from_secs(30)).await;
    once_each(&ok);
    // Backed off: the bind pauses 1 s per throttle and halves its rate,
    // rather than sending as fast as the SMSC refuses (thousands).
    assert!(during <= 60, "{during} submits during a 3 s storm");

    // generic_nack with ESME_RTHROTTLED instead of submit_sm_resp.
    smsc.update_behaviour(|b| b.nack_instead_of_resp = Some(CommandStatus::EsmeRthrottled));
    let nacked = post_all(&rig, "nack", 10).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    smsc.update_behaviour(|b| b.nack_instead_of_resp = None);
    let (ok2, _) = accepted(&smsc, &nacked, Duration::from_secs(30)).await;
    once_each(&ok2);
    println!("throttling storm: {during} submits in 3 s for 20 MTs, each then accepted once; generic_nack: 10 MTs accepted once");
    assert!(
        smsc.protocol_errors().is_empty(),
        "{:?}",
        smsc.protocol_errors()
    );
    gateway.signal("TERM");
    assert!(gateway.wait(Duration::from_secs(20)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_submits_and_an_unbind_lose_nothing() {
    let (rig, smsc, mut gateway) = start().await;
    // Responses never come: the response timer (2 s) makes them unknown,
    // the outbox sends them again once the SMSC answers.
    smsc.update_behaviour(|b| b.never_respond = true);
    let silent = post_all(&rig, "silent", 5).await;
    smsc.wait_stats(|s| s.unanswered >= 5).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    smsc.set_behaviour(Behaviour::default());
    let (ok, seen) = accepted(&smsc, &silent, Duration::from_secs(40)).await;
    once_each(&ok);
    assert!(seen >= 10, "the unanswered ones were sent again: {seen}");

    // The SMSC unbinds while MTs are queued: answered, bound again, all sent.
    let binds = smsc.stats().binds_accepted;
    let queued = post_all(&rig, "unbind", 10).await;
    assert_eq!(smsc.send_unbind(Target::All).await, 1);
    let (ok, _) = accepted(&smsc, &queued, Duration::from_secs(30)).await;
    assert_eq!(ok.len(), 10);
    smsc.wait_stats(|s| s.binds_accepted > binds).await.unwrap();
    println!("never_respond: 5 MTs sent {seen} times in all, accepted once each; unbind: 10 queued MTs all accepted, bound again");
    gateway.signal("TERM");
    assert!(gateway.wait(Duration::from_secs(20)).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_deliver_sm_is_handled_once_and_an_early_receipt_still_counts() {
    let (rig, smsc, mut gateway) = start().await;
    smsc.update_behaviour(|b| {
        b.duplicate_deliver = true;
        b.receipt_before_resp = true;
    });
    let mut phone = smsc.sms("9647709876543");
    for i in 0..3 {
        phone.send("2150", &format!("HELP {i}")).await.unwrap();
    }
    for _ in 0..3 {
        phone.next_message().await.expect("one reply per MO");
    }
    // Sent twice each by the SMSC, handled once: no fourth reply.
    let extra = tokio::time::timeout(Duration::from_secs(2), phone.next_message()).await;
    assert!(
        extra.is_err() || extra.unwrap().is_err(),
        "an MO handled twice"
    );
    assert!(smsc.stats().deliver_sm_resps_received >= 6);

    // The receipt comes before submit_sm_resp: the MT still ends delivered.
    let early = post_all(&rig, "early", 3).await;
    for (_, id) in &early {
        wait_status(rig.api, DEMO, id, "delivered", Duration::from_secs(20)).await;
    }
    println!("duplicate deliver_sm: 3 MOs delivered twice each, 3 replies; receipt before resp: 3 MTs delivered");
    gateway.signal("TERM");
    assert!(gateway.wait(Duration::from_secs(20)).await.success());
}
