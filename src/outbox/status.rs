//! What the notification API sees of one MT ([`SmsStatus`]) and the small
//! record the outbox keeps per MT to answer that ([`Progress`]).
//!
//! The store removes an MT once it is sent and keeps no reason for a
//! failure, so the outbox keeps its own record per MT: accepted parts with
//! their SMSC message ids, temporary failures so far, and the final reason.
//! It lives in the store's receipts tree under a key no SMSC id can take
//! (SMPP message ids are C strings, so they never contain NUL), written
//! durably with `record_receipt` and expiring with `store.retention.receipts`.
//! (A `reason` column on the outbound record would be cleaner: see the
//! report to the lead.)

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::smpp::receipt::ReceiptStat;
use crate::store::{MessageId, OutboundId};

/// Where an MT is, for the notification API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsStatus {
    /// Waiting to be sent (or being sent). `attempts` counts submissions the
    /// SMSC turned down for now; `last_error` names the last one.
    Queued {
        attempts: u32,
        last_error: Option<String>,
    },
    /// Every part accepted by the SMSC; no final receipt for all of them yet.
    Sent { message_ids: Vec<String> },
    /// Every part's final receipt says delivered.
    Delivered { message_ids: Vec<String> },
    /// Given up on, or a final receipt says it was not delivered.
    Failed { reason: String },
}

/// Counters since start, for the admin API and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// MTs queued durably.
    pub enqueued: u64,
    /// MTs whose every part the SMSC accepted.
    pub sent: u64,
    /// Temporary failures put back with backoff.
    pub retried: u64,
    /// Claims put back because the operator had no bind or no room.
    pub held: u64,
    /// MTs given up on.
    pub failed: u64,
    /// Delivery receipts recorded.
    pub receipts: u64,
}

/// The live counters behind [`OutboxStats`].
#[derive(Debug, Default)]
pub struct Counters {
    pub enqueued: AtomicU64,
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    pub held: AtomicU64,
    pub failed: AtomicU64,
    pub receipts: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> OutboxStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        OutboxStats {
            enqueued: get(&self.enqueued),
            sent: get(&self.sent),
            retried: get(&self.retried),
            held: get(&self.held),
            failed: get(&self.failed),
            receipts: get(&self.receipts),
        }
    }
}

/// The outbox's durable record for one MT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The operator it was routed to (receipt ids are per operator).
    pub operator: String,
    /// Message ids of the parts accepted so far, by part index.
    pub parts: Vec<Option<String>>,
    /// Temporary failures so far (throttled, queue full, link died...).
    pub tries: u32,
    pub last_error: Option<String>,
    /// Every part accepted.
    pub sent: bool,
    /// Given up on, and why.
    pub failed: Option<String>,
}

impl Progress {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    pub fn decode(bytes: &[u8]) -> Option<Progress> {
        serde_json::from_slice(bytes).ok()
    }
    /// The accepted parts' ids, in part order.
    pub fn message_ids(&self) -> Vec<String> {
        self.parts.iter().flatten().cloned().collect()
    }
}

/// The receipts-tree key of an MT's [`Progress`].
pub fn progress_key(id: OutboundId) -> MessageId {
    MessageId(format!("\0outbox:{}", id.0))
}

/// What a delivery receipt said, as stored in the receipts tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dlr {
    /// The stat word in its 7-letter SMPP spelling (`DELIVRD`, `UNDELIV`...),
    /// or the vendor's word.
    pub stat: String,
    pub err: Option<String>,
}

impl Dlr {
    pub fn new(stat: &ReceiptStat, err: Option<String>) -> Dlr {
        let stat = match stat {
            ReceiptStat::Delivered => "DELIVRD",
            ReceiptStat::Expired => "EXPIRED",
            ReceiptStat::Deleted => "DELETED",
            ReceiptStat::Undeliverable => "UNDELIV",
            ReceiptStat::Accepted => "ACCEPTD",
            ReceiptStat::Unknown => "UNKNOWN",
            ReceiptStat::Rejected => "REJECTD",
            ReceiptStat::Enroute => "ENROUTE",
            ReceiptStat::Other(w) => w.as_str(),
        };
        Dlr {
            stat: stat.to_string(),
            err,
        }
    }
    pub fn stat(&self) -> ReceiptStat {
        ReceiptStat::parse(&self.stat)
    }
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    pub fn decode(bytes: &[u8]) -> Option<Dlr> {
        serde_json::from_slice(bytes).ok()
    }
    /// "UNDELIV (err 001)": why a part was not delivered.
    pub fn reason(&self) -> String {
        match &self.err {
            Some(err) => format!("receipt {} (err {err})", self.stat),
            None => format!("receipt {}", self.stat),
        }
    }
}

/// The status of a sent MT from its parts' receipts (`None`: no receipt
/// yet for that part): failed as soon as one part finally failed,
/// delivered once every part was delivered, else sent.
pub fn of_receipts(message_ids: Vec<String>, receipts: &[Option<Dlr>]) -> SmsStatus {
    let finals: Vec<&Dlr> = receipts
        .iter()
        .flatten()
        .filter(|d| d.stat().is_final())
        .collect();
    if let Some(bad) = finals
        .iter()
        .find(|d| !matches!(d.stat(), ReceiptStat::Delivered | ReceiptStat::Accepted))
    {
        return SmsStatus::Failed {
            reason: bad.reason(),
        };
    }
    let all_delivered = !receipts.is_empty()
        && receipts.iter().all(|r| {
            r.as_ref()
                .is_some_and(|d| d.stat() == ReceiptStat::Delivered)
        });
    if all_delivered {
        SmsStatus::Delivered { message_ids }
    } else {
        SmsStatus::Sent { message_ids }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dlr(stat: &str) -> Option<Dlr> {
        Some(Dlr {
            stat: stat.into(),
            err: Some("000".into()),
        })
    }

    #[test]
    fn parts_decide_the_status() {
        let ids = || vec!["a".to_string(), "b".to_string()];
        let delivered = SmsStatus::Delivered { message_ids: ids() };
        let sent = SmsStatus::Sent { message_ids: ids() };
        assert_eq!(
            of_receipts(ids(), &[dlr("DELIVRD"), dlr("DELIVRD")]),
            delivered
        );
        assert_eq!(of_receipts(ids(), &[dlr("DELIVRD"), None]), sent);
        assert_eq!(of_receipts(ids(), &[dlr("ENROUTE"), dlr("DELIVRD")]), sent);
        assert_eq!(
            of_receipts(ids(), &[dlr("DELIVRD"), dlr("UNDELIV")]),
            SmsStatus::Failed {
                reason: "receipt UNDELIV (err 000)".into()
            }
        );
    }

    #[test]
    fn records_round_trip_and_keys_cannot_clash_with_smsc_ids() {
        let p = Progress {
            operator: "zain".into(),
            parts: vec![Some("0a".into()), None],
            tries: 2,
            last_error: Some("ESME_RTHROTTLED".into()),
            sent: false,
            failed: None,
        };
        assert_eq!(Progress::decode(&p.encode()), Some(p));
        assert!(progress_key(OutboundId(5)).0.starts_with('\0'));
        let d = Dlr::new(&ReceiptStat::Undeliverable, None);
        assert_eq!(
            Dlr::decode(&d.encode()).unwrap().stat(),
            ReceiptStat::Undeliverable
        );
    }
}
