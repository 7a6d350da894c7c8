//! MTs kept across SMSC outages, lost links and gateway restarts.

mod outbox_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bawaba::outbox::SmsStatus;
use bawaba::store::{SledStore, Store};
use bawaba_sim::{Behaviour, SmscConfig, SmscHandle, Target};
use outbox_support::*;

const WAIT: Duration = Duration::from_secs(15);

fn queued_untried(s: &SmsStatus) -> bool {
    matches!(s, SmsStatus::Queued { attempts: 0, .. })
}

/// Accepted submits per text, from what the simulator recorded.
fn accepted(smsc: &SmscHandle) -> BTreeMap<String, u32> {
    let mut seen = BTreeMap::new();
    while let Some(mt) = smsc.try_next_submit() {
        if mt.message_id.is_some() {
            *seen.entry(mt.text).or_default() += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_while_the_smsc_is_down_then_delivered_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let config = config(addr, &Op::default());
    let store = open_store(dir.path()).await;
    let gw = Gateway::start(store.clone(), config.clone(), settings(&config), true);
    let mut ids = Vec::new();
    for i in 0..5 {
        let text = format!("bill {i}");
        ids.push(gw.enqueue("07801234567", &text, 1).await);
    }
    // Not bound: claimed and held again and again (the store counts the
    // claims), without using up the MT's attempts.
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.get_outbound(ids[4]).await.unwrap().unwrap().attempts < 3 {
        assert!(tokio::time::Instant::now() < deadline, "never claimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for id in &ids {
        let s = gw.outbox.try_status(*id).await.unwrap().unwrap();
        assert!(queued_untried(&s), "{s:?}");
    }
    let smsc = smsc(SmscConfig::new(addr, "bawaba", "secret")).await;
    for id in &ids {
        wait_status(&gw.outbox, *id, WAIT, delivered).await;
    }
    assert_eq!(accepted(&smsc).len(), 5);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_binds_keep_messages_queued_until_a_bind_is_accepted() {
    let refusing = Behaviour {
        refuse_binds: 3,
        ..Behaviour::default()
    };
    let Rig { smsc, gw, .. } = rig(refusing, Op::default(), |_| {}, true).await;
    let id = gw.enqueue("07801234567", "card ready", 1).await;
    wait_status(&gw.outbox, id, WAIT, delivered).await;
    assert!(smsc.stats().binds_refused >= 3);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_lost_in_flight_is_sent_again_at_least_once() {
    let silent = Behaviour {
        never_respond: true,
        ..Behaviour::default()
    };
    let Rig { smsc, gw, .. } = rig(silent, Op::default(), |_| {}, true).await;
    let ids = [
        gw.enqueue("07801234567", "first", 1).await,
        gw.enqueue("07801234568", "second", 1).await,
    ];
    smsc.wait_stats(|s| s.unanswered >= 2).await.unwrap();
    smsc.set_behaviour(Behaviour::default());
    assert!(smsc.drop_link(Target::All).await >= 1);
    for id in ids {
        wait_status(&gw.outbox, id, WAIT, delivered).await;
    }
    let seen = accepted(&smsc);
    assert_eq!(
        (seen["first"], seen["second"]),
        (1, 1),
        "accepted once after the resend"
    );
    assert!(
        smsc.stats().submits >= 4,
        "the unanswered ones were submitted again"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_queued_and_leased_messages_delivers_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let smsc = smsc(SmscConfig::local("bawaba", "secret")).await;
    smsc.refuse_binds_for(Duration::from_secs(600));
    let config = config(smsc.local_addr(), &Op::default());

    // Gateway 1 queues 20 MTs while the SMSC refuses it; a sender that
    // "crashed" holds 5 of them under a lease; then everything goes away.
    let store = open_store(dir.path()).await;
    let gw = Gateway::start(store.clone(), config.clone(), settings(&config), false);
    let mut ids = Vec::new();
    for i in 0..20 {
        let text = format!("restart {i}");
        ids.push(gw.enqueue("07801234567", &text, 2).await);
    }
    let now = bawaba::store::Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    let leased = store.claim(5, now, Duration::from_secs(1)).await.unwrap();
    assert_eq!(leased.len(), 5);
    gw.stop().await;
    close(store).await;

    // Gateway 2 on the reopened store, SMSC accepting again.
    smsc.refuse_binds_for(Duration::ZERO);
    let store = open_store(dir.path()).await;
    let gw = Gateway::start(store, config.clone(), settings(&config), true);
    for id in &ids {
        wait_status(&gw.outbox, *id, WAIT, delivered).await;
    }
    let seen = accepted(&smsc);
    assert_eq!(seen.len(), 20);
    assert!(seen.values().all(|&n| n == 1), "exactly once: {seen:?}");
    assert_eq!(smsc.stats().submits, 20);
    gw.stop().await;
}

/// A reply queued through the express lane (written leased, handed to the
/// sender in memory) while no sender ran, then the process went away: the
/// next run finds its lease from an earlier run, requeues it and sends it
/// once; a reply queued by the next run itself before its sender starts is
/// not taken for an earlier run's and also goes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_express_reply_left_in_the_lane_is_sent_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let smsc = smsc(SmscConfig::local("bawaba", "secret")).await;
    let config = config(smsc.local_addr(), &Op::default());

    let store = open_store(dir.path()).await;
    let gw = Gateway::start(store.clone(), config.clone(), settings(&config), false);
    assert!(
        gw.operator.wait_bound(WAIT).await,
        "bound: the lane is open"
    );
    let first = gw.enqueue("07801234567", "left in the lane", 0).await;
    let leased = store.get_outbound(first).await.unwrap().unwrap();
    assert!(
        matches!(leased.state, bawaba::store::OutboundState::Leased { .. }),
        "an interactive MT to a bound operator is written leased: {:?}",
        leased.state
    );
    gw.stop().await;
    close(store).await;
    assert_eq!(smsc.stats().submits, 0);

    let store = open_store(dir.path()).await;
    let mut gw = Gateway::start(store.clone(), config.clone(), settings(&config), false);
    assert!(gw.operator.wait_bound(WAIT).await);
    let second = gw
        .enqueue("07807654321", "queued before the sender", 0)
        .await;
    gw.start_sender();
    // A sent reply keeps no status record: it is done once it has left
    // the queue (the SMSC's count below says how often it went out).
    for id in [first, second] {
        let deadline = tokio::time::Instant::now() + WAIT;
        while store.get_outbound(id).await.unwrap().is_some() {
            assert!(tokio::time::Instant::now() < deadline, "{id} still queued");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let seen = accepted(&smsc);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.values().all(|&n| n == 1), "exactly once: {seen:?}");
    gw.stop().await;
}

async fn close(store: Arc<SledStore>) {
    let store = Arc::try_unwrap(store)
        .ok()
        .expect("the gateway let go of the store");
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mt_not_sent_within_its_validity_fails_as_expired() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(free_addr(), &Op::default()); // no SMSC at all
    let mut s = settings(&config);
    s.validity = Duration::from_millis(300);
    let gw = Gateway::start(open_store(dir.path()).await, config.clone(), s, true);
    let id = gw.enqueue("07801234567", "too late", 1).await;
    let s = wait_status(&gw.outbox, id, WAIT, |s| {
        matches!(s, SmsStatus::Failed { .. })
    })
    .await;
    let SmsStatus::Failed { reason } = s else {
        unreachable!()
    };
    assert!(reason.starts_with("expired"), "{reason}");
    gw.stop().await;
}
