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

mod from_rusmpp;
mod strategy;
mod to_rusmpp;

pub use from_rusmpp::from_rusmpp;
pub use strategy::*;
pub use to_rusmpp::to_rusmpp;

use bytes::BytesMut;
use rusmpp::encode::owned::Encode;

/// rusmpp's own encoding of a value (a TLV value, for raw TLVs).
fn encoded(v: &impl Encode) -> Vec<u8> {
    let mut out = BytesMut::new();
    v.encode(&mut out);
    out.to_vec()
}
