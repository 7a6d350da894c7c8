//! What the runtime writes to the store's durable inbound journal: an MO
//! SMS before it is acknowledged, and a USSD answer owed by SMS (a slow
//! back-end's follow-up) before the "we will send you the result by SMS"
//! screen. Entries are removed when done; at start whatever is left is
//! replayed, so an acknowledged SMS or a promised follow-up survives a
//! restart.

use serde::{Deserialize, Serialize};

use super::calls::Pending;
use super::conversation::Record;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Sms(MoSms),
    FollowUp(Box<FollowUp>),
}

/// An MO SMS as received (one part of a concatenated message is one entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoSms {
    pub operator: String,
    pub source: String,
    pub dest: String,
    pub esm_class: u8,
    pub data_coding: u8,
    pub bytes: Vec<u8>,
    /// sar_msg_ref_num, sar_total_segments, sar_segment_seqnum.
    pub sar: Option<(u16, u8, u8)>,
}

/// A USSD dialogue ended with "we will send you the result by SMS": the
/// session as it was when the call started, and the call.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FollowUp {
    pub operator: String,
    pub to: String,
    /// The short code the SMS comes from.
    pub from: String,
    pub record: Record,
    pub call: Pending,
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        serde_json::from_slice(bytes).ok()
    }
}
