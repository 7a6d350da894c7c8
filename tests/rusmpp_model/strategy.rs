//! proptest strategies for the PDUs both codecs can represent (see
//! `mod.rs`); submit_sm, deliver_sm and data_sm come from `smpp_gen` with
//! rusmpp-sized parts.

use crate::smpp_gen;
use bawaba::smpp::pdu::{
    tag, Address, Bind, BindResp, Body, CommandStatus, DataSm, Password, Pdu, RawTlv, Sm, Tlvs,
};
use bytes::Bytes;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use rusmpp::tlvs::TlvTag;

/// An ASCII C-octet string of at most `max - 1` characters.
pub fn ascii(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[\\x01-\\x7f]{{0,{}}}", max - 1)).unwrap()
}

/// Empty, or 16 characters (an SMPP absolute or relative time).
pub fn smpp_time() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[0-9]{12}[0-9][0-4][0-9][+R-]"]
}

pub fn address(max: usize) -> impl Strategy<Value = Address> {
    (any::<u8>(), any::<u8>(), ascii(max)).prop_map(|(ton, npi, a)| Address::new(ton, npi, a))
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

/// A TLV neither codec types: a tag rusmpp does not know (so it cannot be
/// strict about it) and so neither do we.
pub fn unknown_tlv() -> impl Strategy<Value = RawTlv> {
    let tag = any::<u16>().prop_filter("a tag rusmpp does not know", |t| {
        matches!(TlvTag::from(*t), TlvTag::Other(_))
    });
    (tag, bytes(40)).prop_map(|(tag, value)| RawTlv { tag, value })
}

/// The TLVs of submit_sm / data_sm (and, with `delivery`, deliver_sm).
pub fn request_tlvs(delivery: bool) -> impl Strategy<Value = Tlvs> {
    let common = (
        of(any::<u8>()),
        of(any::<u16>()),
        of(bytes(300)),
        (of(any::<u16>()), of(any::<u8>()), of(any::<u8>())),
        of(any::<u16>()),
        (of(any::<u16>()), of(any::<u16>())),
        vec(unknown_tlv(), 0..3),
    );
    let delivery_only = if delivery {
        (of(ascii(65)), of(any::<u8>()), of(any::<[u8; 3]>())).boxed()
    } else {
        Just((None, None, None)).boxed()
    };
    (common, delivery_only).prop_map(|(c, d)| Tlvs {
        ussd_service_op: c.0,
        its_session_info: c.1,
        message_payload: c.2,
        sar_msg_ref_num: c.3 .0,
        sar_total_segments: c.3 .1,
        sar_segment_seqnum: c.3 .2,
        user_message_reference: c.4,
        receipted_message_id: d.0,
        message_state: d.1,
        network_error_code: d.2,
        source_port: c.5 .0,
        destination_port: c.5 .1,
        other: c.6,
    })
}

pub fn bind() -> impl Strategy<Value = Bind> {
    let strings = (ascii(16), ascii(9), ascii(13), ascii(41));
    (strings, any::<[u8; 3]>()).prop_map(|((id, pw, st, range), [v, ton, npi])| Bind {
        system_id: id,
        password: Password::new(pw),
        system_type: st,
        interface_version: v,
        addr_ton: ton,
        addr_npi: npi,
        address_range: range,
    })
}

pub fn bind_resp() -> impl Strategy<Value = BindResp> {
    (ascii(16), of(any::<u8>())).prop_map(|(system_id, v)| BindResp {
        system_id,
        sc_interface_version: v,
        tlvs: Tlvs::default(),
    })
}

/// The string parts of submit_sm, deliver_sm and data_sm as rusmpp takes them.
fn parts() -> smpp_gen::Parts {
    smpp_gen::Parts {
        service_type: ascii(6).boxed(),
        address: address(21).boxed(),
        time: smpp_time().boxed(),
    }
}

pub fn sm(delivery: bool) -> impl Strategy<Value = Sm> {
    smpp_gen::sm_of(&parts(), request_tlvs(delivery).boxed())
}

pub fn data_sm() -> impl Strategy<Value = DataSm> {
    smpp_gen::data_sm_of(&parts(), request_tlvs(false).boxed())
}

fn data_sm_resp_tlvs() -> impl Strategy<Value = Tlvs> {
    (of(any::<[u8; 3]>()), vec(unknown_tlv(), 0..3)).prop_map(|(code, other)| Tlvs {
        network_error_code: code,
        other,
        ..Tlvs::default()
    })
}

fn alert() -> impl Strategy<Value = Body> {
    (address(65), address(65), of(any::<u8>())).prop_map(|(source, esme, status)| {
        let other = status
            .map(|s| RawTlv {
                tag: tag::MS_AVAILABILITY_STATUS,
                value: Bytes::from(vec![s]),
            })
            .into_iter()
            .collect();
        let tlvs = Tlvs {
            other,
            ..Tlvs::default()
        };
        Body::AlertNotification { source, esme, tlvs }
    })
}

/// Every body both codecs have, inside what both can represent.
pub fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        bind().prop_map(Body::BindTransmitter),
        bind().prop_map(Body::BindReceiver),
        bind().prop_map(Body::BindTransceiver),
        bind_resp().prop_map(Body::BindTransmitterResp),
        bind_resp().prop_map(Body::BindReceiverResp),
        bind_resp().prop_map(Body::BindTransceiverResp),
        (ascii(16), ascii(9)).prop_map(|(system_id, p)| Body::Outbind {
            system_id,
            password: Password::new(p),
        }),
        Just(Body::Unbind),
        Just(Body::UnbindResp),
        Just(Body::EnquireLink),
        Just(Body::EnquireLinkResp),
        Just(Body::GenericNack),
        sm(false).prop_map(Body::SubmitSm),
        ascii(65).prop_map(|message_id| Body::SubmitSmResp { message_id }),
        sm(true).prop_map(Body::DeliverSm),
        ascii(65).prop_map(|message_id| Body::DeliverSmResp { message_id }),
        data_sm().prop_map(Body::DataSm),
        (ascii(65), data_sm_resp_tlvs())
            .prop_map(|(message_id, tlvs)| Body::DataSmResp { message_id, tlvs }),
        (ascii(65), address(21))
            .prop_map(|(message_id, source)| Body::QuerySm { message_id, source }),
        (ascii(65), smpp_time(), any::<u8>(), any::<u8>()).prop_map(|(m, f, s, e)| {
            Body::QuerySmResp {
                message_id: m,
                final_date: f,
                message_state: s,
                error_code: e,
            }
        }),
        alert(),
    ]
}

pub fn pdu() -> impl Strategy<Value = Pdu> {
    let status = prop_oneof![
        3 => Just(CommandStatus::ESME_ROK),
        1 => any::<u32>().prop_map(CommandStatus),
    ];
    (status, any::<u32>(), body()).prop_map(|(status, sequence, body)| Pdu {
        status,
        sequence,
        body,
    })
}
