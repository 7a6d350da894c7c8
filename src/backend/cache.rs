//! A small TTL cache of successful GET answers for reference data
//! (`cache_ttl`), bounded to `capacity` entries per back-end: when full,
//! expired entries go first, then the one closest to expiry. Keys are the
//! full request URL (plus any templated header values), so they hold
//! parameters: the cache lives in memory only and is never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Answers kept per back-end.
pub const CAPACITY: usize = 1024;

#[derive(Debug)]
pub struct Cache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Instant, serde_json::Value)>>,
}

impl Cache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Cache {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, serde_json::Value)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str, now: Instant) -> Option<serde_json::Value> {
        let mut entries = self.lock();
        match entries.get(key) {
            Some((expires, v)) if now < *expires => Some(v.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: String, value: serde_json::Value, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= self.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (expires, _))| *expires)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key, (now + self.ttl, value));
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_expire_and_the_size_is_bounded() {
        let c = Cache::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        c.put("a".into(), json!(1), t0);
        c.put("b".into(), json!(2), t0 + Duration::from_secs(1));
        c.put("c".into(), json!(3), t0 + Duration::from_secs(2));
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("a", t0), None, "the oldest went first");
        assert_eq!(c.get("c", t0 + Duration::from_secs(3)), Some(json!(3)));
        assert_eq!(c.get("c", t0 + Duration::from_secs(62)), None);
        assert_eq!(c.len(), 1);
    }
}
