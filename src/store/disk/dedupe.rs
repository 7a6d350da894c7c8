//! MO dedupe on sled with no expiry index and no read of sled per check.
//!
//! Each key seen within its window has one record in the `mo_dedupe` tree,
//! keyed `expires u64 ‖ key`, so the records are in expiry order and the
//! sweep is a range scan from the start with one removal each. A map in
//! memory from a digest of the key (SHA-256, first 16 bytes) to its record
//! answers the check: a check is one map lookup, a first sighting one sled
//! insert. The old layout took a read, an index insert and a
//! compare-and-swap per MO, then two removals and a read at expiry: about
//! a tenth of the gateway's CPU per keyword SMS.
//!
//! The map is rebuilt from the tree at open, so a restart keeps the window.
//! sled writes the record with its background flush; a first sighting is
//! also written to the inbound journal as a "seen" record, durable with the
//! next group commit and so before the "done" of the MO it came with
//! (`journal.rs`), and merged back at open. It costs about 50 bytes of memory per key in the window: a
//! 2-minute window at 4,000 MOs/s is 480,000 keys, about 25 MB. At most
//! [`MAX_KEYS`] are kept: past that (a 2-minute window above 8,300 MOs/s
//! sustained, or a long window) the key closest to its expiry is forgotten
//! first, so a resend that late is no longer caught.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::codec::{be, split_timed_key, timed_key, Reader};
use super::journal::{Journal, SeenKey};
use super::trees::sled_err;
use crate::store::error::Result;
use crate::store::types::{Dedupe, DedupeKey, Timestamp};

const TREE: &str = "mo_dedupe";

/// Keys kept at most (about 50 MB of memory).
const MAX_KEYS: usize = 1_000_000;

/// The trees of the layout before this one (key -> times, and an expiry
/// index), dropped at open: their records only cover a few minutes.
pub(super) const OLD_TREES: [&str; 2] = ["dedupe", "dedupe_exp"];

type Digest = [u8; 16];

#[derive(Debug, Clone, Copy)]
struct Seen {
    first: Timestamp,
    expires: Timestamp,
}

pub(super) struct Dedupes {
    tree: sled::Tree,
    seen: Mutex<HashMap<Digest, Seen>>,
    max_keys: usize,
}

fn digest(key: &[u8]) -> Digest {
    let full = Sha256::digest(key);
    let mut d = [0u8; 16];
    d.copy_from_slice(&full[..16]);
    d
}

impl Dedupes {
    /// Opens the tree and loads what it holds (expired records included;
    /// the next sweep removes them).
    pub(super) fn open(db: &sled::Db) -> sled::Result<Dedupes> {
        for old in OLD_TREES {
            db.drop_tree(old)?;
        }
        let tree = db.open_tree(TREE)?;
        let mut seen = HashMap::new();
        for item in tree.iter() {
            let (k, v) = item?;
            let (Ok((expires, key)), Ok(first)) = (
                split_timed_key(TREE, &k),
                Reader::new(TREE, &v).u64().map(Timestamp),
            ) else {
                continue; // malformed: left for the sweep to remove
            };
            let rec = Seen { first, expires };
            seen.entry(digest(key))
                .and_modify(|s: &mut Seen| {
                    if s.expires < expires {
                        *s = rec;
                    }
                })
                .or_insert(rec);
        }
        Ok(Dedupes {
            tree,
            seen: Mutex::new(seen),
            max_keys: MAX_KEYS,
        })
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Seen>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `journal` gets a "seen" record of a first sighting: durable before
    /// the "done" of its MO, where sled's record waits for sled's flush.
    pub(super) fn check_and_insert(
        &self,
        key: &DedupeKey,
        now: Timestamp,
        ttl: Duration,
        journal: &Journal,
    ) -> Result<Dedupe> {
        let d = digest(&key.0);
        let expires = now.after(ttl);
        let old = {
            let mut seen = self.seen();
            if let Some(s) = seen.get(&d).filter(|s| s.expires > now) {
                return Ok(Dedupe::Duplicate {
                    first_seen: s.first,
                });
            }
            if seen.len() >= self.max_keys && !seen.contains_key(&d) {
                self.forget_oldest(&mut seen)?;
            }
            // Under the lock: two equal keys at once are one First and one
            // Duplicate.
            self.tree
                .insert(timed_key(expires, &key.0), &be(now.0))
                .map_err(sled_err)?;
            journal.seen(&key.0, now, expires);
            seen.insert(
                d,
                Seen {
                    first: now,
                    expires,
                },
            )
        };
        if let Some(old) = old.filter(|o| o.expires != expires) {
            // Expired but not swept yet: one record per key.
            self.tree
                .remove(timed_key(old.expires, &key.0))
                .map_err(sled_err)?;
        }
        Ok(Dedupe::First)
    }

    /// Merges the keys the inbound journal's "seen" records held (at open):
    /// those sled's background flush had not written yet are written now.
    pub(super) fn restore(&self, keys: Vec<SeenKey>) -> Result<()> {
        let mut seen = self.seen();
        for k in keys {
            let d = digest(&k.key);
            if seen.get(&d).is_some_and(|s| s.expires >= k.expires) {
                continue;
            }
            if seen.len() >= self.max_keys && !seen.contains_key(&d) {
                self.forget_oldest(&mut seen)?;
            }
            self.tree
                .insert(timed_key(k.expires, &k.key), &be(k.first.0))
                .map_err(sled_err)?;
            let rec = Seen {
                first: k.first,
                expires: k.expires,
            };
            if let Some(old) = seen.insert(d, rec).filter(|o| o.expires != k.expires) {
                self.tree
                    .remove(timed_key(old.expires, &k.key))
                    .map_err(sled_err)?;
            }
        }
        Ok(())
    }

    /// Drops the record closest to its expiry (the first in the tree).
    fn forget_oldest(&self, seen: &mut HashMap<Digest, Seen>) -> Result<()> {
        let Some((k, _)) = self.tree.pop_min().map_err(sled_err)? else {
            return Ok(());
        };
        if let Ok((at, key)) = split_timed_key(TREE, &k) {
            let d = digest(key);
            if seen.get(&d).is_some_and(|s| s.expires == at) {
                seen.remove(&d);
            }
        }
        Ok(())
    }

    /// Removes up to `max` records expired at `now`, oldest first.
    pub(super) fn sweep(&self, now: Timestamp, max: usize) -> Result<usize> {
        let mut due = Vec::new();
        for item in self.tree.iter() {
            let (k, _) = item.map_err(sled_err)?;
            if due.len() >= max {
                break;
            }
            match split_timed_key(TREE, &k) {
                Ok((at, _)) if at > now => break,
                _ => due.push(k),
            }
        }
        let mut removed = 0;
        for k in due {
            if let Ok((at, key)) = split_timed_key(TREE, &k) {
                let d = digest(key);
                let mut seen = self.seen();
                if seen.get(&d).is_some_and(|s| s.expires == at) {
                    seen.remove(&d);
                }
                removed += 1;
            }
            self.tree.remove(&k).map_err(sled_err)?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_cap_the_key_closest_to_expiry_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let mut d = Dedupes::open(&db).unwrap();
        let (j, _) = Journal::open(&dir.path().join("journal"), 1 << 20, 1).unwrap();
        d.max_keys = 3;
        let ttl = Duration::from_secs(60);
        let key = |i: u8| DedupeKey(vec![b'k', i]);
        let check =
            |d: &Dedupes, i, at| d.check_and_insert(&key(i), Timestamp(at), ttl, &j).unwrap();
        for (i, at) in [(1, 30), (2, 10), (3, 20)] {
            assert_eq!(check(&d, i, at), Dedupe::First);
        }
        // A fourth key: key 2, expiring first, goes from memory and disk.
        assert_eq!(check(&d, 4, 40), Dedupe::First);
        assert_eq!(d.tree.len(), 3);
        assert_eq!(
            check(&d, 1, 50),
            Dedupe::Duplicate {
                first_seen: Timestamp(30)
            }
        );
        assert_eq!(check(&d, 2, 50), Dedupe::First, "forgotten");
        // ... which made room by forgetting key 3 (then the oldest).
        assert_eq!(d.seen().len(), 3);
        assert_eq!(check(&d, 3, 50), Dedupe::First);
    }

    #[test]
    fn a_key_sled_had_not_flushed_comes_back_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("journal");
        let ttl = Duration::from_secs(60);
        let key = DedupeKey(b"operator\0msisdn\0ref".to_vec());
        {
            let db = sled::Config::new()
                .path(dir.path().join("a"))
                .open()
                .unwrap();
            let d = Dedupes::open(&db).unwrap();
            let (j, _) = Journal::open(&jdir, 1 << 20, 1).unwrap();
            assert_eq!(
                d.check_and_insert(&key, Timestamp(1000), ttl, &j).unwrap(),
                Dedupe::First
            );
            j.commit().unwrap();
        }
        // sled as a crash could leave it: without the record.
        let db = sled::Config::new()
            .path(dir.path().join("b"))
            .open()
            .unwrap();
        let d = Dedupes::open(&db).unwrap();
        let (j, seen) = Journal::open(&jdir, 1 << 20, 1).unwrap();
        assert_eq!(seen.len(), 1);
        d.restore(seen).unwrap();
        assert_eq!(
            d.check_and_insert(&key, Timestamp(2000), ttl, &j).unwrap(),
            Dedupe::Duplicate {
                first_seen: Timestamp(1000)
            }
        );
        assert_eq!(d.tree.len(), 1, "written to sled at the merge");
    }
}
