//! Our PDU model <-> rusmpp 0.4.0's, for the PDUs and fields both can
//! represent, and proptest strategies that stay inside that common subset.
//! Shared by `smpp_rusmpp.rs` (cross-checks) and `smpp_loopback.rs`; builds
//! on `smpp_gen` (declare both modules).
//!
//! What rusmpp cannot represent, and so is left out of the common subset:
//! * Strings are ASCII only (`COctetString` refuses other bytes); ours are
//!   Latin-1. Addresses in submit_sm, deliver_sm, data_sm and query_sm are
//!   at most 20 characters in rusmpp (SMPP 3.4's 21 with the NUL); ours take
//!   64 everywhere. schedule_delivery_time, validity_period and final_date
//!   are empty or exactly 16 characters (`EmptyOrFullCOctetString<17>`).
//! * bind_resp carries only sc_interface_version, and alert_notification
//!   only ms_availability_status: no other TLVs.
//! * submit_sm_resp / deliver_sm_resp TLVs: rusmpp keeps them, our model
//!   drops them (a fixed case in smpp_rusmpp.rs covers that).
//! * A known tag with a length other than the spec's fails rusmpp's whole
//!   PDU; ours keeps it raw. Raw TLVs here use tags rusmpp does not know.
//! * submit_sm and data_sm use rusmpp's "submission request" TLV set, which
//!   has no receipted_message_id, message_state or network_error_code
//!   (delivery-side TLVs); they are generated for deliver_sm only.
#![allow(dead_code)]

use bawaba::smpp::pdu::{
    tag, Address, Bind, BindResp, Body, CommandId, CommandStatus, DataSm, Password, Pdu, RawTlv,
    Sm, Tlvs,
};
use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use rusmpp::encode::owned::Encode;
use rusmpp::pdus::{
    AlertNotification, BindReceiver, BindReceiverResp, BindTransceiver, BindTransceiverResp,
    BindTransmitter, BindTransmitterResp, DataSm as RDataSm, DataSmResp, DeliverSm, DeliverSmResp,
    Outbind, QuerySm, QuerySmResp, SubmitSm, SubmitSmResp,
};
use rusmpp::tlvs::{
    MessageDeliveryRequestTlvValue as Delivery, MessageDeliveryResponseTlvValue as DeliveryResp,
    MessageSubmissionRequestTlvValue as Submission, Tlv, TlvTag, TlvValue,
};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    DataCoding, ErrorCodeNetworkType, EsmClass, InterfaceVersion, ItsSessionInfo, MessagePayload,
    MessageState, MsAvailabilityStatus, NetworkErrorCode, Npi, PriorityFlag, RegisteredDelivery,
    ReplaceIfPresentFlag, ServiceType, Ton, UserMessageReference, UssdServiceOp,
};
use rusmpp::{Command, Pdu as RPdu};

use crate::smpp_gen;

// ---- ours -> rusmpp -------------------------------------------------------

fn c<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
    COctetString::from_string(s.to_owned())
        .unwrap_or_else(|e| panic!("{s:?} is outside rusmpp's COctetString<{MIN}, {MAX}>: {e:?}"))
}

fn time(s: &str) -> EmptyOrFullCOctetString<17> {
    EmptyOrFullCOctetString::from_string(s.to_owned())
        .unwrap_or_else(|e| panic!("{s:?} is not empty or 16 characters: {e:?}"))
}

fn encoded(v: &impl Encode) -> Vec<u8> {
    let mut out = BytesMut::new();
    v.encode(&mut out);
    out.to_vec()
}

/// Our TLVs as rusmpp values, in the order our encoder writes them.
pub fn tlv_values(t: &Tlvs) -> Vec<TlvValue> {
    let mut v = Vec::new();
    let mut push = |x: Option<TlvValue>| v.extend(x);
    push(
        t.ussd_service_op
            .map(|x| TlvValue::UssdServiceOp(UssdServiceOp::from(x))),
    );
    push(t.its_session_info.map(|x| {
        let [session, seq] = x.to_be_bytes();
        TlvValue::ItsSessionInfo(ItsSessionInfo::new(session, seq))
    }));
    push(
        t.message_payload
            .as_ref()
            .map(|x| TlvValue::MessagePayload(MessagePayload::new(AnyOctetString::from_slice(x)))),
    );
    push(t.sar_msg_ref_num.map(TlvValue::SarMsgRefNum));
    push(t.sar_total_segments.map(TlvValue::SarTotalSegments));
    push(t.sar_segment_seqnum.map(TlvValue::SarSegmentSeqnum));
    push(
        t.user_message_reference
            .map(|x| TlvValue::UserMessageReference(UserMessageReference::new(x))),
    );
    push(
        t.receipted_message_id
            .as_deref()
            .map(|x| TlvValue::ReceiptedMessageId(c(x))),
    );
    push(
        t.message_state
            .map(|x| TlvValue::MessageState(MessageState::from(x))),
    );
    push(t.network_error_code.map(|[ty, hi, lo]| {
        let code =
            NetworkErrorCode::new(ErrorCodeNetworkType::from(ty), u16::from_be_bytes([hi, lo]));
        TlvValue::NetworkErrorCode(code)
    }));
    push(t.source_port.map(TlvValue::SourcePort));
    push(t.destination_port.map(TlvValue::DestPort));
    for raw in &t.other {
        push(Some(TlvValue::Other {
            tag: TlvTag::from(raw.tag),
            value: AnyOctetString::from_slice(&raw.value),
        }));
    }
    v
}

/// rusmpp's per-PDU TLV enums: the variants an enum has map across; any
/// other value goes as `Other`, with rusmpp's own encoding of the value.
macro_rules! narrow {
    ($name:ident -> $enum:ident: $($variant:ident),*) => {
        pub fn $name(v: TlvValue) -> $enum {
            match v {
                $(TlvValue::$variant(x) => $enum::$variant(x),)*
                TlvValue::Other { tag, value } => $enum::Other { tag, value },
                other => $enum::Other {
                    tag: other.tag(),
                    value: AnyOctetString::from_vec(encoded(&other)),
                },
            }
        }
    };
}

narrow!(submission -> Submission: UssdServiceOp, ItsSessionInfo, MessagePayload, SarMsgRefNum,
    SarTotalSegments, SarSegmentSeqnum, UserMessageReference, SourcePort, DestPort);
narrow!(delivery -> Delivery: UssdServiceOp, ItsSessionInfo, MessagePayload, SarMsgRefNum,
    SarTotalSegments, SarSegmentSeqnum, UserMessageReference, ReceiptedMessageId, MessageState,
    NetworkErrorCode, SourcePort, DestPort);
narrow!(delivery_resp -> DeliveryResp: NetworkErrorCode);

macro_rules! bind_to {
    ($ty:ident, $b:expr) => {{
        let b: &Bind = $b;
        $ty {
            system_id: c(&b.system_id),
            password: c(b.password.expose()),
            system_type: c(&b.system_type),
            interface_version: InterfaceVersion::from(b.interface_version),
            addr_ton: Ton::from(b.addr_ton),
            addr_npi: Npi::from(b.addr_npi),
            address_range: c(&b.address_range),
        }
    }};
}

fn bind_resp_to(r: &BindResp) -> (COctetString<1, 16>, Option<InterfaceVersion>) {
    assert!(
        r.tlvs.is_empty(),
        "rusmpp's bind_resp has room for sc_interface_version only"
    );
    (
        c(&r.system_id),
        r.sc_interface_version.map(InterfaceVersion::from),
    )
}

/// submit_sm and deliver_sm have the same builder methods.
macro_rules! sm_to {
    ($ty:ident, $sm:expr, $narrow:ident) => {{
        let sm: &Sm = $sm;
        $ty::builder()
            .service_type(ServiceType::new(c(&sm.service_type)))
            .source_addr_ton(Ton::from(sm.source.ton))
            .source_addr_npi(Npi::from(sm.source.npi))
            .source_addr(c(&sm.source.addr))
            .dest_addr_ton(Ton::from(sm.dest.ton))
            .dest_addr_npi(Npi::from(sm.dest.npi))
            .destination_addr(c(&sm.dest.addr))
            .esm_class(EsmClass::from(sm.esm_class))
            .protocol_id(sm.protocol_id)
            .priority_flag(PriorityFlag::from(sm.priority_flag))
            .schedule_delivery_time(time(&sm.schedule_delivery_time))
            .validity_period(time(&sm.validity_period))
            .registered_delivery(RegisteredDelivery::from(sm.registered_delivery))
            .replace_if_present_flag(ReplaceIfPresentFlag::from(sm.replace_if_present))
            .data_coding(DataCoding::from(sm.data_coding))
            .sm_default_msg_id(sm.sm_default_msg_id)
            .short_message(OctetString::from_slice(&sm.short_message).expect("at most 255 octets"))
            .tlvs(tlv_values(&sm.tlvs).into_iter().map($narrow).collect())
            .build()
    }};
}

fn data_sm_to(d: &DataSm) -> RDataSm {
    RDataSm::builder()
        .service_type(ServiceType::new(c(&d.service_type)))
        .source_addr_ton(Ton::from(d.source.ton))
        .source_addr_npi(Npi::from(d.source.npi))
        .source_addr(c(&d.source.addr))
        .dest_addr_ton(Ton::from(d.dest.ton))
        .dest_addr_npi(Npi::from(d.dest.npi))
        .destination_addr(c(&d.dest.addr))
        .esm_class(EsmClass::from(d.esm_class))
        .registered_delivery(RegisteredDelivery::from(d.registered_delivery))
        .data_coding(DataCoding::from(d.data_coding))
        .tlvs(tlv_values(&d.tlvs).into_iter().map(submission).collect())
        .build()
}

fn alert_to(source: &Address, esme: &Address, tlvs: &Tlvs) -> AlertNotification {
    let status = match tlvs.other.as_slice() {
        [] => None,
        [RawTlv {
            tag: tag::MS_AVAILABILITY_STATUS,
            value,
        }] if value.len() == 1 => Some(MsAvailabilityStatus::from(value[0])),
        other => panic!("rusmpp's alert_notification takes ms_availability_status only: {other:?}"),
    };
    let typed = Tlvs {
        other: Vec::new(),
        ..tlvs.clone()
    };
    assert!(
        typed.is_empty(),
        "rusmpp's alert_notification takes ms_availability_status only"
    );
    AlertNotification::new(
        Ton::from(source.ton),
        Npi::from(source.npi),
        c(&source.addr),
        Ton::from(esme.ton),
        Npi::from(esme.npi),
        c(&esme.addr),
        status,
    )
}

/// Our PDU as a rusmpp command. Panics outside the common subset.
pub fn to_rusmpp(pdu: &Pdu) -> Command {
    let body = match &pdu.body {
        Body::BindTransmitter(b) => RPdu::BindTransmitter(bind_to!(BindTransmitter, b)),
        Body::BindReceiver(b) => RPdu::BindReceiver(bind_to!(BindReceiver, b)),
        Body::BindTransceiver(b) => RPdu::BindTransceiver(bind_to!(BindTransceiver, b)),
        Body::BindTransmitterResp(r) => {
            let (id, v) = bind_resp_to(r);
            RPdu::BindTransmitterResp(BindTransmitterResp::new(id, v))
        }
        Body::BindReceiverResp(r) => {
            let (id, v) = bind_resp_to(r);
            RPdu::BindReceiverResp(BindReceiverResp::new(id, v))
        }
        Body::BindTransceiverResp(r) => {
            let (id, v) = bind_resp_to(r);
            RPdu::BindTransceiverResp(BindTransceiverResp::new(id, v))
        }
        Body::Outbind {
            system_id,
            password,
        } => RPdu::Outbind(Outbind::new(c(system_id), c(password.expose()))),
        Body::Unbind => RPdu::Unbind,
        Body::UnbindResp => RPdu::UnbindResp,
        Body::EnquireLink => RPdu::EnquireLink,
        Body::EnquireLinkResp => RPdu::EnquireLinkResp,
        Body::GenericNack => RPdu::GenericNack,
        Body::SubmitSm(sm) => RPdu::SubmitSm(sm_to!(SubmitSm, sm, submission)),
        Body::SubmitSmResp { message_id } => {
            RPdu::SubmitSmResp(SubmitSmResp::new(c(message_id), Vec::new()))
        }
        Body::DeliverSm(sm) => RPdu::DeliverSm(sm_to!(DeliverSm, sm, delivery)),
        Body::DeliverSmResp { message_id } => {
            RPdu::DeliverSmResp(DeliverSmResp::new(c(message_id), Vec::new()))
        }
        Body::DataSm(d) => RPdu::DataSm(data_sm_to(d)),
        Body::DataSmResp { message_id, tlvs } => RPdu::DataSmResp(DataSmResp::new(
            c(message_id),
            tlv_values(tlvs).into_iter().map(delivery_resp).collect(),
        )),
        Body::QuerySm { message_id, source } => RPdu::QuerySm(QuerySm::new(
            c(message_id),
            Ton::from(source.ton),
            Npi::from(source.npi),
            c(&source.addr),
        )),
        Body::QuerySmResp {
            message_id,
            final_date,
            message_state,
            error_code,
        } => RPdu::QuerySmResp(QuerySmResp::new(
            c(message_id),
            time(final_date),
            MessageState::from(*message_state),
            *error_code,
        )),
        Body::AlertNotification { source, esme, tlvs } => {
            RPdu::AlertNotification(alert_to(source, esme, tlvs))
        }
    };
    Command::new(
        rusmpp::CommandStatus::from(pdu.status.0),
        pdu.sequence,
        body,
    )
}

// ---- rusmpp -> ours -------------------------------------------------------

fn fill<T>(slot: &mut Option<T>, value: T) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(value);
    true
}

/// rusmpp's decoded TLVs in our model: the ones we type into their slots
/// (the first of each), every other one raw with rusmpp's encoding of it.
pub fn tlvs_from<'a>(list: impl IntoIterator<Item = &'a Tlv>) -> Tlvs {
    let mut t = Tlvs::default();
    for tlv in list {
        let typed = match tlv.value() {
            Some(TlvValue::UssdServiceOp(x)) => fill(&mut t.ussd_service_op, u8::from(*x)),
            Some(TlvValue::ItsSessionInfo(x)) => fill(
                &mut t.its_session_info,
                u16::from_be_bytes([x.session_number, x.sequence_number]),
            ),
            Some(TlvValue::MessagePayload(x)) => {
                fill(&mut t.message_payload, Bytes::copy_from_slice(&x.value))
            }
            Some(TlvValue::SarMsgRefNum(x)) => fill(&mut t.sar_msg_ref_num, *x),
            Some(TlvValue::SarTotalSegments(x)) => fill(&mut t.sar_total_segments, *x),
            Some(TlvValue::SarSegmentSeqnum(x)) => fill(&mut t.sar_segment_seqnum, *x),
            Some(TlvValue::UserMessageReference(x)) => {
                fill(&mut t.user_message_reference, u16::from(*x))
            }
            Some(TlvValue::ReceiptedMessageId(x)) => {
                fill(&mut t.receipted_message_id, x.as_str().to_owned())
            }
            Some(TlvValue::MessageState(x)) => fill(&mut t.message_state, u8::from(*x)),
            Some(TlvValue::NetworkErrorCode(x)) => {
                let [hi, lo] = x.error_code.to_be_bytes();
                fill(
                    &mut t.network_error_code,
                    [u8::from(x.network_type), hi, lo],
                )
            }
            Some(TlvValue::SourcePort(x)) => fill(&mut t.source_port, *x),
            Some(TlvValue::DestPort(x)) => fill(&mut t.destination_port, *x),
            _ => false,
        };
        if !typed {
            let value = tlv.value().map(encoded).unwrap_or_default();
            t.other.push(RawTlv {
                tag: u16::from(tlv.tag()),
                value: Bytes::from(value),
            });
        }
    }
    t
}

fn address_from(ton: impl Into<u8>, npi: impl Into<u8>, addr: &str) -> Address {
    Address::new(ton.into(), npi.into(), addr)
}

macro_rules! bind_from {
    ($b:expr) => {{
        let b = $b;
        Bind {
            system_id: b.system_id.as_str().to_owned(),
            password: Password::new(b.password.as_str()),
            system_type: b.system_type.as_str().to_owned(),
            interface_version: u8::from(b.interface_version),
            addr_ton: u8::from(b.addr_ton),
            addr_npi: u8::from(b.addr_npi),
            address_range: b.address_range.as_str().to_owned(),
        }
    }};
}

macro_rules! bind_resp_from {
    ($r:expr) => {{
        let r = $r;
        BindResp {
            system_id: r.system_id.as_str().to_owned(),
            sc_interface_version: r.sc_interface_version().map(u8::from),
            tlvs: Tlvs::default(),
        }
    }};
}

macro_rules! sm_from {
    ($s:expr) => {{
        let s = $s;
        Sm {
            service_type: s.service_type.value().as_str().to_owned(),
            source: address_from(s.source_addr_ton, s.source_addr_npi, s.source_addr.as_str()),
            dest: address_from(
                s.dest_addr_ton,
                s.dest_addr_npi,
                s.destination_addr.as_str(),
            ),
            esm_class: u8::from(s.esm_class),
            protocol_id: s.protocol_id,
            priority_flag: u8::from(s.priority_flag),
            schedule_delivery_time: s.schedule_delivery_time.as_str().to_owned(),
            validity_period: s.validity_period.as_str().to_owned(),
            registered_delivery: u8::from(s.registered_delivery),
            replace_if_present: u8::from(s.replace_if_present_flag),
            data_coding: u8::from(s.data_coding),
            sm_default_msg_id: s.sm_default_msg_id,
            short_message: Bytes::copy_from_slice(s.short_message()),
            tlvs: tlvs_from(s.tlvs()),
        }
    }};
}

fn data_sm_from(d: &RDataSm) -> DataSm {
    DataSm {
        service_type: d.service_type.value().as_str().to_owned(),
        source: address_from(d.source_addr_ton, d.source_addr_npi, d.source_addr.as_str()),
        dest: address_from(
            d.dest_addr_ton,
            d.dest_addr_npi,
            d.destination_addr.as_str(),
        ),
        esm_class: u8::from(d.esm_class),
        registered_delivery: u8::from(d.registered_delivery),
        data_coding: u8::from(d.data_coding),
        tlvs: tlvs_from(d.tlvs()),
    }
}

fn alert_from(a: &AlertNotification) -> Body {
    let tlvs = Tlvs {
        other: a
            .ms_availability_status()
            .map(|s| RawTlv {
                tag: tag::MS_AVAILABILITY_STATUS,
                value: Bytes::from(vec![u8::from(s)]),
            })
            .into_iter()
            .collect(),
        ..Tlvs::default()
    };
    Body::AlertNotification {
        source: address_from(a.source_addr_ton, a.source_addr_npi, a.source_addr.as_str()),
        esme: address_from(a.esme_addr_ton, a.esme_addr_npi, a.esme_addr.as_str()),
        tlvs,
    }
}

/// A rusmpp command in our model. A response rusmpp decoded without a
/// body (an error response) becomes our empty response, as our decoder
/// does. Panics on PDUs outside the common subset.
pub fn from_rusmpp(cmd: &Command) -> Pdu {
    let id = CommandId(u32::from(cmd.id()));
    let body = match cmd.pdu() {
        None => Body::empty_response(CommandId(id.0 & 0x7fff_ffff))
            .unwrap_or_else(|| panic!("{id} without a body")),
        Some(RPdu::BindTransmitter(b)) => Body::BindTransmitter(bind_from!(b)),
        Some(RPdu::BindReceiver(b)) => Body::BindReceiver(bind_from!(b)),
        Some(RPdu::BindTransceiver(b)) => Body::BindTransceiver(bind_from!(b)),
        Some(RPdu::BindTransmitterResp(r)) => Body::BindTransmitterResp(bind_resp_from!(r)),
        Some(RPdu::BindReceiverResp(r)) => Body::BindReceiverResp(bind_resp_from!(r)),
        Some(RPdu::BindTransceiverResp(r)) => Body::BindTransceiverResp(bind_resp_from!(r)),
        Some(RPdu::Outbind(o)) => Body::Outbind {
            system_id: o.system_id.as_str().to_owned(),
            password: Password::new(o.password.as_str()),
        },
        Some(RPdu::Unbind) => Body::Unbind,
        Some(RPdu::UnbindResp) => Body::UnbindResp,
        Some(RPdu::EnquireLink) => Body::EnquireLink,
        Some(RPdu::EnquireLinkResp) => Body::EnquireLinkResp,
        Some(RPdu::GenericNack) => Body::GenericNack,
        Some(RPdu::SubmitSm(s)) => Body::SubmitSm(sm_from!(s)),
        Some(RPdu::DeliverSm(s)) => Body::DeliverSm(sm_from!(s)),
        // Our model has no place for TLVs on these two: they are dropped.
        Some(RPdu::SubmitSmResp(r)) => Body::SubmitSmResp {
            message_id: r.message_id().as_str().to_owned(),
        },
        Some(RPdu::DeliverSmResp(r)) => Body::DeliverSmResp {
            message_id: r.message_id().as_str().to_owned(),
        },
        Some(RPdu::DataSm(d)) => Body::DataSm(data_sm_from(d)),
        Some(RPdu::DataSmResp(r)) => Body::DataSmResp {
            message_id: r.message_id().as_str().to_owned(),
            tlvs: tlvs_from(r.tlvs()),
        },
        Some(RPdu::QuerySm(q)) => Body::QuerySm {
            message_id: q.message_id.as_str().to_owned(),
            source: address_from(q.source_addr_ton, q.source_addr_npi, q.source_addr.as_str()),
        },
        Some(RPdu::QuerySmResp(q)) => Body::QuerySmResp {
            message_id: q.message_id.as_str().to_owned(),
            final_date: q.final_date.as_str().to_owned(),
            message_state: u8::from(q.message_state),
            error_code: q.error_code,
        },
        Some(RPdu::AlertNotification(a)) => alert_from(a),
        Some(other) => panic!("outside the common subset: {other:?}"),
    };
    Pdu {
        status: CommandStatus(u32::from(cmd.status())),
        sequence: cmd.sequence_number(),
        body,
    }
}

// ---- strategies for the common subset ------------------------------------

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
