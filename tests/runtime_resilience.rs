//! Restarts, link drops, full queues and deadlines, through the real path.

mod runtime_common;

use std::sync::Arc;
use std::time::Duration;

use bawaba::engine::Lang;
use bawaba::runtime::Notice;
use bawaba_sim::Target;
use runtime_common::{pds_balance, Canned, Opts, Rig, MSISDN};

/// Drops the gateway without a shutdown (a crash) and starts a new one on
/// the same store directory.
async fn crash_and_restart(rig: &mut Rig) {
    drop(rig.gw.take());
    rig.start().await;
}

/// A back-end (2.5 s) slower than the USSD reply deadline (2 s): its answer
/// goes by SMS.
async fn slow_backend() -> (Rig, Arc<Canned>) {
    let opts = Opts {
        reply_deadline: "2s",
        ..Opts::default()
    };
    let calls = pds_balance(Duration::from_millis(2500));
    let rig = Rig::new(opts, calls.clone()).await;
    (rig, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_survives_a_gateway_crash() {
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    phone.dial("*123*1#").await.unwrap();
    let menu = phone.reply("12345678").await.unwrap();
    assert!(menu.text.contains("الرصيد"), "{}", menu.text);
    crash_and_restart(&mut rig).await;
    let done = phone.reply("1").await.unwrap();
    assert!(done.end);
    assert!(runtime_common::shows_balance(&done.text), "{}", done.text);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smsc_drops_the_link_mid_dialogue_and_the_gateway_rebinds() {
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    phone.dial("*123*1#").await.unwrap();
    phone.reply("12345678").await.unwrap();
    assert_eq!(rig.smsc.drop_link(Target::All).await, 1);
    rig.smsc
        .wait_until("rebind", |_, s| s.binds_accepted >= 2)
        .await
        .unwrap();
    assert!(
        rig.gw
            .as_ref()
            .unwrap()
            .wait_bound(Duration::from_secs(10))
            .await
    );
    let done = phone.reply("1").await.unwrap();
    assert!(
        done.end && runtime_common::shows_balance(&done.text),
        "{}",
        done.text
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_backend_becomes_an_sms_follow_up() {
    let (mut rig, calls) = slow_backend().await;
    let mut sms = rig.smsc.sms(MSISDN);
    let mut phone = rig.smsc.ussd(MSISDN);
    let started = tokio::time::Instant::now();
    let screen = phone.dial("*123*1*12345678*1#").await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered within the reply deadline"
    );
    assert!(screen.end);
    assert_eq!(screen.text, Notice::WillSms.text(Lang::Ar));
    let follow = sms.next_message().await.unwrap();
    assert!(
        runtime_common::shows_balance(&follow.text),
        "{}",
        follow.text
    );
    assert_eq!(follow.source, "2150");
    assert_eq!(
        calls.seen.lock().unwrap().len(),
        1,
        "the same call, not a second one"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promised_follow_up_survives_a_crash() {
    let (mut rig, calls) = slow_backend().await;
    let mut sms = rig.smsc.sms(MSISDN);
    let mut phone = rig.smsc.ussd(MSISDN);
    let screen = phone.dial("*123*1*12345678*1#").await.unwrap();
    assert_eq!(screen.text, Notice::WillSms.text(Lang::Ar));
    crash_and_restart(&mut rig).await;
    let follow = sms.next_message().await.unwrap();
    assert!(
        runtime_common::shows_balance(&follow.text),
        "{}",
        follow.text
    );
    let seen = calls.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "called again after the restart");
    assert_eq!(
        seen[0].idempotency_key, seen[1].idempotency_key,
        "same idempotency key"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queues_answer_busy_and_a_late_turn_try_again() {
    // One worker, one queued job: an SMS turn waiting 5 s on a back-end
    // holds it (SMS turns have no reply deadline).
    let opts = Opts {
        workers: 1,
        worker_queue: 1,
        reply_deadline: "3s",
        ..Opts::default()
    };
    let calls = pds_balance(Duration::from_secs(5));
    // No delivery receipts during the test: the readiness check below
    // counts deliver_sm_resps, and a DLR's would be miscounted.
    let mut sc = bawaba_sim::SmscConfig::local("bawaba", "secret");
    sc.receipt_delay = Duration::from_secs(600);
    let mut rig = Rig::with_smsc(opts, calls.clone(), sc).await;
    let mut sms = rig.smsc.sms("9647800000001");
    sms.send("2150", "PDS 12345678").await.unwrap();
    sms.next_message().await.unwrap();
    sms.send("2150", "1").await.unwrap();
    // Wait until the worker is inside the call.
    while calls.seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut late = rig.smsc.ussd("9647800000002");
    let queued = tokio::spawn(async move { late.dial("*123#").await });
    // Wait until that dial is queued (acknowledged), then overflow.
    rig.smsc
        .wait_until("queued dial", |_, s| s.deliver_sm_resps_received >= 3)
        .await
        .unwrap();
    let mut busy = rig.smsc.ussd("9647800000003");
    let refused = busy.dial("*123#").await.unwrap();
    assert!(refused.end);
    assert_eq!(refused.text, Notice::Busy.text(Lang::Ar));
    let late = queued.await.unwrap().unwrap();
    assert!(late.end);
    assert_eq!(late.text, Notice::TryAgain.text(Lang::Ar));
    // The SMS turn itself finished normally.
    let balance = sms.next_message().await.unwrap();
    assert!(
        runtime_common::shows_balance(&balance.text),
        "{}",
        balance.text
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_idle_timer_ends_the_dialogue_and_a_redial_can_resume() {
    let clock = Arc::new(bawaba::runtime::ManualClock::new(1_700_000_000_000));
    let mut rig =
        Rig::with_clock(Opts::default(), pds_balance(Duration::ZERO), clock.clone()).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    phone.dial("*123*1#").await.unwrap();
    phone.reply("12345678").await.unwrap();
    // The citizen walks away past the operator's user_idle (default 60 s).
    clock.advance(61_000);
    let late = phone.reply("1").await.unwrap();
    assert!(late.end);
    assert_eq!(late.text, Notice::TryAgain.text(Lang::Ar));
    let again = phone.dial("*123*1#").await.unwrap();
    assert!(
        again.text.contains("1. متابعة"),
        "resume offer after the timeout: {}",
        again.text
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_the_step_in_flight() {
    let calls = pds_balance(Duration::from_millis(800));
    let mut rig = Rig::new(Opts::default(), calls.clone()).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    let turn = tokio::spawn(async move { phone.dial("*123*1*12345678*1#").await });
    while calls.seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Shut down while the back-end call is running: the turn still ends
    // with the flow's answer, then the gateway unbinds.
    rig.stop().await;
    let screen = turn.await.unwrap().unwrap();
    assert!(
        screen.end && runtime_common::shows_balance(&screen.text),
        "{}",
        screen.text
    );
    rig.smsc
        .wait_until("unbound", |_, s| {
            s.binds_accepted >= 1 && s.unbinds_received >= 1
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_max_ends_a_dialogue_that_was_never_idle_for_long() {
    let clock = Arc::new(bawaba::runtime::ManualClock::new(1_700_000_000_000));
    let mut rig =
        Rig::with_clock(Opts::default(), pds_balance(Duration::ZERO), clock.clone()).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    phone.dial("*123*1#").await.unwrap();
    // Wrong card numbers, each within user_idle (60 s), past session_max (180 s).
    for _ in 0..3 {
        clock.advance(50_000);
        let again = phone.reply("12").await.unwrap();
        assert!(!again.end, "{}", again.text);
    }
    clock.advance(50_000);
    let over = phone.reply("12345678").await.unwrap();
    assert!(over.end);
    assert_eq!(over.text, Notice::TryAgain.text(Lang::Ar));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_long_sms_acknowledged_before_a_crash_is_completed_after_it() {
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut phone = rig.smsc.sms(MSISDN);
    // Part 1 of 2 is acknowledged (so journalled), then the gateway dies.
    let status = phone
        .send_part("2150", "PDS 1234", (77, 2, 1))
        .await
        .unwrap();
    assert_eq!(status, bawaba_sim::rusmpp::CommandStatus::EsmeRok);
    crash_and_restart(&mut rig).await;
    let status = phone.send_part("2150", "5678", (77, 2, 2)).await.unwrap();
    assert_eq!(status, bawaba_sim::rusmpp::CommandStatus::EsmeRok);
    // One message, "PDS 12345678": the card's menu, not the fallback.
    let menu = phone.next_message().await.unwrap();
    assert!(menu.text.contains("الرصيد"), "{}", menu.text);
    rig.stop().await;
}
