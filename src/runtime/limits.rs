//! Rate limits (`[security.limits]`): new USSD dialogues and SMS per
//! MSISDN per minute, and dialogues plus SMS per short code or USSD
//! service code per minute (all senders together). Fixed one-minute
//! windows, counted in memory.
//!
//! Bounded: at most `tracked` windows are kept, split over
//! [`crate::shards`] by key (a shard holds `tracked / 64`, at least one);
//! a new key beyond its shard's share first drops that shard's expired
//! windows (oldest first), then its oldest live one (that sender starts a
//! fresh window: under a flood of distinct numbers the limit gets looser,
//! memory never grows). Sharded so that neither a map growing nor a
//! compaction stops every MO at once. Time is the runtime's clock
//! (milliseconds), so tests can drive it.

use std::collections::{HashMap, VecDeque};

use crate::config::Limits;
use crate::msisdn::Msisdn;
use crate::shards::{Shards, SHARDS};

const WINDOW_MS: u64 = 60_000;

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over a limit. `tell`: the first refusal in this window, the one an
    /// SMS gets a reply to (later ones are dropped silently, so a flood of
    /// MO never becomes a flood of MT).
    Refused {
        tell: bool,
    },
}

struct Window {
    start_ms: u64,
    count: u32,
    told: bool,
}

#[derive(Default)]
struct Windows {
    map: HashMap<String, Window>,
    /// Keys in the order their windows started (stale entries skipped).
    order: VecDeque<(String, u64)>,
}

pub struct Limiter {
    cfg: Limits,
    windows: Shards<Windows>,
    /// Windows kept at most per shard.
    per_shard: usize,
}

impl Limiter {
    pub fn new(cfg: Limits) -> Limiter {
        // Few tracked keys (as in tests): one shard, so the bound is exact.
        let shards = if cfg.tracked >= 64 * SHARDS {
            SHARDS
        } else {
            1
        };
        Limiter {
            per_shard: (cfg.tracked / shards).max(1),
            cfg,
            windows: Shards::new(shards),
        }
    }

    /// A new USSD dialogue from `who`, dialled under `code`.
    pub fn ussd_session(&self, who: &Msisdn, code: Option<&str>, now_ms: u64) -> Verdict {
        let own = ("u:", who.as_str(), self.cfg.ussd_sessions_per_minute);
        self.check(own, code, now_ms)
    }

    /// An SMS from `who` to `short_code`.
    pub fn sms(&self, who: &Msisdn, short_code: &str, now_ms: u64) -> Verdict {
        let own = ("s:", who.as_str(), self.cfg.sms_per_minute);
        self.check(own, Some(short_code), now_ms)
    }

    /// Windows kept now.
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.windows.each().map(|w| w.map.len()).sum()
    }

    fn check(
        &self,
        (kind, who, limit): (&str, &str, Option<u32>),
        code: Option<&str>,
        now: u64,
    ) -> Verdict {
        let hit = |key: String, limit| self.windows.of(&key).hit(&key, limit, now, self.per_shard);
        if let Some(limit) = limit {
            let v = hit(format!("{kind}{who}"), limit);
            if v != Verdict::Allowed {
                return v;
            }
        }
        match (code, self.cfg.code_per_minute) {
            (Some(code), Some(limit)) => hit(format!("c:{code}"), limit),
            _ => Verdict::Allowed,
        }
    }
}

impl Windows {
    fn hit(&mut self, key: &str, limit: u32, now: u64, tracked: usize) -> Verdict {
        if let Some(w) = self.map.get_mut(key) {
            if now.saturating_sub(w.start_ms) < WINDOW_MS {
                if w.count < limit {
                    w.count += 1;
                    return Verdict::Allowed;
                }
                let tell = !w.told;
                w.told = true;
                return Verdict::Refused { tell };
            }
            *w = Window {
                start_ms: now,
                count: 1,
                told: false,
            };
            self.order.push_back((key.to_string(), now));
            self.compact();
            return Verdict::Allowed;
        }
        while self.map.len() >= tracked.max(1) {
            self.evict_oldest();
        }
        let window = Window {
            start_ms: now,
            count: 1,
            told: false,
        };
        self.map.insert(key.to_string(), window);
        self.order.push_back((key.to_string(), now));
        self.compact();
        Verdict::Allowed
    }

    /// Drops the window that started first (expired ones come first).
    fn evict_oldest(&mut self) {
        while let Some((key, start)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|w| w.start_ms == start) {
                self.map.remove(&key);
                return;
            }
        }
        self.map.clear();
    }

    /// Keeps `order` within twice the live windows (restarted windows leave
    /// stale entries behind).
    fn compact(&mut self) {
        if self.order.len() > 2 * self.map.len() + 16 {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|w| w.start_ms == *s));
        }
    }
}

/// The configured service code a dial falls under (`*123*4*5#` under
/// `*123*4#` rather than `*123#`: the longest), if any.
pub fn service_code<'a>(codes: &'a [String], dial: &str) -> Option<&'a str> {
    codes
        .iter()
        .filter(|c| {
            let stem = c.trim_end_matches('#');
            dial.strip_prefix(stem)
                .is_some_and(|rest| rest.starts_with('*') || rest.starts_with('#'))
        })
        .max_by_key(|c| c.len())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(ussd: Option<u32>, sms: Option<u32>, code: Option<u32>, tracked: usize) -> Limiter {
        Limiter::new(Limits {
            ussd_sessions_per_minute: ussd,
            sms_per_minute: sms,
            code_per_minute: code,
            tracked,
        })
    }

    fn who(n: u64) -> Msisdn {
        Msisdn::parse(&format!("96477{n:08}")).unwrap()
    }

    #[test]
    fn a_number_gets_its_limit_per_minute_and_one_told_refusal() {
        let l = limits(Some(3), Some(1), None, 1000);
        for _ in 0..3 {
            assert_eq!(
                l.ussd_session(&who(1), Some("*123#"), 1_000),
                Verdict::Allowed
            );
        }
        assert_eq!(
            l.ussd_session(&who(1), None, 2_000),
            Verdict::Refused { tell: true }
        );
        assert_eq!(
            l.ussd_session(&who(1), None, 3_000),
            Verdict::Refused { tell: false }
        );
        assert_eq!(
            l.ussd_session(&who(2), None, 3_000),
            Verdict::Allowed,
            "per number"
        );
        assert_eq!(
            l.sms(&who(1), "2150", 3_000),
            Verdict::Allowed,
            "SMS counted apart"
        );
        assert_eq!(
            l.sms(&who(1), "2150", 3_000),
            Verdict::Refused { tell: true }
        );
        assert_eq!(
            l.ussd_session(&who(1), None, 61_000),
            Verdict::Allowed,
            "a new minute"
        );
    }

    #[test]
    fn a_dial_falls_under_its_longest_service_code() {
        let codes = vec!["*123#".to_string(), "*123*4#".to_string()];
        assert_eq!(service_code(&codes, "*123*4*55#"), Some("*123*4#"));
        assert_eq!(service_code(&codes, "*123*1#"), Some("*123#"));
        assert_eq!(service_code(&codes, "*1234#"), None);
    }

    #[test]
    fn a_code_limit_counts_every_sender() {
        let l = limits(None, None, Some(2), 1000);
        assert_eq!(l.sms(&who(1), "2150", 0), Verdict::Allowed);
        assert_eq!(l.ussd_session(&who(2), Some("2150"), 0), Verdict::Allowed);
        assert_eq!(l.sms(&who(3), "2150", 0), Verdict::Refused { tell: true });
        assert_eq!(l.sms(&who(3), "4000", 0), Verdict::Allowed, "another code");
    }

    #[test]
    fn memory_stays_within_tracked_under_a_flood_of_numbers() {
        let l = limits(Some(1), None, None, 100);
        for n in 0..10_000 {
            assert_eq!(l.ussd_session(&who(n), None, n * 10), Verdict::Allowed);
            assert!(l.tracked() <= 100);
        }
        let order: usize = l.windows.each().map(|w| w.order.len()).sum();
        assert!(order <= 2 * 100 + 16);
        // The newest numbers are still remembered.
        assert_eq!(
            l.ussd_session(&who(9_999), None, 100_000),
            Verdict::Refused { tell: true }
        );
    }

    #[test]
    fn with_many_tracked_the_windows_are_sharded_and_stay_within_tracked() {
        let tracked = 64 * SHARDS * 2;
        let l = limits(Some(1), None, None, tracked);
        assert_eq!(l.windows.count(), SHARDS);
        for n in 0..50_000 {
            assert_eq!(l.ussd_session(&who(n), None, n), Verdict::Allowed);
        }
        assert!(l.tracked() <= tracked, "{}", l.tracked());
        assert!(l.tracked() > tracked * 9 / 10, "{}", l.tracked());
        for w in l.windows.each() {
            assert!(w.map.len() <= l.per_shard);
            assert!(w.order.len() <= 2 * l.per_shard + 16);
        }
        // The newest numbers are still remembered, each in its shard.
        for n in 49_990..50_000 {
            assert_eq!(
                l.ussd_session(&who(n), None, 50_000),
                Verdict::Refused { tell: true }
            );
        }
    }
}
