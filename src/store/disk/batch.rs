//! The durable writes and how one group-commit batch is applied: in
//! order, by the writer task alone; MOs go to the inbound journal
//! (`journal.rs`), everything else as plain sled writes. The writer then
//! flushes sled (when the batch wrote to it), takes the MOs the batch's
//! replies answer out of the journal, writes and syncs the journal, and
//! only then answers anyone. A batch of MOs alone never flushes sled.
//!
//! Why no sled transaction: in sled 0.34.7 a transaction commit pins the
//! log (a log-buffer write with `sync_file_range` on sled's I/O threads)
//! and takes sled's global write lock, and under SMS load the one
//! transaction per batch was a fifth of the gateway's CPU. It bought
//! nothing the writer does not have already:
//! * isolation: the writer is the only task that makes these writes, and
//!   every key they read and then write (sequences in `meta`, the audit
//!   head, receipts and idempotency keys) is written by nobody else except
//!   the retention sweeps, which only remove expired records with a
//!   compare-and-swap; new MTs and MOs get fresh ids;
//! * atomicity across a crash: nothing in a batch is acknowledged before
//!   the flush after it, and sled recovers a prefix of its log, so a crash
//!   leaves a prefix of an unacknowledged batch. Each write is ordered so
//!   that any prefix of it is harmless: a journalled MO not yet
//!   acknowledged is processed at the next start (the SMSC's resend is then
//!   a duplicate); an MT written before its idempotency key may be sent,
//!   and the caller's retry sends it again (at-least-once, never lost);
//!   replies are made durable (sled's flush) before their MOs' removals
//!   are even written to the journal, so a lost removal means the MO is
//!   answered again, never that it is lost; the batch's MT ids are reserved
//!   in `meta` before any record that uses them, so no id is given twice; an
//!   expiry index entry is written before its record and the old one
//!   removed after, so a crash leaves at worst a stale entry that the
//!   sweep drops; an audit entry is written before the head that points to
//!   it, so a lost head means the entry is written again under the same
//!   number.
//!
//! A write whose stored data is malformed fails alone (its error is
//! returned in its slot); a storage error fails the rest of the batch.

use sled::Tree;

use super::codec::*;
use super::journal::Journal;
use super::trees::{sled_err, Trees};
use crate::store::audit::AuditEntry;
use crate::store::error::{Error, Result};
use crate::store::types::*;

/// A write that must be durable before it is acknowledged.
#[derive(Debug)]
pub(super) enum Write {
    AppendInbound {
        payload: Vec<u8>,
        received_at: Timestamp,
    },
    EnqueueOutbound(NewOutbound),
    LinkReceipt {
        id: MessageId,
        outbound: OutboundId,
        expires_at: Timestamp,
    },
    RecordReceipt {
        id: MessageId,
        status: Vec<u8>,
        expires_at: Timestamp,
    },
    /// Nothing to write; resolves when everything before it is durable.
    Sync,
    /// An MT and its idempotency key, or the id the key already names.
    EnqueueOnce {
        key: MessageId,
        msg: NewOutbound,
        expires_at: Timestamp,
    },
    /// The next audit entry, chained to the last one.
    AppendAudit(Vec<u8>),
    /// Replies, then the journal entries of the MOs they answer removed.
    EnqueueReplies {
        msgs: Vec<NewOutbound>,
        done: Vec<InboundId>,
    },
}

/// What a write produced.
#[derive(Debug)]
pub(super) enum Done {
    Inbound(InboundId),
    Outbound(OutboundId),
    Receipt(Receipt),
    Synced,
    Keyed(OutboundId, bool),
    Audit(AuditEntry),
    Replies(Vec<OutboundId>),
}

/// Storage failures (fail the rest of the batch) outside, per-write data
/// errors inside.
type Outcome<T> = Result<Result<T>>;

impl Trees {
    /// Apply `writes` in order. One result per write; `Err` when storage
    /// failed (the writes before it may be applied, none is acknowledged).
    pub(super) fn apply_batch(&self, writes: &[Write], journal: &Journal) -> Result<Applied> {
        let (meta, msgs, queue, inflight, rec, rec_exp, audit) = (
            &self.meta,
            &self.mt_msgs,
            &self.mt_queue,
            &self.mt_inflight,
            &self.receipts,
            &self.receipts_exp,
            &self.audit,
        );
        let mut outbound = reserve(meta, writes)?;
        let mut out = Vec::with_capacity(writes.len());
        let mut done_after_flush = Vec::new();
        for w in writes {
            let done = match w {
                Write::AppendInbound {
                    payload,
                    received_at,
                    ..
                } => Ok(Done::Inbound(journal.append(payload, *received_at))),
                Write::EnqueueOutbound(msg) => {
                    enqueue_outbound((&mut outbound, msgs, queue, inflight), msg)?
                        .map(Done::Outbound)
                }
                Write::LinkReceipt {
                    id,
                    outbound,
                    expires_at,
                } => merge_receipt(rec, rec_exp, id, *expires_at, |r| {
                    r.outbound = Some(*outbound)
                })?
                .map(Done::Receipt),
                Write::RecordReceipt {
                    id,
                    status,
                    expires_at,
                } => merge_receipt(rec, rec_exp, id, *expires_at, |r| {
                    r.status = Some(status.clone())
                })?
                .map(Done::Receipt),
                Write::Sync => Ok(Done::Synced),
                Write::EnqueueOnce {
                    key,
                    msg,
                    expires_at,
                } => enqueue_once(
                    (&mut outbound, msgs, queue, inflight),
                    (rec, rec_exp),
                    key,
                    msg,
                    *expires_at,
                )?
                .map(|(id, fresh)| Done::Keyed(id, fresh)),
                Write::AppendAudit(record) => append_audit(meta, audit, record)?.map(Done::Audit),
                Write::EnqueueReplies {
                    msgs: replies,
                    done,
                } => {
                    let trees = (&mut outbound, msgs, queue, inflight);
                    let r = enqueue_replies(trees, replies)?;
                    if r.is_ok() {
                        done_after_flush.extend_from_slice(done);
                    }
                    r.map(Done::Replies)
                }
            };
            out.push(done);
        }
        outbound.give_back(meta, b"outbound_seq")?;
        let sled = writes
            .iter()
            .any(|w| !matches!(w, Write::AppendInbound { .. }));
        Ok(Applied {
            results: out,
            sled,
            done_after_flush,
        })
    }
}

/// What applying a batch did.
pub(super) struct Applied {
    /// One per write.
    pub(super) results: Vec<Result<Done>>,
    /// Something went to sled (or a sync asks for its flush).
    pub(super) sled: bool,
    /// MOs answered by replies of this batch: out of the journal once
    /// sled's flush has made the replies durable, never before.
    pub(super) done_after_flush: Vec<InboundId>,
}

/// Ids handed out within one batch: `next..end`.
struct Ids {
    next: u64,
    end: u64,
}

impl Ids {
    /// Lowers the sequence to the last id taken if the batch took fewer
    /// than it reserved. Written after every record of the batch, and only
    /// ids nobody took are given back.
    fn give_back(&self, meta: &Tree, name: &[u8]) -> Result<()> {
        if self.next < self.end {
            meta.insert(name, &be(self.next - 1)).map_err(sled_err)?;
        }
        Ok(())
    }

    fn take(&mut self) -> Result<u64> {
        if self.next >= self.end {
            return Err(Error::Internal(
                "batch used more ids than it reserved".into(),
            ));
        }
        self.next += 1;
        Ok(self.next - 1)
    }
}

/// Reserves the outbound ids `writes` can use, one `meta`
/// write per sequence for the whole batch (it was one per id). The
/// reservation is written before any record that uses it, so a crash that
/// keeps a record keeps the reservation too and no id is given twice. Ids
/// reserved but not used (an idempotency key already kept) are given back
/// after the batch's records ([`Ids::give_back`]), so ids stay consecutive;
/// a crash before that leaves a gap, never a repeat. A malformed sequence
/// fails the whole batch.
fn reserve(meta: &Tree, writes: &[Write]) -> Result<Ids> {
    let mut n_out = 0u64;
    for w in writes {
        match w {
            Write::EnqueueOutbound(_) | Write::EnqueueOnce { .. } => n_out += 1,
            Write::EnqueueReplies { msgs, .. } => n_out += msgs.len() as u64,
            _ => {}
        }
    }
    let one = |name: &[u8], n: u64| -> Result<Ids> {
        if n == 0 {
            return Ok(Ids { next: 0, end: 0 });
        }
        let cur = match meta.get(name).map_err(sled_err)? {
            Some(v) => Reader::new("meta", &v).u64()?,
            None => 0,
        };
        meta.insert(name, &be(cur + n)).map_err(sled_err)?;
        Ok(Ids {
            next: cur + 1,
            end: cur + n + 1,
        })
    };
    one(b"outbound_seq", n_out)
}

/// The batch's outbound ids, `mt_msgs`, `mt_queue` and `mt_inflight`.
type QueueTrees<'a> = (&'a mut Ids, &'a Tree, &'a Tree, &'a Tree);

fn enqueue_outbound(
    (ids, msgs, queue, inflight): QueueTrees<'_>,
    msg: &NewOutbound,
) -> Outcome<OutboundId> {
    let id = match ids.take() {
        Ok(n) => OutboundId(n),
        Err(e) => return Ok(Err(e)),
    };
    let (attempts, state) = match msg.lease_until {
        Some(until) => (1, OutboundState::Leased { until }),
        None => (0, OutboundState::Queued),
    };
    let m = OutboundMessage {
        id,
        priority: msg.priority,
        due_at: msg.due_at,
        attempts,
        state,
        payload: msg.payload.clone(),
    };
    msgs.insert(be(id.0), encode_outbound(&m))
        .map_err(sled_err)?;
    match msg.lease_until {
        Some(until) => inflight
            .insert(inflight_key(until, id), &[])
            .map_err(sled_err)?,
        None => queue
            .insert(queue_key(m.priority, m.due_at, id), &[])
            .map_err(sled_err)?,
    };
    Ok(Ok(id))
}

/// Merge one half of a receipt into `dlr_map`, keeping `dlr_exp` in step.
fn merge_receipt(
    rec: &Tree,
    rec_exp: &Tree,
    id: &MessageId,
    expires_at: Timestamp,
    apply: impl FnOnce(&mut Receipt),
) -> Outcome<Receipt> {
    let key = id.0.as_bytes();
    let old = match rec
        .get(key)
        .map_err(sled_err)?
        .map(|v| decode_receipt(&v))
        .transpose()
    {
        Ok(old) => old,
        Err(e) => return Ok(Err(e)),
    };
    let mut r = old.clone().unwrap_or(Receipt {
        outbound: None,
        status: None,
        expires_at,
    });
    apply(&mut r);
    r.expires_at = r.expires_at.max(expires_at);
    // New index entry, record, old entry: any prefix leaves at worst a
    // stale entry (see the module docs).
    rec_exp
        .insert(timed_key(r.expires_at, key), &[])
        .map_err(sled_err)?;
    rec.insert(key, encode_receipt(&r)).map_err(sled_err)?;
    if let Some(o) = old.filter(|o| o.expires_at != r.expires_at) {
        rec_exp
            .remove(timed_key(o.expires_at, key))
            .map_err(sled_err)?;
    }
    Ok(Ok(r))
}

/// The replies, then their MOs out of the journal (a prefix leaves the
/// MOs to be processed again: see [`crate::store::Store::enqueue_replies`]).
fn enqueue_replies(
    (ids, msgs, queue, inflight): QueueTrees<'_>,
    replies: &[NewOutbound],
) -> Outcome<Vec<OutboundId>> {
    let mut out = Vec::with_capacity(replies.len());
    for m in replies {
        if m.unless_sent.as_ref().is_some_and(|race| !race.store()) {
            // Sent already and wanting no record: only its id.
            match ids.take() {
                Ok(n) => out.push(OutboundId(n)),
                Err(e) => return Ok(Err(e)),
            }
            continue;
        }
        match enqueue_outbound((&mut *ids, msgs, queue, inflight), m)? {
            Ok(id) => out.push(id),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(out))
}

/// The MT and `key -> id` together, unless `key` is kept already.
fn enqueue_once(
    trees: QueueTrees<'_>,
    (rec, rec_exp): (&Tree, &Tree),
    key: &MessageId,
    msg: &NewOutbound,
    expires_at: Timestamp,
) -> Outcome<(OutboundId, bool)> {
    let known = match rec
        .get(key.0.as_bytes())
        .map_err(sled_err)?
        .map(|v| decode_receipt(&v))
    {
        Some(Ok(r)) => r.outbound,
        Some(Err(e)) => return Ok(Err(e)),
        None => None,
    };
    if let Some(id) = known {
        return Ok(Ok((id, false)));
    }
    let id = match enqueue_outbound(trees, msg)? {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    merge_receipt(rec, rec_exp, key, expires_at, |r| r.outbound = Some(id))?
        .map(|_| (id, true))
        .map_or_else(|e| Ok(Err(e)), |v| Ok(Ok(v)))
}

/// The audit entry after the current head (`meta` `audit_head`: seq, hash).
fn append_audit(meta: &Tree, audit: &Tree, record: &[u8]) -> Outcome<AuditEntry> {
    let head = match meta.get(AUDIT_HEAD).map_err(sled_err)? {
        None => None,
        Some(v) => match decode_audit_head(&v) {
            Ok(h) => Some(h),
            Err(e) => return Ok(Err(e)),
        },
    };
    let entry = AuditEntry::next(head, record.to_vec());
    audit
        .insert(be(entry.seq), encode_audit(&entry))
        .map_err(sled_err)?;
    let mut h = be(entry.seq).to_vec();
    h.extend_from_slice(&entry.hash);
    meta.insert(AUDIT_HEAD, h).map_err(sled_err)?;
    Ok(Ok(entry))
}
