//! MTs through the real path: outbox -> Operator -> simulator SMSC on
//! loopback, receipts back -> store (sled in a temp dir) -> status.

mod outbox_support;

use std::time::Duration;

use bawaba::outbox::Settings;
use bawaba::outbox::{Error, SmsStatus};
use bawaba_sim::Behaviour;
use outbox_support::*;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_sent_and_receipts_recorded_as_delivered() {
    let Rig { smsc, gw, .. } = rig(Behaviour::default(), Op::default(), |_| {}, true).await;
    assert!(gw.operator.wait_bound(WAIT).await);

    let mut ids = Vec::new();
    for i in 0..5 {
        let text = format!("Your passport renewal #{i} is ready");
        ids.push(gw.enqueue("07801234567", &text, 1).await);
    }
    for id in &ids {
        let s = wait_status(&gw.outbox, *id, WAIT, delivered).await;
        let SmsStatus::Delivered { message_ids } = s else {
            unreachable!()
        };
        assert_eq!(message_ids.len(), 1);
    }
    let mut texts = Vec::new();
    for _ in 0..5 {
        let mt = smsc.next_submit().await.unwrap();
        assert_eq!(
            (mt.dest.as_str(), mt.source.as_str()),
            ("9647801234567", SHORT_CODE)
        );
        assert_eq!(mt.registered_delivery & 0x01, 1, "final receipt requested");
        texts.push(mt.text);
    }
    texts.sort();
    assert_eq!(texts[0], "Your passport renewal #0 is ready");
    assert_eq!(smsc.stats().submits, 5, "each MT submitted once");
    let ours = gw.outbox.stats();
    // (receipts are counted after their flush, a moment after the status
    // shows them: not asserted exactly here)
    assert_eq!((ours.enqueued, ours.sent), (5, 5));
    assert!(smsc.protocol_errors().is_empty());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_arabic_sms_is_split_and_reassembled_on_the_phone() {
    for split in ["udh8", "udh16", "sar"] {
        let op = Op {
            split,
            ..Op::default()
        };
        let Rig { smsc, gw, .. } = rig(Behaviour::default(), op, |_| {}, true).await;
        let mut phone = smsc.sms("9647701234567");
        let text = "عزيزي المواطن، تم تجديد جواز سفرك بنجاح. يرجى مراجعة مكتب الجوازات في بغداد لاستلامه خلال ثلاثين يوماً مع هويتك الوطنية. ".repeat(2);
        let id = gw.enqueue("+9647701234567", &text, 1).await;

        let got = phone.next_message().await.unwrap();
        assert_eq!(got.text, text, "{split}");
        assert_eq!(got.source, SHORT_CODE);
        assert!(got.parts.len() >= 2, "{split}: {} parts", got.parts.len());
        assert!(got.parts.iter().all(|p| p.data_coding == 0x08));
        let s = wait_status(&gw.outbox, id, WAIT, delivered).await;
        let SmsStatus::Delivered { message_ids } = s else {
            unreachable!()
        };
        assert_eq!(
            message_ids.len(),
            got.parts.len(),
            "{split}: one id per part"
        );
        assert!(smsc.protocol_errors().is_empty(), "{split}");
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_before_submit_sm_resp_still_matches() {
    let before = Behaviour {
        receipt_before_resp: true,
        ..Behaviour::default()
    };
    let Rig { smsc, gw, .. } = rig(before, Op::default(), |_| {}, true).await;
    let ids = [
        gw.enqueue("07801111111", "one", 1).await,
        gw.enqueue("07802222222", "two", 1).await,
    ];
    for id in ids {
        wait_status(&gw.outbox, id, WAIT, delivered).await;
    }
    assert!(smsc.stats().receipts_sent >= 2);
    gw.stop().await;
}

/// `[operators.sms] receipts` at its default ("notifications"): a reply to
/// a citizen's SMS (priority 0) asks for no receipt and ends "sent"; a
/// notification (priority 1) asks and ends "delivered".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_ask_for_no_receipt_notifications_do() {
    let Rig { smsc, gw, .. } = rig(Behaviour::default(), Op::default(), |_| {}, true).await;
    let reply = gw.enqueue("07801111111", "your answer", 0).await;
    let first = smsc.next_submit().await.unwrap();
    assert_eq!(
        (first.text.as_str(), first.registered_delivery),
        ("your answer", 0)
    );
    // Sent, it leaves the queue and keeps no record: nobody asks a reply's
    // status, and no receipt will come to update one.
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Some(s) = gw.outbox.try_status(reply).await.unwrap() {
        assert!(tokio::time::Instant::now() < deadline, "reply still {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let notice = gw.enqueue("07802222222", "notice", 1).await;
    let second = smsc.next_submit().await.unwrap();
    assert_eq!(
        (second.text.as_str(), second.registered_delivery),
        ("notice", 1)
    );
    wait_status(&gw.outbox, notice, WAIT, delivered).await;
    assert_eq!(smsc.stats().receipts_sent, 1, "a receipt nobody asked for");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_replies_go_before_bulk() {
    // One MT in flight at a time: the send order is the claim order.
    let one = |s: &mut Settings| s.in_flight = Some(1);
    let Rig { smsc, mut gw, .. } = rig(Behaviour::default(), Op::default(), one, false).await;
    for i in 0..10 {
        gw.enqueue("07801234567", &format!("bulk {i}"), 2).await;
    }
    gw.enqueue("07801234567", "your answer", 0).await;
    gw.enqueue("07801234567", "notice", 1).await;
    assert!(gw.operator.wait_bound(WAIT).await);
    gw.start_sender();
    let first: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(smsc.next_submit().await.unwrap().text);
        }
        v
    };
    assert_eq!(first, ["your answer", "notice", "bulk 0"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_can_never_be_sent_is_refused_at_enqueue() {
    let op = Op {
        max_parts: 2,
        ..Op::default()
    };
    let Rig { gw, .. } = rig(Behaviour::default(), op, |_| {}, false).await;
    let too_long = "ب".repeat(300);
    let e = gw
        .outbox
        .enqueue(sms("07801234567", &too_long, 1))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at most 2"), "{e}");
    let mut named = sms("07801234567", "hi", 1);
    named.operator = Some("nope".into());
    assert!(matches!(
        gw.outbox.enqueue(named).await,
        Err(Error::UnknownOperator(_))
    ));
    let mut foreign = sms("07801234567", "hi", 1);
    foreign.to = bawaba::msisdn::Msisdn::parse("+4915112345678").unwrap();
    assert!(matches!(
        gw.outbox.enqueue(foreign).await,
        Err(Error::NoRoute(_))
    ));
    gw.stop().await;
}
