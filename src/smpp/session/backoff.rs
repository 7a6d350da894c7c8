//! Reconnect backoff: jittered exponential delays between bind attempts.
//! Pure: the caller passes the clock reading and the random draw, so tests
//! are exact. A link failure (connect error, drop, dead link) backs off from
//! `min` to `max`; a bind the SMSC *refused* (wrong password, RBINDFAIL...)
//! backs off to `rejected_max` (5 min by default) so the account is not
//! locked by a reconnect storm.

use std::time::Duration;

use tokio::time::Instant;

/// How long a bind must have stayed up before a failure starts the
/// backoff from `min` again; a link that flaps right after binding keeps
/// backing off.
pub const STABLE: Duration = Duration::from_secs(10);

/// Why the bind is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// TCP connect failed, the link dropped or died, no bind_resp in time.
    Link,
    /// The SMSC answered the bind with an error status.
    Rejected,
}

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    rejected_max: Duration,
    attempt: u32,
    bound_at: Option<Instant>,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration, rejected_max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            rejected_max: rejected_max.max(max).max(min),
            attempt: 0,
            bound_at: None,
        }
    }

    /// The bind is up.
    pub fn bound(&mut self, now: Instant) {
        self.bound_at = Some(now);
    }

    /// How long to wait before the next attempt. `jitter` is a uniform
    /// draw in `[0, 1)`: the delay is uniform in `[d/2, d)` where `d` is the
    /// exponential step (equal jitter), so binds of one operator that fail
    /// together do not reconnect together.
    pub fn next_delay(&mut self, failure: Failure, now: Instant, jitter: f64) -> Duration {
        if let Some(at) = self.bound_at.take() {
            if now.saturating_duration_since(at) >= STABLE {
                self.attempt = 0;
            }
        }
        let cap = match failure {
            Failure::Link => self.max,
            Failure::Rejected => self.rejected_max,
        };
        let step = self
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(cap);
        self.attempt = self.attempt.saturating_add(1);
        let half = step / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// Failed attempts since the last stable bind.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn link_failures_double_up_to_max_with_jitter_inside_the_step() {
        let mut b = Backoff::new(secs(1), secs(60), secs(300));
        let now = Instant::now();
        let top: Vec<_> = (0..9)
            .map(|_| b.next_delay(Failure::Link, now, 0.999_999))
            .map(|d| d.as_secs_f64().round() as u64)
            .collect();
        assert_eq!(top, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        let low = b.next_delay(Failure::Link, now, 0.0);
        assert_eq!(low, secs(30), "equal jitter: never below half the step");
    }

    #[test]
    fn rejections_back_off_to_the_rejected_cap() {
        let mut b = Backoff::new(secs(1), secs(60), secs(300));
        let now = Instant::now();
        let mut last = Duration::ZERO;
        for _ in 0..12 {
            last = b.next_delay(Failure::Rejected, now, 0.999_999);
        }
        assert_eq!(last.as_secs_f64().round() as u64, 300);
    }

    #[test]
    fn a_stable_bind_resets_but_a_flapping_one_does_not() {
        let mut b = Backoff::new(secs(1), secs(60), secs(300));
        let t0 = Instant::now();
        for _ in 0..5 {
            b.next_delay(Failure::Link, t0, 0.5);
        }
        b.bound(t0);
        let flap = b.next_delay(Failure::Link, t0 + secs(1), 0.999_999);
        assert_eq!(flap.as_secs_f64().round() as u64, 32);
        b.bound(t0);
        let after_stable = b.next_delay(Failure::Link, t0 + STABLE, 0.999_999);
        assert_eq!(after_stable.as_secs_f64().round() as u64, 1);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_millis(1), secs(60), secs(300));
        for _ in 0..100 {
            assert!(b.next_delay(Failure::Link, Instant::now(), 0.5) <= secs(60));
        }
    }
}
