//! The PIN lockout (`[security.pin_lockout]`): a subscriber whose secret
//! checks (calls with `verifies:`) come back wrong `attempts` times in a row
//! is locked out of every secret check for `lock_for`: the call is not
//! sent and the citizen sees a translated notice. The count and the lock
//! live in the subscriber's profile in the store, so a restart keeps them;
//! a right answer resets the count. Only outcomes the flow declares
//! `wrong:` count (a back-end that is down is not a wrong PIN).

use futures::future::BoxFuture;

use super::conversation;
use crate::config::PinLockout;
use crate::msisdn::Msisdn;
use crate::store::Store;

/// What the engine runner asks of the lockout around a secret check.
pub trait Lockout: Send + Sync {
    /// Whether the subscriber is locked out now.
    fn locked(&self) -> BoxFuture<'_, bool>;
    /// The check's answer: `wrong` or not.
    fn record(&self, wrong: bool) -> BoxFuture<'_, ()>;
}

/// One subscriber's lockout in the store, at one moment.
pub struct PinLock<'a, S: Store> {
    pub store: &'a S,
    pub who: &'a Msisdn,
    pub cfg: &'a PinLockout,
    pub now_ms: u64,
}

impl<S: Store> Lockout for PinLock<'_, S> {
    fn locked(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            match conversation::profile(self.store, self.who).await {
                Ok(p) => p.locked_until_ms > self.now_ms,
                Err(e) => {
                    // The back-end still checks the secret; a store that
                    // cannot be read does not lock everyone out.
                    tracing::warn!(error = %e, "PIN lockout unreadable; the check goes ahead");
                    false
                }
            }
        })
    }

    fn record(&self, wrong: bool) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut p = match conversation::profile(self.store, self.who).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "PIN lockout unreadable; attempt not counted");
                    return;
                }
            };
            if wrong {
                p.pin_failures = p.pin_failures.saturating_add(1);
                if p.pin_failures >= self.cfg.attempts {
                    p.locked_until_ms = self.now_ms + self.cfg.lock_for.as_millis() as u64;
                    p.pin_failures = 0;
                    tracing::warn!(
                        attempts = self.cfg.attempts,
                        lock_s = self.cfg.lock_for.as_secs(),
                        "wrong secret too many times: subscriber locked out"
                    );
                }
            } else if p.pin_failures == 0 && p.locked_until_ms == 0 {
                return; // nothing to reset: no write
            } else {
                p.pin_failures = 0;
                p.locked_until_ms = 0;
            }
            if let Err(e) = conversation::put_profile(self.store, self.who, &p).await {
                tracing::warn!(error = %e, "PIN lockout not saved");
            }
        })
    }
}
