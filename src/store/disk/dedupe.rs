//! MO dedupe: the keys seen within their window, in memory, made durable
//! by the inbound journal, with no sled write per MO.
//!
//! A map from a digest of the key (SHA-256, first 16 bytes) to when it was
//! first seen and when it expires answers the check: one lookup; a first
//! sighting adds an entry and a "seen" record to the journal
//! (`journal.rs`), written with the next group commit, so before the
//! "done" of the MO it came with. The journal keeps seen records until
//! they expire (copying them forward when it drops a segment), and hands
//! them back at open, so a restart keeps the window.
//!
//! History: each key had a sled record (first a read, an index insert and
//! a compare-and-swap per MO, about a tenth of the gateway's CPU per
//! keyword SMS; then one insert per MO, still 7 %). Records a store from
//! before left in the `mo_dedupe` tree are read at open, written to the
//! journal and removed from sled.
//!
//! Memory: about 100 bytes per key in the window (the map and an expiry
//! index): a 2-minute window at 4,000 MOs/s is 480,000 keys, about 48 MB.
//! At most [`MAX_KEYS`] are kept: past that (a 2-minute window above 8,300
//! MOs/s sustained, or a long window) the key closest to its expiry in its
//! shard is forgotten first, so a resend that late is no longer caught.
//!
//! The keys are split by digest into [`SHARDS`] maps, each under its own
//! lock (`crate::shards`: one map of 230,000 keys took 42 ms to grow, all
//! MOs waiting on its lock).

use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::codec::{split_timed_key, Reader};
use super::journal::{Forgot, Journal, Replayed, SeenKey};
use super::trees::sled_err;
use crate::shards::{Shards, SHARDS};
use crate::store::error::Result;
use crate::store::types::{Dedupe, DedupeKey, Timestamp};

/// The sled tree of the layout before this one, read once at open.
const TREE: &str = "mo_dedupe";

/// Keys kept at most (about 100 MB of memory).
const MAX_KEYS: usize = 1_000_000;

/// The trees of older layouts (key -> times, and an expiry index), dropped
/// at open: their records only cover a few minutes.
pub(super) const OLD_TREES: [&str; 2] = ["dedupe", "dedupe_exp"];

type Digest = [u8; 16];

#[derive(Debug, Clone, Copy)]
struct Seen {
    first: Timestamp,
    expires: Timestamp,
}

#[derive(Default)]
struct Keys {
    seen: HashMap<Digest, Seen>,
    /// The same keys by (expires, digest): the sweep and the cap take the
    /// first.
    order: BTreeSet<(Timestamp, Digest)>,
}

impl Keys {
    fn add(&mut self, d: Digest, rec: Seen) {
        if let Some(old) = self.seen.insert(d, rec) {
            self.order.remove(&(old.expires, d));
        }
        self.order.insert((rec.expires, d));
    }

    /// Forgets the key closest to its expiry, if it expires by `by`.
    fn pop_first(&mut self, by: Timestamp) -> Option<(Timestamp, Digest)> {
        match self.order.first() {
            Some(&(at, d)) if at <= by => {
                self.order.pop_first();
                self.seen.remove(&d);
                Some((at, d))
            }
            _ => None,
        }
    }
}

pub(super) struct Dedupes {
    /// By the first byte of the digest (SHA-256 spreads them evenly).
    shards: Shards<Keys>,
    /// Keys kept at most per shard.
    max_keys: usize,
    /// Keys read from sled's old tree at open, to move to the journal.
    legacy: Mutex<Option<(sled::Tree, Vec<SeenKey>)>>,
}

fn digest(key: &[u8]) -> Digest {
    let full = Sha256::digest(key);
    let mut d = [0u8; 16];
    d.copy_from_slice(&full[..16]);
    d
}

impl Dedupes {
    /// Drops the oldest layouts' trees and reads what the last one holds
    /// (see [`Dedupes::adopt`]).
    pub(super) fn open(db: &sled::Db) -> sled::Result<Dedupes> {
        for old in OLD_TREES {
            db.drop_tree(old)?;
        }
        let tree = db.open_tree(TREE)?;
        let mut legacy = Vec::new();
        for item in tree.iter() {
            let (k, v) = item?;
            let (Ok((expires, key)), Ok(first)) = (
                split_timed_key(TREE, &k),
                Reader::new(TREE, &v).u64().map(Timestamp),
            ) else {
                continue; // malformed: dropped with the tree
            };
            legacy.push(SeenKey {
                key: key.to_vec(),
                first,
                expires,
            });
        }
        Ok(Dedupes {
            shards: Shards::new(SHARDS),
            max_keys: MAX_KEYS / SHARDS,
            legacy: Mutex::new(Some((tree, legacy))),
        })
    }

    /// At open, for each seen or forgot record of the journal, in order: a
    /// key is kept unless a later record of it is kept already; a forgotten
    /// one is removed if it is still the record the sweep removed.
    pub(super) fn replayed(&self, r: Replayed) {
        match r {
            Replayed::Seen(k) => self.keep(k),
            Replayed::Forgot(f) => {
                let mut keys = self.shard(&f.digest);
                if keys
                    .seen
                    .get(&f.digest)
                    .is_some_and(|s| s.expires == f.expires)
                {
                    keys.seen.remove(&f.digest);
                    keys.order.remove(&(f.expires, f.digest));
                }
            }
        }
    }

    fn keep(&self, k: SeenKey) {
        let d = digest(&k.key);
        let mut keys = self.shard(&d);
        if keys.seen.get(&d).is_some_and(|s| s.expires >= k.expires) {
            return;
        }
        if keys.seen.len() >= self.max_keys && !keys.seen.contains_key(&d) {
            keys.pop_first(Timestamp(u64::MAX));
        }
        let rec = Seen {
            first: k.first,
            expires: k.expires,
        };
        keys.add(d, rec);
    }

    /// At open, after the journal's replay: the keys sled's old tree held
    /// are written to the journal (durable) and kept, and only then
    /// removed from sled.
    pub(super) fn adopt_legacy(&self, journal: &Journal) -> Result<()> {
        let legacy = self.legacy.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some((tree, old)) = legacy else {
            return Ok(());
        };
        if old.is_empty() {
            return Ok(());
        }
        for k in &old {
            journal.seen(&k.key, k.first, k.expires);
        }
        journal.commit()?;
        for k in old {
            self.keep(k);
        }
        tree.clear().map_err(sled_err)
    }

    fn shard(&self, d: &Digest) -> MutexGuard<'_, Keys> {
        self.shards.at(usize::from(d[0]))
    }

    /// Keys held now, all shards together.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.each().map(|s| s.seen.len()).sum()
    }

    /// `journal` gets a "seen" record of a first sighting: durable with the
    /// next group commit, before the "done" of its MO.
    pub(super) fn check_and_insert(
        &self,
        key: &DedupeKey,
        now: Timestamp,
        ttl: Duration,
        journal: &Journal,
    ) -> Dedupe {
        let d = digest(&key.0);
        let expires = now.after(ttl);
        let mut keys = self.shard(&d);
        if let Some(s) = keys.seen.get(&d).filter(|s| s.expires > now) {
            return Dedupe::Duplicate {
                first_seen: s.first,
            };
        }
        // Under the lock: two equal keys at once are one First and one
        // Duplicate.
        if keys.seen.len() >= self.max_keys && !keys.seen.contains_key(&d) {
            keys.pop_first(Timestamp(u64::MAX));
        }
        keys.add(
            d,
            Seen {
                first: now,
                expires,
            },
        );
        journal.seen(&key.0, now, expires);
        Dedupe::First
    }

    /// Forgets `key` if it was first seen at `first` (in memory only: its
    /// "seen" record stays in the journal).
    pub(super) fn withdraw(&self, key: &DedupeKey, first: Timestamp) {
        let d = digest(&key.0);
        let mut keys = self.shard(&d);
        if let Some(s) = keys.seen.get(&d).copied().filter(|s| s.first == first) {
            keys.seen.remove(&d);
            keys.order.remove(&(s.expires, d));
        }
    }

    /// Forgets up to `max` keys expired at `now`, the earliest expiries
    /// over all shards first (as one map would), each with a "forgot"
    /// record in `journal` so that a restart does not bring it back.
    ///
    /// Two passes, one shard's lock at a time: the first picks the `max`
    /// earliest expired keys (a heap of at most `max`), the second forgets
    /// those still there. A key renewed in between stays.
    pub(super) fn sweep(&self, now: Timestamp, max: usize, journal: &Journal) -> usize {
        if max == 0 {
            return 0;
        }
        let mut picked: BinaryHeap<(Timestamp, Digest)> = BinaryHeap::with_capacity(max.min(4096));
        for keys in self.shards.each() {
            for &entry in keys.order.iter().take_while(|(at, _)| *at <= now) {
                if picked.len() < max {
                    picked.push(entry);
                } else if picked.peek().is_some_and(|top| entry < *top) {
                    picked.pop();
                    picked.push(entry);
                } else {
                    // This shard's later keys expire later still.
                    break;
                }
            }
        }
        let mut picked = picked.into_vec();
        picked.sort_unstable_by_key(|(_, d)| d[0]);
        let mut removed = 0;
        for group in picked.chunk_by(|a, b| a.1[0] == b.1[0]) {
            let mut keys = self.shard(&group[0].1);
            for &(expires, digest) in group {
                if keys.order.remove(&(expires, digest)) {
                    keys.seen.remove(&digest);
                    journal.forgot(Forgot { digest, expires });
                    removed += 1;
                }
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(dir: &std::path::Path) -> Journal {
        Journal::open(&dir.join("journal"), 1 << 20, 1, &mut |_| {}).unwrap()
    }

    /// A fresh store in `dir`: its sled, an empty dedupe map, its journal.
    fn fresh(dir: &std::path::Path) -> (sled::Db, Dedupes, Journal) {
        let db = sled::Config::new().path(dir).open().unwrap();
        let d = Dedupes::open(&db).unwrap();
        (db, d, journal(dir))
    }

    #[test]
    fn past_the_cap_the_key_closest_to_expiry_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, mut d, j) = fresh(dir.path());
        // One shard, so that the cap is over all four keys.
        d.shards = Shards::new(1);
        d.max_keys = 3;
        let ttl = Duration::from_secs(60);
        let key = |i: u8| DedupeKey(vec![b'k', i]);
        let check = |d: &Dedupes, i, at| d.check_and_insert(&key(i), Timestamp(at), ttl, &j);
        for (i, at) in [(1, 10), (2, 20), (3, 30)] {
            assert_eq!(check(&d, i, at), Dedupe::First);
        }
        // A fourth key: key 1, expiring first, is forgotten.
        assert_eq!(check(&d, 4, 40), Dedupe::First);
        assert_eq!(d.len(), 3);
        assert_eq!(
            check(&d, 2, 50),
            Dedupe::Duplicate {
                first_seen: Timestamp(20)
            }
        );
        assert_eq!(check(&d, 1, 50), Dedupe::First, "forgotten");
        // ... which made room by forgetting key 2 (then the earliest).
        assert_eq!(d.len(), 3);
        assert_eq!(check(&d, 2, 60), Dedupe::First);
    }

    #[test]
    fn keys_spread_over_the_shards_and_each_shard_keeps_its_own_cap() {
        let dir = tempfile::tempdir().unwrap();
        let (db, d, j) = fresh(dir.path());
        assert_eq!(d.max_keys * SHARDS, MAX_KEYS);
        let ttl = Duration::from_secs(60);
        let key =
            |i: u32| DedupeKey(format!("op\0{}\0{i}", 9_647_800_000_u64 + u64::from(i)).into());
        for i in 0..6400 {
            d.check_and_insert(&key(i), Timestamp(u64::from(i)), ttl, &j);
        }
        // No shard is more than about twice its share (100 keys each):
        // none ever grows much more than 1/64th of the keys at once.
        let sizes: Vec<usize> = d.shards.each().map(|s| s.seen.len()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 6400);
        assert!(sizes.iter().all(|&n| (50..200).contains(&n)), "{sizes:?}");
        // With a cap of 10 per shard, 640 keys stay: the latest of each.
        let mut d = Dedupes::open(&db).unwrap();
        d.max_keys = 10;
        for i in 0..7000 {
            d.check_and_insert(&key(i), Timestamp(u64::from(i)), ttl, &j);
        }
        assert_eq!(d.len(), 640);
        let at = Timestamp(8000);
        assert!(matches!(
            d.check_and_insert(&key(6999), at, ttl, &j),
            Dedupe::Duplicate { .. }
        ));
        assert_eq!(d.check_and_insert(&key(0), at, ttl, &j), Dedupe::First);
    }

    #[test]
    fn a_short_sweep_forgets_the_earliest_expiries_over_all_shards() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, d, j) = fresh(dir.path());
        let ttl = Duration::from_millis(100);
        let key = |i: u32| DedupeKey(format!("k{i}").into());
        // 1,000 keys over the 64 shards, expiring at 100, 101, ...; the
        // sweep may forget 300 of the 900 expired at 1000. Asked again at 0,
        // before any expiry, the kept keys are duplicates.
        for i in 0..1000 {
            d.check_and_insert(&key(i), Timestamp(u64::from(i)), ttl, &j);
        }
        assert_eq!(d.sweep(Timestamp(1000), 300, &j), 300);
        for i in 0..1000 {
            let again = d.check_and_insert(&key(i), Timestamp(0), ttl, &j);
            assert_eq!(again == Dedupe::First, i < 300, "key {i}: {again:?}");
        }
    }

    #[test]
    fn the_sweep_forgets_expired_keys_only_and_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let (db, d, j) = fresh(dir.path());
        let ttl = Duration::from_millis(100);
        for i in 0..10u8 {
            let at = Timestamp(u64::from(i) * 10);
            d.check_and_insert(&DedupeKey(vec![i]), at, ttl, &j);
        }
        // Expiries are 100, 110, ... 190: at 145, five have expired.
        assert_eq!(d.sweep(Timestamp(145), 100, &j), 5);
        assert_eq!(d.sweep(Timestamp(145), 100, &j), 0);
        j.commit().unwrap();
        drop(j);
        // After a restart: what the sweep forgot stays forgotten, even for
        // a clock that went back; the rest is still there.
        let d = Dedupes::open(&db).unwrap();
        let j = open_journal(dir.path(), &d);
        assert_eq!(d.len(), 5);
        let at = Timestamp(50);
        let again = d.check_and_insert(&DedupeKey(vec![7]), at, ttl, &j);
        assert!(matches!(again, Dedupe::Duplicate { .. }));
        let again = d.check_and_insert(&DedupeKey(vec![1]), at, ttl, &j);
        assert_eq!(again, Dedupe::First);
    }

    fn open_journal(dir: &std::path::Path, d: &Dedupes) -> Journal {
        Journal::open(&dir.join("journal"), 1 << 20, 1, &mut |k| d.replayed(k)).unwrap()
    }

    #[test]
    fn keys_come_back_from_the_journal_and_from_sled_of_an_older_store() {
        let dir = tempfile::tempdir().unwrap();
        let ttl = Duration::from_secs(60);
        let key = DedupeKey(b"operator\0msisdn\0ref".to_vec());
        let old = DedupeKey(b"from an older store".to_vec());
        {
            // No flusher thread: it would hold the database (and its file lock)
            // for up to its interval after the drop, and the reopen below fail.
            let db = sled::Config::new()
                .path(dir.path())
                .flush_every_ms(None)
                .open()
                .unwrap();
            // What the layout before kept in sled: expires ‖ key -> first.
            db.open_tree(TREE)
                .unwrap()
                .insert(
                    super::super::codec::timed_key(Timestamp(61_000), &old.0),
                    &super::super::codec::be(1000),
                )
                .unwrap();
            let d = Dedupes::open(&db).unwrap();
            let j = open_journal(dir.path(), &d);
            d.adopt_legacy(&j).unwrap();
            assert!(db.open_tree(TREE).unwrap().is_empty(), "moved out of sled");
            assert_eq!(
                d.check_and_insert(&key, Timestamp(1000), ttl, &j),
                Dedupe::First
            );
            j.commit().unwrap();
            db.flush().unwrap();
        }
        // sled's I/O threads may hold it (and its lock) a moment longer.
        super::super::released(&dir.path().join("db"));
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let d = Dedupes::open(&db).unwrap();
        let j = open_journal(dir.path(), &d);
        assert_eq!(d.len(), 2, "both from the journal");
        d.adopt_legacy(&j).unwrap();
        for k in [&key, &old] {
            assert_eq!(
                d.check_and_insert(k, Timestamp(2000), ttl, &j),
                Dedupe::Duplicate {
                    first_seen: Timestamp(1000)
                }
            );
        }
    }
}
