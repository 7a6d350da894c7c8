//! Optional parameters on the wire: tag (u16), length (u16), value.

use super::cstring;
use super::decode::{Fault, PResult};
use super::encode::Out;
use crate::smpp::pdu::{tag, RawTlv, Tlvs, RECEIPTED_MESSAGE_ID_MAX};
use bytes::Bytes;
use nom::number::complete::be_u16;

pub(super) fn put<O: Out>(t: &Tlvs, o: &mut O) {
    fn head<O: Out>(o: &mut O, tag: u16, len: usize) {
        o.u16(tag);
        o.u16(len as u16);
    }
    if let Some(v) = t.ussd_service_op {
        head(o, tag::USSD_SERVICE_OP, 1);
        o.u8(v);
    }
    if let Some(v) = t.its_session_info {
        head(o, tag::ITS_SESSION_INFO, 2);
        o.u16(v);
    }
    if let Some(v) = &t.message_payload {
        head(o, tag::MESSAGE_PAYLOAD, v.len());
        o.bytes(v);
    }
    if let Some(v) = t.sar_msg_ref_num {
        head(o, tag::SAR_MSG_REF_NUM, 2);
        o.u16(v);
    }
    if let Some(v) = t.sar_total_segments {
        head(o, tag::SAR_TOTAL_SEGMENTS, 1);
        o.u8(v);
    }
    if let Some(v) = t.sar_segment_seqnum {
        head(o, tag::SAR_SEGMENT_SEQNUM, 1);
        o.u8(v);
    }
    if let Some(v) = t.user_message_reference {
        head(o, tag::USER_MESSAGE_REFERENCE, 2);
        o.u16(v);
    }
    if let Some(v) = &t.receipted_message_id {
        head(o, tag::RECEIPTED_MESSAGE_ID, cstring::len(v));
        o.cstr(v);
    }
    if let Some(v) = t.message_state {
        head(o, tag::MESSAGE_STATE, 1);
        o.u8(v);
    }
    if let Some(v) = &t.network_error_code {
        head(o, tag::NETWORK_ERROR_CODE, 3);
        o.bytes(v);
    }
    if let Some(v) = t.source_port {
        head(o, tag::SOURCE_PORT, 2);
        o.u16(v);
    }
    if let Some(v) = t.destination_port {
        head(o, tag::DESTINATION_PORT, 2);
        o.u16(v);
    }
    for raw in &t.other {
        head(o, raw.tag, raw.value.len());
        o.bytes(&raw.value);
    }
}

/// Unknown TLVs kept per PDU. Real PDUs carry a handful; the bound keeps
/// what one frame can make us allocate close to its own size.
pub(super) const MAX_RAW: usize = 64;

/// Parse TLVs up to the end of `input`. Only the framing of a TLV can fail
/// (fewer than 4 bytes left, or a length past the end: ESME_RINVPARLEN);
/// its value never does.
pub(super) fn parse(mut input: &[u8]) -> PResult<'_, Tlvs> {
    let mut tlvs = Tlvs::default();
    while !input.is_empty() {
        let (rest, tag) = be_u16::<_, Fault>(input).map_err(|_| tlv_err("truncated TLV header"))?;
        let (rest, len) = be_u16::<_, Fault>(rest).map_err(|_| tlv_err("truncated TLV header"))?;
        let len = usize::from(len);
        if rest.len() < len {
            return Err(tlv_err("TLV length runs past the end of the PDU"));
        }
        let (value, rest) = rest.split_at(len);
        if !typed(&mut tlvs, tag, value) {
            if tlvs.other.len() == MAX_RAW {
                return Err(tlv_err("more than 64 unknown TLVs"));
            }
            tlvs.other.push(RawTlv {
                tag,
                value: Bytes::copy_from_slice(value),
            });
        }
        input = rest;
    }
    Ok((input, tlvs))
}

fn tlv_err(why: &'static str) -> nom::Err<Fault> {
    nom::Err::Error(Fault::param("optional parameters", why))
}

/// Store a well-formed known TLV in its slot if the slot is free.
fn typed(t: &mut Tlvs, tag: u16, v: &[u8]) -> bool {
    fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
        match value {
            Some(value) if slot.is_none() => {
                *slot = Some(value);
                true
            }
            _ => false,
        }
    }
    let u8v = || <[u8; 1]>::try_from(v).ok().map(|[b]| b);
    let u16v = || <[u8; 2]>::try_from(v).ok().map(u16::from_be_bytes);
    match tag {
        tag::USSD_SERVICE_OP => set(&mut t.ussd_service_op, u8v()),
        tag::ITS_SESSION_INFO => set(&mut t.its_session_info, u16v()),
        tag::MESSAGE_PAYLOAD => set(&mut t.message_payload, Some(Bytes::copy_from_slice(v))),
        tag::SAR_MSG_REF_NUM => set(&mut t.sar_msg_ref_num, u16v()),
        tag::SAR_TOTAL_SEGMENTS => set(&mut t.sar_total_segments, u8v()),
        tag::SAR_SEGMENT_SEQNUM => set(&mut t.sar_segment_seqnum, u8v()),
        tag::USER_MESSAGE_REFERENCE => set(&mut t.user_message_reference, u16v()),
        tag::RECEIPTED_MESSAGE_ID => set(&mut t.receipted_message_id, receipted_id(v)),
        tag::MESSAGE_STATE => set(&mut t.message_state, u8v()),
        tag::NETWORK_ERROR_CODE => set(&mut t.network_error_code, v.try_into().ok()),
        tag::SOURCE_PORT => set(&mut t.source_port, u16v()),
        tag::DESTINATION_PORT => set(&mut t.destination_port, u16v()),
        _ => false,
    }
}

/// A C-octet string with exactly one NUL, at the end; anything else stays
/// raw so it re-encodes as it came.
fn receipted_id(v: &[u8]) -> Option<String> {
    match v.split_last() {
        Some((0, text)) if v.len() <= RECEIPTED_MESSAGE_ID_MAX && !text.contains(&0) => {
            Some(cstring::latin1(text))
        }
        _ => None,
    }
}
