//! What tests observe: the MTs the SMSC received (`Submitted`), the binds that are up
//! (`BindInfo`), counters (`Stats`) and the protocol errors the ESME made (`ProtocolError`).
//! Plain data plus atomics; the session loop fills them, the handle reads them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use rusmpp::CommandStatus;

use crate::text::Concat;

/// Identifies one accepted TCP connection for as long as the SMSC runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BindId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindKind {
    Transmitter,
    Receiver,
    Transceiver,
}

impl BindKind {
    /// May the ESME submit on this bind?
    pub fn can_submit(self) -> bool {
        matches!(self, Self::Transmitter | Self::Transceiver)
    }
    /// May the SMSC deliver on this bind?
    pub fn can_receive(self) -> bool {
        matches!(self, Self::Receiver | Self::Transceiver)
    }
}

/// A bind that is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindInfo {
    pub id: BindId,
    pub system_id: String,
    pub kind: BindKind,
    /// 0x34 or 0x50 (or whatever the ESME sent).
    pub interface_version: u8,
    pub peer: SocketAddr,
}

/// Which PDU carried an MT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitKind {
    SubmitSm,
    DataSm,
}

/// How the SMSC answered an MT (scripted misbehaviour included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Resp(CommandStatus),
    GenericNack(CommandStatus),
    /// `never_respond` was on.
    Nothing,
}

/// One submit_sm / data_sm the SMSC decoded, with everything a test may assert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub kind: SubmitKind,
    pub bind: BindId,
    pub system_id: String,
    pub service_type: String,
    pub source: String,
    pub dest: String,
    pub data_coding: u8,
    pub esm_class: u8,
    pub registered_delivery: u8,
    /// Decoded text of short_message (or of message_payload when short_message is empty),
    /// UDH stripped. Empty when `text_error` is set.
    pub text: String,
    /// Why the text could not be decoded (also recorded as a protocol error).
    pub text_error: Option<String>,
    /// short_message exactly as received, UDH included.
    pub short_message: Vec<u8>,
    pub ussd_service_op: Option<u8>,
    /// The two raw octets of its_session_info: [session number, sequence << 1 | end bit].
    pub its_session_info: Option<[u8; 2]>,
    pub message_payload: Option<Vec<u8>>,
    /// From the sar_* TLVs (the three of them, all present).
    pub sar: Option<Concat>,
    /// From a concatenation UDH (esm_class UDHI set).
    pub udh: Option<Concat>,
    /// The message id the SMSC gave out (None when the submit was refused or not answered).
    pub message_id: Option<String>,
    pub sequence: u32,
    pub answer: Answer,
    /// When the SMSC read it off the bind.
    pub received: std::time::Instant,
}

impl Submitted {
    /// The its_session_info end-of-session bit.
    pub fn its_end(&self) -> bool {
        self.its_session_info.is_some_and(|[_, s]| s & 1 == 1)
    }
}

/// A PDU from the ESME that the SMSC found malformed or out of place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub bind: BindId,
    pub system_id: Option<String>,
    pub command_id: u32,
    pub sequence: u32,
    pub reason: String,
    /// The frame as received (first 512 bytes).
    pub frame: Vec<u8>,
}

/// A generic_nack the ESME sent to the SMSC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NackReceived {
    pub bind: BindId,
    pub sequence: u32,
    pub status: CommandStatus,
}

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// A snapshot of the SMSC's counters.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Stats { $($(#[$doc])* pub $name: u64,)* }

        #[derive(Debug, Default)]
        pub(crate) struct Counters { $(pub(crate) $name: AtomicU64,)* }

        impl Counters {
            pub(crate) fn snapshot(&self) -> Stats {
                Stats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// TCP connections accepted.
    connections,
    binds_accepted,
    binds_refused,
    /// submit_sm received and decoded.
    submits,
    /// data_sm received and decoded.
    data_sms,
    submit_resps_sent,
    throttled,
    queue_full,
    unanswered,
    nacks_instead_of_resp,
    deliver_sms_sent,
    deliver_sm_resps_received,
    receipts_sent,
    enquire_links_received,
    enquire_links_sent,
    enquire_link_resps_received,
    unbinds_received,
    unbinds_sent,
    generic_nacks_received,
    generic_nacks_sent,
    /// Malformed or out-of-place PDUs from the ESME (details in `protocol_errors()`).
    protocol_errors,
    /// Submits answered but not queued for `next_submit` because its queue was full.
    observer_overflow,
    /// Links the SMSC dropped on purpose (`drop_link`).
    links_dropped,
    garbage_sent,
    /// Submits received whose answer has not been written yet (a delayed
    /// `submit_resp_delay` answer counts until it is handed to the session).
    submits_in_flight,
    /// The most `submits_in_flight` ever reached: what an ESME's window allowed.
    max_submits_in_flight,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
