//! bytes -> Pdu, with nom. A parser returns a [`Fault`] naming the field
//! and the status to answer with; [`frame`] turns it into a
//! [`DecodeError`].

use super::{cstring, tlv, DecodeError, HEADER_LEN};
use crate::smpp::pdu::{
    tag, Address, Bind, BindResp, Body, CommandId, CommandStatus, DataSm, Password, Pdu, Sm,
};
use bytes::Bytes;
use nom::bytes::complete::take;
use nom::error::{context, ContextError, ErrorKind, ParseError};
use nom::number::complete::{be_u32, be_u8};
use nom::Parser;

/// What is wrong with a body, and the status that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fault {
    status: CommandStatus,
    field: &'static str,
    why: &'static str,
}

impl Fault {
    /// A mandatory field is wrong: ESME_RINVMSGLEN.
    pub fn body(field: &'static str, why: &'static str) -> Fault {
        Fault {
            status: CommandStatus::ESME_RINVMSGLEN,
            field,
            why,
        }
    }

    /// The optional part is wrong: ESME_RINVPARLEN.
    pub fn param(field: &'static str, why: &'static str) -> Fault {
        Fault {
            status: CommandStatus::ESME_RINVPARLEN,
            field,
            why,
        }
    }
}

impl ParseError<&[u8]> for Fault {
    fn from_error_kind(_: &[u8], _: ErrorKind) -> Fault {
        Fault::body("", "body ends early")
    }
    fn append(_: &[u8], _: ErrorKind, other: Fault) -> Fault {
        other
    }
}

impl ContextError<&[u8]> for Fault {
    fn add_context(_: &[u8], ctx: &'static str, mut other: Fault) -> Fault {
        if other.field.is_empty() {
            other.field = ctx;
        }
        other
    }
}

pub(super) type PResult<'a, T> = nom::IResult<&'a [u8], T, Fault>;

/// Decode one whole frame; `max` bounds command_length.
pub(super) fn frame(frame: &[u8], max: u32) -> Result<Pdu, DecodeError> {
    let framing = |length: u32, sequence: Option<u32>| DecodeError::Framing {
        length,
        frame: frame.len(),
        max,
        sequence,
    };
    let Ok((body, (length, id, status, sequence))) = header(frame) else {
        let length = frame
            .get(..4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        return Err(framing(length, None));
    };
    if length < HEADER_LEN as u32 || length > max || length as usize != frame.len() {
        return Err(framing(length, Some(sequence)));
    }
    let command_id = CommandId(id);
    let status = CommandStatus(status);
    match parse_body(command_id, body) {
        Ok(body) => Ok(Pdu {
            status,
            sequence,
            body,
        }),
        Err(fault) => match lenient_response(command_id, status, body) {
            Some(body) => Ok(Pdu {
                status,
                sequence,
                body,
            }),
            None => Err(DecodeError::Body {
                command_id,
                sequence,
                status: fault.status,
                detail: if fault.field.is_empty() {
                    fault.why.to_owned()
                } else {
                    format!("{}: {}", fault.field, fault.why)
                },
            }),
        },
    }
}

fn header(i: &[u8]) -> PResult<'_, (u32, u32, u32, u32)> {
    (be_u32, be_u32, be_u32, be_u32).parse(i)
}

/// A response with an empty body, or an error response whose body does
/// not parse, still answers its request: decode it with empty fields.
fn lenient_response(id: CommandId, status: CommandStatus, body: &[u8]) -> Option<Body> {
    if !id.is_response() || (status.is_ok() && !body.is_empty()) {
        return None;
    }
    Body::empty_response(CommandId(id.0 & !CommandId::GENERIC_NACK.0))
}

fn parse_body(id: CommandId, i: &[u8]) -> Result<Body, Fault> {
    let body = match id {
        CommandId::BIND_TRANSMITTER => Body::BindTransmitter(all(bind, i)?),
        CommandId::BIND_RECEIVER => Body::BindReceiver(all(bind, i)?),
        CommandId::BIND_TRANSCEIVER => Body::BindTransceiver(all(bind, i)?),
        CommandId::BIND_TRANSMITTER_RESP => Body::BindTransmitterResp(all(bind_resp, i)?),
        CommandId::BIND_RECEIVER_RESP => Body::BindReceiverResp(all(bind_resp, i)?),
        CommandId::BIND_TRANSCEIVER_RESP => Body::BindTransceiverResp(all(bind_resp, i)?),
        CommandId::OUTBIND => all(outbind, i)?,
        CommandId::UNBIND => empty(i, Body::Unbind)?,
        CommandId::UNBIND_RESP => empty(i, Body::UnbindResp)?,
        CommandId::ENQUIRE_LINK => empty(i, Body::EnquireLink)?,
        CommandId::ENQUIRE_LINK_RESP => empty(i, Body::EnquireLinkResp)?,
        CommandId::GENERIC_NACK => empty(i, Body::GenericNack)?,
        CommandId::SUBMIT_SM => Body::SubmitSm(all(sm, i)?),
        CommandId::DELIVER_SM => Body::DeliverSm(all(sm, i)?),
        CommandId::SUBMIT_SM_RESP => Body::SubmitSmResp {
            message_id: all(message_id_resp, i)?,
        },
        CommandId::DELIVER_SM_RESP => Body::DeliverSmResp {
            message_id: all(message_id_resp, i)?,
        },
        CommandId::DATA_SM => Body::DataSm(all(data_sm, i)?),
        CommandId::DATA_SM_RESP => all(data_sm_resp, i)?,
        CommandId::QUERY_SM => all(query_sm, i)?,
        CommandId::QUERY_SM_RESP => all(query_sm_resp, i)?,
        CommandId::ALERT_NOTIFICATION => all(alert_notification, i)?,
        _ => {
            return Err(Fault {
                status: CommandStatus::ESME_RINVCMDID,
                field: "command_id",
                why: "not supported",
            })
        }
    };
    Ok(body)
}

/// Run `p` over the whole body: bytes left over are an error.
fn all<'a, T>(p: impl Fn(&'a [u8]) -> PResult<'a, T>, i: &'a [u8]) -> Result<T, Fault> {
    match p(i) {
        Ok(([], v)) => Ok(v),
        Ok(_) => Err(Fault::body("", "bytes after the last field")),
        Err(nom::Err::Error(f) | nom::Err::Failure(f)) => Err(f),
        Err(nom::Err::Incomplete(_)) => Err(Fault::body("", "body ends early")),
    }
}

fn empty(i: &[u8], body: Body) -> Result<Body, Fault> {
    if i.is_empty() {
        Ok(body)
    } else {
        Err(Fault::body("", "this PDU has no body"))
    }
}

fn cstr(max: usize, field: &'static str) -> impl Fn(&[u8]) -> PResult<'_, String> {
    move |i| cstring::parse(i, max, field)
}

fn address(field: &'static str) -> impl Fn(&[u8]) -> PResult<'_, Address> {
    move |i| {
        let (i, ton) = context(field, be_u8).parse(i)?;
        let (i, npi) = context(field, be_u8).parse(i)?;
        let (i, addr) = cstring::parse(i, cstring::ADDR, field)?;
        Ok((i, Address { ton, npi, addr }))
    }
}

fn bind(i: &[u8]) -> PResult<'_, Bind> {
    let (i, system_id) = cstr(cstring::SYSTEM_ID, "system_id")(i)?;
    let (i, password) = cstr(cstring::PASSWORD, "password")(i)?;
    let (i, system_type) = cstr(cstring::SYSTEM_TYPE, "system_type")(i)?;
    let (i, (interface_version, addr_ton, addr_npi)) =
        context("interface_version", (be_u8, be_u8, be_u8)).parse(i)?;
    let (i, address_range) = cstr(cstring::ADDRESS_RANGE, "address_range")(i)?;
    let bind = Bind {
        system_id,
        password: Password::new(password),
        system_type,
        interface_version,
        addr_ton,
        addr_npi,
        address_range,
    };
    Ok((i, bind))
}

fn bind_resp(i: &[u8]) -> PResult<'_, BindResp> {
    let (i, system_id) = cstr(cstring::SYSTEM_ID, "system_id")(i)?;
    let (i, mut tlvs) = tlv::parse(i)?;
    let version = tlvs
        .other
        .iter()
        .position(|t| t.tag == tag::SC_INTERFACE_VERSION && t.value.len() == 1);
    let sc_interface_version = version.map(|at| tlvs.other.remove(at).value[0]);
    let resp = BindResp {
        system_id,
        sc_interface_version,
        tlvs,
    };
    Ok((i, resp))
}

fn outbind(i: &[u8]) -> PResult<'_, Body> {
    let (i, system_id) = cstr(cstring::SYSTEM_ID, "system_id")(i)?;
    let (i, password) = cstr(cstring::PASSWORD, "password")(i)?;
    let password = Password::new(password);
    Ok((
        i,
        Body::Outbind {
            system_id,
            password,
        },
    ))
}

fn sm(i: &[u8]) -> PResult<'_, Sm> {
    let (i, service_type) = cstr(cstring::SERVICE_TYPE, "service_type")(i)?;
    let (i, source) = address("source_addr")(i)?;
    let (i, dest) = address("destination_addr")(i)?;
    let (i, (esm_class, protocol_id, priority_flag)) =
        context("esm_class", (be_u8, be_u8, be_u8)).parse(i)?;
    let (i, schedule_delivery_time) = cstr(cstring::TIME, "schedule_delivery_time")(i)?;
    let (i, validity_period) = cstr(cstring::TIME, "validity_period")(i)?;
    let (i, (registered_delivery, replace_if_present, data_coding, sm_default_msg_id)) =
        context("registered_delivery", (be_u8, be_u8, be_u8, be_u8)).parse(i)?;
    let (i, sm_length) = context("sm_length", be_u8).parse(i)?;
    let (i, text) = context("short_message", take(sm_length)).parse(i)?;
    let (i, tlvs) = tlv::parse(i)?;
    let sm = Sm {
        service_type,
        source,
        dest,
        esm_class,
        protocol_id,
        priority_flag,
        schedule_delivery_time,
        validity_period,
        registered_delivery,
        replace_if_present,
        data_coding,
        sm_default_msg_id,
        short_message: Bytes::copy_from_slice(text),
        tlvs,
    };
    Ok((i, sm))
}

/// submit_sm_resp / deliver_sm_resp: SMPP 5.0 peers may add TLVs; they
/// are checked and dropped, since these bodies have no place for them.
fn message_id_resp(i: &[u8]) -> PResult<'_, String> {
    let (i, message_id) = cstr(cstring::MESSAGE_ID, "message_id")(i)?;
    let (i, _) = tlv::parse(i)?;
    Ok((i, message_id))
}

fn data_sm(i: &[u8]) -> PResult<'_, DataSm> {
    let (i, service_type) = cstr(cstring::SERVICE_TYPE, "service_type")(i)?;
    let (i, source) = address("source_addr")(i)?;
    let (i, dest) = address("destination_addr")(i)?;
    let (i, (esm_class, registered_delivery, data_coding)) =
        context("esm_class", (be_u8, be_u8, be_u8)).parse(i)?;
    let (i, tlvs) = tlv::parse(i)?;
    let data = DataSm {
        service_type,
        source,
        dest,
        esm_class,
        registered_delivery,
        data_coding,
        tlvs,
    };
    Ok((i, data))
}

fn data_sm_resp(i: &[u8]) -> PResult<'_, Body> {
    let (i, message_id) = cstr(cstring::MESSAGE_ID, "message_id")(i)?;
    let (i, tlvs) = tlv::parse(i)?;
    Ok((i, Body::DataSmResp { message_id, tlvs }))
}

fn query_sm(i: &[u8]) -> PResult<'_, Body> {
    let (i, message_id) = cstr(cstring::MESSAGE_ID, "message_id")(i)?;
    let (i, source) = address("source_addr")(i)?;
    Ok((i, Body::QuerySm { message_id, source }))
}

fn query_sm_resp(i: &[u8]) -> PResult<'_, Body> {
    let (i, message_id) = cstr(cstring::MESSAGE_ID, "message_id")(i)?;
    let (i, final_date) = cstr(cstring::TIME, "final_date")(i)?;
    let (i, (message_state, error_code)) = context("message_state", (be_u8, be_u8)).parse(i)?;
    let body = Body::QuerySmResp {
        message_id,
        final_date,
        message_state,
        error_code,
    };
    Ok((i, body))
}

fn alert_notification(i: &[u8]) -> PResult<'_, Body> {
    let (i, source) = address("source_addr")(i)?;
    let (i, esme) = address("esme_addr")(i)?;
    let (i, tlvs) = tlv::parse(i)?;
    Ok((i, Body::AlertNotification { source, esme, tlvs }))
}
