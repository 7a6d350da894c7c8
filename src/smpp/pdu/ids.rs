//! `command_id` and `command_status`: the two numbered vocabularies of the
//! SMPP 3.4 header (spec §5.1.2 and table 5-2).

use std::fmt;

/// The `command_id` of a PDU. Responses are the request id with bit 31 set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u32);

/// Declares the constants and the name table in one place, so a name can
/// never drift from its number.
macro_rules! table {
    ($ty:ident, $names:ident: $($name:ident = $value:expr => $text:expr),* $(,)?) => {
        impl $ty {
            $(pub const $name: $ty = $ty($value);)*
        }
        const $names: &[(u32, &str)] = &[$(($value, $text)),*];
    };
}

table! { CommandId, COMMAND_NAMES:
    BIND_RECEIVER = 0x0000_0001 => "bind_receiver",
    BIND_TRANSMITTER = 0x0000_0002 => "bind_transmitter",
    QUERY_SM = 0x0000_0003 => "query_sm",
    SUBMIT_SM = 0x0000_0004 => "submit_sm",
    DELIVER_SM = 0x0000_0005 => "deliver_sm",
    UNBIND = 0x0000_0006 => "unbind",
    REPLACE_SM = 0x0000_0007 => "replace_sm",
    CANCEL_SM = 0x0000_0008 => "cancel_sm",
    BIND_TRANSCEIVER = 0x0000_0009 => "bind_transceiver",
    OUTBIND = 0x0000_000B => "outbind",
    ENQUIRE_LINK = 0x0000_0015 => "enquire_link",
    SUBMIT_MULTI = 0x0000_0021 => "submit_multi",
    ALERT_NOTIFICATION = 0x0000_0102 => "alert_notification",
    DATA_SM = 0x0000_0103 => "data_sm",
    GENERIC_NACK = 0x8000_0000 => "generic_nack",
    BIND_RECEIVER_RESP = 0x8000_0001 => "bind_receiver_resp",
    BIND_TRANSMITTER_RESP = 0x8000_0002 => "bind_transmitter_resp",
    QUERY_SM_RESP = 0x8000_0003 => "query_sm_resp",
    SUBMIT_SM_RESP = 0x8000_0004 => "submit_sm_resp",
    DELIVER_SM_RESP = 0x8000_0005 => "deliver_sm_resp",
    UNBIND_RESP = 0x8000_0006 => "unbind_resp",
    REPLACE_SM_RESP = 0x8000_0007 => "replace_sm_resp",
    CANCEL_SM_RESP = 0x8000_0008 => "cancel_sm_resp",
    BIND_TRANSCEIVER_RESP = 0x8000_0009 => "bind_transceiver_resp",
    ENQUIRE_LINK_RESP = 0x8000_0015 => "enquire_link_resp",
    SUBMIT_MULTI_RESP = 0x8000_0021 => "submit_multi_resp",
    DATA_SM_RESP = 0x8000_0103 => "data_sm_resp",
}

const RESPONSE_BIT: u32 = 0x8000_0000;

impl CommandId {
    /// Bit 31 set: a response (generic_nack included).
    pub fn is_response(&self) -> bool {
        self.0 & RESPONSE_BIT != 0
    }

    /// The response id for a request id (`submit_sm` -> `submit_sm_resp`).
    /// A response id maps to itself.
    pub fn response(&self) -> CommandId {
        CommandId(self.0 | RESPONSE_BIT)
    }

    /// The spec name (`submit_sm_resp`), `None` outside SMPP 3.4.
    pub fn name(&self) -> Option<&'static str> {
        lookup(COMMAND_NAMES, self.0)
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:08x}", self.0),
        }
    }
}

impl fmt::Debug for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandId({self})")
    }
}

/// The `command_status` of a PDU (SMPP 3.4 table 5-2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CommandStatus(pub u32);

table! { CommandStatus, STATUS_NAMES:
    ESME_ROK = 0x0000_0000 => "ESME_ROK",
    ESME_RINVMSGLEN = 0x0000_0001 => "ESME_RINVMSGLEN",
    ESME_RINVCMDLEN = 0x0000_0002 => "ESME_RINVCMDLEN",
    ESME_RINVCMDID = 0x0000_0003 => "ESME_RINVCMDID",
    ESME_RINVBNDSTS = 0x0000_0004 => "ESME_RINVBNDSTS",
    ESME_RALYBND = 0x0000_0005 => "ESME_RALYBND",
    ESME_RINVPRTFLG = 0x0000_0006 => "ESME_RINVPRTFLG",
    ESME_RINVREGDLVFLG = 0x0000_0007 => "ESME_RINVREGDLVFLG",
    ESME_RSYSERR = 0x0000_0008 => "ESME_RSYSERR",
    ESME_RINVSRCADR = 0x0000_000A => "ESME_RINVSRCADR",
    ESME_RINVDSTADR = 0x0000_000B => "ESME_RINVDSTADR",
    ESME_RINVMSGID = 0x0000_000C => "ESME_RINVMSGID",
    ESME_RBINDFAIL = 0x0000_000D => "ESME_RBINDFAIL",
    ESME_RINVPASWD = 0x0000_000E => "ESME_RINVPASWD",
    ESME_RINVSYSID = 0x0000_000F => "ESME_RINVSYSID",
    ESME_RCANCELFAIL = 0x0000_0011 => "ESME_RCANCELFAIL",
    ESME_RREPLACEFAIL = 0x0000_0013 => "ESME_RREPLACEFAIL",
    ESME_RMSGQFUL = 0x0000_0014 => "ESME_RMSGQFUL",
    ESME_RINVSERTYP = 0x0000_0015 => "ESME_RINVSERTYP",
    ESME_RINVNUMDESTS = 0x0000_0033 => "ESME_RINVNUMDESTS",
    ESME_RINVDLNAME = 0x0000_0034 => "ESME_RINVDLNAME",
    ESME_RINVDESTFLAG = 0x0000_0040 => "ESME_RINVDESTFLAG",
    ESME_RINVSUBREP = 0x0000_0042 => "ESME_RINVSUBREP",
    ESME_RINVESMCLASS = 0x0000_0043 => "ESME_RINVESMCLASS",
    ESME_RCNTSUBDL = 0x0000_0044 => "ESME_RCNTSUBDL",
    ESME_RSUBMITFAIL = 0x0000_0045 => "ESME_RSUBMITFAIL",
    ESME_RINVSRCTON = 0x0000_0048 => "ESME_RINVSRCTON",
    ESME_RINVSRCNPI = 0x0000_0049 => "ESME_RINVSRCNPI",
    ESME_RINVDSTTON = 0x0000_0050 => "ESME_RINVDSTTON",
    ESME_RINVDSTNPI = 0x0000_0051 => "ESME_RINVDSTNPI",
    ESME_RINVSYSTYP = 0x0000_0053 => "ESME_RINVSYSTYP",
    ESME_RINVREPFLAG = 0x0000_0054 => "ESME_RINVREPFLAG",
    ESME_RINVNUMMSGS = 0x0000_0055 => "ESME_RINVNUMMSGS",
    ESME_RTHROTTLED = 0x0000_0058 => "ESME_RTHROTTLED",
    ESME_RINVSCHED = 0x0000_0061 => "ESME_RINVSCHED",
    ESME_RINVEXPIRY = 0x0000_0062 => "ESME_RINVEXPIRY",
    ESME_RINVDFTMSGID = 0x0000_0063 => "ESME_RINVDFTMSGID",
    ESME_RX_T_APPN = 0x0000_0064 => "ESME_RX_T_APPN",
    ESME_RX_P_APPN = 0x0000_0065 => "ESME_RX_P_APPN",
    ESME_RX_R_APPN = 0x0000_0066 => "ESME_RX_R_APPN",
    ESME_RQUERYFAIL = 0x0000_0067 => "ESME_RQUERYFAIL",
    ESME_RINVOPTPARSTREAM = 0x0000_00C0 => "ESME_RINVOPTPARSTREAM",
    ESME_ROPTPARNOTALLWD = 0x0000_00C1 => "ESME_ROPTPARNOTALLWD",
    ESME_RINVPARLEN = 0x0000_00C2 => "ESME_RINVPARLEN",
    ESME_RMISSINGOPTPARAM = 0x0000_00C3 => "ESME_RMISSINGOPTPARAM",
    ESME_RINVOPTPARAMVAL = 0x0000_00C4 => "ESME_RINVOPTPARAMVAL",
    ESME_RDELIVERYFAILURE = 0x0000_00FE => "ESME_RDELIVERYFAILURE",
    ESME_RUNKNOWNERR = 0x0000_00FF => "ESME_RUNKNOWNERR",
}

impl CommandStatus {
    /// The spec name (`ESME_RTHROTTLED`). A code outside table 5-2 (vendor
    /// codes are common) has no static name: it gives `"UNKNOWN"`, and
    /// `Display` prints it as `0x0000abcd` instead.
    pub fn name(&self) -> &'static str {
        lookup(STATUS_NAMES, self.0).unwrap_or("UNKNOWN")
    }

    pub fn is_ok(&self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match lookup(STATUS_NAMES, self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:08x}", self.0),
        }
    }
}

impl fmt::Debug for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandStatus({self})")
    }
}

fn lookup(table: &'static [(u32, &'static str)], value: u32) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_response_ids() {
        assert_eq!(CommandId::SUBMIT_SM.response(), CommandId::SUBMIT_SM_RESP);
        assert!(CommandId::GENERIC_NACK.is_response());
        assert!(!CommandId::DATA_SM.is_response());
        assert_eq!(CommandId::DATA_SM_RESP.to_string(), "data_sm_resp");
        assert_eq!(CommandId(0x1234).to_string(), "0x00001234");
        assert_eq!(CommandStatus::ESME_RTHROTTLED.name(), "ESME_RTHROTTLED");
        assert_eq!(CommandStatus(0xabcd).to_string(), "0x0000abcd");
        assert_eq!(CommandStatus(0xabcd).name(), "UNKNOWN");
        assert_eq!(CommandStatus::ESME_RINVPARLEN.0, 0xC2);
    }
}
