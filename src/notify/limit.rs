//! Per-client rate limits: one token bucket per client (`rate.per_second`
//! refill, `rate.burst` capacity). A request that finds the bucket empty is
//! refused with the time until a token is back (HTTP 429, `Retry-After`).
//! Time is `tokio::time`, so tests may pause it.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::NotifyRate;

struct Bucket {
    rate: NotifyRate,
    tokens: f64,
    last: Instant,
}

/// The buckets, by client index.
pub(super) struct Limits {
    buckets: Mutex<Vec<Bucket>>,
}

impl Limits {
    pub fn new(rates: impl IntoIterator<Item = NotifyRate>) -> Limits {
        let now = Instant::now();
        let buckets = rates
            .into_iter()
            .map(|rate| Bucket {
                rate,
                tokens: f64::from(rate.burst),
                last: now,
            })
            .collect();
        Limits {
            buckets: Mutex::new(buckets),
        }
    }

    /// Takes a token of `client`'s bucket, or says how long until one is back.
    pub fn take(&self, client: usize) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(b) = buckets.get_mut(client) else {
            return Ok(());
        };
        let now = Instant::now();
        let per_second = f64::from(b.rate.per_second.max(1));
        let refill = now.duration_since(b.last).as_secs_f64() * per_second;
        b.tokens = (b.tokens + refill).min(f64::from(b.rate.burst));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_refill_at_the_rate() {
        let rate = NotifyRate {
            per_second: 2,
            burst: 3,
        };
        let limits = Limits::new([rate, rate]);
        for _ in 0..3 {
            assert_eq!(limits.take(0), Ok(()));
        }
        let wait = limits.take(0).unwrap_err();
        assert!(
            wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert_eq!(limits.take(1), Ok(()), "buckets are per client");
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(limits.take(0), Ok(()));
        assert!(limits.take(0).is_err());
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..3 {
            assert_eq!(limits.take(0), Ok(()), "refills up to the burst");
        }
        assert!(limits.take(0).is_err());
    }
}
