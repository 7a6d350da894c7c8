//! SMPP 3.4 PDU types: header fields, the bodies an ESME sends or meets, and
//! their optional TLVs.
//!
//! Owns: the data model only. Must not: do I/O, know about sockets or the
//! bind state machine (that is `session`), or encode/decode bytes (that is
//! [`super::codec`]). Field sizes are not enforced here; the decoder enforces
//! the SMPP maximums on input, and senders keep within them on output.
//!
//! `Debug` never shows secrets or message text: passwords print `***`,
//! short messages and payloads print their size, addresses are masked
//! like MSISDNs in logs.

mod ids;
mod tlv;

pub use ids::{CommandId, CommandStatus};
pub use tlv::{tag, RawTlv, Tlvs, RECEIPTED_MESSAGE_ID_MAX};

use bytes::Bytes;
use std::fmt;

/// SMPP 3.4 `interface_version` (0x34).
pub const SMPP_3_4: u8 = 0x34;

/// A type-of-number / numbering-plan / address triple.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub ton: u8,
    pub npi: u8,
    pub addr: String,
}

impl Address {
    pub fn new(ton: u8, npi: u8, addr: impl Into<String>) -> Address {
        Address {
            ton,
            npi,
            addr: addr.into(),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Address({}/{} {})",
            self.ton,
            self.npi,
            crate::msisdn::mask(&self.addr)
        )
    }
}

/// A bind or outbind password. `Debug` prints `***`; there is no `Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(secret: impl Into<String>) -> Password {
        Password(secret.into())
    }

    /// The secret itself, for the encoder and for checking a bind.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Password {
        Password(s.to_owned())
    }
}

impl From<String> for Password {
    fn from(s: String) -> Password {
        Password(s)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The body of bind_transmitter / bind_receiver / bind_transceiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub system_id: String,
    pub password: Password,
    pub system_type: String,
    pub interface_version: u8,
    pub addr_ton: u8,
    pub addr_npi: u8,
    pub address_range: String,
}

impl Default for Bind {
    fn default() -> Bind {
        Bind {
            system_id: String::new(),
            password: Password::default(),
            system_type: String::new(),
            interface_version: SMPP_3_4,
            addr_ton: 0,
            addr_npi: 0,
            address_range: String::new(),
        }
    }
}

/// The body of the three bind responses. `sc_interface_version` is the
/// TLV 0x0210; other TLVs are in `tlvs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BindResp {
    pub system_id: String,
    pub sc_interface_version: Option<u8>,
    pub tlvs: Tlvs,
}

/// submit_sm and deliver_sm share this body (SMPP 3.4 §4.4.1, §4.6.1).
/// `Default` is esm_class 0 (not rusmpp's 0x08) and everything empty.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Sm {
    pub service_type: String,
    pub source: Address,
    pub dest: Address,
    pub esm_class: u8,
    pub protocol_id: u8,
    pub priority_flag: u8,
    pub schedule_delivery_time: String,
    pub validity_period: String,
    pub registered_delivery: u8,
    pub replace_if_present: u8,
    pub data_coding: u8,
    pub sm_default_msg_id: u8,
    pub short_message: Bytes,
    pub tlvs: Tlvs,
}

impl fmt::Debug for Sm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm")
            .field("service_type", &self.service_type)
            .field("source", &self.source)
            .field("dest", &self.dest)
            .field("esm_class", &format_args!("0x{:02x}", self.esm_class))
            .field("protocol_id", &self.protocol_id)
            .field("priority_flag", &self.priority_flag)
            .field("schedule_delivery_time", &self.schedule_delivery_time)
            .field("validity_period", &self.validity_period)
            .field("registered_delivery", &self.registered_delivery)
            .field("replace_if_present", &self.replace_if_present)
            .field("data_coding", &format_args!("0x{:02x}", self.data_coding))
            .field("sm_default_msg_id", &self.sm_default_msg_id)
            .field(
                "short_message",
                &format_args!("{} bytes", self.short_message.len()),
            )
            .field("tlvs", &self.tlvs)
            .finish()
    }
}

/// The body of data_sm (SMPP 3.4 §4.7.1): the text travels in
/// `tlvs.message_payload`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataSm {
    pub service_type: String,
    pub source: Address,
    pub dest: Address,
    pub esm_class: u8,
    pub registered_delivery: u8,
    pub data_coding: u8,
    pub tlvs: Tlvs,
}

/// Every PDU an ESME sends or meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    BindTransmitter(Bind),
    BindReceiver(Bind),
    BindTransceiver(Bind),
    BindTransmitterResp(BindResp),
    BindReceiverResp(BindResp),
    BindTransceiverResp(BindResp),
    Outbind {
        system_id: String,
        password: Password,
    },
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm(Sm),
    /// An error response may come without a body: `message_id` is then "".
    SubmitSmResp {
        message_id: String,
    },
    DeliverSm(Sm),
    DeliverSmResp {
        message_id: String,
    },
    DataSm(DataSm),
    DataSmResp {
        message_id: String,
        tlvs: Tlvs,
    },
    QuerySm {
        message_id: String,
        source: Address,
    },
    QuerySmResp {
        message_id: String,
        final_date: String,
        message_state: u8,
        error_code: u8,
    },
    AlertNotification {
        source: Address,
        esme: Address,
        tlvs: Tlvs,
    },
}

impl Body {
    pub fn command_id(&self) -> CommandId {
        match self {
            Body::BindTransmitter(_) => CommandId::BIND_TRANSMITTER,
            Body::BindReceiver(_) => CommandId::BIND_RECEIVER,
            Body::BindTransceiver(_) => CommandId::BIND_TRANSCEIVER,
            Body::BindTransmitterResp(_) => CommandId::BIND_TRANSMITTER_RESP,
            Body::BindReceiverResp(_) => CommandId::BIND_RECEIVER_RESP,
            Body::BindTransceiverResp(_) => CommandId::BIND_TRANSCEIVER_RESP,
            Body::Outbind { .. } => CommandId::OUTBIND,
            Body::Unbind => CommandId::UNBIND,
            Body::UnbindResp => CommandId::UNBIND_RESP,
            Body::EnquireLink => CommandId::ENQUIRE_LINK,
            Body::EnquireLinkResp => CommandId::ENQUIRE_LINK_RESP,
            Body::GenericNack => CommandId::GENERIC_NACK,
            Body::SubmitSm(_) => CommandId::SUBMIT_SM,
            Body::SubmitSmResp { .. } => CommandId::SUBMIT_SM_RESP,
            Body::DeliverSm(_) => CommandId::DELIVER_SM,
            Body::DeliverSmResp { .. } => CommandId::DELIVER_SM_RESP,
            Body::DataSm(_) => CommandId::DATA_SM,
            Body::DataSmResp { .. } => CommandId::DATA_SM_RESP,
            Body::QuerySm { .. } => CommandId::QUERY_SM,
            Body::QuerySmResp { .. } => CommandId::QUERY_SM_RESP,
            Body::AlertNotification { .. } => CommandId::ALERT_NOTIFICATION,
        }
    }

    /// The response body with every field empty, for a request id this
    /// model knows (`None` for responses, outbind and alert_notification,
    /// which get no response, and for ids outside the model). An error
    /// response is sent this way: the encoder then writes no body.
    pub fn empty_response(request: CommandId) -> Option<Body> {
        let body = match request {
            CommandId::BIND_TRANSMITTER => Body::BindTransmitterResp(BindResp::default()),
            CommandId::BIND_RECEIVER => Body::BindReceiverResp(BindResp::default()),
            CommandId::BIND_TRANSCEIVER => Body::BindTransceiverResp(BindResp::default()),
            CommandId::UNBIND => Body::UnbindResp,
            CommandId::ENQUIRE_LINK => Body::EnquireLinkResp,
            CommandId::SUBMIT_SM => Body::SubmitSmResp {
                message_id: String::new(),
            },
            CommandId::DELIVER_SM => Body::DeliverSmResp {
                message_id: String::new(),
            },
            CommandId::DATA_SM => Body::DataSmResp {
                message_id: String::new(),
                tlvs: Tlvs::default(),
            },
            CommandId::QUERY_SM => Body::QuerySmResp {
                message_id: String::new(),
                final_date: String::new(),
                message_state: 0,
                error_code: 0,
            },
            _ => return None,
        };
        Some(body)
    }
}

/// One PDU: the header fields that are not derived (`command_length` and
/// `command_id` come from the body) and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdu {
    pub status: CommandStatus,
    pub sequence: u32,
    pub body: Body,
}

impl Pdu {
    /// A PDU with status ESME_ROK.
    pub fn new(sequence: u32, body: Body) -> Pdu {
        Pdu {
            status: CommandStatus::ESME_ROK,
            sequence,
            body,
        }
    }

    pub fn command_id(&self) -> CommandId {
        self.body.command_id()
    }

    /// generic_nack with this status and sequence number.
    pub fn generic_nack(sequence: u32, status: CommandStatus) -> Pdu {
        Pdu {
            status,
            sequence,
            body: Body::GenericNack,
        }
    }

    /// The bodiless response to `request` with `status` (typically an
    /// error), on the same sequence number; generic_nack when the request
    /// has no response of its own in this model. `None` for a response or
    /// for outbind / alert_notification, which are never answered.
    pub fn error_response(request: CommandId, sequence: u32, status: CommandStatus) -> Option<Pdu> {
        if request.is_response()
            || request == CommandId::OUTBIND
            || request == CommandId::ALERT_NOTIFICATION
        {
            return None;
        }
        let body = Body::empty_response(request).unwrap_or(Body::GenericNack);
        Some(Pdu {
            status,
            sequence,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_password_and_text() {
        let bind = Bind {
            system_id: "gw".into(),
            password: Password::new("s3cret"),
            ..Bind::default()
        };
        let shown = format!("{bind:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("***"), "{shown}");

        let sm = Sm {
            source: Address::new(1, 1, "9647701234567"),
            short_message: Bytes::from_static(b"PIN 4321"),
            ..Sm::default()
        };
        let shown = format!("{sm:?}");
        assert!(!shown.contains("4321"), "{shown}");
        assert!(!shown.contains("9647701234567"), "{shown}");
        assert!(shown.contains("8 bytes"), "{shown}");
    }

    #[test]
    fn error_responses() {
        let r =
            Pdu::error_response(CommandId::SUBMIT_SM, 7, CommandStatus::ESME_RINVMSGLEN).unwrap();
        assert_eq!(r.command_id(), CommandId::SUBMIT_SM_RESP);
        assert_eq!(r.sequence, 7);
        let r =
            Pdu::error_response(CommandId::CANCEL_SM, 8, CommandStatus::ESME_RINVMSGLEN).unwrap();
        assert_eq!(r.command_id(), CommandId::GENERIC_NACK);
        assert!(
            Pdu::error_response(CommandId::SUBMIT_SM_RESP, 1, CommandStatus::ESME_RSYSERR)
                .is_none()
        );
        assert!(Pdu::error_response(CommandId::OUTBIND, 1, CommandStatus::ESME_RSYSERR).is_none());
    }
}
