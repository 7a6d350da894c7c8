//! A circuit breaker per back-end: `failures` unhealthy calls in a row
//! open it for `open_for`, during which calls fail at once without a
//! network round trip; then up to `half_open_probes` calls probe it, and
//! the first probe's result closes or re-opens it. Time is passed in
//! (`tokio::time::Instant`), so paused-time tests are exact.

use std::sync::Mutex;

use tokio::time::Instant;

use crate::config::CircuitBreaker;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probes: u32 },
}

#[derive(Debug)]
pub struct Breaker {
    config: CircuitBreaker,
    state: Mutex<State>,
}

/// Leave to make one call. A probe that is dropped without a result (the
/// caller gave up) frees its slot, so the breaker cannot stay half-open.
#[must_use]
pub struct Ticket<'b> {
    breaker: &'b Breaker,
    probe: bool,
    recorded: bool,
}

impl Breaker {
    pub fn new(config: CircuitBreaker) -> Self {
        Breaker {
            config,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value: a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> State {
        *self.lock()
    }

    /// Leave to call, or `None` while open (or when every probe slot is
    /// taken).
    pub fn admit(&self, now: Instant) -> Option<Ticket<'_>> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until } if now < until => return None,
            State::Open { .. } => {
                *state = State::HalfOpen { probes: 1 };
                true
            }
            State::HalfOpen { probes } if probes < self.config.half_open_probes => {
                *state = State::HalfOpen { probes: probes + 1 };
                true
            }
            State::HalfOpen { .. } => return None,
        };
        Some(Ticket {
            breaker: self,
            probe,
            recorded: false,
        })
    }

    fn record(&self, probe: bool, healthy: bool, now: Instant) {
        let mut state = self.lock();
        let open = State::Open {
            until: now + self.config.open_for,
        };
        *state = match (*state, probe, healthy) {
            (State::HalfOpen { .. }, true, true) => {
                tracing::info!("circuit breaker closed");
                State::Closed { failures: 0 }
            }
            (State::HalfOpen { .. }, true, false) => {
                tracing::warn!(open_for = ?self.config.open_for, "circuit breaker re-opened: probe failed");
                open
            }
            (State::Closed { .. }, _, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, _, false) if failures + 1 >= self.config.failures => {
                tracing::warn!(
                    failures = failures + 1,
                    open_for = ?self.config.open_for,
                    "circuit breaker opened"
                );
                open
            }
            (State::Closed { failures }, _, false) => State::Closed {
                failures: failures + 1,
            },
            // A call admitted before the breaker opened finishes late: the
            // probes decide, not it.
            (other, _, _) => other,
        };
    }

    fn release(&self) {
        let mut state = self.lock();
        if let State::HalfOpen { probes } = *state {
            *state = State::HalfOpen {
                probes: probes.saturating_sub(1),
            };
        }
    }
}

impl Ticket<'_> {
    /// The call's verdict: `healthy` is false for failures that say the
    /// back-end is in trouble (`Failure::unhealthy`).
    pub fn record(mut self, healthy: bool, now: Instant) {
        self.recorded = true;
        self.breaker.record(self.probe, healthy, now);
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            self.breaker.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn breaker(probes: u32) -> Breaker {
        Breaker::new(CircuitBreaker {
            failures: 3,
            open_for: Duration::from_secs(10),
            half_open_probes: probes,
        })
    }

    #[test]
    fn opens_after_consecutive_failures_then_probes() {
        let b = breaker(1);
        let t0 = Instant::now();
        b.admit(t0).unwrap().record(false, t0);
        b.admit(t0).unwrap().record(true, t0); // a success resets the count
        for _ in 0..3 {
            b.admit(t0).unwrap().record(false, t0);
        }
        assert!(matches!(b.state(), State::Open { .. }));
        assert!(b.admit(t0 + Duration::from_secs(9)).is_none());
        let later = t0 + Duration::from_secs(10);
        let probe = b.admit(later).unwrap();
        assert!(b.admit(later).is_none(), "one probe at a time");
        probe.record(false, later);
        assert!(b.admit(later + Duration::from_secs(9)).is_none());
        let again = later + Duration::from_secs(10);
        b.admit(again).unwrap().record(true, again);
        assert_eq!(b.state(), State::Closed { failures: 0 });
    }

    #[test]
    fn an_abandoned_probe_frees_its_slot() {
        let b = breaker(2);
        let t0 = Instant::now();
        for _ in 0..3 {
            b.admit(t0).unwrap().record(false, t0);
        }
        let later = t0 + Duration::from_secs(10);
        let p1 = b.admit(later).unwrap();
        let p2 = b.admit(later).unwrap();
        assert!(b.admit(later).is_none());
        drop(p1);
        let p3 = b.admit(later).unwrap();
        drop((p2, p3));
        assert_eq!(b.state(), State::HalfOpen { probes: 0 });
    }
}
