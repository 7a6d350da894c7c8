//! `bawaba serve` as a real process against the simulator SMSC, the mock
//! ministries over HTTP and a sled store on disk: stopped with SIGTERM
//! (graceful: the turn in flight is answered, the bind unbound, exit 0) or
//! killed with SIGKILL in the middle of a dialogue, then started again on
//! the same store; the citizen's next reply continues where they were.

mod e2e_support;

use std::time::Duration;

use bawaba_sim::ministries::{Knobs, Scope, Service};
use e2e_support::{Peers, Rig};

const EXIT: Duration = Duration::from_secs(20);
const MSISDN: &str = "9647701234567";

/// Pension number 123456 has PIN 9355 (simulator/README.md).
async fn start_pension_dialogue(peers: &Peers) -> bawaba_sim::UssdPhone {
    let mut phone = peers.smsc.ussd(MSISDN);
    let s = phone.dial("*123*4#").await.expect("dial");
    assert!(!s.end && s.text.contains("أدخل الرقم التقاعدي"), "{s:?}");
    // No gateway log may hold them (scanned when each `Serve` drops).
    e2e_support::sensitive("123456");
    e2e_support::sensitive("9355");
    let s = phone.reply("123456").await.expect("pension number");
    assert!(!s.end && s.text.contains("الرمز السري"), "{s:?}");
    phone
}

async fn finish_pension_dialogue(phone: &mut bawaba_sim::UssdPhone) {
    let s = phone.reply("9355").await.expect("PIN");
    assert!(s.end, "{s:?}");
    assert!(s.text.contains("٥٣٠٬٠٠٠"), "{s:?}");
}

async fn restart_and_continue(signal: &str) {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let peers = &rig.peers;
    let mut first = rig.serve("first.log", 1).await;
    let mut phone = start_pension_dialogue(peers).await;

    if signal == "KILL" {
        // Session state is written at once but forced to disk only by
        // sled's background flush (every 500 ms; src/store/mod.rs,
        // "Durability contract"): a crash inside that window may lose the
        // dialogue, by design. Let one flush pass.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    first.signal(signal);
    let status = first.wait(EXIT).await;
    if signal == "TERM" {
        assert!(status.success(), "{status:?}\n{}", first.logs());
        let s = peers.smsc.stats();
        assert!(s.unbinds_received >= 1, "no unbind on SIGTERM: {s:?}");
    } else {
        assert_eq!(status.code(), None, "SIGKILL: {status:?}");
    }
    peers.smsc.wait_bound_at_most(0).await.unwrap();

    let mut second = rig.serve("second.log", 2).await;
    finish_pension_dialogue(&mut phone).await;
    second.signal("TERM");
    let status = second.wait(EXIT).await;
    assert!(status.success(), "{status:?}\n{}", second.logs());
    assert!(
        peers.smsc.protocol_errors().is_empty(),
        "{:?}",
        peers.smsc.protocol_errors()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_dialogue_then_restart_continues() {
    restart_and_continue("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_dialogue_then_restart_continues() {
    restart_and_continue("KILL").await;
}

/// SIGTERM while a back-end call is in flight: the gateway finishes the
/// turn (the citizen gets the answer), then unbinds and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_backend_call_answers_the_turn_first() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let peers = &rig.peers;
    let mut gateway = rig.serve("serve.log", 1).await;
    let mut phone = start_pension_dialogue(peers).await;
    let slow = Knobs {
        latency: Duration::from_millis(1200),
        ..Knobs::default()
    };
    peers
        .ministries
        .set_knobs(Scope::Only(Service::Pension), slow);
    let before = peers.ministries.requests().len();
    let turn = tokio::spawn(async move {
        finish_pension_dialogue(&mut phone).await;
    });
    // The call has reached the ministry: the turn is in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while peers.ministries.requests().len() == before {
        assert!(tokio::time::Instant::now() < deadline, "no pension call");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gateway.signal("TERM");
    turn.await.expect("the turn in flight was answered");
    let status = gateway.wait(EXIT).await;
    assert!(status.success(), "{status:?}\n{}", gateway.logs());
    assert!(peers.smsc.stats().unbinds_received >= 1);
}

/// The SMSC drops the link in the middle of a dialogue: the gateway
/// rebinds by itself and the citizen's next reply is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smsc_drops_the_link_mid_dialogue_and_the_gateway_rebinds() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let peers = &rig.peers;
    let mut gateway = rig.serve("serve.log", 1).await;
    let mut phone = start_pension_dialogue(peers).await;
    assert_eq!(peers.smsc.drop_link(bawaba_sim::Target::All).await, 1);
    peers.wait_binds(2).await;
    finish_pension_dialogue(&mut phone).await;
    gateway.signal("TERM");
    let status = gateway.wait(EXIT).await;
    assert!(status.success(), "{status:?}\n{}", gateway.logs());
}
