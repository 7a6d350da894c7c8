//! The outbound queue's state machine on sled (queued -> leased ->
//! completed/failed/queued), and the reads of the MO journal tree sled kept
//! before the inbound journal (`journal.rs`), for moving it.
//!
//! No sled transactions here. In sled 0.34.7 every transaction commit pins
//! the log: it seals the current log buffer and writes it out with
//! `sync_file_range(WAIT_AFTER)` on sled's I/O threads, and it takes the
//! global write lock that every other tree operation waits on. With a
//! transaction per lease and per settle that was a disk round trip per MT
//! and about half of the gateway's CPU under SMS load. Instead:
//!
//! * The record in `mt_msgs` decides. Every state change is one
//!   `compare_and_swap` on it against the bytes just read, so two actors on
//!   one message (the claimer and the lease sweep, a settle and the sweep)
//!   cannot both win.
//! * The indexes (`mt_queue` for queued, `mt_inflight` for leased) are
//!   hints. A new index entry is written before the record changes (and
//!   again after, see below) and an old one removed after, and every reader
//!   checks an entry against the record (state, priority, due time, lease
//!   end) and drops it when they disagree.
//! * Entries come back under the same key (a requeued MT keeps its due
//!   time), so dropping one can race with another actor writing it anew.
//!   Hence: whoever moves a record into a state writes its entry before and
//!   after the swap, and whoever drops an entry reads the record again
//!   afterwards and puts the entry back if the record now needs it. Every
//!   interleaving then ends with the entry present when the record needs
//!   it (`tests/store_queue.rs` runs expiring leases against each other). sled recovers a prefix of its log after a crash, so a crash
//!   between the steps leaves at worst a stale index entry, never a queued
//!   or leased message that no index finds.
//!
//! Enqueueing still happens in the group-commit batch (`batch.rs`), on new
//! ids only, so it never races these compare-and-swaps.

use std::time::Duration;

use sled::IVec;

use super::codec::*;
use super::trees::{sled_err, Trees};
use crate::store::error::{Error, Result};
use crate::store::types::*;

/// What to do with a leased message once its lease is verified.
enum Settle {
    Complete,
    Fail(Timestamp),
    Reschedule(Timestamp),
}

impl Trees {
    pub(super) fn claim(&self, n: usize, now: Timestamp, lease: Duration) -> Result<Vec<Claimed>> {
        self.requeue_expired(now)?;
        let until = now.after(lease);
        let mut out = Vec::new();
        for p in Priority::ALL {
            let start = queue_key(p, Timestamp(0), OutboundId(0));
            let end = queue_key(p, now, OutboundId(u64::MAX));
            for item in self.mt_queue.range(start..=end) {
                if out.len() >= n {
                    return Ok(out);
                }
                let (qk, _) = item.map_err(sled_err)?;
                let id =
                    OutboundId(Reader::new("mt_queue", qk.get(9..).unwrap_or_default()).u64()?);
                if let Some(c) = self.lease_one(&qk, id, until)? {
                    out.push(c);
                }
            }
        }
        Ok(out)
    }

    /// The record of `id`, raw and decoded.
    fn outbound_record(&self, id: OutboundId) -> Result<Option<(IVec, OutboundMessage)>> {
        let Some(raw) = self.mt_msgs.get(be(id.0)).map_err(sled_err)? else {
            return Ok(None);
        };
        let m = decode_outbound(id, &raw)?;
        Ok(Some((raw, m)))
    }

    /// Swaps `id`'s record from `old` to `new` (`None` removes it); false
    /// if it changed since `old` was read.
    fn swap_outbound(&self, id: OutboundId, old: IVec, new: Option<Vec<u8>>) -> Result<bool> {
        let swapped = self
            .mt_msgs
            .compare_and_swap(be(id.0), Some(old), new)
            .map_err(sled_err)?;
        Ok(swapped.is_ok())
    }

    /// Leases the message queue entry `qk` names; None if the entry is stale
    /// (dropped) or another actor changed the message first.
    fn lease_one(&self, qk: &[u8], id: OutboundId, until: Timestamp) -> Result<Option<Claimed>> {
        let current = self.outbound_record(id)?;
        let Some((raw, mut m)) = current.filter(|(_, m)| queued_at(m, id, qk)) else {
            // Dangling or stale: the record is gone, not queued, or queued
            // under another key.
            self.drop_queue_entry(qk, id)?;
            return Ok(None);
        };
        m.attempts = m.attempts.saturating_add(1);
        m.state = OutboundState::Leased { until };
        let ik = inflight_key(until, id);
        self.mt_inflight
            .insert(ik.as_slice(), &[])
            .map_err(sled_err)?;
        if !self.swap_outbound(id, raw, Some(encode_outbound(&m)))? {
            // Lost the race. The winner may hold the very same lease key
            // (same id, same lease end): only then keep it.
            self.drop_inflight_entry(&ik, id, until)?;
            return Ok(None);
        }
        self.mt_inflight
            .insert(ik.as_slice(), &[])
            .map_err(sled_err)?;
        self.drop_queue_entry(qk, id)?;
        Ok(Some(Claimed {
            lease: Lease {
                id,
                attempt: m.attempts,
            },
            priority: m.priority,
            payload: m.payload,
        }))
    }

    /// Return messages whose lease ended at or before `now` to the queue.
    fn requeue_expired(&self, now: Timestamp) -> Result<()> {
        let mut expired = Vec::new();
        for item in self.mt_inflight.iter() {
            let (k, _) = item.map_err(sled_err)?;
            if expired.len() >= MAX_REQUEUE_PER_CLAIM || split_timed_key("mt_inflight", &k)?.0 > now
            {
                break;
            }
            expired.push(k);
        }
        for ik in expired {
            let (until, rest) = split_timed_key("mt_inflight", &ik)?;
            let id = OutboundId(Reader::new("mt_inflight", rest).u64()?);
            let current = self.outbound_record(id)?;
            if let Some((raw, mut m)) =
                current.filter(|(_, m)| m.state == OutboundState::Leased { until })
            {
                m.state = OutboundState::Queued;
                let qk = queue_key(m.priority, m.due_at, id);
                self.mt_queue.insert(qk.as_slice(), &[]).map_err(sled_err)?;
                // Lost to a settle that came in meanwhile: the queue entry
                // just written is stale and the claim drops it.
                if self.swap_outbound(id, raw, Some(encode_outbound(&m)))? {
                    self.mt_queue.insert(qk, &[]).map_err(sled_err)?;
                }
            }
            self.drop_inflight_entry(&ik, id, until)?;
        }
        Ok(())
    }

    pub(super) fn complete(&self, lease: Lease) -> Result<()> {
        self.settle(lease, Settle::Complete)
    }

    pub(super) fn fail(&self, lease: Lease, now: Timestamp) -> Result<()> {
        self.settle(lease, Settle::Fail(now))
    }

    pub(super) fn reschedule(&self, lease: Lease, due_at: Timestamp) -> Result<()> {
        self.settle(lease, Settle::Reschedule(due_at))
    }

    fn settle(&self, lease: Lease, how: Settle) -> Result<()> {
        let id = lease.id;
        let lost = Error::LeaseLost { id };
        let Some((raw, mut m)) = self.outbound_record(id)? else {
            return Err(lost);
        };
        let OutboundState::Leased { until } = m.state else {
            return Err(lost);
        };
        if m.attempts != lease.attempt {
            return Err(lost);
        }
        let mut requeued = None;
        let new = match how {
            Settle::Complete => None,
            Settle::Fail(at) => {
                m.state = OutboundState::Failed { at };
                Some(encode_outbound(&m))
            }
            Settle::Reschedule(due_at) => {
                m.state = OutboundState::Queued;
                m.due_at = due_at;
                let qk = queue_key(m.priority, due_at, id);
                self.mt_queue.insert(qk.as_slice(), &[]).map_err(sled_err)?;
                requeued = Some(qk);
                Some(encode_outbound(&m))
            }
        };
        if !self.swap_outbound(id, raw, new)? {
            // The lease sweep took it back first (a queue entry written
            // above for a reschedule is stale now; the claim drops it).
            return Err(lost);
        }
        if let Some(qk) = requeued {
            self.mt_queue.insert(qk, &[]).map_err(sled_err)?;
        }
        self.drop_inflight_entry(&inflight_key(until, id), id, until)?;
        Ok(())
    }

    /// Drops queue entry `qk` of `id`, unless the record (read after the
    /// drop) is queued under it: then it was written anew meanwhile.
    fn drop_queue_entry(&self, qk: &[u8], id: OutboundId) -> Result<()> {
        self.mt_queue.remove(qk).map_err(sled_err)?;
        if self
            .outbound_record(id)?
            .is_some_and(|(_, m)| queued_at(&m, id, qk))
        {
            self.mt_queue.insert(qk, &[]).map_err(sled_err)?;
        }
        Ok(())
    }

    /// Drops lease entry `ik` of `id`, unless the record (read after the
    /// drop) holds a lease ending at `until`.
    fn drop_inflight_entry(&self, ik: &[u8], id: OutboundId, until: Timestamp) -> Result<()> {
        self.mt_inflight.remove(ik).map_err(sled_err)?;
        let leased = OutboundState::Leased { until };
        if self
            .outbound_record(id)?
            .is_some_and(|(_, m)| m.state == leased)
        {
            self.mt_inflight.insert(ik, &[]).map_err(sled_err)?;
        }
        Ok(())
    }

    pub(super) fn get_outbound(&self, id: OutboundId) -> Result<Option<OutboundMessage>> {
        let v = self.mt_msgs.get(be(id.0)).map_err(sled_err)?;
        v.map(|v| decode_outbound(id, &v)).transpose()
    }

    /// Takes an MO out of sled's old journal tree (once moved to the
    /// inbound journal at open).
    pub(super) fn mark_inbound_processed(&self, id: InboundId) -> Result<bool> {
        Ok(self.inbox.remove(be(id.0)).map_err(sled_err)?.is_some())
    }

    /// Failed messages have no index: every message is read (a sweep
    /// interval apart), at most `max` removed.
    pub(super) fn sweep_failed_outbound(&self, before: Timestamp, max: usize) -> Result<usize> {
        let mut n = 0;
        for item in self.mt_msgs.iter() {
            if n >= max {
                break;
            }
            let (k, v) = item.map_err(sled_err)?;
            let id = OutboundId(u64::from_be_bytes(
                k.as_ref().try_into().unwrap_or_default(),
            ));
            let m = decode_outbound(id, &v)?;
            if matches!(m.state, OutboundState::Failed { at } if at < before) {
                self.mt_msgs.remove(k).map_err(sled_err)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// MOs in sled's old journal tree (`mo_inbox`): a store from before the
    /// inbound journal. Read once at open, to move them.
    pub(super) fn unprocessed_inbound(
        &self,
        after: Option<InboundId>,
        max: usize,
    ) -> Result<Vec<InboundMessage>> {
        let iter = match after {
            None => self.inbox.iter(),
            Some(a) if a.0 == u64::MAX => return Ok(Vec::new()),
            Some(a) => self.inbox.range(be(a.0 + 1)..),
        };
        let mut out = Vec::new();
        for item in iter.take(max) {
            let (k, v) = item.map_err(sled_err)?;
            out.push(decode_inbound(&k, &v)?);
        }
        Ok(out)
    }
}

/// Whether `m` is queued under entry `qk`.
fn queued_at(m: &OutboundMessage, id: OutboundId, qk: &[u8]) -> bool {
    m.state == OutboundState::Queued && queue_key(m.priority, m.due_at, id) == qk
}
