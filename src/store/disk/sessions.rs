//! Sessions (`sessions`) and their lazy expiry index (`session_exp`).
//!
//! A session is written on every USSD step and each write used to move its
//! index entry too (an insert and a remove in `session_exp`, half the sled
//! work of a step). The index is now a lower bound instead: each record
//! remembers the time it is indexed at, which is never after its expiry,
//! and a write moves the entry only when the expiry goes earlier than it or
//! more than [`SLACK`] later. The sweep reads the record behind each due
//! entry: expired, it goes; still live, its entry moves to the real expiry.
//!
//! Invariant: every record has the entry `(indexed_at, key)`, and
//! `indexed_at <= expires_at`. Any other entry is stale (a crash between
//! the writes, or a lost race) and the sweep drops it alone. Must not:
//! delete a session that has not expired, or force a flush.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use sled::IVec;

use super::codec::{be, split_timed_key, timed_key, Reader};
use super::trees::{sled_err, Trees};
use crate::store::error::{Error, Result};
use crate::store::types::*;

/// How much later than its index entry a session may expire before a write
/// moves the entry (ms). Larger means fewer index writes and more entries
/// the sweep re-indexes; a kept-alive dialogue costs one move a minute.
const SLACK: u64 = 60_000;

/// Set on the stored version when an `indexed_at` follows the expiry.
/// Records written before the lazy index lack it and are indexed exactly
/// at their expiry.
const INDEXED: u64 = 1 << 63;

/// A write that lost its compare-and-swap only to the sweep moving the
/// index entry (same version) tries again, at most this often.
const PUT_ATTEMPTS: usize = 8;

/// Records kept in [`Recent`] at most; past that it starts empty again.
const RECENT: usize = 4096;

/// The records `get_session` read last, by key, so the `put_session` that
/// follows (a step is load, engine, save) can compare-and-swap against them
/// instead of reading the tree a second time. Only a hint: a stale one
/// makes the swap fail, and the write then reads afresh.
#[derive(Default)]
pub(super) struct Recent(Mutex<HashMap<Vec<u8>, IVec>>);

impl Recent {
    fn keep(&self, key: &[u8], raw: &IVec) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= RECENT {
            map.clear();
        }
        map.insert(key.to_vec(), raw.clone());
    }

    fn take(&self, key: &[u8]) -> Option<IVec> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key)
    }
}

/// The fixed fields in front of a stored session.
struct Head {
    version: Version,
    expires_at: Timestamp,
    indexed_at: Timestamp,
}

/// `sessions` value: version u64 (top bit set), expires u64, indexed u64,
/// data. The older form, version, expires, data, still reads.
fn encode(head: &Head, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + data.len());
    v.extend_from_slice(&be(head.version.0 | INDEXED));
    v.extend_from_slice(&be(head.expires_at.0));
    v.extend_from_slice(&be(head.indexed_at.0));
    v.extend_from_slice(data);
    v
}

fn decode(v: &[u8]) -> Result<(Head, &[u8])> {
    let mut r = Reader::new("sessions", v);
    let version = r.u64()?;
    let expires_at = Timestamp(r.u64()?);
    let indexed_at = if version & INDEXED != 0 {
        Timestamp(r.u64()?)
    } else {
        expires_at
    };
    let head = Head {
        version: Version(version & !INDEXED),
        expires_at,
        indexed_at,
    };
    Ok((head, r.rest()))
}

pub(super) fn decode_session(v: &[u8]) -> Result<Session> {
    let (head, data) = decode(v)?;
    Ok(Session {
        version: head.version,
        expires_at: head.expires_at,
        data: data.to_vec(),
    })
}

/// Where a write indexes a session: where it already is unless the new
/// expiry is before that, or more than [`SLACK`] after it.
fn index_time(old: Option<Timestamp>, expires_at: Timestamp) -> Timestamp {
    match old {
        Some(at) if at <= expires_at && expires_at.0 - at.0 <= SLACK => at,
        _ => expires_at,
    }
}

/// What the sweep found behind one index entry.
enum Entry {
    /// No record, or one indexed elsewhere: the entry was dropped.
    Stale,
    /// Live: the entry now sits at the record's expiry.
    Moved,
    /// Expired at this time, left in place (looking only).
    Expired(Timestamp),
    /// Expired, and removed with its entry.
    Removed,
}

impl Trees {
    pub(super) fn get_session(&self, key: &SessionKey) -> Result<Option<Session>> {
        let v = self.sessions.get(&key.0).map_err(sled_err)?;
        let Some(v) = v else { return Ok(None) };
        let session = decode_session(&v)?;
        self.recent.keep(&key.0, &v);
        Ok(Some(session))
    }

    /// Compare-and-swap on `sessions` without a sled transaction (a
    /// two-tree transaction cost twice the instructions of the writes
    /// themselves, on every step of every dialogue). Most writes leave the
    /// index alone; one that moves it writes the new entry before the
    /// session and removes the old one after, so a crash in between leaves
    /// at worst a stale entry, never a session without one.
    pub(super) fn put_session(
        &self,
        key: &SessionKey,
        expected: Option<Version>,
        data: &[u8],
        expires_at: Timestamp,
    ) -> Result<Version> {
        // What the load read, when it is still the version expected.
        let mut hint = self.recent.take(&key.0).filter(|raw| {
            let head = decode(raw).map(|(h, _)| h.version);
            expected.is_some() && head.ok() == expected
        });
        for _ in 0..PUT_ATTEMPTS {
            let raw = match hint.take() {
                Some(raw) => Some(raw),
                None => self.sessions.get(&key.0).map_err(sled_err)?,
            };
            let old = raw.as_deref().map(decode).transpose()?.map(|(h, _)| h);
            let current = old.as_ref().map(|o| o.version);
            if current != expected {
                return Err(Error::Conflict { current });
            }
            let old_at = old.as_ref().map(|o| o.indexed_at);
            let head = Head {
                version: Version(current.map_or(1, |v| v.0 + 1)),
                expires_at,
                indexed_at: index_time(old_at, expires_at),
            };
            let new_index = (old_at != Some(head.indexed_at)).then(|| {
                let k = timed_key(head.indexed_at, &key.0);
                self.session_exp.insert(k.as_slice(), &[]).map(|_| k)
            });
            let new_index = new_index.transpose().map_err(sled_err)?;
            let swapped = self
                .sessions
                .compare_and_swap(key.0.as_slice(), raw, Some(encode(&head, data)))
                .map_err(sled_err)?;
            let lost = match swapped {
                Ok(()) => {
                    if let (Some(_), Some(at)) = (&new_index, old_at) {
                        self.session_exp
                            .remove(timed_key(at, &key.0))
                            .map_err(sled_err)?;
                    }
                    return Ok(head.version);
                }
                Err(lost) => lost,
            };
            let winner = lost.current.as_deref().map(decode).transpose()?;
            let winner = winner.map(|(h, _)| h);
            // Take back our entry unless the winner is indexed there too.
            if let Some(k) = new_index {
                if winner.as_ref().map(|w| w.indexed_at) != Some(head.indexed_at) {
                    self.session_exp.remove(k).map_err(sled_err)?;
                }
            }
            let now = winner.as_ref().map(|w| w.version);
            // The same version means only the sweep moved the index entry
            // (or the hint was a stale read of this version).
            if now != current || current.is_none() {
                return Err(Error::Conflict { current: now });
            }
        }
        Err(Error::Conflict { current: expected })
    }

    /// Removes the session, then its index entry (a crash in between
    /// leaves a stale entry, which the sweep drops).
    pub(super) fn delete_session(&self, key: &SessionKey) -> Result<bool> {
        let Some(v) = self.sessions.remove(key.0.as_slice()).map_err(sled_err)? else {
            return Ok(false);
        };
        let (old, _) = decode(&v)?;
        self.session_exp
            .remove(timed_key(old.indexed_at, &key.0))
            .map_err(sled_err)?;
        Ok(true)
    }

    /// Remove up to `max` sessions with `expires_at <= now`, oldest first
    /// (ties in key order). Entries due by `now` are read in index order;
    /// since an entry is never after its session's expiry, the scan can
    /// stop once `max` expired sessions are known that expire before the
    /// next entry. It looks at no more than `4 * max + 64` entries a call,
    /// so a backlog of long-lived sessions cannot hold it; past that bound
    /// the order is only approximately oldest first.
    pub(super) fn sweep_sessions(&self, now: Timestamp, max: usize) -> Result<Vec<SessionKey>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let budget = max.saturating_mul(4).saturating_add(64);
        let mut oldest: BTreeMap<(Timestamp, Vec<u8>), IVec> = BTreeMap::new();
        for item in self.session_exp.iter().take(budget) {
            let (idx_key, _) = item.map_err(sled_err)?;
            let (at, key) = split_timed_key("session_exp", &idx_key)?;
            if at > now {
                break;
            }
            if oldest.len() == max {
                let last = oldest.keys().next_back().expect("max > 0");
                if (last.0, last.1.as_slice()) < (at, key) {
                    break;
                }
            }
            // Expired and indexed here (nearly every due entry): a plain
            // read is enough to rank it; the removal below re-checks.
            let head = self.sessions.get(key).map_err(sled_err)?;
            let head = head.as_deref().map(decode).transpose()?.map(|(h, _)| h);
            let expired = head
                .as_ref()
                .filter(|h| h.indexed_at == at && h.expires_at <= now)
                .map(|h| Entry::Expired(h.expires_at));
            let entry = match expired {
                Some(e) => e,
                None => self.settle_session(&idx_key, now, false)?,
            };
            if let Entry::Expired(exp) = entry {
                oldest.insert((exp, key.to_vec()), idx_key.clone());
                if oldest.len() > max {
                    oldest.pop_last();
                }
            }
        }
        let mut removed = Vec::with_capacity(oldest.len());
        for ((_, key), idx_key) in oldest {
            if let Entry::Removed = self.settle_session(&idx_key, now, true)? {
                removed.push(SessionKey(key));
            }
        }
        Ok(removed)
    }

    /// One due index entry against its record. No sled transaction (each
    /// one pins sled's log and takes its global write lock; see
    /// `queue.rs`): a compare-and-swap on the record decides, so a write
    /// that lands between the sweep's read and this wins, and the index
    /// changes are ordered so a crash leaves at worst a stale entry.
    fn settle_session(&self, idx_key: &[u8], now: Timestamp, remove: bool) -> Result<Entry> {
        let (at, key) = split_timed_key("session_exp", idx_key)?;
        let (s, i) = (&self.sessions, &self.session_exp);
        if i.get(idx_key).map_err(sled_err)?.is_none() {
            return Ok(Entry::Stale);
        }
        let Some(v) = s.get(key).map_err(sled_err)? else {
            i.remove(idx_key).map_err(sled_err)?;
            return Ok(Entry::Stale);
        };
        let (mut head, data) = decode(&v)?;
        if head.indexed_at != at {
            i.remove(idx_key).map_err(sled_err)?;
            return Ok(Entry::Stale);
        }
        if head.expires_at > now {
            // New entry, record, old entry.
            head.indexed_at = head.expires_at;
            i.insert(timed_key(head.indexed_at, key), &[])
                .map_err(sled_err)?;
            let new = encode(&head, data);
            if s.compare_and_swap(key, Some(v), Some(new))
                .map_err(sled_err)?
                .is_ok()
            {
                i.remove(idx_key).map_err(sled_err)?;
            }
            // Lost to a write: the record says which entry is its own.
            return Ok(Entry::Moved);
        }
        if !remove {
            return Ok(Entry::Expired(head.expires_at));
        }
        // The record, then its entry.
        if s.compare_and_swap(key, Some(v), None as Option<&[u8]>)
            .map_err(sled_err)?
            .is_err()
        {
            return Ok(Entry::Moved); // written meanwhile: not expired now
        }
        i.remove(idx_key).map_err(sled_err)?;
        Ok(Entry::Removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SledConfig, SledStore, Store};

    async fn open(dir: &tempfile::TempDir) -> SledStore {
        SledStore::open(SledConfig::new(dir.path())).await.unwrap()
    }

    fn entries(s: &SledStore) -> Vec<(Timestamp, Vec<u8>)> {
        let exp = &s.trees.session_exp;
        exp.iter()
            .map(|i| {
                let (k, _) = i.unwrap();
                let (at, key) = split_timed_key("session_exp", &k).unwrap();
                (at, key.to_vec())
            })
            .collect()
    }

    /// A dialogue stepping every 5 s for half an hour with a 10-minute TTL
    /// is never swept, keeps one index entry, and goes at its expiry once
    /// it stops; one abandoned beside it goes at its own expiry.
    #[tokio::test]
    async fn a_kept_alive_session_is_never_swept_and_an_abandoned_one_is() {
        const TTL: u64 = 600_000;
        let dir = tempfile::tempdir().unwrap();
        let s = open(&dir).await;
        let (live, gone) = (SessionKey(b"live".to_vec()), SessionKey(b"gone".to_vec()));
        s.put_session(&gone, None, vec![0], Timestamp(TTL))
            .await
            .unwrap();
        let mut v = None;
        let mut now = 0;
        while now <= 1_800_000 {
            let got = s.put_session(&live, v, vec![1], Timestamp(now + TTL));
            v = Some(got.await.unwrap());
            let swept = s.sweep_expired(Timestamp(now), 16).await.unwrap();
            if now < TTL {
                assert_eq!(swept, vec![], "at {now}");
            } else if now < TTL + 5_000 {
                assert_eq!(swept, vec![gone.clone()], "at {now}");
            } else {
                assert_eq!(swept, vec![], "at {now}");
            }
            let mut e = entries(&s);
            e.retain(|(_, k)| *k == live.0);
            assert!(e.len() == 1 && e[0].0 <= Timestamp(now + TTL), "{e:?}");
            now += 5_000;
        }
        let last = now - 5_000 + TTL;
        assert_eq!(
            s.sweep_expired(Timestamp(last - 1), 16).await.unwrap(),
            vec![]
        );
        assert_eq!(
            s.sweep_expired(Timestamp(last), 16).await.unwrap(),
            vec![live]
        );
        assert_eq!(entries(&s), vec![]);
        s.close().await.unwrap();
    }

    /// A record in the older form (indexed at its expiry) is read, written
    /// over and swept; a stale entry (a crash between writes) is dropped
    /// without touching the live session under the same key.
    #[tokio::test]
    async fn older_records_and_stale_entries() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(&dir).await;
        let k = SessionKey(b"k".to_vec());
        let t = &s.trees;
        let old = [&be(3)[..], &be(500)[..], b"x"].concat();
        t.sessions.insert(&k.0, old).unwrap();
        t.session_exp
            .insert(timed_key(Timestamp(500), &k.0), &[])
            .unwrap();
        t.session_exp
            .insert(timed_key(Timestamp(20), &k.0), &[])
            .unwrap();
        let got = s.get_session(&k).await.unwrap().unwrap();
        assert_eq!(
            (got.version, got.expires_at, got.data),
            (Version(3), Timestamp(500), b"x".to_vec())
        );
        assert_eq!(s.sweep_expired(Timestamp(100), 16).await.unwrap(), vec![]);
        assert_eq!(entries(&s), vec![(Timestamp(500), k.0.clone())]);
        let v = s.put_session(&k, Some(Version(3)), b"y".to_vec(), Timestamp(700));
        assert_eq!(v.await.unwrap(), Version(4));
        assert_eq!(entries(&s), vec![(Timestamp(500), k.0.clone())]);
        assert_eq!(s.sweep_expired(Timestamp(600), 16).await.unwrap(), vec![]);
        assert_eq!(entries(&s), vec![(Timestamp(700), k.0.clone())]);
        let got = s.get_session(&k).await.unwrap().unwrap();
        assert_eq!((got.version, got.data), (Version(4), b"y".to_vec()));
        assert_eq!(s.sweep_expired(Timestamp(700), 16).await.unwrap(), vec![k]);
        s.close().await.unwrap();
    }

    /// The write after a read swaps against what was read; a read gone
    /// stale is a conflict when another writer moved the version on, and
    /// no conflict when only the sweep moved the index entry.
    #[tokio::test]
    async fn a_write_after_a_read_uses_the_read_only_while_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(&dir).await;
        let k = SessionKey(b"k".to_vec());
        let v1 = s.put_session(&k, None, vec![1], Timestamp(100));
        assert_eq!(v1.await.unwrap(), Version(1));
        s.get_session(&k).await.unwrap().unwrap();
        let behind = Head {
            version: Version(2),
            expires_at: Timestamp(100),
            indexed_at: Timestamp(100),
        };
        s.trees
            .sessions
            .insert(&k.0, encode(&behind, &[2]))
            .unwrap();
        let err = s.put_session(&k, Some(Version(1)), vec![3], Timestamp(100));
        let err = err.await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Conflict {
                    current: Some(Version(2))
                }
            ),
            "{err:?}"
        );
        let v3 = s.put_session(&k, Some(Version(2)), vec![3], Timestamp(200));
        assert_eq!(v3.await.unwrap(), Version(3));
        s.get_session(&k).await.unwrap().unwrap();
        assert_eq!(s.sweep_expired(Timestamp(150), 16).await.unwrap(), vec![]);
        let v4 = s.put_session(&k, Some(Version(3)), vec![4], Timestamp(300));
        assert_eq!(v4.await.unwrap(), Version(4));
        let got = s.get_session(&k).await.unwrap().unwrap();
        assert_eq!(
            (got.version, got.expires_at, got.data),
            (Version(4), Timestamp(300), vec![4])
        );
        assert_eq!(entries(&s), vec![(Timestamp(200), k.0.clone())]);
        s.close().await.unwrap();
    }

    #[test]
    fn both_record_forms_decode() {
        let old = [&be(7)[..], &be(50)[..], b"data"].concat();
        let (h, data) = decode(&old).unwrap();
        assert_eq!(
            (h.version, h.expires_at, h.indexed_at),
            (Version(7), Timestamp(50), Timestamp(50))
        );
        assert_eq!(data, b"data");
        let head = Head {
            version: Version(8),
            expires_at: Timestamp(90),
            indexed_at: Timestamp(50),
        };
        let bytes = encode(&head, b"more");
        let (h, data) = decode(&bytes).unwrap();
        assert_eq!(
            (h.version, h.expires_at, h.indexed_at),
            (Version(8), Timestamp(90), Timestamp(50))
        );
        assert_eq!(data, b"more");
        assert!(decode(&be(1 | INDEXED)).is_err());
    }

    #[test]
    fn the_index_moves_only_earlier_or_past_the_slack() {
        let t = Timestamp;
        assert_eq!(index_time(None, t(100)), t(100));
        assert_eq!(index_time(Some(t(100)), t(100 + SLACK)), t(100));
        assert_eq!(index_time(Some(t(100)), t(101 + SLACK)), t(101 + SLACK));
        assert_eq!(index_time(Some(t(100)), t(99)), t(99));
    }
}
