//! Byte-level fixtures: every PDU an ESME meets, written out by hand from
//! SMPP 3.4 (header: command_length, command_id, command_status, sequence),
//! then the bodies that must be refused, and how.
//!
//! Hex notation: whitespace-separated hex bytes, and 'ascii' for text.

use bawaba::smpp::codec::{decode, encode, encoded_len, DecodeError, SmppCodec};
use bawaba::smpp::pdu::{
    tag, Address, Bind, BindResp, Body, CommandId, CommandStatus, DataSm, Password, Pdu, RawTlv,
    Sm, Tlvs,
};
use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

fn h(spec: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for token in spec.split_whitespace() {
        if let Some(text) = token.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            out.extend_from_slice(text.as_bytes());
        } else {
            assert!(token.len() % 2 == 0, "odd hex token {token}");
            for i in (0..token.len()).step_by(2) {
                out.push(u8::from_str_radix(&token[i..i + 2], 16).unwrap());
            }
        }
    }
    out
}

/// The fixture encodes to exactly these bytes and decodes back to itself.
fn check(name: &str, pdu: Pdu, spec: &str) {
    let bytes = h(spec);
    let mut out = BytesMut::new();
    encode(&pdu, &mut out);
    assert_eq!(&out[..], &bytes[..], "{name}: encoding");
    assert_eq!(encoded_len(&pdu), bytes.len(), "{name}: encoded_len");
    assert_eq!(decode(&bytes).as_ref(), Ok(&pdu), "{name}: decoding");
}

fn msisdn() -> Address {
    Address::new(1, 1, "9647701234567")
}

fn bind() -> Bind {
    Bind {
        system_id: "bawaba".into(),
        password: Password::new("secret"),
        system_type: String::new(),
        interface_version: 0x34,
        addr_ton: 1,
        addr_npi: 1,
        address_range: String::new(),
    }
}

const BIND_BODY: &str = "'bawaba' 00 'secret' 00 00 34 01 01 00";

#[test]
fn binds() {
    for (name, body, id) in [
        (
            "bind_transmitter",
            Body::BindTransmitter(bind()),
            "00000002",
        ),
        ("bind_receiver", Body::BindReceiver(bind()), "00000001"),
        (
            "bind_transceiver",
            Body::BindTransceiver(bind()),
            "00000009",
        ),
    ] {
        let spec = format!("00000023 {id} 00000000 00000001 {BIND_BODY}");
        check(name, Pdu::new(1, body), &spec);
    }
}

#[test]
fn bind_responses() {
    let resp = BindResp {
        system_id: "SMSC".into(),
        sc_interface_version: Some(0x34),
        tlvs: Tlvs::default(),
    };
    check(
        "bind_transceiver_resp",
        Pdu::new(1, Body::BindTransceiverResp(resp)),
        "0000001a 80000009 00000000 00000001 'SMSC' 00 0210 0001 34",
    );
    let resp = BindResp {
        system_id: "SMSC".into(),
        ..BindResp::default()
    };
    check(
        "bind_receiver_resp",
        Pdu::new(2, Body::BindReceiverResp(resp)),
        "00000015 80000001 00000000 00000002 'SMSC' 00",
    );
    // An error response without a body (SMPP 3.4 §4.1.2).
    check(
        "bind_transmitter_resp ESME_RBINDFAIL",
        Pdu {
            status: CommandStatus::ESME_RBINDFAIL,
            sequence: 3,
            body: Body::BindTransmitterResp(BindResp::default()),
        },
        "00000010 80000002 0000000d 00000003",
    );
}

#[test]
fn outbind_and_header_only_pdus() {
    check(
        "outbind",
        Pdu::new(
            1,
            Body::Outbind {
                system_id: "SMSC".into(),
                password: Password::new("pw"),
            },
        ),
        "00000018 0000000b 00000000 00000001 'SMSC' 00 'pw' 00",
    );
    check(
        "unbind",
        Pdu::new(9, Body::Unbind),
        "00000010 00000006 00000000 00000009",
    );
    check(
        "unbind_resp",
        Pdu::new(9, Body::UnbindResp),
        "00000010 80000006 00000000 00000009",
    );
    check(
        "enquire_link",
        Pdu::new(10, Body::EnquireLink),
        "00000010 00000015 00000000 0000000a",
    );
    check(
        "enquire_link_resp",
        Pdu::new(10, Body::EnquireLinkResp),
        "00000010 80000015 00000000 0000000a",
    );
    check(
        "generic_nack",
        Pdu::generic_nack(11, CommandStatus::ESME_RINVCMDID),
        "00000010 80000000 00000003 0000000b",
    );
}

fn ussd_reply() -> Sm {
    Sm {
        service_type: "USSD".into(),
        source: Address::new(5, 0, "2150"),
        dest: msisdn(),
        data_coding: 0x08,
        short_message: Bytes::from_static(&[0x06, 0x27, 0x06, 0x44]),
        tlvs: Tlvs {
            ussd_service_op: Some(17),
            its_session_info: Some(0x0a01),
            ..Tlvs::default()
        },
        ..Sm::default()
    }
}

#[test]
fn submit_sm_and_responses() {
    check(
        "submit_sm (USSD reply, UCS-2)",
        Pdu::new(4, Body::SubmitSm(ussd_reply())),
        "00000045 00000004 00000000 00000004 'USSD' 00 05 00 '2150' 00 01 01 '9647701234567' 00 \
         00 00 00 00 00 00 00 08 00 04 0627 0644 0501 0001 11 1383 0002 0a01",
    );
    check(
        "submit_sm_resp",
        Pdu::new(
            4,
            Body::SubmitSmResp {
                message_id: "msg-1".into(),
            },
        ),
        "00000016 80000004 00000000 00000004 'msg-1' 00",
    );
    check(
        "submit_sm_resp ESME_RTHROTTLED, no body",
        Pdu {
            status: CommandStatus::ESME_RTHROTTLED,
            sequence: 5,
            body: Body::SubmitSmResp {
                message_id: String::new(),
            },
        },
        "00000010 80000004 00000058 00000005",
    );
}

#[test]
fn deliver_sm_ussd_and_receipt() {
    let mo = Sm {
        service_type: "USSD".into(),
        source: msisdn(),
        dest: Address::new(0, 1, "*123#"),
        short_message: Bytes::from_static(b"*123#"),
        tlvs: Tlvs {
            ussd_service_op: Some(1),
            its_session_info: Some(0x0a00),
            ..Tlvs::default()
        },
        ..Sm::default()
    };
    check(
        "deliver_sm (USSD MO)",
        Pdu::new(7, Body::DeliverSm(mo)),
        "00000047 00000005 00000000 00000007 'USSD' 00 01 01 '9647701234567' 00 00 01 '*123#' 00 \
         00 00 00 00 00 00 00 00 00 05 '*123#' 0501 0001 01 1383 0002 0a00",
    );
    let receipt = Sm {
        source: msisdn(),
        dest: Address::new(0, 1, "2150"),
        esm_class: 0x04,
        short_message: Bytes::from_static(b"id:msg-1"),
        tlvs: Tlvs {
            receipted_message_id: Some("msg-1".into()),
            message_state: Some(2),
            other: vec![RawTlv {
                tag: 0x1401,
                value: Bytes::from_static(&[0xaa, 0xbb, 0xcc]),
            }],
            ..Tlvs::default()
        },
        ..Sm::default()
    };
    check(
        "deliver_sm (receipt, vendor TLV kept raw)",
        Pdu::new(8, Body::DeliverSm(receipt)),
        "00000050 00000005 00000000 00000008 00 01 01 '9647701234567' 00 00 01 '2150' 00 \
         04 00 00 00 00 00 00 00 00 08 'id:msg-1' 001e 0006 'msg-1' 00 0427 0001 02 1401 0003 aabbcc",
    );
    check(
        "deliver_sm_resp",
        Pdu::new(
            8,
            Body::DeliverSmResp {
                message_id: String::new(),
            },
        ),
        "00000011 80000005 00000000 00000008 00",
    );
}

#[test]
fn data_sm_and_resp() {
    let data = DataSm {
        service_type: "USSD".into(),
        source: msisdn(),
        dest: Address::new(0, 1, "*123#"),
        tlvs: Tlvs {
            ussd_service_op: Some(1),
            message_payload: Some(Bytes::from_static(b"*123#")),
            source_port: Some(8000),
            destination_port: Some(8001),
            ..Tlvs::default()
        },
        ..DataSm::default()
    };
    check(
        "data_sm",
        Pdu::new(12, Body::DataSm(data)),
        "0000004a 00000103 00000000 0000000c 'USSD' 00 01 01 '9647701234567' 00 00 01 '*123#' 00 \
         00 00 00 0501 0001 01 0424 0005 '*123#' 020a 0002 1f40 020b 0002 1f41",
    );
    let tlvs = Tlvs {
        network_error_code: Some([3, 0, 0x0b]),
        ..Tlvs::default()
    };
    check(
        "data_sm_resp",
        Pdu::new(
            12,
            Body::DataSmResp {
                message_id: "d-1".into(),
                tlvs,
            },
        ),
        "0000001b 80000103 00000000 0000000c 'd-1' 00 0423 0003 03000b",
    );
}

#[test]
fn query_and_alert() {
    check(
        "query_sm",
        Pdu::new(
            13,
            Body::QuerySm {
                message_id: "msg-1".into(),
                source: Address::new(5, 0, "2150"),
            },
        ),
        "0000001d 00000003 00000000 0000000d 'msg-1' 00 05 00 '2150' 00",
    );
    check(
        "query_sm_resp",
        Pdu::new(
            13,
            Body::QuerySmResp {
                message_id: "msg-1".into(),
                final_date: "261127001500000+".into(),
                message_state: 2,
                error_code: 0,
            },
        ),
        "00000029 80000003 00000000 0000000d 'msg-1' 00 '261127001500000+' 00 02 00",
    );
    let tlvs = Tlvs {
        other: vec![RawTlv {
            tag: tag::MS_AVAILABILITY_STATUS,
            value: Bytes::from_static(&[0]),
        }],
        ..Tlvs::default()
    };
    check(
        "alert_notification",
        Pdu::new(
            14,
            Body::AlertNotification {
                source: msisdn(),
                esme: Address::new(0, 1, "2150"),
                tlvs,
            },
        ),
        "0000002c 00000102 00000000 0000000e 01 01 '9647701234567' 00 00 01 '2150' 00 0422 0001 00",
    );
}

/// A known tag with a length that is not the spec's stays raw, the PDU
/// still decodes, and the TLV goes back out byte for byte.
#[test]
fn odd_known_tlvs_are_kept_raw_and_reencoded_identically() {
    let frame = h(
        "00000042 00000005 00000000 00000007 'USSD' 00 01 01 '9647701234567' 00 \
                   00 01 '*123#' 00 00 00 00 00 00 00 00 00 00 00 \
                   0501 0002 0001 1383 0001 0a",
    );
    let pdu = decode(&frame).expect("odd TLVs must not cost the message");
    let Body::DeliverSm(sm) = &pdu.body else {
        panic!("{pdu:?}")
    };
    assert_eq!(sm.tlvs.ussd_service_op, None);
    assert_eq!(sm.tlvs.its_session_info, None);
    assert_eq!(
        sm.tlvs.raw(tag::USSD_SERVICE_OP).unwrap().value,
        &[0, 1][..]
    );
    assert_eq!(
        sm.tlvs.raw(tag::ITS_SESSION_INFO).unwrap().value,
        &[0x0a][..]
    );
    let mut again = BytesMut::new();
    encode(&pdu, &mut again);
    assert_eq!(&again[..], &frame[..]);
}

/// Operators send long alphanumeric senders; SMPP says 21 for deliver_sm,
/// we accept up to data_sm's 65 rather than lose the message.
#[test]
fn long_sender_is_accepted_but_not_beyond_65() {
    let sender = "A".repeat(22);
    let frame = h(&format!(
        "0000003b 00000005 00000000 00000001 00 05 00 '{sender}' 00 01 01 '2150' 00 \
         00 00 00 00 00 00 00 00 00 00"
    ));
    let pdu = decode(&frame).unwrap();
    let Body::DeliverSm(sm) = pdu.body else {
        panic!()
    };
    assert_eq!(sm.source.addr, sender);

    let sender = "A".repeat(65);
    let len = 16 + 1 + 2 + 66 + 2 + 5 + 3 + 2 + 4 + 1;
    let frame = h(&format!(
        "{len:08x} 00000005 00000000 00000001 00 05 00 '{sender}' 00 01 01 '2150' 00 \
         00 00 00 00 00 00 00 00 00 00"
    ));
    let err = decode(&frame).unwrap_err();
    assert_body_error(&err, CommandStatus::ESME_RINVMSGLEN, "source_addr");
}

fn assert_body_error(err: &DecodeError, status: CommandStatus, field: &str) {
    match err {
        DecodeError::Body {
            status: s, detail, ..
        } => {
            assert_eq!(*s, status, "{err}");
            assert!(detail.contains(field), "{err}");
        }
        other => panic!("expected a body error, got {other:?}"),
    }
}

/// A malformed body: the matching response with the error status, same
/// sequence number, no body.
fn check_refused(spec: &str, status: CommandStatus, field: &str, reply: &str) {
    let err = decode(&h(spec)).unwrap_err();
    assert_body_error(&err, status, field);
    let mut out = BytesMut::new();
    encode(&err.reply().expect("a reply"), &mut out);
    assert_eq!(&out[..], &h(reply)[..], "reply to {err}");
}

#[test]
fn malformed_bodies_get_the_matching_response() {
    // submit_sm cut in the middle of service_type.
    check_refused(
        "00000012 00000004 00000000 00000003 'US'",
        CommandStatus::ESME_RINVMSGLEN,
        "service_type",
        "00000010 80000004 00000001 00000003",
    );
    // deliver_sm whose destination_addr is not terminated.
    check_refused(
        "0000001f 00000005 00000000 00000004 00 01 01 '96477' 00 00 01 '2150'",
        CommandStatus::ESME_RINVMSGLEN,
        "destination_addr",
        "00000010 80000005 00000001 00000004",
    );
    // deliver_sm whose sm_length runs past the end.
    check_refused(
        "0000002b 00000005 00000000 00000005 00 01 01 '964' 00 00 01 '2150' 00 \
         00 00 00 00 00 00 00 00 00 09 'abc'",
        CommandStatus::ESME_RINVMSGLEN,
        "short_message",
        "00000010 80000005 00000001 00000005",
    );
    // deliver_sm whose TLV length runs past the end.
    check_refused(
        "0000002d 00000005 00000000 00000006 00 01 01 '964' 00 00 01 '2150' 00 \
         00 00 00 00 00 00 00 00 00 00 0501 0009 01",
        CommandStatus::ESME_RINVPARLEN,
        "TLV length",
        "00000010 80000005 000000c2 00000006",
    );
    // deliver_sm with 2 stray bytes where a TLV header should be.
    check_refused(
        "0000002a 00000005 00000000 00000007 00 01 01 '964' 00 00 01 '2150' 00 \
         00 00 00 00 00 00 00 00 00 00 0501",
        CommandStatus::ESME_RINVPARLEN,
        "TLV header",
        "00000010 80000005 000000c2 00000007",
    );
    // bind_transceiver with a 17-character system_id.
    check_refused(
        "00000028 00000009 00000000 00000001 'abcdefghijklmnopq' 00 00 00 34 00 00 00",
        CommandStatus::ESME_RINVMSGLEN,
        "system_id",
        "00000010 80000009 00000001 00000001",
    );
    // enquire_link with a body.
    check_refused(
        "00000011 00000015 00000000 00000002 00",
        CommandStatus::ESME_RINVMSGLEN,
        "no body",
        "00000010 80000015 00000001 00000002",
    );
    // An unknown command_id, and one SMPP has but an ESME never gets.
    check_refused(
        "00000010 00000099 00000000 00000008",
        CommandStatus::ESME_RINVCMDID,
        "command_id",
        "00000010 80000000 00000003 00000008",
    );
    check_refused(
        "00000011 00000008 00000000 00000009 00",
        CommandStatus::ESME_RINVCMDID,
        "command_id",
        "00000010 80000000 00000003 00000009",
    );
}

#[test]
fn responses_are_lenient_about_their_bodies() {
    // An error response with a broken body still answers its request.
    let pdu = decode(&h("00000013 80000004 00000014 00000003 'abc'")).unwrap();
    assert_eq!(pdu.status, CommandStatus::ESME_RMSGQFUL);
    assert_eq!(
        pdu.body,
        Body::SubmitSmResp {
            message_id: String::new()
        }
    );
    // An empty body on every kind of response decodes.
    for id in [
        0x80000001u32,
        0x80000002,
        0x80000009,
        0x80000004,
        0x80000005,
        0x80000103,
        0x80000003,
    ] {
        let frame = h(&format!("00000010 {id:08x} 00000008 00000001"));
        let pdu = decode(&frame).unwrap_or_else(|e| panic!("{id:x}: {e}"));
        assert_eq!(pdu.command_id(), CommandId(id));
        assert_eq!(pdu.status, CommandStatus::ESME_RSYSERR);
    }
    // A broken body on a successful response is an error, and not answered.
    let err = decode(&h("00000013 80000004 00000000 00000003 'abc'")).unwrap_err();
    assert_body_error(&err, CommandStatus::ESME_RINVMSGLEN, "message_id");
    assert_eq!(err.reply(), None);
}

#[test]
fn framing_errors() {
    let nack = |seq: u32| Pdu::generic_nack(seq, CommandStatus::ESME_RINVCMDLEN);
    // Shorter than a header.
    let err = decode(&h("00000010 00000015 0000")).unwrap_err();
    assert!(matches!(err, DecodeError::Framing { .. }), "{err:?}");
    assert_eq!(err.reply(), Some(nack(0)));
    // command_length below 16, and one that does not match the frame.
    for spec in [
        "0000000c 00000015 00000000 00000004",
        "00000011 00000015 00000000 00000004",
    ] {
        let err = decode(&h(spec)).unwrap_err();
        assert!(matches!(err, DecodeError::Framing { .. }), "{err:?}");
        assert_eq!(err.reply(), Some(nack(4)));
    }
}

#[test]
fn stream_decoder_frames_and_carries_on_after_a_bad_body() {
    let mut codec = SmppCodec::new();
    let mut buf = BytesMut::new();
    let good = h("00000010 00000015 00000000 00000001");
    let bad = h("00000012 00000004 00000000 00000002 'US'");
    buf.extend_from_slice(&good[..10]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(&good[10..]);
    buf.extend_from_slice(&bad);
    buf.extend_from_slice(&good);
    assert_eq!(
        codec.decode(&mut buf).unwrap().unwrap().unwrap().sequence,
        1
    );
    let err = codec.decode(&mut buf).unwrap().unwrap().unwrap_err();
    assert_eq!(err.reply().unwrap().command_id(), CommandId::SUBMIT_SM_RESP);
    assert!(codec.decode(&mut buf).unwrap().unwrap().is_ok());
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(buf.is_empty());
}

#[test]
fn stream_decoder_refuses_bad_lengths_from_four_bytes() {
    let mut codec = SmppCodec::with_max_len(100);
    assert_eq!(codec.max_len(), 100);
    // Four bytes are enough to refuse, and nothing is reserved for the claim.
    let mut buf = BytesMut::from(&h("ffffffff")[..]);
    let cap = buf.capacity();
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(
        err.reply(),
        Some(Pdu::generic_nack(0, CommandStatus::ESME_RINVCMDLEN))
    );
    assert_eq!(buf.capacity(), cap);
    // Just over the cap, with the header there: the nack carries the sequence.
    let mut buf = BytesMut::from(&h("00000065 00000004 00000000 0000002a")[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(
        err.reply(),
        Some(Pdu::generic_nack(42, CommandStatus::ESME_RINVCMDLEN))
    );
    // Below the header size.
    let mut buf = BytesMut::from(&h("0000000f 00000015 00000000 00000001")[..]);
    assert!(codec.decode(&mut buf).is_err());
    // Exactly the cap is fine.
    let mut frame = h("00000064 00000004 00000000 00000001");
    frame.resize(100, 0);
    let mut buf = BytesMut::from(&frame[..]);
    assert!(codec.decode(&mut buf).unwrap().is_some());
}

#[test]
fn stream_encoder_refuses_pdus_over_the_cap() {
    let mut codec = SmppCodec::with_max_len(64);
    let mut out = BytesMut::new();
    let big = DataSm {
        tlvs: Tlvs {
            message_payload: Some(Bytes::from(vec![b'x'; 100])),
            ..Tlvs::default()
        },
        ..DataSm::default()
    };
    assert!(codec
        .encode(Pdu::new(1, Body::DataSm(big)), &mut out)
        .is_err());
    assert!(out.is_empty());
    codec
        .encode(Pdu::new(1, Body::EnquireLink), &mut out)
        .unwrap();
    assert_eq!(out.len(), 16);
}

#[test]
fn debug_output_hides_the_password() {
    let frame = h(&format!("00000023 00000009 00000000 00000001 {BIND_BODY}"));
    let pdu = decode(&frame).unwrap();
    let shown = format!("{pdu:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("***"), "{shown}");
}
