//! SMS through the real path: keyword conversation keyed by MSISDN + short
//! code, the configured fallback, and a duplicate deliver_sm processed once.

mod runtime_common;

use std::time::Duration;

use bawaba_sim::{Behaviour, SmscConfig};
use runtime_common::{pds_balance, Opts, Rig, MSISDN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_conversation_then_fallback_for_an_unknown_word() {
    let calls = pds_balance(Duration::ZERO);
    let mut rig = Rig::new(Opts::default(), calls.clone()).await;
    let mut phone = rig.smsc.sms(MSISDN);
    let st = phone.send("2150", "pds 12345678").await.unwrap();
    assert!(
        st.iter().all(|s| format!("{s:?}").contains("Rok")),
        "{st:?}"
    );
    let menu = phone.next_message().await.unwrap();
    assert_eq!(menu.source, "2150");
    assert!(
        menu.text.contains("1.") && menu.text.contains("الرصيد"),
        "{}",
        menu.text
    );
    phone.send("2150", "١").await.unwrap();
    let balance = phone.next_message().await.unwrap();
    assert!(
        runtime_common::shows_balance(&balance.text),
        "{}",
        balance.text
    );
    assert_eq!(calls.seen.lock().unwrap().len(), 1);

    // The conversation is over: a word that is no keyword gets the fallback.
    phone.send("2150", "hello?").await.unwrap();
    let fallback = phone.next_message().await.unwrap();
    assert_eq!(fallback.text, rig.config.sms.fallback.ar);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_deliver_sm_is_acknowledged_and_handled_once() {
    let mut sc = SmscConfig::local("bawaba", "secret");
    sc.behaviour = Behaviour {
        duplicate_deliver: true,
        ..Behaviour::default()
    };
    let calls = pds_balance(Duration::ZERO);
    let mut rig = Rig::with_smsc(Opts::default(), calls.clone(), sc).await;
    let mut phone = rig.smsc.sms(MSISDN);
    phone.send("2150", "PDS 12345678").await.unwrap();
    let menu = phone.next_message().await.unwrap();
    assert!(menu.text.contains("الرصيد"), "{}", menu.text);
    // Had the copy been handled, "PDS 12345678" again would have produced
    // a second menu; the next message must answer "1".
    phone.send("2150", "1").await.unwrap();
    let next = phone.next_message().await.unwrap();
    assert!(
        runtime_common::shows_balance(&next.text),
        "second copy was processed: {}",
        next.text
    );
    let stats = rig.smsc.stats();
    assert!(
        stats.deliver_sms_sent >= 4,
        "the SMSC did send duplicates: {stats:?}"
    );
    assert_eq!(calls.seen.lock().unwrap().len(), 1, "one call, not two");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concatenated_sms_is_reassembled_into_one_message() {
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut phone = rig.smsc.sms(MSISDN);
    let long = "مرحبا ".repeat(40); // 240 UCS-2 characters: 4 parts
    let statuses = phone.send("2150", &long).await.unwrap();
    assert_eq!(statuses.len(), 4, "sent in parts");
    let first = phone.next_message().await.unwrap();
    assert_eq!(first.text, rig.config.sms.fallback.ar);
    // Handled as one message: one fallback, so the next reply is the menu.
    phone.send("2150", "PDS 12345678").await.unwrap();
    let menu = phone.next_message().await.unwrap();
    assert!(
        menu.text.contains("الرصيد"),
        "parts were handled one by one: {}",
        menu.text
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_arriving_as_data_sm_is_served_like_a_deliver_sm() {
    use bawaba::smpp::pdu::{Address, Body, CommandStatus, DataSm, Pdu, Tlvs};
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut phone = rig.smsc.sms(MSISDN);
    let pdu = Pdu {
        status: CommandStatus::ESME_ROK,
        sequence: 0x7000_0001,
        body: Body::DataSm(DataSm {
            source: Address {
                ton: 1,
                npi: 1,
                addr: MSISDN.into(),
            },
            dest: Address {
                ton: 0,
                npi: 0,
                addr: "2150".into(),
            },
            tlvs: Tlvs {
                message_payload: Some(bytes::Bytes::from_static(b"PDS 12345678")),
                ..Tlvs::default()
            },
            ..DataSm::default()
        }),
    };
    let mut raw = bytes::BytesMut::new();
    bawaba::smpp::codec::encode(&pdu, &mut raw);
    assert_eq!(rig.smsc.send_raw(bawaba_sim::Target::All, &raw).await, 1);
    let menu = phone.next_message().await.unwrap();
    assert!(menu.text.contains("الرصيد"), "{}", menu.text);
    rig.stop().await;
}
