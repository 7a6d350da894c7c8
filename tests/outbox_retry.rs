//! Refusals from the SMSC: temporary ones are retried with backoff and
//! bounded; permanent ones fail the MT with the status named.

mod outbox_support;

use std::collections::BTreeMap;
use std::time::Duration;

use bawaba::outbox::{Settings, SmsStatus};
use bawaba_sim::rusmpp::CommandStatus;
use bawaba_sim::Behaviour;
use outbox_support::*;

const WAIT: Duration = Duration::from_secs(15);

fn failed(s: &SmsStatus) -> bool {
    matches!(s, SmsStatus::Failed { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_and_queue_full_are_retried_until_delivered() {
    let refusing = Behaviour {
        throttle_every: Some(5),
        queue_full_every: Some(7),
        ..Behaviour::default()
    };
    let patient = |s: &mut Settings| s.retry.max_attempts = 12;
    let Rig { smsc, gw, .. } = rig(refusing, Op::default(), patient, true).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let text = format!("notice {i}");
        ids.push(gw.enqueue("07801234567", &text, 2).await);
    }
    for id in &ids {
        wait_status(&gw.outbox, *id, WAIT, delivered).await;
    }
    let stats = smsc.stats();
    assert!(stats.throttled > 0 && stats.queue_full > 0, "{stats:?}");
    let ours = gw.outbox.stats();
    assert_eq!((ours.enqueued, ours.sent, ours.failed), (30, 30, 0));
    assert!(ours.retried > 0, "{ours:?}");
    let mut accepted: BTreeMap<String, u32> = BTreeMap::new();
    while let Some(mt) = smsc.try_next_submit() {
        if mt.message_id.is_some() {
            *accepted.entry(mt.text).or_default() += 1;
        }
    }
    assert_eq!(accepted.len(), 30);
    assert!(
        accepted.values().all(|&n| n == 1),
        "each accepted once: {accepted:?}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_rejection_fails_with_the_status_named() {
    let rejecting = Behaviour {
        nack_instead_of_resp: Some(CommandStatus::EsmeRinvdstadr),
        ..Behaviour::default()
    };
    let Rig { smsc, gw, .. } = rig(rejecting, Op::default(), |_| {}, true).await;
    let id = gw.enqueue("07801234567", "hello", 1).await;
    let s = wait_status(&gw.outbox, id, WAIT, failed).await;
    let SmsStatus::Failed { reason } = s else {
        unreachable!()
    };
    assert!(reason.contains("ESME_RINVDSTADR"), "{reason}");
    assert_eq!(
        smsc.stats().submits,
        1,
        "a permanent rejection is not retried"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_refusals_are_bounded_then_fail_with_the_reason() {
    let always_full = Behaviour {
        queue_full_every: Some(1),
        ..Behaviour::default()
    };
    let three = |s: &mut Settings| s.retry.max_attempts = 3;
    let Rig { smsc, gw, .. } = rig(always_full, Op::default(), three, true).await;
    let id = gw.enqueue("07801234567", "hello", 1).await;
    let retrying =
        |s: &SmsStatus| matches!(s, SmsStatus::Queued { attempts, .. } if *attempts >= 1);
    let s = wait_status(&gw.outbox, id, WAIT, |s| retrying(s) || failed(s)).await;
    if let SmsStatus::Queued { last_error, .. } = s {
        assert!(last_error.unwrap().contains("ESME_RMSGQFUL"));
    }
    let s = wait_status(&gw.outbox, id, WAIT, failed).await;
    let SmsStatus::Failed { reason } = s else {
        unreachable!()
    };
    assert!(
        reason.contains("ESME_RMSGQFUL") && reason.contains("3 attempts"),
        "{reason}"
    );
    assert_eq!(smsc.stats().queue_full, 3);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_resends_only_the_parts_not_yet_accepted() {
    // Every 2nd submit is refused: part 1 accepted, part 2 refused, then
    // the retry sends part 2 alone, under the same reference.
    let every_other = Behaviour {
        queue_full_every: Some(2),
        ..Behaviour::default()
    };
    let Rig { smsc, gw, .. } = rig(every_other, Op::default(), |_| {}, true).await;
    let mut phone = smsc.sms("9647801234567");
    let text = "Your pension for November has been paid into account 1234. ".repeat(3);
    let id = gw.enqueue("07801234567", &text, 1).await;
    let got = phone.next_message().await.unwrap();
    assert_eq!(got.text, text);
    assert_eq!(got.parts.len(), 2);
    let s = wait_status(&gw.outbox, id, WAIT, delivered).await;
    let SmsStatus::Delivered { message_ids } = s else {
        unreachable!()
    };
    assert_eq!(message_ids.len(), 2);
    let stats = smsc.stats();
    assert_eq!(
        (stats.submits, stats.queue_full),
        (3, 1),
        "part 1 was not sent twice"
    );
    gw.stop().await;
}
