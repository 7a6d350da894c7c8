//! What of a PDU may reach the log: its header, and for a bind who binds, never the
//! password; no other body (numbers, message text). The session logs every PDU it
//! receives and sends through [`Redacted`], never through rusmpp's own `Debug`, which prints
//! a bind's password in clear (and `bawaba demo` runs this SMSC inside the gateway, so its
//! log is the gateway's log). bind_transmitter, bind_receiver, bind_transceiver and outbind
//! are the PDUs that carry one in SMPP 3.4 and 5.0. No I/O.

use std::fmt;

use rusmpp::{Command, Pdu};

/// A command as the log may show it: `Debug` prints `password: "***"`.
pub(crate) struct Redacted<'a>(pub &'a Command);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cmd = self.0;
        let mut out = f.debug_struct("Command");
        out.field("id", &cmd.id())
            .field("status", &cmd.status())
            .field("sequence_number", &cmd.sequence_number());
        // Binds show who binds; other bodies (numbers, message text) stay out
        // of the log: `bawaba demo` logs as the gateway, which masks numbers.
        match cmd.pdu().and_then(SecretBody::of) {
            Some(body) => out.field("pdu", &body).finish(),
            None => out.finish_non_exhaustive(),
        }
    }
}

/// The body of a PDU that carries a password.
struct SecretBody<'a>(&'a Pdu);

impl<'a> SecretBody<'a> {
    fn of(pdu: &'a Pdu) -> Option<Self> {
        matches!(
            pdu,
            Pdu::BindTransmitter(_)
                | Pdu::BindReceiver(_)
                | Pdu::BindTransceiver(_)
                | Pdu::Outbind(_)
        )
        .then_some(Self(pdu))
    }
}

impl fmt::Debug for SecretBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The three binds are distinct types with the same fields.
        macro_rules! bind {
            ($name:literal, $b:expr) => {
                f.debug_struct($name)
                    .field("system_id", &$b.system_id.as_str())
                    .field("password", &"***")
                    .field("system_type", &$b.system_type.as_str())
                    .field("interface_version", &$b.interface_version)
                    .field("addr_ton", &$b.addr_ton)
                    .field("addr_npi", &$b.addr_npi)
                    .field("address_range", &$b.address_range.as_str())
                    .finish()
            };
        }
        match self.0 {
            Pdu::BindTransmitter(b) => bind!("BindTransmitter", b),
            Pdu::BindReceiver(b) => bind!("BindReceiver", b),
            Pdu::BindTransceiver(b) => bind!("BindTransceiver", b),
            Pdu::Outbind(o) => f
                .debug_struct("Outbind")
                .field("system_id", &o.system_id.as_str())
                .field("password", &"***")
                .finish(),
            // `SecretBody::of` admits no other PDU.
            other => fmt::Debug::fmt(other, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusmpp::pdus::{BindReceiver, BindTransceiver, BindTransmitter, Outbind};
    use rusmpp::types::COctetString;
    use rusmpp::values::InterfaceVersion;
    use rusmpp::CommandStatus;

    fn cstr<const MIN: usize, const MAX: usize>(s: &str) -> COctetString<MIN, MAX> {
        COctetString::from_string(s.to_owned()).unwrap()
    }

    fn logged(pdu: impl Into<Pdu>) -> String {
        format!(
            "{:?}",
            Redacted(&Command::new(CommandStatus::EsmeRok, 7, pdu))
        )
    }

    #[test]
    fn binds_and_outbind_print_no_password() {
        macro_rules! bind {
            ($t:ident) => {
                $t::builder()
                    .system_id(cstr("gw-id"))
                    .password(cstr("Pw0rd!x"))
                    .system_type(cstr("USSD"))
                    .interface_version(InterfaceVersion::Smpp3_4)
                    .address_range(cstr("123"))
                    .build()
            };
        }
        let outbind = Outbind::new(cstr("gw-id"), cstr("Pw0rd!x"));
        for text in [
            logged(bind!(BindTransmitter)),
            logged(bind!(BindReceiver)),
            logged(bind!(BindTransceiver)),
            logged(outbind),
        ] {
            assert!(!text.contains("Pw0rd!x"), "{text}");
            // rusmpp's COctetString Debug also prints the bytes: "Pw0" is 50, 77, 30.
            assert!(!text.contains("50, 77, 30"), "{text}");
            assert!(text.contains("password: \"***\""), "{text}");
            assert!(text.contains("\"gw-id\""), "{text}");
            assert!(text.contains("sequence_number: 7"), "{text}");
        }
        assert!(logged(bind!(BindTransceiver)).contains("system_type: \"USSD\""));
        assert!(logged(bind!(BindTransceiver)).contains("Smpp3_4"));
    }

    #[test]
    fn other_pdus_print_their_header_only() {
        let cmd = Command::new(CommandStatus::EsmeRok, 3, Pdu::EnquireLink);
        let text = format!("{:?}", Redacted(&cmd));
        assert!(
            text.contains("EnquireLink") && text.contains("sequence_number: 3"),
            "{text}"
        );
        let deliver = rusmpp::pdus::DeliverSm::builder()
            .source_addr(cstr("9647701234567"))
            .destination_addr(cstr("2150"))
            .short_message(rusmpp::types::OctetString::from_vec(b"PDS 12345678".to_vec()).unwrap())
            .build();
        let text = logged(deliver);
        assert!(text.contains("DeliverSm") && text.contains(".."), "{text}");
        for secret in ["9647701234567", "12345678", "PDS"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
