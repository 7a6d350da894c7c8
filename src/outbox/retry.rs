//! When to try a refused MT again, and when to give up. Pure: the caller
//! passes the jitter, so tests are exact.

use std::time::Duration;

/// Retry policy of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Temporary failures (queue full, RSYSERR, RX_T_APPN, link died in
    /// flight) before the MT fails. "Not bound" and ESME_RTHROTTLED do not
    /// count (the MT's validity bounds those).
    pub max_attempts: u32,
    /// Delay after the first temporary failure; doubles with each one.
    pub base: Duration,
    /// Cap on any delay, the SMSC's hint (180 s for RMSGQFUL) included.
    pub max: Duration,
    /// How long an MT waits when its operator has no bind up.
    pub not_bound: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base: Duration::from_secs(5),
            max: Duration::from_secs(10 * 60),
            not_bound: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Whether an MT that has now failed `tries` times may be tried again.
    pub fn may_retry(&self, tries: u32) -> bool {
        tries < self.max_attempts
    }

    /// The delay before try number `tries + 1`: `base * 2^(tries-1)`, at
    /// least the SMSC's `hint`, at most `max`, then spread by `jitter`
    /// (0.0..=1.0) over its upper half so a burst of refusals does not come
    /// back as one burst.
    pub fn delay(&self, tries: u32, hint: Option<Duration>, jitter: f64) -> Duration {
        let doubling = 1u32 << tries.saturating_sub(1).min(20);
        let exp = self.base.saturating_mul(doubling);
        let d = exp.max(hint.unwrap_or_default()).min(self.max);
        d / 2 + d.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_respects_hint_and_cap_and_stays_within_jitter_band() {
        let p = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
            not_bound: Duration::from_secs(1),
        };
        assert_eq!(p.delay(1, None, 1.0), Duration::from_secs(2));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_secs(8));
        assert_eq!(p.delay(3, None, 0.0), Duration::from_secs(4));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(180)), 1.0),
            Duration::from_secs(60)
        );
        assert_eq!(p.delay(40, None, 1.0), Duration::from_secs(60));
        assert!(p.may_retry(2));
        assert!(!p.may_retry(3));
    }
}
