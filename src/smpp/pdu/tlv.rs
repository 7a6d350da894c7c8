//! Optional parameters (TLVs). The ones the gateway acts on are typed; every
//! other TLV, and a known tag whose length is not the spec's, stays raw in
//! [`Tlvs::other`] and is re-encoded byte for byte, so one odd field from an
//! operator never costs us the message.

use bytes::Bytes;
use std::fmt;

/// SMPP 3.4 §5.3.2 tags (plus `its_session_info`, a 3.4 TLV, and
/// `sc_interface_version`, which lives in [`super::BindResp`]).
pub mod tag {
    pub const DEST_ADDR_SUBUNIT: u16 = 0x0005;
    pub const USER_MESSAGE_REFERENCE: u16 = 0x0204;
    pub const SOURCE_PORT: u16 = 0x020A;
    pub const DESTINATION_PORT: u16 = 0x020B;
    pub const SAR_MSG_REF_NUM: u16 = 0x020C;
    pub const SAR_TOTAL_SEGMENTS: u16 = 0x020E;
    pub const SAR_SEGMENT_SEQNUM: u16 = 0x020F;
    pub const SC_INTERFACE_VERSION: u16 = 0x0210;
    pub const NETWORK_ERROR_CODE: u16 = 0x0423;
    pub const MESSAGE_PAYLOAD: u16 = 0x0424;
    pub const MS_AVAILABILITY_STATUS: u16 = 0x0422;
    pub const RECEIPTED_MESSAGE_ID: u16 = 0x001E;
    pub const MESSAGE_STATE: u16 = 0x0427;
    pub const USSD_SERVICE_OP: u16 = 0x0501;
    pub const ITS_SESSION_INFO: u16 = 0x1383;
}

/// `receipted_message_id` is a C-octet string of at most 65 octets.
pub const RECEIPTED_MESSAGE_ID_MAX: usize = 65;

/// A TLV kept as it came: unknown tag, or a known tag with an odd length.
#[derive(Clone, PartialEq, Eq)]
pub struct RawTlv {
    pub tag: u16,
    pub value: Bytes,
}

impl fmt::Debug for RawTlv {
    // Values may be message text (a vendor payload): print the size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawTlv(0x{:04x}, {} bytes)", self.tag, self.value.len())
    }
}

/// The optional parameters of one PDU.
///
/// Encoding writes the typed fields in declaration order, then `other` in
/// its order. Decoding fills a typed field from the first well-formed
/// occurrence of its tag; a repeat goes to `other`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tlvs {
    pub ussd_service_op: Option<u8>,
    pub its_session_info: Option<u16>,
    pub message_payload: Option<Bytes>,
    pub sar_msg_ref_num: Option<u16>,
    pub sar_total_segments: Option<u8>,
    pub sar_segment_seqnum: Option<u8>,
    pub user_message_reference: Option<u16>,
    pub receipted_message_id: Option<String>,
    pub message_state: Option<u8>,
    pub network_error_code: Option<[u8; 3]>,
    pub source_port: Option<u16>,
    pub destination_port: Option<u16>,
    pub other: Vec<RawTlv>,
}

impl Tlvs {
    pub fn is_empty(&self) -> bool {
        *self == Tlvs::default()
    }

    /// The first raw TLV with this tag.
    pub fn raw(&self, tag: u16) -> Option<&RawTlv> {
        self.other.iter().find(|t| t.tag == tag)
    }
}

impl fmt::Debug for Tlvs {
    // Only the fields that are set; message_payload is text, so its size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Tlvs");
        macro_rules! field {
            ($name:ident) => {
                if let Some(v) = &self.$name {
                    d.field(stringify!($name), v);
                }
            };
        }
        field!(ussd_service_op);
        field!(its_session_info);
        if let Some(p) = &self.message_payload {
            d.field("message_payload", &format_args!("{} bytes", p.len()));
        }
        field!(sar_msg_ref_num);
        field!(sar_total_segments);
        field!(sar_segment_seqnum);
        field!(user_message_reference);
        field!(receipted_message_id);
        field!(message_state);
        field!(network_error_code);
        field!(source_port);
        field!(destination_port);
        if !self.other.is_empty() {
            d.field("other", &self.other);
        }
        d.finish()
    }
}
