//! The outbound queue's state machine on sled (queued -> leased ->
//! completed/failed/queued) and the inbound journal's reads. Each state
//! change is one multi-tree transaction over `mt_msgs`, `mt_queue` and
//! `mt_inflight`, so concurrent claimers never lease the same message: the
//! transaction re-checks that the queue entry is still there.

use std::time::Duration;

use sled::Transactional;

use super::codec::*;
use super::trees::{abort, sled_err, tx_err, Trees};
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

    /// Move queue entry `qk` to in-flight; None if another claimer won.
    fn lease_one(&self, qk: &[u8], id: OutboundId, until: Timestamp) -> Result<Option<Claimed>> {
        (&self.mt_msgs, &self.mt_queue, &self.mt_inflight)
            .transaction(|(msgs, queue, inflight)| {
                if queue.remove(qk)?.is_none() {
                    return Ok(None);
                }
                let Some(v) = msgs.get(be(id.0))? else {
                    return Ok(None); // dangling queue entry: dropped above
                };
                let mut m = match decode_outbound(id, &v) {
                    Ok(m) => m,
                    Err(e) => return abort(e),
                };
                if m.state != OutboundState::Queued {
                    return Ok(None); // stale queue entry (dropped above)
                }
                m.attempts = m.attempts.saturating_add(1);
                m.state = OutboundState::Leased { until };
                msgs.insert(&be(id.0), encode_outbound(&m))?;
                inflight.insert(inflight_key(until, id), &[])?;
                let lease = Lease {
                    id,
                    attempt: m.attempts,
                };
                Ok(Some(Claimed {
                    lease,
                    priority: m.priority,
                    payload: m.payload,
                }))
            })
            .map_err(tx_err)
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
            let id = OutboundId(Reader::new("mt_inflight", ik.get(8..).unwrap_or_default()).u64()?);
            (&self.mt_msgs, &self.mt_queue, &self.mt_inflight)
                .transaction(|(msgs, queue, inflight)| {
                    if inflight.remove(ik.as_ref())?.is_none() {
                        return Ok(());
                    }
                    let Some(v) = msgs.get(be(id.0))? else {
                        return Ok(());
                    };
                    let mut m = match decode_outbound(id, &v) {
                        Ok(m) => m,
                        Err(e) => return abort(e),
                    };
                    m.state = OutboundState::Queued;
                    msgs.insert(&be(id.0), encode_outbound(&m))?;
                    queue.insert(queue_key(m.priority, m.due_at, id), &[])?;
                    Ok(())
                })
                .map_err(tx_err)?;
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
        (&self.mt_msgs, &self.mt_queue, &self.mt_inflight)
            .transaction(|(msgs, queue, inflight)| {
                let Some(v) = msgs.get(be(id.0))? else {
                    return abort(Error::LeaseLost { id });
                };
                let mut m = match decode_outbound(id, &v) {
                    Ok(m) => m,
                    Err(e) => return abort(e),
                };
                let OutboundState::Leased { until } = m.state else {
                    return abort(Error::LeaseLost { id });
                };
                if m.attempts != lease.attempt {
                    return abort(Error::LeaseLost { id });
                }
                inflight.remove(inflight_key(until, id))?;
                match how {
                    Settle::Complete => {
                        msgs.remove(&be(id.0))?;
                        return Ok(());
                    }
                    Settle::Fail(at) => m.state = OutboundState::Failed { at },
                    Settle::Reschedule(due_at) => {
                        m.state = OutboundState::Queued;
                        m.due_at = due_at;
                        queue.insert(queue_key(m.priority, due_at, id), &[])?;
                    }
                }
                msgs.insert(&be(id.0), encode_outbound(&m))?;
                Ok(())
            })
            .map_err(tx_err)
    }

    pub(super) fn get_outbound(&self, id: OutboundId) -> Result<Option<OutboundMessage>> {
        let v = self.mt_msgs.get(be(id.0)).map_err(sled_err)?;
        v.map(|v| decode_outbound(id, &v)).transpose()
    }

    pub(super) fn mark_inbound_processed(&self, id: InboundId) -> Result<bool> {
        Ok(self.inbox.remove(be(id.0)).map_err(sled_err)?.is_some())
    }

    /// Journal keys are ids in arrival order: the oldest come first.
    pub(super) fn sweep_inbound(&self, before: Timestamp, max: usize) -> Result<usize> {
        let mut n = 0;
        for item in self.inbox.iter().take(max) {
            let (k, v) = item.map_err(sled_err)?;
            if decode_inbound(&k, &v)?.received_at >= before {
                break;
            }
            self.inbox.remove(k).map_err(sled_err)?;
            n += 1;
        }
        Ok(n)
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
