//! Sessions active now, for the `sessions_active` gauge: every turn that
//! leaves a conversation open notes it with when it goes idle; a finished
//! one is forgotten; a scrape counts the open ones not yet idle (and drops
//! the idle ones). In memory, per node, bounded by [`MAX_TRACKED`]. Split
//! over [`crate::shards`]: with 100,000 dialogues open, neither the map
//! growing nor a scrape's pass over it holds up every turn.

use std::collections::HashMap;

use crate::shards::{Shards, SHARDS};
use crate::store::SessionKey;

/// Conversations tracked at most; past it new ones are not counted (the
/// gauge then reads low, and a warning says so once).
pub const MAX_TRACKED: usize = 1_000_000;

#[derive(Default)]
pub(crate) struct Active {
    open: Shards<HashMap<SessionKey, Open>>,
    warned: std::sync::atomic::AtomicBool,
}

struct Open {
    operator: String,
    bearer: &'static str,
    idle_at_ms: u64,
}

impl Active {
    /// After a turn: `open` (the conversation waits for the citizen) until
    /// `idle_at_ms`, or finished.
    pub fn note(&self, key: &SessionKey, who: (&str, &'static str), open: bool, idle_at_ms: u64) {
        let mut map = self.open.of(key);
        if !open {
            map.remove(key);
            return;
        }
        if map.len() >= MAX_TRACKED / SHARDS && !map.contains_key(key) {
            if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(
                    max = MAX_TRACKED,
                    "too many open sessions to count; sessions_active reads low"
                );
            }
            return;
        }
        let (operator, bearer) = who;
        map.insert(
            key.clone(),
            Open {
                operator: operator.to_string(),
                bearer,
                idle_at_ms,
            },
        );
    }

    /// Open, not idle at `now_ms`: per (operator, bearer).
    pub fn counts(&self, now_ms: u64) -> Vec<(String, &'static str, usize)> {
        let mut counts: HashMap<(String, &'static str), usize> = HashMap::new();
        for mut map in self.open.each() {
            map.retain(|_, o| o.idle_at_ms > now_ms);
            let mut here: HashMap<(&str, &'static str), usize> = HashMap::new();
            for o in map.values() {
                *here.entry((&o.operator, o.bearer)).or_default() += 1;
            }
            for ((operator, bearer), n) in here {
                *counts.entry((operator.to_string(), bearer)).or_default() += n;
            }
        }
        let mut out: Vec<_> = counts.into_iter().map(|((o, b), n)| (o, b, n)).collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_open_sessions_until_idle_or_finished() {
        let a = Active::default();
        let k = |s: &str| SessionKey(s.as_bytes().to_vec());
        a.note(&k("1"), ("zain", "ussd"), true, 100);
        a.note(&k("2"), ("zain", "ussd"), true, 50);
        a.note(&k("3"), ("korek", "ussd"), true, 100);
        a.note(&k("3"), ("korek", "ussd"), false, 0);
        assert_eq!(a.counts(10), vec![("zain".into(), "ussd", 2)]);
        assert_eq!(a.counts(60), vec![("zain".into(), "ussd", 1)]);
        assert!(a.counts(100).is_empty());
        // Many, over every shard: each counted once.
        for i in 0..1000 {
            let op = if i % 3 == 0 { "korek" } else { "zain" };
            a.note(&k(&i.to_string()), (op, "ussd"), true, 200);
        }
        assert_eq!(
            a.counts(150),
            vec![("korek".into(), "ussd", 334), ("zain".into(), "ussd", 666)]
        );
    }
}
