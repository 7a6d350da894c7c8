//! Byte layout of keys and values in the sled trees. Integers are
//! big-endian so that sled's lexicographic order is numeric order: the
//! expiry indexes and the outbound queue are range scans.
//!
//! | tree           | key                          | value                                   |
//! |----------------|------------------------------|-----------------------------------------|
//! | `meta`         | name                         | u64 sequence                            |
//! | `sessions`     | session key                  | version u64, expires u64, data          |
//! | `session_exp`  | expires u64, session key     | empty                                   |
//! | `profiles`     | MSISDN (UTF-8)               | data                                    |
//! | `mo_inbox`     | id u64                       | received u64, payload (before the inbound journal, `journal.rs`; moved out at open) |
//! | `mt_msgs`      | id u64                       | prio u8, due u64, attempts u32, state u8, state-time u64, payload |
//! | `mt_queue`     | prio u8, due u64, id u64     | empty                                   |
//! | `mt_inflight`  | lease-until u64, id u64      | empty                                   |
//! | `mo_dedupe`    | expires u64, key             | first-seen u64 (see `dedupe.rs`)        |
//! | `dlr_map`      | SMSC message id (UTF-8)      | expires u64, has-mt u8, mt u64, has-status u8, status |
//! | `dlr_exp`      | expires u64, message id      | empty                                   |
//! | `audit`        | seq u64                      | prev hash (32), hash (32), record       |
//!
//! `meta` also holds `audit_head` (seq u64, hash 32 bytes), and `dlr_map`
//! idempotency keys (`\0`-prefixed, see `Store::enqueue_outbound_once`).

use crate::store::audit::AuditEntry;
use crate::store::error::{Error, Result};
use crate::store::types::*;

pub(super) fn be(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

fn malformed(tree: &'static str, detail: &str) -> Error {
    Error::Malformed {
        tree,
        detail: detail.to_string(),
    }
}

/// Reads fixed-size fields front to back, failing with `Malformed`.
pub(super) struct Reader<'a> {
    tree: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(tree: &'static str, bytes: &'a [u8]) -> Self {
        Reader { tree, rest: bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(malformed(self.tree, "truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }

    pub(super) fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    pub(super) fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// `prefix` (an expiry or lease time) followed by `key`.
pub(super) fn timed_key(at: Timestamp, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + key.len());
    k.extend_from_slice(&be(at.0));
    k.extend_from_slice(key);
    k
}

pub(super) fn split_timed_key<'a>(
    tree: &'static str,
    k: &'a [u8],
) -> Result<(Timestamp, &'a [u8])> {
    let mut r = Reader::new(tree, k);
    let at = Timestamp(r.u64()?);
    Ok((at, r.rest()))
}

#[cfg(test)]
pub(super) fn encode_inbound(m: &InboundMessage) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + m.payload.len());
    v.extend_from_slice(&be(m.received_at.0));
    v.extend_from_slice(&m.payload);
    v
}

pub(super) fn decode_inbound(k: &[u8], v: &[u8]) -> Result<InboundMessage> {
    let id = InboundId(Reader::new("mo_inbox", k).u64()?);
    let mut r = Reader::new("mo_inbox", v);
    let received_at = Timestamp(r.u64()?);
    Ok(InboundMessage {
        id,
        received_at,
        payload: r.rest().to_vec(),
    })
}

pub(super) fn queue_key(p: Priority, due: Timestamp, id: OutboundId) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(p as u8);
    k.extend_from_slice(&be(due.0));
    k.extend_from_slice(&be(id.0));
    k
}

pub(super) fn inflight_key(until: Timestamp, id: OutboundId) -> Vec<u8> {
    timed_key(until, &be(id.0))
}

pub(super) fn encode_outbound(m: &OutboundMessage) -> Vec<u8> {
    let (tag, at) = match m.state {
        OutboundState::Queued => (0u8, 0),
        OutboundState::Leased { until } => (1, until.0),
        OutboundState::Failed { at } => (2, at.0),
    };
    let mut v = Vec::with_capacity(22 + m.payload.len());
    v.push(m.priority as u8);
    v.extend_from_slice(&be(m.due_at.0));
    v.extend_from_slice(&m.attempts.to_be_bytes());
    v.push(tag);
    v.extend_from_slice(&be(at));
    v.extend_from_slice(&m.payload);
    v
}

pub(super) fn decode_outbound(id: OutboundId, v: &[u8]) -> Result<OutboundMessage> {
    let mut r = Reader::new("mt_msgs", v);
    let priority =
        Priority::from_u8(r.u8()?).ok_or_else(|| malformed("mt_msgs", "bad priority"))?;
    let due_at = Timestamp(r.u64()?);
    let attempts = r.u32()?;
    let tag = r.u8()?;
    let at = Timestamp(r.u64()?);
    let state = match tag {
        0 => OutboundState::Queued,
        1 => OutboundState::Leased { until: at },
        2 => OutboundState::Failed { at },
        _ => return Err(malformed("mt_msgs", "bad state")),
    };
    Ok(OutboundMessage {
        id,
        priority,
        due_at,
        attempts,
        state,
        payload: r.rest().to_vec(),
    })
}

pub(super) fn encode_receipt(r: &Receipt) -> Vec<u8> {
    let status = r.status.as_deref().unwrap_or_default();
    let mut v = Vec::with_capacity(18 + status.len());
    v.extend_from_slice(&be(r.expires_at.0));
    v.push(u8::from(r.outbound.is_some()));
    v.extend_from_slice(&be(r.outbound.map_or(0, |o| o.0)));
    v.push(u8::from(r.status.is_some()));
    v.extend_from_slice(status);
    v
}

pub(super) fn decode_receipt(v: &[u8]) -> Result<Receipt> {
    let mut r = Reader::new("dlr_map", v);
    let expires_at = Timestamp(r.u64()?);
    let has_outbound = r.u8()? != 0;
    let outbound = OutboundId(r.u64()?);
    let has_status = r.u8()? != 0;
    let status = r.rest();
    Ok(Receipt {
        outbound: has_outbound.then_some(outbound),
        status: has_status.then(|| status.to_vec()),
        expires_at,
    })
}

/// `meta` key of the audit chain's head: seq (8 bytes) then hash (32).
pub(super) const AUDIT_HEAD: &[u8] = b"audit_head";

pub(super) fn decode_audit_head(v: &[u8]) -> Result<(u64, [u8; 32])> {
    let mut r = Reader::new("meta", v);
    let seq = r.u64()?;
    Ok((seq, hash32("meta", r.rest())?))
}

fn hash32(tree: &'static str, b: &[u8]) -> Result<[u8; 32]> {
    b.try_into().map_err(|_| Error::Malformed {
        tree,
        detail: format!("hash of {} bytes, expected 32", b.len()),
    })
}

/// prev (32) | hash (32) | record; the key is the seq.
pub(super) fn encode_audit(e: &AuditEntry) -> Vec<u8> {
    let mut v = Vec::with_capacity(64 + e.record.len());
    v.extend_from_slice(&e.prev);
    v.extend_from_slice(&e.hash);
    v.extend_from_slice(&e.record);
    v
}

pub(super) fn decode_audit(k: &[u8], v: &[u8]) -> Result<AuditEntry> {
    let seq = Reader::new("audit", k).u64()?;
    if v.len() < 64 {
        return Err(Error::Malformed {
            tree: "audit",
            detail: format!("entry {seq} of {} bytes", v.len()),
        });
    }
    Ok(AuditEntry {
        seq,
        prev: hash32("audit", &v[..32])?,
        hash: hash32("audit", &v[32..64])?,
        record: v[64..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_round_trip_and_truncation() {
        let m = OutboundMessage {
            id: OutboundId(7),
            priority: Priority::Bulk,
            due_at: Timestamp(5),
            attempts: 3,
            state: OutboundState::Leased {
                until: Timestamp(9),
            },
            payload: b"hi".to_vec(),
        };
        let v = encode_outbound(&m);
        assert_eq!(decode_outbound(OutboundId(7), &v).unwrap(), m);
        assert!(matches!(
            decode_outbound(OutboundId(7), &v[..10]),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn receipt_round_trip() {
        for r in [
            Receipt {
                outbound: None,
                status: Some(b"DELIVRD".to_vec()),
                expires_at: Timestamp(1),
            },
            Receipt {
                outbound: Some(OutboundId(3)),
                status: None,
                expires_at: Timestamp(2),
            },
            Receipt {
                outbound: Some(OutboundId(3)),
                status: Some(Vec::new()),
                expires_at: Timestamp(2),
            },
        ] {
            assert_eq!(decode_receipt(&encode_receipt(&r)).unwrap(), r);
        }
    }

    #[test]
    fn big_endian_keys_sort_numerically() {
        assert!(
            queue_key(Priority::Interactive, Timestamp(300), OutboundId(1))
                < queue_key(Priority::Normal, Timestamp(2), OutboundId(1))
        );
        assert!(timed_key(Timestamp(255), b"z") < timed_key(Timestamp(256), b"a"));
    }
}
