//! Sessions active now, for the `sessions_active` gauge: every turn that
//! leaves a conversation open notes it with when it goes idle; a finished
//! one is forgotten; a scrape counts the open ones not yet idle (and drops
//! the idle ones). In memory, per node, bounded by [`MAX_TRACKED`].

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::SessionKey;

/// Conversations tracked at most; past it new ones are not counted (the
/// gauge then reads low, and a warning says so once).
pub const MAX_TRACKED: usize = 1_000_000;

#[derive(Default)]
pub(crate) struct Active {
    open: Mutex<HashMap<SessionKey, Open>>,
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
        let mut map = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if !open {
            map.remove(key);
            return;
        }
        if map.len() >= MAX_TRACKED && !map.contains_key(key) {
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
        let mut map = self.open.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, o| o.idle_at_ms > now_ms);
        let mut counts: HashMap<(String, &'static str), usize> = HashMap::new();
        for o in map.values() {
            *counts.entry((o.operator.clone(), o.bearer)).or_default() += 1;
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
    }
}
