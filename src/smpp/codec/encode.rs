//! Pdu -> bytes. The body is written once, generically over [`Out`], so the
//! length pass and the write pass cannot disagree.

use super::{cstring, tlv, HEADER_LEN};
use crate::smpp::pdu::{Address, Bind, BindResp, Body, DataSm, Pdu, Sm};
use bytes::{BufMut, BytesMut};

/// Where encoded fields go: a buffer, or a byte counter.
pub(super) trait Out {
    fn u8(&mut self, v: u8);
    fn u16(&mut self, v: u16);
    fn bytes(&mut self, v: &[u8]);
    fn cstr(&mut self, s: &str);
}

impl Out for BytesMut {
    fn u8(&mut self, v: u8) {
        self.put_u8(v)
    }
    fn u16(&mut self, v: u16) {
        self.put_u16(v)
    }
    fn bytes(&mut self, v: &[u8]) {
        self.put_slice(v)
    }
    fn cstr(&mut self, s: &str) {
        cstring::put(self, s)
    }
}

/// Counts what would be written.
struct Len(usize);

impl Out for Len {
    fn u8(&mut self, _: u8) {
        self.0 += 1
    }
    fn u16(&mut self, _: u16) {
        self.0 += 2
    }
    fn bytes(&mut self, v: &[u8]) {
        self.0 += v.len()
    }
    fn cstr(&mut self, s: &str) {
        self.0 += cstring::len(s)
    }
}

pub(super) fn body_len(pdu: &Pdu) -> usize {
    let mut len = Len(0);
    body(pdu, &mut len);
    len.0
}

pub(super) fn pdu(pdu: &Pdu, out: &mut BytesMut) {
    let len = HEADER_LEN + body_len(pdu);
    out.reserve(len);
    out.put_u32(len as u32);
    out.put_u32(pdu.command_id().0);
    out.put_u32(pdu.status.0);
    out.put_u32(pdu.sequence);
    body(pdu, out);
}

fn body<O: Out>(pdu: &Pdu, o: &mut O) {
    if !pdu.status.is_ok() && is_empty_response(&pdu.body) {
        return;
    }
    match &pdu.body {
        Body::BindTransmitter(b) | Body::BindReceiver(b) | Body::BindTransceiver(b) => bind(b, o),
        Body::BindTransmitterResp(r) | Body::BindReceiverResp(r) | Body::BindTransceiverResp(r) => {
            bind_resp(r, o)
        }
        Body::Outbind {
            system_id,
            password,
        } => {
            o.cstr(system_id);
            o.cstr(password.expose());
        }
        Body::Unbind
        | Body::UnbindResp
        | Body::EnquireLink
        | Body::EnquireLinkResp
        | Body::GenericNack => {}
        Body::SubmitSm(sm) | Body::DeliverSm(sm) => short_message(sm, o),
        Body::SubmitSmResp { message_id } | Body::DeliverSmResp { message_id } => {
            o.cstr(message_id)
        }
        Body::DataSm(d) => data_sm(d, o),
        Body::DataSmResp { message_id, tlvs } => {
            o.cstr(message_id);
            tlv::put(tlvs, o);
        }
        Body::QuerySm { message_id, source } => {
            o.cstr(message_id);
            address(source, o);
        }
        Body::QuerySmResp {
            message_id,
            final_date,
            message_state,
            error_code,
        } => {
            o.cstr(message_id);
            o.cstr(final_date);
            o.u8(*message_state);
            o.u8(*error_code);
        }
        Body::AlertNotification { source, esme, tlvs } => {
            address(source, o);
            address(esme, o);
            tlv::put(tlvs, o);
        }
    }
}

/// A response whose fields are all empty: with an error status it is sent
/// without a body, as SMPP 3.4 asks.
fn is_empty_response(body: &Body) -> bool {
    match body {
        Body::BindTransmitterResp(r) | Body::BindReceiverResp(r) | Body::BindTransceiverResp(r) => {
            *r == BindResp::default()
        }
        Body::SubmitSmResp { message_id } | Body::DeliverSmResp { message_id } => {
            message_id.is_empty()
        }
        Body::DataSmResp { message_id, tlvs } => message_id.is_empty() && tlvs.is_empty(),
        Body::QuerySmResp {
            message_id,
            final_date,
            message_state,
            error_code,
        } => {
            message_id.is_empty()
                && final_date.is_empty()
                && *message_state == 0
                && *error_code == 0
        }
        _ => false,
    }
}

fn address<O: Out>(a: &Address, o: &mut O) {
    o.u8(a.ton);
    o.u8(a.npi);
    o.cstr(&a.addr);
}

fn bind<O: Out>(b: &Bind, o: &mut O) {
    o.cstr(&b.system_id);
    o.cstr(b.password.expose());
    o.cstr(&b.system_type);
    o.u8(b.interface_version);
    o.u8(b.addr_ton);
    o.u8(b.addr_npi);
    o.cstr(&b.address_range);
}

fn bind_resp<O: Out>(r: &BindResp, o: &mut O) {
    o.cstr(&r.system_id);
    if let Some(v) = r.sc_interface_version {
        o.u16(crate::smpp::pdu::tag::SC_INTERFACE_VERSION);
        o.u16(1);
        o.u8(v);
    }
    tlv::put(&r.tlvs, o);
}

fn short_message<O: Out>(sm: &Sm, o: &mut O) {
    o.cstr(&sm.service_type);
    address(&sm.source, o);
    address(&sm.dest, o);
    o.u8(sm.esm_class);
    o.u8(sm.protocol_id);
    o.u8(sm.priority_flag);
    o.cstr(&sm.schedule_delivery_time);
    o.cstr(&sm.validity_period);
    o.u8(sm.registered_delivery);
    o.u8(sm.replace_if_present);
    o.u8(sm.data_coding);
    o.u8(sm.sm_default_msg_id);
    // sm_length is one octet: longer text belongs in message_payload. Past
    // 255 bytes the text is cut rather than the frame corrupted.
    let n = sm.short_message.len().min(255);
    o.u8(n as u8);
    o.bytes(&sm.short_message[..n]);
    tlv::put(&sm.tlvs, o);
}

fn data_sm<O: Out>(d: &DataSm, o: &mut O) {
    o.cstr(&d.service_type);
    address(&d.source, o);
    address(&d.dest, o);
    o.u8(d.esm_class);
    o.u8(d.registered_delivery);
    o.u8(d.data_coding);
    tlv::put(&d.tlvs, o);
}
