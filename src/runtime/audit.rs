//! Audit records the gateway writes itself, into the same hash chain as
//! the notification API's ([`Store::append_audit`]): admin actions (the
//! admin listener calls [`append`]), flow publishes (`publish.rs`), and
//! bind failures, seen here by watching each bind's counter of refused
//! binds (the SMPP session knows nothing of the store). Also the chain
//! check behind `bawaba audit verify`.
//!
//! Records are JSON: `at` (wall ms), `actor`, `action` and fixed fields;
//! never a PIN, a message or a whole MSISDN.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::Core;
use crate::store::{audit, Store};

/// Appends `record`; a failure is logged, not returned: the action it
/// describes already happened.
pub(crate) async fn append<S: Store>(core: &Core<S>, record: serde_json::Value) {
    let bytes = serde_json::to_vec(&record).unwrap_or_default();
    if let Err(e) = core.store.append_audit(bytes).await {
        tracing::error!(error = %e, "audit record not written");
    }
}

/// How often the bind counters are looked at.
const BIND_WATCH: Duration = Duration::from_secs(1);

/// Writes one `bind.rejected` record per bind whose SMSC refused binds
/// since the last look (with how many), until `stop`.
pub(crate) async fn watch_binds<S: Store>(core: Arc<Core<S>>, stop: CancellationToken) {
    let mut seen: BTreeMap<(String, u32, &'static str), u64> = BTreeMap::new();
    let mut tick = tokio::time::interval(BIND_WATCH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        for (name, (_, op)) in &core.operators {
            for b in op.stats() {
                let key = (name.clone(), b.index, b.kind);
                let before = seen.insert(key, b.rejected_binds).unwrap_or(0);
                if b.rejected_binds > before {
                    let record = serde_json::json!({
                        "at": super::publish::wall_ms(), "actor": "smpp",
                        "action": "bind.rejected", "operator": name,
                        "bind": b.index, "kind": b.kind,
                        "count": b.rejected_binds - before,
                    });
                    append(&core, record).await;
                }
            }
        }
    }
}

/// The result of walking the whole chain.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Verdict {
    /// Entries checked.
    pub entries: u64,
    /// The first entry that does not follow from the one before, if any.
    pub broken_at: Option<u64>,
}

/// Entries read per store call while verifying.
const PAGE: usize = 1024;

/// Walks the chain from the first entry, a page at a time.
pub async fn verify<S: Store>(store: &S) -> crate::store::Result<Verdict> {
    let mut after = 0;
    let mut last: Option<audit::AuditEntry> = None;
    let mut entries = 0;
    loop {
        let page = store.audit_entries(after, PAGE).await?;
        let Some(tail) = page.last().cloned() else {
            break;
        };
        // The page, with the previous page's last entry as its link.
        let mut linked: Vec<_> = last.take().into_iter().collect();
        let skip = linked.len();
        linked.extend(page);
        let first_ok = skip == 1 || linked[0].seq == 1 && linked[0].prev == [0; 32];
        if !first_ok {
            return Ok(Verdict {
                entries,
                broken_at: Some(linked[0].seq),
            });
        }
        if let Err(seq) = audit::verify(&linked) {
            return Ok(Verdict {
                entries: entries + (seq - linked[0].seq),
                broken_at: Some(seq),
            });
        }
        entries += (linked.len() - skip) as u64;
        after = tail.seq;
        last = Some(tail);
    }
    Ok(Verdict {
        entries,
        broken_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn a_long_chain_verifies_across_pages() {
        let store = MemoryStore::new();
        for i in 0..(PAGE * 2 + 3) {
            store
                .append_audit(format!("r{i}").into_bytes())
                .await
                .unwrap();
        }
        let v = verify(&store).await.unwrap();
        assert_eq!(v.entries, (PAGE * 2 + 3) as u64);
        assert_eq!(v.broken_at, None);
    }
}
