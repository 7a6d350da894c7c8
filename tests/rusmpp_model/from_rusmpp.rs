//! rusmpp 0.4.0's PDU model -> ours (see `mod.rs` for the common subset).

use super::encoded;
use bawaba::smpp::pdu::{
    tag, Address, Bind, BindResp, Body, CommandId, CommandStatus, DataSm, Password, Pdu, RawTlv,
    Sm, Tlvs,
};
use bytes::Bytes;
use rusmpp::pdus::{AlertNotification, DataSm as RDataSm};
use rusmpp::tlvs::{Tlv, TlvTag, TlvValue};
use rusmpp::{Command, Pdu as RPdu};

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
            // rusmpp decodes a zero-length TLV as "no value": for
            // message_payload that is an empty payload.
            None if tlv.tag() == TlvTag::MessagePayload => {
                fill(&mut t.message_payload, Bytes::new())
            }
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
