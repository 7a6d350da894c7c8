//! Submit rate of one bind: a token bucket with AIMD on ESME_RTHROTTLED.
//! Pure: every method takes `now`.
//!
//! The configured `tps` is per operator account; each bind that submits
//! gets an equal share (`share`). The bucket holds at most 1 % of a
//! second's tokens (at least one), so over any second a bind sends at most
//! `rate + rate/100` submits, and at high rates batches still leave without
//! a timer per submit.
//!
//! On ESME_RTHROTTLED the bind pauses for [`PAUSE`] and its rate halves
//! (multiplicative decrease, never below 1/s); afterwards the rate grows
//! back by [`recovery_step`] per second (additive increase) up to its share.

use std::time::Duration;

use tokio::time::Instant;

/// How long a bind stops submitting after ESME_RTHROTTLED (Kannel's 1 s).
pub const PAUSE: Duration = Duration::from_secs(1);

/// Splits an operator's `tps` over `binds` submitting binds: bind `index`
/// gets `tps / binds`, the first `tps % binds` binds one more, and every
/// bind at least 1/s.
pub fn share(tps: u32, binds: u32, index: u32) -> u32 {
    let binds = binds.max(1);
    let extra = u32::from(index < tps % binds);
    (tps / binds + extra).max(1)
}

/// How much rate (submits/s) comes back per second after a decrease:
/// 1/s, or 5 % of the share if that is more, so a 10 000/s bind recovers
/// from a halving in 10 s rather than 80 minutes.
pub fn recovery_step(max_rate: f64) -> f64 {
    (max_rate / 20.0).max(1.0)
}

#[derive(Debug, Clone)]
pub struct Throttle {
    max_rate: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
    paused_until: Option<Instant>,
    throttled: u64,
}

impl Throttle {
    pub fn new(rate: u32, now: Instant) -> Self {
        let max_rate = f64::from(rate.max(1));
        Throttle {
            max_rate,
            rate: max_rate,
            tokens: 1.0,
            last: now,
            paused_until: None,
            throttled: 0,
        }
    }

    fn burst(&self) -> f64 {
        (self.rate / 100.0).max(1.0)
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        if self.rate < self.max_rate {
            self.rate = (self.rate + dt * recovery_step(self.max_rate)).min(self.max_rate);
        }
        self.tokens = (self.tokens + dt * self.rate).min(self.burst());
    }

    /// `None` when a submit may go now, else when the next one may.
    pub fn ready_at(&mut self, now: Instant) -> Option<Instant> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Some(until);
            }
            self.paused_until = None;
            // The rate grew back during the pause but no tokens were
            // earned: exactly one submit (the retry) may go at its end.
            self.refill(now);
            self.tokens = 1.0;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            return None;
        }
        let wait = (1.0 - self.tokens) / self.rate;
        Some(now + Duration::from_secs_f64(wait))
    }

    /// Takes a token if one is there.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if self.ready_at(now).is_some() {
            return false;
        }
        self.tokens -= 1.0;
        true
    }

    /// The SMSC said ESME_RTHROTTLED: pause, halve the rate. The other
    /// submits of the window that come back throttled during the same
    /// pause are the same congestion event: they do not halve it again.
    pub fn throttled(&mut self, now: Instant) {
        self.throttled += 1;
        if self.paused(now) {
            return;
        }
        self.refill(now);
        self.rate = (self.rate / 2.0).max(1.0);
        self.tokens = 0.0;
        self.paused_until = Some(now + PAUSE);
    }

    /// The current rate in submits per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn max_rate(&self) -> f64 {
        self.max_rate
    }

    pub fn paused(&self, now: Instant) -> bool {
        self.paused_until.is_some_and(|t| now < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn shares_split_the_operator_tps_and_never_reach_zero() {
        assert_eq!(
            (0..3).map(|i| share(10, 3, i)).collect::<Vec<_>>(),
            [4, 3, 3]
        );
        assert_eq!((0..3).map(|i| share(10, 3, i)).sum::<u32>(), 10);
        assert_eq!(share(1, 4, 3), 1);
        assert_eq!(share(7, 0, 0), 7);
    }

    /// Counts the submits a greedy sender gets through in `total`.
    fn greedy(t: &mut Throttle, start: Instant, total: Duration) -> u32 {
        let mut now = start;
        let mut sent = 0;
        while now < start + total {
            match t.ready_at(now) {
                None => {
                    assert!(t.try_take(now));
                    sent += 1;
                }
                Some(at) => {
                    assert!(at > now, "ready_at must move forward");
                    now = at;
                }
            }
        }
        sent
    }

    #[test]
    fn never_more_than_the_rate_plus_one_percent_per_second() {
        for rate in [1, 10, 100, 5000] {
            let start = Instant::now();
            let mut t = Throttle::new(rate, start);
            let sent = greedy(&mut t, start, Duration::from_secs(3));
            let max = 3 * rate + (rate / 100).max(1);
            assert!(sent <= max, "rate {rate}: {sent} > {max}");
            assert!(sent >= 3 * rate - 1, "rate {rate}: only {sent}");
        }
    }

    #[test]
    fn throttled_pauses_then_halves_then_grows_back_additively() {
        let t0 = Instant::now();
        let mut t = Throttle::new(40, t0);
        t.throttled(t0);
        assert!(t.paused(t0 + ms(999)));
        assert_eq!(t.ready_at(t0 + ms(500)), Some(t0 + PAUSE));
        assert!(!t.try_take(t0 + ms(999)));
        assert!(t.try_take(t0 + PAUSE));
        // 20/s after the halving, +2/s per second (5 % of 40) since then.
        let r = t.rate();
        assert!((21.9..=22.1).contains(&r), "{r}");
        let later = t0 + Duration::from_secs(20);
        t.ready_at(later);
        assert_eq!(t.rate(), 40.0, "capped at the share");
    }

    #[test]
    fn one_congestion_event_halves_once() {
        let t0 = Instant::now();
        let mut t = Throttle::new(80, t0);
        for i in 0..10 {
            t.throttled(t0 + ms(i));
        }
        assert_eq!(
            t.rate(),
            40.0,
            "the window's other answers do not halve again"
        );
        assert_eq!(t.ready_at(t0 + ms(500)), Some(t0 + PAUSE));
        t.throttled(t0 + PAUSE + ms(1));
        // 40/s grew by 4/s (5 % of 80) for 1 s, then halved: 22/s.
        let r = t.rate();
        assert!(
            (21.9..22.1).contains(&r),
            "a new event after the pause halves again: {r}"
        );
    }

    #[test]
    fn repeated_throttling_never_stops_the_bind() {
        let t0 = Instant::now();
        let mut t = Throttle::new(3, t0);
        for i in 0..10 {
            t.throttled(t0 + PAUSE * i);
        }
        assert!(t.rate() >= 1.0);
        assert!(
            t.ready_at(t0 + PAUSE * 10).is_none(),
            "one submit right after the pause"
        );
    }
}
