//! proptest strategies for every PDU body, shared by the smpp_* tests.
//! Values stay inside the SMPP field limits the decoder enforces, so that
//! encode -> decode must give back exactly what was generated.
#![allow(dead_code)]

use bawaba::smpp::pdu::{
    tag, Address, Bind, BindResp, Body, CommandStatus, DataSm, Password, Pdu, RawTlv, Sm, Tlvs,
};
use bytes::Bytes;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

/// A C-octet string of at most `max - 1` Latin-1 characters (no NUL).
pub fn cstr(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[\\x01-\\xff]{{0,{}}}", max - 1)).unwrap()
}

pub fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

pub fn address() -> impl Strategy<Value = Address> {
    (any::<u8>(), any::<u8>(), cstr(65)).prop_map(|(ton, npi, addr)| Address { ton, npi, addr })
}

/// Tags the decoder types (plus sc_interface_version, typed in bind_resp).
const KNOWN: &[(u16, usize)] = &[
    (tag::USSD_SERVICE_OP, 1),
    (tag::ITS_SESSION_INFO, 2),
    (tag::SAR_MSG_REF_NUM, 2),
    (tag::SAR_TOTAL_SEGMENTS, 1),
    (tag::SAR_SEGMENT_SEQNUM, 1),
    (tag::USER_MESSAGE_REFERENCE, 2),
    (tag::MESSAGE_STATE, 1),
    (tag::NETWORK_ERROR_CODE, 3),
    (tag::SOURCE_PORT, 2),
    (tag::DESTINATION_PORT, 2),
    (tag::SC_INTERFACE_VERSION, 1),
];

fn is_known(t: u16) -> bool {
    KNOWN.iter().any(|(k, _)| *k == t)
        || t == tag::MESSAGE_PAYLOAD
        || t == tag::RECEIPTED_MESSAGE_ID
}

/// A TLV that must stay raw: an unknown tag, or a known fixed-size tag
/// with a length that is not its size.
pub fn raw_tlv() -> impl Strategy<Value = RawTlv> {
    let unknown = (
        any::<u16>().prop_filter("unknown tag", |t| !is_known(*t)),
        bytes(40),
    )
        .prop_map(|(tag, value)| RawTlv { tag, value });
    let odd = (0..KNOWN.len(), bytes(6))
        .prop_filter("odd length", |(k, v)| KNOWN[*k].1 != v.len())
        .prop_map(|(k, value)| RawTlv {
            tag: KNOWN[k].0,
            value,
        });
    prop_oneof![unknown, odd]
}

pub fn tlvs() -> impl Strategy<Value = Tlvs> {
    let a = (
        of(any::<u8>()),
        of(any::<u16>()),
        of(bytes(300)),
        of(any::<u16>()),
        of(any::<u8>()),
        of(any::<u8>()),
    );
    let b = (
        of(any::<u16>()),
        of(cstr(65)),
        of(any::<u8>()),
        of(any::<[u8; 3]>()),
        of(any::<u16>()),
        of(any::<u16>()),
        vec(raw_tlv(), 0..4),
    );
    (a, b).prop_map(
        |((ussd, its, payload, sar_ref, sar_total, sar_seq), b)| Tlvs {
            ussd_service_op: ussd,
            its_session_info: its,
            message_payload: payload,
            sar_msg_ref_num: sar_ref,
            sar_total_segments: sar_total,
            sar_segment_seqnum: sar_seq,
            user_message_reference: b.0,
            receipted_message_id: b.1,
            message_state: b.2,
            network_error_code: b.3,
            source_port: b.4,
            destination_port: b.5,
            other: b.6,
        },
    )
}

pub fn bind() -> impl Strategy<Value = Bind> {
    (cstr(16), cstr(9), cstr(13), any::<[u8; 3]>(), cstr(41)).prop_map(
        |(system_id, password, system_type, [v, ton, npi], range)| Bind {
            system_id,
            password: Password::new(password),
            system_type,
            interface_version: v,
            addr_ton: ton,
            addr_npi: npi,
            address_range: range,
        },
    )
}

pub fn bind_resp() -> impl Strategy<Value = BindResp> {
    (cstr(16), of(any::<u8>()), tlvs()).prop_map(|(system_id, v, tlvs)| BindResp {
        system_id,
        sc_interface_version: v,
        tlvs,
    })
}

/// The string-valued parts of submit_sm / deliver_sm / data_sm, so a
/// narrower generator (rusmpp's common subset: ASCII, shorter addresses,
/// 16-character times) builds the same bodies from its own parts.
pub struct Parts {
    pub service_type: BoxedStrategy<String>,
    pub address: BoxedStrategy<Address>,
    pub time: BoxedStrategy<String>,
}

/// Ours: Latin-1 strings, addresses up to 64 characters, any time string.
pub fn parts() -> Parts {
    Parts {
        service_type: cstr(6).boxed(),
        address: address().boxed(),
        time: cstr(17).boxed(),
    }
}

pub fn sm_of(p: &Parts, tlvs: BoxedStrategy<Tlvs>) -> impl Strategy<Value = Sm> {
    let head = (p.service_type.clone(), p.address.clone(), p.address.clone());
    let times = (p.time.clone(), p.time.clone());
    let tail = (any::<[u8; 7]>(), bytes(255), tlvs);
    (head, times, tail).prop_map(|((st, source, dest), (sched, valid), t)| {
        let ([esm, pid, prio, rd, rip, dc, dflt], short_message, tlvs) = t;
        Sm {
            service_type: st,
            source,
            dest,
            esm_class: esm,
            protocol_id: pid,
            priority_flag: prio,
            schedule_delivery_time: sched,
            validity_period: valid,
            registered_delivery: rd,
            replace_if_present: rip,
            data_coding: dc,
            sm_default_msg_id: dflt,
            short_message,
            tlvs,
        }
    })
}

pub fn data_sm_of(p: &Parts, tlvs: BoxedStrategy<Tlvs>) -> impl Strategy<Value = DataSm> {
    let fields = (p.service_type.clone(), p.address.clone(), p.address.clone());
    (fields, any::<[u8; 3]>(), tlvs).prop_map(|((st, source, dest), [esm, rd, dc], tlvs)| DataSm {
        service_type: st,
        source,
        dest,
        esm_class: esm,
        registered_delivery: rd,
        data_coding: dc,
        tlvs,
    })
}

pub fn sm() -> impl Strategy<Value = Sm> {
    sm_of(&parts(), tlvs().boxed())
}

pub fn data_sm() -> impl Strategy<Value = DataSm> {
    data_sm_of(&parts(), tlvs().boxed())
}

pub fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        bind().prop_map(Body::BindTransmitter),
        bind().prop_map(Body::BindReceiver),
        bind().prop_map(Body::BindTransceiver),
        bind_resp().prop_map(Body::BindTransmitterResp),
        bind_resp().prop_map(Body::BindReceiverResp),
        bind_resp().prop_map(Body::BindTransceiverResp),
        (cstr(16), cstr(9)).prop_map(|(system_id, p)| Body::Outbind {
            system_id,
            password: Password::new(p)
        }),
        Just(Body::Unbind),
        Just(Body::UnbindResp),
        Just(Body::EnquireLink),
        Just(Body::EnquireLinkResp),
        Just(Body::GenericNack),
        sm().prop_map(Body::SubmitSm),
        cstr(65).prop_map(|message_id| Body::SubmitSmResp { message_id }),
        sm().prop_map(Body::DeliverSm),
        cstr(65).prop_map(|message_id| Body::DeliverSmResp { message_id }),
        data_sm().prop_map(Body::DataSm),
        (cstr(65), tlvs()).prop_map(|(message_id, tlvs)| Body::DataSmResp { message_id, tlvs }),
        (cstr(65), address()).prop_map(|(message_id, source)| Body::QuerySm { message_id, source }),
        (cstr(65), cstr(17), any::<u8>(), any::<u8>()).prop_map(|(m, f, s, e)| {
            Body::QuerySmResp {
                message_id: m,
                final_date: f,
                message_state: s,
                error_code: e,
            }
        }),
        (address(), address(), tlvs())
            .prop_map(|(source, esme, tlvs)| { Body::AlertNotification { source, esme, tlvs } }),
    ]
}

/// Mostly ESME_ROK, sometimes an error or a vendor code.
pub fn status() -> impl Strategy<Value = CommandStatus> {
    prop_oneof![
        3 => Just(CommandStatus::ESME_ROK),
        1 => any::<u32>().prop_map(CommandStatus),
    ]
}

pub fn pdu() -> impl Strategy<Value = Pdu> {
    (status(), any::<u32>(), body()).prop_map(|(status, sequence, body)| Pdu {
        status,
        sequence,
        body,
    })
}
