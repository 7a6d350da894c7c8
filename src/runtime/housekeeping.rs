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
        retention(&*core.store, &core.config.store.retention, now).await;
        sms::expire_parts(&core).await;
    }
}

/// Drops what outlived `store.retention.inbound` (MOs never processed)
/// and `store.retention.failed_messages` (MTs that failed for good).
pub(crate) async fn retention<S: Store>(
    store: &S,
    r: &crate::config::Retention,
    now: store::Timestamp,
) -> (usize, usize) {
    let before = |d: Duration| store::Timestamp(now.0.saturating_sub(d.as_millis() as u64));
    let count = |r: store::Result<usize>, what: &str| {
        r.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "{what} sweep failed");
            0
        })
    };
    let inbound = count(
        store.sweep_inbound(before(r.inbound), 4096).await,
        "inbound journal",
    );
    if inbound > 0 {
        tracing::warn!(
            messages = inbound,
            "unprocessed SMS older than store.retention.inbound dropped"
        );
    }
    let failed = count(
        store
            .sweep_failed_outbound(before(r.failed_messages), 4096)
            .await,
        "failed-message",
    );
    if failed > 0 {
        tracing::debug!(
            messages = failed,
            "failed MTs past store.retention.failed_messages removed"
        );
    }
    (inbound, failed)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewOutbound, Priority, SledConfig, SledStore, Timestamp};

    const MIN: u64 = 60_000;

    fn retention(inbound_min: u64, failed_min: u64) -> crate::config::Retention {
        crate::config::Retention {
            sessions: Duration::from_secs(3600),
            receipts: Duration::from_secs(3600),
            inbound: Duration::from_millis(inbound_min * MIN),
            failed_messages: Duration::from_millis(failed_min * MIN),
            sweep_interval: Duration::from_secs(1),
        }
    }

    /// Real sled on disk: old unprocessed MOs and old failed MTs go, newer
    /// ones and queued MTs stay, and the removal survives a reopen.
    #[tokio::test]
    async fn retention_sweeps_the_journal_and_failed_messages_on_sled() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
        let old = store
            .append_inbound(b"old MO".to_vec(), Timestamp(MIN))
            .await
            .unwrap();
        let new = store
            .append_inbound(b"new MO".to_vec(), Timestamp(9 * MIN))
            .await
            .unwrap();
        let mt = |payload: &[u8]| NewOutbound {
            priority: Priority::Normal,
            due_at: Timestamp(0),
            payload: payload.to_vec(),
            lease_until: None,
            unless_sent: None,
        };
        let failed = store.enqueue_outbound(mt(b"failed MT")).await.unwrap();
        let claimed = store
            .claim(1, Timestamp(MIN), Duration::from_secs(60))
            .await
            .unwrap();
        store.fail(claimed[0].lease, Timestamp(MIN)).await.unwrap();
        let queued = store.enqueue_outbound(mt(b"queued MT")).await.unwrap();

        // At 10 min with 5 min retention: the minute-1 records go.
        let swept = super::retention(&store, &retention(5, 5), Timestamp(10 * MIN)).await;
        assert_eq!(swept, (1, 1));
        store.close().await.unwrap();
        let store = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
        let left: Vec<_> = store.unprocessed_inbound(None, 10).await.unwrap();
        assert_eq!(left.iter().map(|m| m.id).collect::<Vec<_>>(), vec![new]);
        assert_ne!(old, new);
        assert!(store.get_outbound(failed).await.unwrap().is_none());
        assert!(
            store.get_outbound(queued).await.unwrap().is_some(),
            "queued MTs are not failed ones"
        );
        // Longer retention: nothing more.
        assert_eq!(
            super::retention(&store, &retention(60, 60), Timestamp(10 * MIN)).await,
            (0, 0)
        );
        store.close().await.unwrap();
    }
}
