//! `MemoryStore`: the whole store as plain BTreeMaps behind one mutex.
//! Used by engine/runtime tests and as the reference model the sled store is
//! checked against, so it is written for obviousness, not speed (claims and
//! sweeps scan everything). Nothing here is durable.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::audit::AuditEntry;
use super::error::{Error, Result};
use super::types::*;
use super::Store;

#[derive(Debug, Default)]
struct State {
    sessions: BTreeMap<SessionKey, Session>,
    profiles: BTreeMap<SubscriberKey, Vec<u8>>,
    inbound: BTreeMap<InboundId, InboundMessage>,
    inbound_seq: u64,
    outbound: BTreeMap<OutboundId, OutboundMessage>,
    outbound_seq: u64,
    /// key -> (first_seen, expires_at)
    dedupe: BTreeMap<DedupeKey, (Timestamp, Timestamp)>,
    receipts: BTreeMap<MessageId, Receipt>,
    audit: Vec<AuditEntry>,
    flow_sources: BTreeMap<(String, u32), Vec<u8>>,
    flow_history: BTreeMap<u64, Vec<u8>>,
}

impl State {
    /// The receipt record for `id`, new if there is none, kept at least
    /// until `expires_at`: the DLR and the submit_sm_resp come in either order.
    fn receipt_mut(&mut self, id: &MessageId, expires_at: Timestamp) -> &mut Receipt {
        let r = self.receipts.entry(id.clone()).or_insert(Receipt {
            outbound: None,
            status: None,
            expires_at,
        });
        r.expires_at = r.expires_at.max(expires_at);
        r
    }
}

/// In-memory [`Store`]. Cheap to create; each instance is independent.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock; if one ever did, the
        // maps are still consistent per operation, so keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_lease(&self, lease: Lease, f: impl FnOnce(&mut OutboundMessage) -> bool) -> Result<()> {
        let mut st = self.lock();
        let msg = match st.outbound.get_mut(&lease.id) {
            Some(m)
                if matches!(m.state, OutboundState::Leased { .. })
                    && m.attempts == lease.attempt =>
            {
                m
            }
            _ => return Err(Error::LeaseLost { id: lease.id }),
        };
        if !f(msg) {
            st.outbound.remove(&lease.id);
        }
        Ok(())
    }
}

/// Keys of entries expired at `now`, ordered by (expiry, key), at most `max`.
fn expired<K: Ord + Clone>(
    items: impl Iterator<Item = (Timestamp, K)>,
    now: Timestamp,
    max: usize,
) -> Vec<K> {
    let mut due: Vec<(Timestamp, K)> = items.filter(|(t, _)| *t <= now).collect();
    due.sort();
    due.into_iter().take(max).map(|(_, k)| k).collect()
}

impl Store for MemoryStore {
    async fn get_session(&self, key: &SessionKey) -> Result<Option<Session>> {
        Ok(self.lock().sessions.get(key).cloned())
    }

    async fn put_session(
        &self,
        key: &SessionKey,
        expected: Option<Version>,
        data: Vec<u8>,
        expires_at: Timestamp,
    ) -> Result<Version> {
        let mut st = self.lock();
        let current = st.sessions.get(key).map(|s| s.version);
        if current != expected {
            return Err(Error::Conflict { current });
        }
        let version = Version(current.map_or(1, |v| v.0 + 1));
        st.sessions.insert(
            key.clone(),
            Session {
                version,
                expires_at,
                data,
            },
        );
        Ok(version)
    }

    async fn delete_session(&self, key: &SessionKey) -> Result<bool> {
        Ok(self.lock().sessions.remove(key).is_some())
    }

    async fn sweep_expired(&self, now: Timestamp, max: usize) -> Result<Vec<SessionKey>> {
        let mut st = self.lock();
        let keys = expired(
            st.sessions.iter().map(|(k, s)| (s.expires_at, k.clone())),
            now,
            max,
        );
        for k in &keys {
            st.sessions.remove(k);
        }
        Ok(keys)
    }

    async fn get_profile(&self, who: &SubscriberKey) -> Result<Option<Vec<u8>>> {
        Ok(self.lock().profiles.get(who).cloned())
    }

    async fn put_profile(&self, who: &SubscriberKey, data: Vec<u8>) -> Result<()> {
        self.lock().profiles.insert(who.clone(), data);
        Ok(())
    }

    async fn append_inbound(&self, payload: Vec<u8>, received_at: Timestamp) -> Result<InboundId> {
        let mut st = self.lock();
        st.inbound_seq += 1;
        let id = InboundId(st.inbound_seq);
        st.inbound.insert(
            id,
            InboundMessage {
                id,
                received_at,
                payload,
            },
        );
        Ok(id)
    }

    async fn mark_inbound_processed(&self, id: InboundId) -> Result<bool> {
        Ok(self.lock().inbound.remove(&id).is_some())
    }

    async fn sweep_inbound(&self, before: Timestamp, max: usize) -> Result<usize> {
        let mut st = self.lock();
        let old: Vec<InboundId> = st
            .inbound
            .values()
            .take_while(|m| m.received_at < before)
            .take(max)
            .map(|m| m.id)
            .collect();
        for id in &old {
            st.inbound.remove(id);
        }
        Ok(old.len())
    }

    async fn sweep_failed_outbound(&self, before: Timestamp, max: usize) -> Result<usize> {
        let mut st = self.lock();
        let old: Vec<OutboundId> = st
            .outbound
            .values()
            .filter(|m| matches!(m.state, OutboundState::Failed { at } if at < before))
            .take(max)
            .map(|m| m.id)
            .collect();
        for id in &old {
            st.outbound.remove(id);
        }
        Ok(old.len())
    }

    async fn unprocessed_inbound(
        &self,
        after: Option<InboundId>,
        max: usize,
    ) -> Result<Vec<InboundMessage>> {
        let st = self.lock();
        let from = after.map_or(0, |a| a.0.saturating_add(1));
        if after.is_some_and(|a| a.0 == u64::MAX) {
            return Ok(Vec::new());
        }
        Ok(st
            .inbound
            .range(InboundId(from)..)
            .take(max)
            .map(|(_, m)| m.clone())
            .collect())
    }

    async fn enqueue_outbound(&self, msg: NewOutbound) -> Result<OutboundId> {
        let mut st = self.lock();
        st.outbound_seq += 1;
        let id = OutboundId(st.outbound_seq);
        st.outbound.insert(id, queued(id, msg));
        Ok(id)
    }

    async fn claim(&self, n: usize, now: Timestamp, lease: Duration) -> Result<Vec<Claimed>> {
        let mut st = self.lock();
        let leased = st.outbound.values().filter_map(|m| match m.state {
            OutboundState::Leased { until } => Some((until, m.id)),
            _ => None,
        });
        for id in expired(leased, now, MAX_REQUEUE_PER_CLAIM) {
            if let Some(m) = st.outbound.get_mut(&id) {
                m.state = OutboundState::Queued;
            }
        }
        let mut due: Vec<(Priority, Timestamp, OutboundId)> = st
            .outbound
            .values()
            .filter(|m| m.state == OutboundState::Queued && m.due_at <= now)
            .map(|m| (m.priority, m.due_at, m.id))
            .collect();
        due.sort();
        let until = now.after(lease);
        let mut out = Vec::new();
        for (_, _, id) in due.into_iter().take(n) {
            if let Some(m) = st.outbound.get_mut(&id) {
                m.attempts = m.attempts.saturating_add(1);
                m.state = OutboundState::Leased { until };
                let lease = Lease {
                    id,
                    attempt: m.attempts,
                };
                out.push(Claimed {
                    lease,
                    priority: m.priority,
                    payload: m.payload.clone(),
                });
            }
        }
        Ok(out)
    }

    async fn complete(&self, lease: Lease) -> Result<()> {
        self.with_lease(lease, |_| false)
    }

    async fn fail(&self, lease: Lease, now: Timestamp) -> Result<()> {
        self.with_lease(lease, |m| {
            m.state = OutboundState::Failed { at: now };
            true
        })
    }

    async fn reschedule(&self, lease: Lease, due_at: Timestamp) -> Result<()> {
        self.with_lease(lease, |m| {
            m.state = OutboundState::Queued;
            m.due_at = due_at;
            true
        })
    }

    async fn get_outbound(&self, id: OutboundId) -> Result<Option<OutboundMessage>> {
        Ok(self.lock().outbound.get(&id).cloned())
    }

    async fn check_and_insert(
        &self,
        key: &DedupeKey,
        now: Timestamp,
        ttl: Duration,
    ) -> Result<Dedupe> {
        let mut st = self.lock();
        if let Some(&(first_seen, expires_at)) = st.dedupe.get(key) {
            if expires_at > now {
                return Ok(Dedupe::Duplicate { first_seen });
            }
        }
        st.dedupe.insert(key.clone(), (now, now.after(ttl)));
        Ok(Dedupe::First)
    }

    async fn withdraw_dedupe(&self, key: &DedupeKey, first: Timestamp) -> Result<()> {
        let mut st = self.lock();
        if st.dedupe.get(key).is_some_and(|&(f, _)| f == first) {
            st.dedupe.remove(key);
        }
        Ok(())
    }

    async fn sweep_dedupe(&self, now: Timestamp, max: usize) -> Result<usize> {
        let mut st = self.lock();
        let keys = expired(
            st.dedupe.iter().map(|(k, (_, e))| (*e, k.clone())),
            now,
            max,
        );
        for k in &keys {
            st.dedupe.remove(k);
        }
        Ok(keys.len())
    }

    async fn link_receipt(
        &self,
        id: &MessageId,
        outbound: OutboundId,
        expires_at: Timestamp,
    ) -> Result<Receipt> {
        let mut st = self.lock();
        let r = st.receipt_mut(id, expires_at);
        r.outbound = Some(outbound);
        Ok(r.clone())
    }

    async fn record_receipt(
        &self,
        id: &MessageId,
        status: Vec<u8>,
        expires_at: Timestamp,
    ) -> Result<Receipt> {
        let mut st = self.lock();
        let r = st.receipt_mut(id, expires_at);
        r.status = Some(status);
        Ok(r.clone())
    }

    async fn receipt_status(&self, id: &MessageId) -> Result<Option<Receipt>> {
        Ok(self.lock().receipts.get(id).cloned())
    }

    async fn sweep_receipts(&self, now: Timestamp, max: usize) -> Result<usize> {
        let mut st = self.lock();
        let keys = expired(
            st.receipts.iter().map(|(k, r)| (r.expires_at, k.clone())),
            now,
            max,
        );
        for k in &keys {
            st.receipts.remove(k);
        }
        Ok(keys.len())
    }

    async fn sync(&self) -> Result<()> {
        Ok(())
    }

    async fn enqueue_outbound_once(
        &self,
        key: &MessageId,
        msg: NewOutbound,
        expires_at: Timestamp,
    ) -> Result<(OutboundId, bool)> {
        // One lock for the check and both halves: no other call sees one
        // without the other.
        let mut st = self.lock();
        if let Some(id) = st.receipts.get(key).and_then(|r| r.outbound) {
            return Ok((id, false));
        }
        st.outbound_seq += 1;
        let id = OutboundId(st.outbound_seq);
        st.outbound.insert(id, queued(id, msg));
        let r = st.receipts.entry(key.clone()).or_insert(Receipt {
            outbound: None,
            status: None,
            expires_at,
        });
        r.outbound = Some(id);
        r.expires_at = r.expires_at.max(expires_at);
        Ok((id, true))
    }

    async fn append_audit(&self, record: Vec<u8>) -> Result<AuditEntry> {
        let mut st = self.lock();
        let head = st.audit.last().map(|e| (e.seq, e.hash));
        let entry = AuditEntry::next(head, record);
        st.audit.push(entry.clone());
        Ok(entry)
    }

    async fn audit_entries(&self, after: u64, max: usize) -> Result<Vec<AuditEntry>> {
        let st = self.lock();
        Ok(st
            .audit
            .iter()
            .filter(|e| e.seq > after)
            .take(max)
            .cloned()
            .collect())
    }

    async fn put_flow_source(&self, id: &str, version: u32, record: Vec<u8>) -> Result<()> {
        self.lock()
            .flow_sources
            .insert((id.to_string(), version), record);
        Ok(())
    }

    async fn get_flow_source(&self, id: &str, version: u32) -> Result<Option<Vec<u8>>> {
        let st = self.lock();
        Ok(st.flow_sources.get(&(id.to_string(), version)).cloned())
    }

    async fn append_flow_history(&self, record: Vec<u8>) -> Result<u64> {
        let mut st = self.lock();
        let seq = st.flow_history.keys().next_back().map_or(1, |s| s + 1);
        st.flow_history.insert(seq, record);
        Ok(seq)
    }

    async fn flow_history(&self, before: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let st = self.lock();
        Ok(st
            .flow_history
            .range(..before)
            .rev()
            .take(max)
            .map(|(k, v)| (*k, v.clone()))
            .collect())
    }

    async fn list_sessions(
        &self,
        after: Option<&SessionKey>,
        max: usize,
    ) -> Result<Vec<(SessionKey, Session)>> {
        use std::ops::Bound;
        let st = self.lock();
        let from = after.map_or(Bound::Unbounded, |k| Bound::Excluded(k.clone()));
        Ok(st
            .sessions
            .range((from, Bound::Unbounded))
            .take(max)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// The record of a new MT: queued, or already leased (`lease_until`).
fn queued(id: OutboundId, msg: NewOutbound) -> OutboundMessage {
    let (attempts, state) = match msg.lease_until {
        Some(until) => (1, OutboundState::Leased { until }),
        None => (0, OutboundState::Queued),
    };
    OutboundMessage {
        id,
        priority: msg.priority,
        due_at: msg.due_at,
        attempts,
        state,
        payload: msg.payload,
    }
}
