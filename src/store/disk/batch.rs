//! The durable writes and how one group-commit batch is applied: all of
//! its writes in ONE multi-tree transaction.
//!
//! Why one transaction per batch: in sled 0.34.7 every transaction commit
//! pins the log (`PageCache::pin_log`), which seals the current log buffer
//! and writes it out with `sync_file_range(WAIT_AFTER)`. A transaction per
//! write would make each write its own disk round trip and defeat the group
//! commit. A write whose stored data is malformed fails alone (its error is
//! returned in its slot); storage errors fail the whole batch.

use sled::transaction::{TransactionalTree, UnabortableTransactionError};
use sled::Transactional;

use super::codec::*;
use super::trees::{tx_err, Trees};
use crate::store::audit::AuditEntry;
use crate::store::error::Result;
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
}

/// Storage failures (retry or fail the batch) outside, per-write data errors inside.
type TxOutcome<T> = std::result::Result<Result<T>, UnabortableTransactionError>;

impl Trees {
    /// Apply `writes` in order, atomically. One result per write.
    pub(super) fn apply_batch(&self, writes: &[Write]) -> Result<Vec<Result<Done>>> {
        (
            &self.meta,
            &self.inbox,
            &self.mt_msgs,
            &self.mt_queue,
            &self.mt_inflight,
            &self.receipts,
            &self.receipts_exp,
            &self.audit,
        )
            .transaction(
                |(meta, inbox, msgs, queue, inflight, rec, rec_exp, audit)| {
                    let mut out = Vec::with_capacity(writes.len());
                    for w in writes {
                        let done = match w {
                            Write::AppendInbound {
                                payload,
                                received_at,
                            } => append_inbound(meta, inbox, payload, *received_at)?
                                .map(Done::Inbound),
                            Write::EnqueueOutbound(msg) => {
                                enqueue_outbound((meta, msgs, queue, inflight), msg)?
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
                                (meta, msgs, queue, inflight),
                                (rec, rec_exp),
                                key,
                                msg,
                                *expires_at,
                            )?
                            .map(|(id, fresh)| Done::Keyed(id, fresh)),
                            Write::AppendAudit(record) => {
                                append_audit(meta, audit, record)?.map(Done::Audit)
                            }
                        };
                        out.push(done);
                    }
                    Ok(out)
                },
            )
            .map_err(tx_err)
    }
}

/// Next value of a persistent sequence in `meta` (reads this transaction's
/// own earlier writes, so a batch allocates consecutive ids).
fn next_seq(meta: &TransactionalTree, name: &[u8]) -> TxOutcome<u64> {
    let cur = match meta.get(name)? {
        Some(v) => match Reader::new("meta", &v).u64() {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        },
        None => 0,
    };
    meta.insert(name, &be(cur + 1))?;
    Ok(Ok(cur + 1))
}

fn append_inbound(
    meta: &TransactionalTree,
    inbox: &TransactionalTree,
    payload: &[u8],
    received_at: Timestamp,
) -> TxOutcome<InboundId> {
    let id = match next_seq(meta, b"inbound_seq")? {
        Ok(n) => InboundId(n),
        Err(e) => return Ok(Err(e)),
    };
    let m = InboundMessage {
        id,
        received_at,
        payload: payload.to_vec(),
    };
    inbox.insert(&be(id.0), encode_inbound(&m))?;
    Ok(Ok(id))
}

/// `mt_msgs`, `mt_queue` and `mt_inflight` (with `meta` for the id).
type QueueTrees<'a> = (
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
);

fn enqueue_outbound(
    (meta, msgs, queue, inflight): QueueTrees<'_>,
    msg: &NewOutbound,
) -> TxOutcome<OutboundId> {
    let id = match next_seq(meta, b"outbound_seq")? {
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
    msgs.insert(&be(id.0), encode_outbound(&m))?;
    match msg.lease_until {
        Some(until) => inflight.insert(inflight_key(until, id), &[])?,
        None => queue.insert(queue_key(m.priority, m.due_at, id), &[])?,
    };
    Ok(Ok(id))
}

/// Merge one half of a receipt into `dlr_map`, keeping `dlr_exp` in step.
fn merge_receipt(
    rec: &TransactionalTree,
    rec_exp: &TransactionalTree,
    id: &MessageId,
    expires_at: Timestamp,
    apply: impl FnOnce(&mut Receipt),
) -> TxOutcome<Receipt> {
    let key = id.0.as_bytes();
    let old = match rec.get(key)?.map(|v| decode_receipt(&v)).transpose() {
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
    if let Some(o) = &old {
        rec_exp.remove(timed_key(o.expires_at, key))?;
    }
    rec.insert(key, encode_receipt(&r))?;
    rec_exp.insert(timed_key(r.expires_at, key), &[])?;
    Ok(Ok(r))
}

/// The MT and `key -> id` together, unless `key` is kept already.
fn enqueue_once(
    trees: QueueTrees<'_>,
    (rec, rec_exp): (&TransactionalTree, &TransactionalTree),
    key: &MessageId,
    msg: &NewOutbound,
    expires_at: Timestamp,
) -> TxOutcome<(OutboundId, bool)> {
    let known = match rec.get(key.0.as_bytes())?.map(|v| decode_receipt(&v)) {
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
fn append_audit(
    meta: &TransactionalTree,
    audit: &TransactionalTree,
    record: &[u8],
) -> TxOutcome<AuditEntry> {
    let head = match meta.get(AUDIT_HEAD)? {
        None => None,
        Some(v) => match decode_audit_head(&v) {
            Ok(h) => Some(h),
            Err(e) => return Ok(Err(e)),
        },
    };
    let entry = AuditEntry::next(head, record.to_vec());
    audit.insert(&be(entry.seq), encode_audit(&entry))?;
    let mut h = be(entry.seq).to_vec();
    h.extend_from_slice(&entry.hash);
    meta.insert(AUDIT_HEAD, h)?;
    Ok(Ok(entry))
}
