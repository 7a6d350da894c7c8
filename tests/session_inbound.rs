//! Inbound deliver_sm through real TCP from the simulated SMSC: the
//! application decides when and how it is acknowledged; a full application
//! queue answers ESME_RX_T_APPN at once; a dropped Responder does too.

mod session_support;

use bawaba::smpp::pdu::CommandStatus;
use bawaba::smpp::session::{Inbound, InboundPdu};
use bawaba_sim::rusmpp::pdus::DeliverSm;
use bawaba_sim::rusmpp::types::{COctetString, OctetString};
use bawaba_sim::rusmpp::values::{DataCoding, EsmClass, RegisteredDelivery};
use bawaba_sim::rusmpp::CommandStatus as SimStatus;
use bawaba_sim::{Behaviour, SmscHandle, Target};
use session_support::*;

fn mo(text: &str) -> DeliverSm {
    DeliverSm::builder()
        .source_addr(COctetString::from_string("9647701234567".to_owned()).unwrap())
        .destination_addr(COctetString::from_string("2150".to_owned()).unwrap())
        .esm_class(EsmClass::from(0))
        .registered_delivery(RegisteredDelivery::from(0))
        .data_coding(DataCoding::from(0))
        .short_message(OctetString::from_vec(text.as_bytes().to_vec()).unwrap())
        .build()
}

fn deliver(smsc: &SmscHandle, text: &str) -> tokio::task::JoinHandle<SimStatus> {
    let (smsc, pdu) = (smsc.clone(), mo(text));
    tokio::spawn(async move {
        smsc.deliver(Target::All, pdu)
            .await
            .expect("deliver_sm_resp")
    })
}

async fn next(run: &mut Running) -> Inbound {
    tokio::time::timeout(WAIT, run.inbound.recv())
        .await
        .expect("an inbound PDU")
        .expect("channel open")
}

#[tokio::test]
async fn deliver_sm_is_acknowledged_only_when_the_application_responds() {
    let (smsc, mut run) = bound(Behaviour::default(), |_| {}).await;
    let resp = deliver(&smsc, "BAL 1234");
    let inbound = next(&mut run).await;
    assert_eq!(&*inbound.operator, "sim");
    assert_eq!(inbound.bind, 0);
    let InboundPdu::Deliver(sm) = &inbound.pdu else {
        panic!("expected deliver_sm, got {:?}", inbound.pdu)
    };
    assert_eq!(&sm.short_message[..], b"BAL 1234");
    assert_eq!(sm.source.addr, "9647701234567");
    // Received by the application and not answered yet: the SMSC has no
    // deliver_sm_resp, however long we look.
    assert_eq!(smsc.stats().deliver_sm_resps_received, 0);
    assert!(!resp.is_finished());
    inbound.responder.respond(CommandStatus::ESME_ROK);
    assert_eq!(resp.await.unwrap(), SimStatus::EsmeRok);
    assert!(
        smsc.protocol_errors().is_empty(),
        "{:?}",
        smsc.protocol_errors()
    );
    run.operator.shutdown().await;
}

#[tokio::test]
async fn the_application_chooses_the_status() {
    let (smsc, mut run) = bound(Behaviour::default(), |_| {}).await;
    let resp = deliver(&smsc, "x");
    next(&mut run)
        .await
        .responder
        .respond(CommandStatus::ESME_RX_P_APPN);
    assert_eq!(resp.await.unwrap(), SimStatus::EsmeRxPAppn);
    run.operator.shutdown().await;
}

#[tokio::test]
async fn a_full_application_queue_answers_rx_t_appn_at_once() {
    let smsc = smsc(Behaviour::default()).await;
    let cfg = operator_cfg(smsc.local_addr(), PASSWORD);
    let mut run = start(cfg, 1, Default::default());
    assert!(run.operator.wait_bound(WAIT).await);
    smsc.wait_bound(1).await.unwrap();
    let first = deliver(&smsc, "first");
    // The first is on the wire before the second, on the same link, so the
    // bind queues it (the channel holds one) before it reads the second.
    smsc.wait_stats(|s| s.deliver_sms_sent >= 1).await.unwrap();
    // The application is busy: the second is refused without waiting.
    let second = deliver(&smsc, "second").await.unwrap();
    assert_eq!(second, SimStatus::EsmeRxTAppn);
    assert_eq!(run.operator.stats()[0].busy, 1);
    let held = next(&mut run).await;
    assert!(!first.is_finished());
    held.responder.respond(CommandStatus::ESME_ROK);
    assert_eq!(first.await.unwrap(), SimStatus::EsmeRok);
    run.operator.shutdown().await;
}

#[tokio::test]
async fn a_dropped_responder_answers_rx_t_appn() {
    let (smsc, mut run) = bound(Behaviour::default(), |_| {}).await;
    let resp = deliver(&smsc, "dropped");
    drop(next(&mut run).await);
    assert_eq!(resp.await.unwrap(), SimStatus::EsmeRxTAppn);
    run.operator.shutdown().await;
}

#[tokio::test]
async fn data_sm_from_the_smsc_reaches_the_application_and_is_answered() {
    use bawaba::smpp::codec;
    use bawaba::smpp::pdu::{Address, Body, DataSm, Pdu, Tlvs};
    let (smsc, mut run) = bound(Behaviour::default(), |_| {}).await;
    // The simulator cannot build a data_sm itself: our codec writes the bytes.
    let data_sm = DataSm {
        source: Address::new(1, 1, "9647701234567"),
        dest: Address::new(0, 0, "2150"),
        tlvs: Tlvs {
            message_payload: Some(bytes::Bytes::from_static(b"PDS 1234")),
            ..Tlvs::default()
        },
        ..DataSm::default()
    };
    let mut frame = bytes::BytesMut::new();
    codec::encode(&Pdu::new(0x7000_0010, Body::DataSm(data_sm)), &mut frame);
    smsc.send_raw(Target::All, &frame).await;
    let inbound = next(&mut run).await;
    let InboundPdu::Data(sm) = &inbound.pdu else {
        panic!("expected data_sm, got {:?}", inbound.pdu)
    };
    assert_eq!(sm.tlvs.message_payload.as_deref(), Some(&b"PDS 1234"[..]));
    assert_eq!(inbound.responder.sequence(), 0x7000_0010);
    inbound.responder.respond(CommandStatus::ESME_ROK);
    // The SMSC did not send it through its own books, so it records our
    // data_sm_resp as an answer to nothing: that record is the proof.
    smsc.wait_until("data_sm_resp", |_, s| s.protocol_errors >= 1)
        .await
        .unwrap();
    let e = &smsc.protocol_errors()[0];
    assert_eq!((e.command_id, e.sequence), (0x8000_0103, 0x7000_0010));
    run.operator.shutdown().await;
}
