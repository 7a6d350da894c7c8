//! Receipts of our making delivered by the simulator: failed states and
//! message ids rendered differently from the submit_sm_resp.

mod outbox_support;

use std::time::Duration;

use bawaba::outbox::receipts::IdBases;
use bawaba::outbox::{Settings, SmsStatus};
use bawaba::smpp::receipt::IdBase;
use bawaba_sim::rusmpp::pdus::DeliverSm;
use bawaba_sim::rusmpp::tlvs::MessageDeliveryRequestTlvValue as Tlv;
use bawaba_sim::rusmpp::types::{COctetString, OctetString};
use bawaba_sim::rusmpp::values::{EsmClass, MessageState};
use bawaba_sim::rusmpp::CommandStatus;
use bawaba_sim::{SmscConfig, Target};
use outbox_support::*;

const WAIT: Duration = Duration::from_secs(10);

/// Sends one MT (the simulator's own receipt held back for a minute), then
/// delivers a receipt with the id as `render` writes it, text `stat` and
/// `err:013`, and the message_state TLV `state`; returns the MT's status
/// once `until` holds.
async fn with_our_receipt(
    tweak: impl FnOnce(&mut Settings),
    render: fn(&str) -> String,
    (stat, state): (&str, MessageState),
    until: fn(&SmsStatus) -> bool,
) -> SmsStatus {
    let dir = tempfile::tempdir().unwrap();
    let mut sc = SmscConfig::local("bawaba", "secret");
    sc.receipt_delay = Duration::from_secs(60);
    let smsc = smsc(sc).await;
    let config = config(smsc.local_addr(), &Op::default());
    let mut s = settings(&config);
    tweak(&mut s);
    let gw = Gateway::start(open_store(dir.path()).await, config.clone(), s, true);
    let id = gw.enqueue("07801234567", "hello", 1).await;
    let mt = smsc.next_submit().await.unwrap();
    let sent = |s: &SmsStatus| matches!(s, SmsStatus::Sent { .. });
    wait_status(&gw.outbox, id, WAIT, sent).await;

    let message_id = render(&mt.message_id.unwrap());
    let text = format!("id:{message_id} sub:001 dlvrd:000 submit date:2611270100 done date:2611270101 stat:{stat} err:013 text:hello");
    let receipt = DeliverSm::builder()
        .source_addr(COctetString::from_string(mt.dest.clone()).unwrap())
        .destination_addr(COctetString::from_string(mt.source.clone()).unwrap())
        .esm_class(EsmClass::from(0x04))
        .short_message(OctetString::from_vec(text.into_bytes()).unwrap())
        .push_tlv(Tlv::MessageState(state))
        .build();
    let answer = smsc.deliver(Target::All, receipt).await.unwrap();
    assert_eq!(answer, CommandStatus::EsmeRok);
    let s = wait_status(&gw.outbox, id, WAIT, until).await;
    gw.stop().await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_receipt_makes_the_status_failed() {
    let failed = |s: &SmsStatus| matches!(s, SmsStatus::Failed { .. });
    let undeliv = ("UNDELIV", MessageState::Undeliverable);
    let s = with_our_receipt(|_| {}, |id| id.to_uppercase(), undeliv, failed).await;
    let reason = "receipt UNDELIV (err 013)".to_string();
    assert_eq!(s, SmsStatus::Failed { reason });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipt_ids_in_another_base_match_once_the_bases_are_configured() {
    // The simulator answers submit_sm with hex ids; this "SMSC" writes its
    // receipts in decimal, as some do.
    let bases = |s: &mut Settings| {
        let b = IdBases {
            submit: IdBase::Hex,
            receipt: IdBase::Decimal,
        };
        s.message_ids.insert(OPERATOR.to_string(), b);
    };
    let decimal = |id: &str| u64::from_str_radix(id, 16).unwrap().to_string();
    let delivrd = ("DELIVRD", MessageState::Delivered);
    let s = with_our_receipt(bases, decimal, delivrd, delivered).await;
    assert!(delivered(&s));
}
