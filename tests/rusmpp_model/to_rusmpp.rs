//! Our PDU model -> rusmpp 0.4.0's (see `mod.rs` for the common subset).

use super::encoded;
use bawaba::smpp::pdu::{tag, Address, Bind, BindResp, Body, DataSm, Pdu, RawTlv, Sm, Tlvs};
use rusmpp::pdus::{
    AlertNotification, BindReceiver, BindReceiverResp, BindTransceiver, BindTransceiverResp,
    BindTransmitter, BindTransmitterResp, DataSm as RDataSm, DataSmResp, DeliverSm, DeliverSmResp,
    Outbind, QuerySm, QuerySmResp, SubmitSm, SubmitSmResp,
};
use rusmpp::tlvs::{
    MessageDeliveryRequestTlvValue as Delivery, MessageDeliveryResponseTlvValue as DeliveryResp,
    MessageSubmissionRequestTlvValue as Submission, TlvTag, TlvValue,
};
use rusmpp::types::{AnyOctetString, COctetString, EmptyOrFullCOctetString, OctetString};
use rusmpp::values::{
    DataCoding, ErrorCodeNetworkType, EsmClass, InterfaceVersion, ItsSessionInfo, MessagePayload,
    MessageState, MsAvailabilityStatus, NetworkErrorCode, Npi, PriorityFlag, RegisteredDelivery,
    ReplaceIfPresentFlag, ServiceType, Ton, UserMessageReference, UssdServiceOp,
};
use rusmpp::{Command, Pdu as RPdu};

fn c<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
    COctetString::from_string(s.to_owned())
        .unwrap_or_else(|e| panic!("{s:?} is outside rusmpp's COctetString<{MIN}, {MAX}>: {e:?}"))
}

fn time(s: &str) -> EmptyOrFullCOctetString<17> {
    EmptyOrFullCOctetString::from_string(s.to_owned())
        .unwrap_or_else(|e| panic!("{s:?} is not empty or 16 characters: {e:?}"))
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
