//! A value split into shards, each behind its own lock, for the in-memory
//! maps that grow with traffic (dedupe keys, rate-limit windows, open
//! sessions).
//!
//! Why: a `HashMap` grows by moving every entry into a table twice the
//! size, all at once, under whatever lock guards it. The dedupe map of
//! 230,000 keys took 42 ms to grow; every MO on both runtime workers
//! waited on that lock meanwhile, and at 4,000 MOs/s that one stall was
//! most of the p99 of the Kannel bench. Split 64 ways, a shard grows
//! 1/64th as much at a time, a scan (a sweep, a metrics scrape) holds one
//! shard at a time, and two callers contend only when they hit the same
//! shard.

use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Mutex, MutexGuard};

/// Shards of the maps that use this: enough that one grows at most 1/64th
/// of the entries at once; few enough that a full scan stays cheap.
pub const SHARDS: usize = 64;

pub struct Shards<T> {
    shards: Box<[Mutex<T>]>,
    hasher: RandomState,
}

impl<T: Default> Shards<T> {
    /// `n` shards (at least one).
    pub fn new(n: usize) -> Shards<T> {
        Shards {
            shards: (0..n.max(1)).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl<T: Default> Default for Shards<T> {
    fn default() -> Shards<T> {
        Shards::new(SHARDS)
    }
}

impl<T> Shards<T> {
    /// The shard `key` belongs to, locked (SipHash with a per-process
    /// key, so a sender cannot aim many keys at one shard).
    pub fn of<K: Hash + ?Sized>(&self, key: &K) -> MutexGuard<'_, T> {
        self.at(self.hasher.hash_one(key) as usize)
    }

    /// Shard `i` (modulo their number), locked. For keys that are a hash
    /// already.
    pub fn at(&self, i: usize) -> MutexGuard<'_, T> {
        lock(&self.shards[i % self.shards.len()])
    }

    /// Each shard in turn, locked one at a time.
    pub fn each(&self) -> impl Iterator<Item = MutexGuard<'_, T>> {
        self.shards.iter().map(lock)
    }

    pub fn count(&self) -> usize {
        self.shards.len()
    }
}

/// A poisoned lock is taken anyway: these maps hold no invariant a panic
/// elsewhere could have broken half-way that matters more than serving.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_always_lands_in_the_same_shard_and_keys_spread() {
        let s: Shards<Vec<u32>> = Shards::default();
        for i in 0..6400u32 {
            s.of(&i).push(i);
        }
        for i in [0u32, 17, 6399] {
            assert!(s.of(&i).contains(&i));
        }
        let sizes: Vec<usize> = s.each().map(|v| v.len()).collect();
        assert_eq!(sizes.len(), SHARDS);
        assert_eq!(sizes.iter().sum::<usize>(), 6400);
        assert!(sizes.iter().all(|&n| (40..200).contains(&n)), "{sizes:?}");
        let one: Shards<u8> = Shards::new(0);
        assert_eq!(one.count(), 1);
        *one.at(5) += 1;
        assert_eq!(*one.at(0), 1);
    }
}
