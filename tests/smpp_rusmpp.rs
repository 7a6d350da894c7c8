//! Our codec against rusmpp 0.4.0, an independent implementation, in both
//! directions: what we encode rusmpp decodes to the same fields, what
//! rusmpp encodes we decode to the same fields, and for the same PDU both
//! write the same bytes. The common subset, and what rusmpp cannot
//! represent, is described in `rusmpp_model/mod.rs`.

mod rusmpp_model;
mod smpp_gen;

use bawaba::smpp::codec::{decode, encode, HEADER_LEN};
use bawaba::smpp::pdu::{tag, Body, CommandStatus, Pdu, RawTlv, Sm, Tlvs};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rusmpp::pdus::{BindTransceiver, DeliverSm, SubmitSmResp};
use rusmpp::tlvs::{MessageDeliveryRequestTlvValue, MessageSubmissionResponseTlvValue};
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, ItsSessionInfo, ServiceType, UssdServiceOp};
use rusmpp::{Command, CommandStatus as RStatus};
use rusmpp_model::{from_rusmpp, to_rusmpp};
use tokio_util::codec::{Decoder, Encoder};

fn ours(pdu: &Pdu) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(pdu, &mut out);
    out.to_vec()
}

fn theirs(cmd: &Command) -> Vec<u8> {
    let mut out = BytesMut::new();
    CommandCodec::new().encode(cmd, &mut out).unwrap();
    out.to_vec()
}

/// rusmpp's decoding of one whole frame, which it must consume exactly.
fn rusmpp_decode(frame: &[u8]) -> Result<Command, String> {
    let mut buf = BytesMut::from(frame);
    match CommandCodec::new().decode(&mut buf) {
        Ok(Some(cmd)) if buf.is_empty() => Ok(cmd),
        Ok(Some(cmd)) => Err(format!("{} bytes left after {cmd:?}", buf.len())),
        Ok(None) => Err("rusmpp wants more bytes".into()),
        Err(e) => Err(e.to_string()),
    }
}

proptest! {
    #[test]
    fn rusmpp_decodes_what_we_encode(pdu in rusmpp_model::pdu()) {
        let frame = ours(&pdu);
        let cmd = rusmpp_decode(&frame).map_err(TestCaseError::fail)?;
        prop_assert_eq!(from_rusmpp(&cmd), pdu);
    }

    #[test]
    fn we_decode_what_rusmpp_encodes(pdu in rusmpp_model::pdu()) {
        let frame = theirs(&to_rusmpp(&pdu));
        prop_assert_eq!(decode(&frame), Ok(pdu));
    }

    #[test]
    fn both_write_the_same_bytes(pdu in rusmpp_model::pdu()) {
        let (a, b) = (ours(&pdu), theirs(&to_rusmpp(&pdu)));
        if a != b {
            // SMPP 3.4 §4: an error response is sent without a body; rusmpp
            // always writes one. Nothing else may differ.
            prop_assert!(!pdu.status.is_ok() && a.len() == HEADER_LEN, "{:02x?}\n{:02x?}", a, b);
            prop_assert_eq!(&a[4..], &b[4..HEADER_LEN]);
        }
    }
}

/// A USSD deliver_sm the way an SMSC built on rusmpp sends it, builder
/// defaults left alone.
fn rusmpp_ussd_deliver_sm() -> Command {
    let text: Vec<u8> = "مرحبا".encode_utf16().flat_map(u16::to_be_bytes).collect();
    let sm = DeliverSm::builder()
        .service_type(ServiceType::new(
            COctetString::from_string("USSD".into()).unwrap(),
        ))
        .source_addr(COctetString::from_string("9647701234567".into()).unwrap())
        .destination_addr(COctetString::from_string("*123#".into()).unwrap())
        .data_coding(DataCoding::from(0x08))
        .short_message(OctetString::from_slice(&text).unwrap())
        .push_tlv(MessageDeliveryRequestTlvValue::UssdServiceOp(
            UssdServiceOp::from(1),
        ))
        .push_tlv(MessageDeliveryRequestTlvValue::ItsSessionInfo(
            ItsSessionInfo::new(0x0a, 0x01),
        ))
        .build();
    Command::new(RStatus::EsmeRok, 7, sm)
}

#[test]
fn rusmpp_defaults_arrive_as_they_are_on_the_wire() {
    // rusmpp's default esm_class is 0x08 (not 0) and its default
    // interface_version is 5.0: we must see exactly that, not "fix" it.
    let pdu = decode(&theirs(&rusmpp_ussd_deliver_sm())).unwrap();
    let Body::DeliverSm(sm) = &pdu.body else {
        panic!("{pdu:?}")
    };
    assert_eq!(sm.esm_class, 0x08);
    assert_eq!(sm.service_type, "USSD");
    assert_eq!(sm.dest.addr, "*123#");
    assert_eq!(sm.tlvs.ussd_service_op, Some(1));
    assert_eq!(sm.tlvs.its_session_info, Some(0x0a01));
    let text: Vec<u16> = sm
        .short_message
        .chunks(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    assert_eq!(String::from_utf16(&text).unwrap(), "مرحبا");

    let bind = Command::new(RStatus::EsmeRok, 1, BindTransceiver::builder().build());
    let pdu = decode(&theirs(&bind)).unwrap();
    let Body::BindTransceiver(b) = &pdu.body else {
        panic!("{pdu:?}")
    };
    assert_eq!(b.interface_version, 0x50);
}

#[test]
fn tlvs_in_rusmpps_order_land_in_the_same_slots() {
    // rusmpp wrote ussd_service_op first and its_session_info second; the
    // reverse order must decode to the same typed fields.
    let mut cmd = rusmpp_ussd_deliver_sm();
    let rusmpp::Pdu::DeliverSm(sm) = cmd.pdu().cloned().unwrap() else {
        unreachable!()
    };
    let mut reversed = sm.clone();
    reversed.set_tlvs(vec![
        MessageDeliveryRequestTlvValue::ItsSessionInfo(ItsSessionInfo::new(0x0a, 0x01)),
        MessageDeliveryRequestTlvValue::UssdServiceOp(UssdServiceOp::from(1)),
    ]);
    let a = decode(&theirs(&cmd)).unwrap();
    cmd.set_pdu(reversed);
    let b = decode(&theirs(&cmd)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn submit_sm_resp_tlvs_from_a_5_0_peer_are_dropped_not_fatal() {
    let resp = SubmitSmResp::builder()
        .message_id(COctetString::from_string("abc-123".into()).unwrap())
        .push_tlv(MessageSubmissionResponseTlvValue::AdditionalStatusInfoText(
            COctetString::from_string("queued".into()).unwrap(),
        ))
        .build();
    let pdu = decode(&theirs(&Command::new(RStatus::EsmeRok, 9, resp))).unwrap();
    assert_eq!(
        pdu,
        Pdu::new(
            9,
            Body::SubmitSmResp {
                message_id: "abc-123".into()
            }
        )
    );
}

#[test]
fn a_bodyless_error_response_decodes_in_both() {
    let pdu = Pdu {
        status: CommandStatus::ESME_RTHROTTLED,
        sequence: 3,
        body: Body::SubmitSmResp {
            message_id: String::new(),
        },
    };
    let frame = ours(&pdu);
    assert_eq!(frame.len(), HEADER_LEN);
    let cmd = rusmpp_decode(&frame).unwrap();
    assert_eq!(u32::from(cmd.status()), CommandStatus::ESME_RTHROTTLED.0);
    assert!(cmd.pdu().is_none());
    assert_eq!(from_rusmpp(&cmd), pdu);
}

/// Where we are lenient and rusmpp is strict: these must keep working for
/// us (an operator's odd PDU must not cost the message), and rusmpp's
/// refusal shows the inputs really are off-spec.
#[test]
fn odd_pdus_we_keep_and_rusmpp_refuses() {
    let mut sm = match decode(&theirs(&rusmpp_ussd_deliver_sm())).unwrap().body {
        Body::DeliverSm(sm) => sm,
        other => panic!("{other:?}"),
    };
    // its_session_info with one octet instead of two: kept raw.
    sm.tlvs.its_session_info = None;
    sm.tlvs.other.push(RawTlv {
        tag: tag::ITS_SESSION_INFO,
        value: Bytes::from_static(&[0x0a]),
    });
    let odd_tlv = Pdu::new(8, Body::DeliverSm(sm.clone()));
    // A 30-character alphanumeric sender (SMPP 3.4 allows 20 here).
    sm.tlvs.other.clear();
    sm.source.addr = "GOV-NOTIFY-SERVICE-DESK-012345".into();
    let long_sender = Pdu::new(9, Body::DeliverSm(sm));

    for pdu in [odd_tlv, long_sender] {
        let frame = ours(&pdu);
        assert_eq!(decode(&frame).as_ref(), Ok(&pdu));
        assert!(rusmpp_decode(&frame).is_err(), "rusmpp took {pdu:?}");
    }
}

#[test]
fn an_empty_message_payload_crosses_both_ways() {
    // rusmpp holds a zero-length TLV as "no value"; on the wire both
    // codecs must still write, and read, tag 0x0424 with length 0.
    let sm = Sm {
        tlvs: Tlvs {
            message_payload: Some(Bytes::new()),
            ..Tlvs::default()
        },
        ..Sm::default()
    };
    let pdu = Pdu::new(1, Body::DeliverSm(sm));
    let frame = ours(&pdu);
    assert_eq!(&frame[frame.len() - 4..], &[0x04, 0x24, 0, 0]);
    assert_eq!(theirs(&to_rusmpp(&pdu)), frame);
    assert_eq!(from_rusmpp(&rusmpp_decode(&frame).unwrap()), pdu);
}
