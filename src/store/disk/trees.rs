//! The fixed set of sled trees and the synchronous operations on them.
//! Outside the group-commit batch (`batch.rs`) nothing uses a sled
//! transaction: each one pins sled's log (a log-buffer write and
//! `sync_file_range` on sled's I/O threads) and takes sled's global write
//! lock. A record and its expiry index are kept apart by ordering instead
//! (see `queue.rs` and `put_session`): compare-and-swap on the record
//! decides, index entries are hints that readers check against it.
//! No flushing here: durability is the writer's job (`writer.rs`).

use super::codec::*;
use super::sessions::decode_session;
use crate::store::audit::AuditEntry;
use crate::store::error::{Error, Result};
use crate::store::types::*;

/// Handles to every tree; cheap to clone (all `Arc`s inside).
#[derive(Clone)]
pub(crate) struct Trees {
    pub(super) db: sled::Db,
    pub(super) meta: sled::Tree,
    pub(super) sessions: sled::Tree,
    pub(super) session_exp: sled::Tree,
    /// Session records just read, for the write that follows.
    pub(super) recent: std::sync::Arc<super::sessions::Recent>,
    profiles: sled::Tree,
    pub(super) inbox: sled::Tree,
    pub(super) mt_msgs: sled::Tree,
    pub(super) mt_queue: sled::Tree,
    pub(super) mt_inflight: sled::Tree,
    /// MO dedupe (`dedupe.rs`).
    pub(super) dedupes: std::sync::Arc<super::dedupe::Dedupes>,
    pub(super) receipts: sled::Tree,
    pub(super) receipts_exp: sled::Tree,
    pub(super) audit: sled::Tree,
    /// (flow id, NUL, version big-endian) -> the publisher's record.
    flow_sources: sled::Tree,
    /// seq (big-endian, from `Db::generate_id`) -> one publish.
    flow_history: sled::Tree,
}

/// Map a sled error to ours (full disk and corruption are their own variants).
pub(crate) fn sled_err(e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) => Error::from_io(io),
        sled::Error::Corruption { at, .. } => Error::Corrupt {
            detail: format!("at {at:?}"),
        },
        other => Error::Internal(other.to_string()),
    }
}

impl Trees {
    pub(super) fn open(db: sled::Db) -> sled::Result<Trees> {
        Ok(Trees {
            meta: db.open_tree("meta")?,
            sessions: db.open_tree("sessions")?,
            session_exp: db.open_tree("session_exp")?,
            recent: Default::default(),
            profiles: db.open_tree("profiles")?,
            inbox: db.open_tree("mo_inbox")?,
            mt_msgs: db.open_tree("mt_msgs")?,
            mt_queue: db.open_tree("mt_queue")?,
            mt_inflight: db.open_tree("mt_inflight")?,
            dedupes: std::sync::Arc::new(super::dedupe::Dedupes::open(&db)?),
            receipts: db.open_tree("dlr_map")?,
            receipts_exp: db.open_tree("dlr_exp")?,
            audit: db.open_tree("audit")?,
            flow_sources: db.open_tree("flow_sources")?,
            flow_history: db.open_tree("flow_history")?,
            db,
        })
    }

    pub(super) fn get_profile(&self, who: &SubscriberKey) -> Result<Option<Vec<u8>>> {
        Ok(self
            .profiles
            .get(who.0.as_bytes())
            .map_err(sled_err)?
            .map(|v| v.to_vec()))
    }

    pub(super) fn put_profile(&self, who: &SubscriberKey, data: &[u8]) -> Result<()> {
        self.profiles
            .insert(who.0.as_bytes(), data)
            .map_err(sled_err)?;
        Ok(())
    }

    pub(super) fn receipt_status(&self, id: &MessageId) -> Result<Option<Receipt>> {
        let v = self.receipts.get(id.0.as_bytes()).map_err(sled_err)?;
        v.map(|v| decode_receipt(&v)).transpose()
    }

    pub(super) fn sweep_receipts(&self, now: Timestamp, max: usize) -> Result<usize> {
        let keys = sweep_index(
            &self.receipts,
            &self.receipts_exp,
            "dlr_exp",
            now,
            max,
            |v| decode_receipt(v).map(|r| r.expires_at),
        )?;
        Ok(keys.len())
    }
}

impl Trees {
    pub(super) fn audit_entries(&self, after: u64, max: usize) -> Result<Vec<AuditEntry>> {
        let Some(from) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for item in self.audit.range(be(from)..).take(max) {
            let (k, v) = item.map_err(sled_err)?;
            out.push(decode_audit(&k, &v)?);
        }
        Ok(out)
    }

    pub(super) fn put_flow_source(&self, id: &str, version: u32, record: &[u8]) -> Result<()> {
        self.flow_sources
            .insert(flow_key(id, version), record)
            .map_err(sled_err)?;
        Ok(())
    }

    pub(super) fn get_flow_source(&self, id: &str, version: u32) -> Result<Option<Vec<u8>>> {
        let v = self.flow_sources.get(flow_key(id, version));
        Ok(v.map_err(sled_err)?.map(|v| v.to_vec()))
    }

    /// Ids from sled's own generator: increasing and never reused, also
    /// across a crash (it may skip some, which a history does not mind).
    pub(super) fn append_flow_history(&self, record: &[u8]) -> Result<u64> {
        let seq = self.db.generate_id().map_err(sled_err)? + 1;
        self.flow_history
            .insert(be(seq), record)
            .map_err(sled_err)?;
        Ok(seq)
    }

    pub(super) fn flow_history(&self, before: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut out = Vec::new();
        for item in self.flow_history.range(..be(before)).rev().take(max) {
            let (k, v) = item.map_err(sled_err)?;
            out.push((Reader::new("flow_history", &k).u64()?, v.to_vec()));
        }
        Ok(out)
    }

    pub(super) fn list_sessions(
        &self,
        after: Option<&SessionKey>,
        max: usize,
    ) -> Result<Vec<(SessionKey, Session)>> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |k| Bound::Excluded(k.0.clone()));
        let mut out = Vec::new();
        for item in self
            .sessions
            .range::<Vec<u8>, _>((from, Bound::Unbounded))
            .take(max)
        {
            let (k, v) = item.map_err(sled_err)?;
            out.push((SessionKey(k.to_vec()), decode_session(&v)?));
        }
        Ok(out)
    }
}

fn flow_key(id: &str, version: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(id.len() + 5);
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// Remove up to `max` entries whose expiry-index key is `<= now`, in index
/// order, from both the primary tree and the index; returns their keys. An
/// index entry whose record has a different expiry (stale) is dropped alone.
fn sweep_index(
    primary: &sled::Tree,
    index: &sled::Tree,
    index_name: &'static str,
    now: Timestamp,
    max: usize,
    expiry_of: impl Fn(&[u8]) -> Result<Timestamp>,
) -> Result<Vec<Vec<u8>>> {
    let mut removed = Vec::new();
    let mut candidates = Vec::new();
    for item in index.iter() {
        let (k, _) = item.map_err(sled_err)?;
        if candidates.len() >= max || split_timed_key(index_name, &k)?.0 > now {
            break;
        }
        candidates.push(k);
    }
    for idx_key in candidates {
        let (at, key) = split_timed_key(index_name, &idx_key)?;
        // The record first, and only if it still expires at this entry's
        // time (compare-and-swap against the bytes read); then the entry.
        // A crash in between leaves a stale entry, dropped next time.
        let gone = match primary.get(key).map_err(sled_err)? {
            Some(v) if expiry_of(&v)? == at => primary
                .compare_and_swap(key, Some(v), None as Option<&[u8]>)
                .map_err(sled_err)?
                .is_ok(),
            _ => false,
        };
        index.remove(idx_key.as_ref()).map_err(sled_err)?;
        if gone {
            removed.push(key.to_vec());
        }
    }
    Ok(removed)
}
