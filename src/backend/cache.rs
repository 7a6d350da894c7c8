//! A small TTL cache of successful GET answers for reference data
//! (`cache_ttl`), bounded per back-end both in entries and in bytes (the
//! answers' JSON size): when full, expired entries go first, then the one
//! closest to expiry; an answer bigger than a sixteenth of the byte budget
//! is not cached at all. Keys are the full request URL (plus any templated
//! header values), so they hold parameters: the cache lives in memory only
//! and is never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Answers kept per back-end.
pub const CAPACITY: usize = 1024;
/// Bytes of answers (as JSON) kept per back-end.
pub const BYTES: usize = 4 << 20;

struct Entry {
    expires: Instant,
    size: usize,
    value: serde_json::Value,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    bytes: usize,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some(e) = self.map.remove(key) {
            self.bytes -= e.size + key.len();
        }
    }
}

pub struct Cache {
    ttl: Duration,
    capacity: usize,
    budget: usize,
    entries: Mutex<Entries>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("ttl", &self.ttl)
            .field("entries", &self.len())
            .finish()
    }
}

impl Cache {
    pub fn new(ttl: Duration, capacity: usize, budget: usize) -> Self {
        Cache {
            ttl,
            capacity: capacity.max(1),
            budget,
            entries: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str, now: Instant) -> Option<serde_json::Value> {
        let mut entries = self.lock();
        match entries.map.get(key) {
            Some(e) if now < e.expires => Some(e.value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: String, value: serde_json::Value, now: Instant) {
        let size = serde_json::to_vec(&value).map_or(usize::MAX, |v| v.len());
        if size.saturating_add(key.len()) > self.budget / 16 {
            return;
        }
        let mut entries = self.lock();
        entries.remove(&key);
        let full =
            |e: &Entries| e.map.len() >= self.capacity || e.bytes + size + key.len() > self.budget;
        if full(&entries) {
            let expired: Vec<String> = entries
                .map
                .iter()
                .filter(|(_, e)| now >= e.expires)
                .map(|(k, _)| k.clone())
                .collect();
            for k in expired {
                entries.remove(&k);
            }
        }
        while full(&entries) {
            let oldest = entries
                .map
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => entries.remove(&k),
                None => break,
            }
        }
        entries.bytes += size + key.len();
        let expires = now + self.ttl;
        entries.map.insert(
            key,
            Entry {
                expires,
                size,
                value,
            },
        );
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held (answers as JSON plus keys).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_expire_and_the_count_is_bounded() {
        let c = Cache::new(Duration::from_secs(60), 2, BYTES);
        let t0 = Instant::now();
        c.put("a".into(), json!(1), t0);
        c.put("b".into(), json!(2), t0 + Duration::from_secs(1));
        c.put("c".into(), json!(3), t0 + Duration::from_secs(2));
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("a", t0), None, "the oldest went first");
        assert_eq!(c.get("c", t0 + Duration::from_secs(3)), Some(json!(3)));
        assert_eq!(c.get("c", t0 + Duration::from_secs(62)), None);
        assert_eq!(c.len(), 1);
        assert_eq!(c.bytes(), 2, "key b + value 2");
    }

    #[test]
    fn the_byte_budget_is_kept() {
        let c = Cache::new(Duration::from_secs(60), 1000, 1600);
        let t0 = Instant::now();
        let big = json!("x".repeat(200));
        assert!(serde_json::to_vec(&big).unwrap().len() > 1600 / 16);
        c.put("big".into(), big, t0);
        assert!(c.is_empty(), "too big for the cache at all");
        let v = json!("y".repeat(90)); // 92 bytes + 2-byte key: fits 1/16
        for i in 0..40 {
            c.put(format!("{i:02}"), v.clone(), t0 + Duration::from_millis(i));
            assert!(c.bytes() <= 1600, "{}", c.bytes());
        }
        assert_eq!(c.len(), 1600 / 94);
        assert!(c.get("39", t0).is_some() && c.get("00", t0).is_none());
        c.put("39".into(), json!(1), t0);
        assert_eq!(
            c.bytes(),
            1600 / 94 * 94 - 94 + 3,
            "a replaced entry is re-counted"
        );
    }
}
