//! Timers that keep the store bounded: expired sessions, dedupe entries
//! and receipts are swept every `store.retention.sweep_interval`; SMS
//! parts that never completed are handled as received.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{sms, Core};
use crate::store::{self, Store};

/// Sweeps expired sessions, dedupe entries and receipts, and hands back
/// SMS parts that never completed.
pub async fn run<S: Store>(core: Arc<Core<S>>, stop: CancellationToken) {
    let every = core
        .config
        .store
        .retention
        .sweep_interval
        .max(Duration::from_millis(100));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = store::Timestamp(core.now_ms());
        sweep_sessions(&core, now).await;
        if let Err(e) = core.store.sweep_dedupe(now, 4096).await {
            tracing::warn!(error = %e, "dedupe sweep failed");
        }
        if let Err(e) = core.store.sweep_receipts(now, 4096).await {
            tracing::warn!(error = %e, "receipt sweep failed");
        }
        sms::expire_parts(&core).await;
    }
}

/// Sessions removed per store call, and calls per tick at most: a backlog
/// (after downtime, or an event day's million sessions expiring together)
/// is cleared PAGE × PAGES a tick without holding the store for long.
const PAGE: usize = 1024;
const PAGES: usize = 64;

async fn sweep_sessions<S: Store>(core: &Core<S>, now: store::Timestamp) {
    let mut swept = 0;
    for _ in 0..PAGES {
        match core.store.sweep_expired(now, PAGE).await {
            Ok(keys) => {
                swept += keys.len();
                if keys.len() < PAGE {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "session sweep failed");
                break;
            }
        }
    }
    if swept > 0 {
        tracing::debug!(sessions = swept, "swept expired sessions");
    }
}
