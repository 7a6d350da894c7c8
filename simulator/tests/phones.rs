//! USSD and SMS phones against a test ESME playing the gateway, over real TCP.

mod common;

use std::time::Duration;

use bawaba_sim::rusmpp::tlvs::MessageSubmissionRequestTlvValue;
use bawaba_sim::rusmpp::values::EsmClass;
use bawaba_sim::rusmpp::{CommandId, CommandStatus, Pdu};
use bawaba_sim::{text, DialField, SimError, UssdProfile};
use common::*;

const PHONE: &str = "9647701234567";

#[tokio::test]
async fn ussd_dial_reply_round_trip() {
    let smsc = smsc(|_| {}).await;
    let mut gw = Esme::bound(&smsc).await;
    let mut phone = smsc.ussd(PHONE);
    let dialogue = tokio::spawn(async move {
        let menu = phone.dial("*123#").await?;
        let end = phone.reply("١").await?;
        let after = phone.reply("2").await;
        Ok::<_, SimError>((menu, end, after.is_err()))
    });

    // The dial: deliver_sm, service_type USSD, op 1, fresh session, sequence 0.
    let dial = gw.recv().await;
    let d = deliver_of(&dial);
    assert_eq!(
        (
            d.service_type.value().as_str(),
            d.source_addr.as_str(),
            d.destination_addr.as_str()
        ),
        ("USSD", PHONE, "123")
    );
    assert_eq!(
        (
            text::decode_gsm7(d.short_message()).unwrap().as_str(),
            u8::from(d.esm_class)
        ),
        ("*123#", 0)
    );
    let (op, its) = ussd_tlvs(d);
    let [session, seq] = its.expect("its_session_info");
    assert_eq!((op, seq), (Some(1), 0));
    gw.ack_deliver(&dial, CommandStatus::EsmeRok).await;
    gw.request(ussd_screen(PHONE, "مرحبا\n1) الرصيد", 2, [session, 2]))
        .await;
    assert_eq!(gw.recv().await.id(), CommandId::SubmitSmResp);

    // The reply: op 18, same session, its echoed; Arabic-Indic digit arrives as UCS-2.
    let reply = gw.recv().await;
    let r = deliver_of(&reply);
    assert_eq!(ussd_tlvs(r), (Some(18), Some([session, 2])));
    assert_eq!(
        (
            u8::from(r.data_coding),
            text::decode_ucs2(r.short_message()).unwrap().as_str()
        ),
        (8, "١")
    );
    gw.ack_deliver(&reply, CommandStatus::EsmeRok).await;
    gw.request(ussd_screen(PHONE, "رصيدك ٥٠٠٠ دينار", 17, [session, 5]))
        .await;
    assert_eq!(gw.recv().await.id(), CommandId::SubmitSmResp);

    let (menu, end, ended) = dialogue.await.unwrap().unwrap();
    assert_eq!(
        (menu.text.as_str(), menu.end, menu.op),
        ("مرحبا\n1) الرصيد", false, Some(2))
    );
    assert_eq!(menu.deliver_status, CommandStatus::EsmeRok);
    assert_eq!((end.text.as_str(), end.end), ("رصيدك ٥٠٠٠ دينار", true));
    assert!(ended, "reply after the end screen must fail");
    assert!(smsc.protocol_errors().is_empty());
}

#[tokio::test]
async fn ussd_end_bit_abort_and_rejection() {
    let smsc = smsc(|_| {}).await;
    let mut gw = Esme::bound(&smsc).await;
    let mut phone = smsc.ussd(PHONE);
    let dialogue = tokio::spawn(async move {
        let first = phone.dial("*123#").await?;
        let abort = phone.abort().await;
        let again = phone.dial("*124#").await;
        Ok::<_, SimError>((first, abort, again))
    });
    let dial = gw.recv().await;
    let [session, _] = ussd_tlvs(deliver_of(&dial)).1.unwrap();
    gw.ack_deliver(&dial, CommandStatus::EsmeRok).await;
    // op 2 (continue) but with the its_session_info end bit set: the phone treats it as the end.
    gw.request(ussd_screen(PHONE, "bye", 2, [session, 3])).await;
    gw.recv().await;
    let dial2 = gw.recv().await;
    let (_, its2) = ussd_tlvs(deliver_of(&dial2));
    assert_ne!(
        its2.unwrap()[0],
        session,
        "a new dial gets a fresh session number"
    );
    gw.ack_deliver(&dial2, CommandStatus::EsmeRxTAppn).await;
    let (first, abort, again) = dialogue.await.unwrap().unwrap();
    assert!(first.end && first.submitted.its_end());
    assert!(matches!(abort, Err(SimError::SessionEnded)), "{abort:?}");
    assert!(
        matches!(
            again,
            Err(SimError::DeliverRejected(CommandStatus::EsmeRxTAppn))
        ),
        "{again:?}"
    );

    let mut phone = smsc.ussd(PHONE);
    let t = tokio::spawn(async move {
        let _ = phone.dial("*123#").await?;
        phone.abort().await
    });
    let dial = gw.recv().await;
    let [session, _] = ussd_tlvs(deliver_of(&dial)).1.unwrap();
    gw.ack_deliver(&dial, CommandStatus::EsmeRok).await;
    gw.request(ussd_screen(PHONE, "menu", 2, [session, 2]))
        .await;
    gw.recv().await;
    let abort = gw.recv().await;
    assert_eq!(
        ussd_tlvs(deliver_of(&abort)),
        (Some(129), Some([session, 2]))
    );
    gw.ack_deliver(&abort, CommandStatus::EsmeRok).await;
    assert_eq!(t.await.unwrap().unwrap(), CommandStatus::EsmeRok);
}

#[tokio::test]
async fn ussd_timeout_and_dial_in_destination_profile() {
    let smsc = smsc(|c| c.observe_timeout = Duration::from_millis(1000)).await;
    let mut gw = Esme::bound(&smsc).await;
    let profile = UssdProfile {
        dial_in: DialField::DestinationAddr,
        dial_op: 0x81,
        ..UssdProfile::default()
    };
    let mut phone = smsc.ussd_with(PHONE, profile);
    let t = tokio::spawn(async move { phone.dial("*123*4#").await });
    let dial = gw.recv().await;
    let d = deliver_of(&dial);
    assert_eq!(
        (d.destination_addr.as_str(), d.short_message().len()),
        ("*123*4#", 0)
    );
    assert_eq!(ussd_tlvs(d).0, Some(0x81));
    gw.ack_deliver(&dial, CommandStatus::EsmeRok).await;
    // The gateway never answers: the phone gives up with a timeout error.
    assert!(matches!(t.await.unwrap(), Err(SimError::Timeout(..))));
}

#[tokio::test]
async fn sms_phone_sends_concatenated_and_reassembles_mts() {
    let smsc = smsc(|_| {}).await;
    let mut gw = Esme::bound(&smsc).await;
    let mut phone = smsc.sms(PHONE);
    let long = "ا".repeat(100); // UCS-2, 200 octets: two parts of at most 134
    let t = tokio::spawn(async move {
        let statuses = phone.send("4455", &long).await?;
        let msg = phone.next_message().await?;
        Ok::<_, SimError>((statuses, msg))
    });
    let mut texts = String::new();
    for expected_seq in 1..=2u8 {
        let part = gw.recv().await;
        let d = deliver_of(&part);
        assert_eq!((u8::from(d.esm_class), u8::from(d.data_coding)), (0x40, 8));
        let (c, body) = text::split_udh(d.short_message()).unwrap();
        let c = c.unwrap();
        assert_eq!((c.total, c.seq), (2, expected_seq));
        texts += &text::decode_ucs2(body).unwrap();
        gw.ack_deliver(&part, CommandStatus::EsmeRok).await;
    }
    assert_eq!(texts, "ا".repeat(100));

    // The gateway answers in two UDH parts, second part first.
    for (seq, body) in [(2u8, "world"), (1, "hello ")] {
        let mut sm = vec![5, 0, 3, 9, 2, seq];
        sm.extend(text::encode_gsm7(body).unwrap());
        let mut pdu = submit(PHONE, 0, sm, 0);
        pdu.esm_class = EsmClass::from(0x40);
        gw.request(pdu).await;
        assert_eq!(gw.recv().await.id(), CommandId::SubmitSmResp);
    }
    let (statuses, msg) = t.await.unwrap().unwrap();
    assert_eq!(statuses, vec![CommandStatus::EsmeRok; 2]);
    assert_eq!(
        (msg.text.as_str(), msg.source.as_str(), msg.parts.len()),
        ("hello world", "4455", 2)
    );
}

#[tokio::test]
async fn sar_parts_and_gsm7_short_mo() {
    let smsc = smsc(|_| {}).await;
    let mut gw = Esme::bound(&smsc).await;
    let mut phone = smsc.sms(PHONE);
    let t = tokio::spawn(async move {
        let s = phone.send("4455", "PDS 12345678 {ok}").await?;
        Ok::<_, SimError>((s, phone.next_message().await?))
    });
    let mo = gw.recv().await;
    let d = deliver_of(&mo);
    assert_eq!((u8::from(d.data_coding), u8::from(d.esm_class)), (0, 0));
    assert_eq!(
        text::decode_gsm7(d.short_message()).unwrap(),
        "PDS 12345678 {ok}"
    );
    gw.ack_deliver(&mo, CommandStatus::EsmeRok).await;
    for (seq, body) in [(1u8, "part one "), (2, "part two")] {
        let mut pdu = submit(PHONE, 0, text::encode_gsm7(body).unwrap(), 0);
        pdu.push_tlv(MessageSubmissionRequestTlvValue::SarMsgRefNum(0x1234));
        pdu.push_tlv(MessageSubmissionRequestTlvValue::SarTotalSegments(2));
        pdu.push_tlv(MessageSubmissionRequestTlvValue::SarSegmentSeqnum(seq));
        gw.request(pdu).await;
        assert!(matches!(gw.recv().await.pdu(), Some(Pdu::SubmitSmResp(_))));
    }
    let (_, msg) = t.await.unwrap().unwrap();
    assert_eq!(msg.text, "part one part two");
    assert_eq!(msg.parts[1].sar.unwrap().reference, 0x1234);
}
