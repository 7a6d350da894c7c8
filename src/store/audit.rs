//! The audit log's record and its hash chain: each entry carries the
//! SHA-256 of the entry before it, so removing or editing one breaks every
//! later hash ([`verify`]). The store appends entries in one durable,
//! serialised write each (the sled store inside its group-commit batch), so
//! the chain has no forks. Records are opaque bytes (the notification API
//! writes JSON without message text and with masked MSISDNs).

use sha2::{Digest, Sha256};

/// One appended audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// 1, 2, 3... in append order; never reused.
    pub seq: u64,
    /// `hash` of entry `seq - 1` (all zeros for the first).
    pub prev: [u8; 32],
    /// SHA-256 over `prev`, `seq` (big-endian) and `record`.
    pub hash: [u8; 32],
    pub record: Vec<u8>,
}

impl AuditEntry {
    /// The entry that follows `prev` (`None`: the first).
    pub fn next(prev: Option<(u64, [u8; 32])>, record: Vec<u8>) -> AuditEntry {
        let (seq, prev) = prev.map_or((1, [0; 32]), |(s, h)| (s + 1, h));
        AuditEntry {
            seq,
            prev,
            hash: chain(&prev, seq, &record),
            record,
        }
    }
}

/// SHA-256(prev || seq as 8 big-endian bytes || record).
pub fn chain(prev: &[u8; 32], seq: u64, record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(record);
    h.finalize().into()
}

/// Checks that `entries` (consecutive, from the first or any later one) are
/// linked and their hashes right; the first bad `seq` otherwise.
pub fn verify(entries: &[AuditEntry]) -> Result<(), u64> {
    let mut prev: Option<&AuditEntry> = None;
    for e in entries {
        let linked = prev.is_none_or(|p| p.seq + 1 == e.seq && p.hash == e.prev);
        if !linked || chain(&e.prev, e.seq, &e.record) != e.hash {
            return Err(e.seq);
        }
        prev = Some(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_record_breaks_the_chain() {
        let a = AuditEntry::next(None, b"one".to_vec());
        let b = AuditEntry::next(Some((a.seq, a.hash)), b"two".to_vec());
        let c = AuditEntry::next(Some((b.seq, b.hash)), b"three".to_vec());
        assert_eq!(a.seq, 1);
        assert_eq!(a.prev, [0; 32]);
        assert_eq!(verify(&[a.clone(), b.clone(), c.clone()]), Ok(()));
        let mut forged = b.clone();
        forged.record = b"TWO".to_vec();
        assert_eq!(verify(&[a.clone(), forged, c.clone()]), Err(2));
        assert_eq!(verify(&[a, c]), Err(3), "a removed entry is seen");
    }
}
