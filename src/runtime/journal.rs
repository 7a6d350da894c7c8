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

/// [`Entry`] by reference, for writing: the same JSON, without copying an
/// MO to encode it.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum EntryRef<'a> {
    Sms(&'a MoSms),
}

impl MoSms {
    /// The journal entry of this MO (`Entry::Sms(self.clone()).encode()`).
    pub fn entry(&self) -> Vec<u8> {
        serde_json::to_vec(&EntryRef::Sms(self)).unwrap_or_default()
    }
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mo_written_by_reference_reads_back_as_an_entry() {
        let mo = MoSms {
            operator: "zain".into(),
            source: "9647801234567".into(),
            dest: "2150".into(),
            esm_class: 0x40,
            data_coding: 8,
            bytes: vec![0x06, 0x27, 0x00, 0x20],
            sar: Some((7, 2, 1)),
        };
        let written = mo.entry();
        assert_eq!(written, Entry::Sms(mo.clone()).encode());
        assert!(matches!(Entry::decode(&written), Some(Entry::Sms(m)) if m == mo));
    }
}
