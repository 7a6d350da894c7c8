//! Concurrent workers claiming from one outbound queue never get the same
//! message twice while its lease holds, and every message is delivered.
//! Run against both implementations, with real threads.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bawaba::store::*;

const MESSAGES: usize = 400;
const WORKERS: usize = 4;

async fn concurrent_claims<S: Store>(store: Arc<S>) {
    for i in 0..MESSAGES {
        let priority = Priority::ALL[i % 3];
        let msg = NewOutbound {
            priority,
            due_at: Timestamp(0),
            payload: i.to_string().into_bytes(),
        };
        store.enqueue_outbound(msg).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            // hold every lease until the queue is empty, so a stale view of
            // the queue would hand out a message that is still leased
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim(7, Timestamp(10), Duration::from_secs(3600))
                    .await
                    .unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|c| c.lease));
                tokio::task::yield_now().await;
            }
            for lease in &mine {
                store.complete(*lease).await.unwrap();
            }
            mine.into_iter().map(|l| l.id).collect::<Vec<_>>()
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        for id in t.await.unwrap() {
            assert!(seen.insert(id), "{id} claimed twice");
        }
    }
    assert_eq!(seen.len(), MESSAGES);
    assert!(store
        .claim(10, Timestamp(u64::MAX), Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_workers_never_share_a_message() {
    concurrent_claims(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_workers_never_share_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(SledConfig::new(dir.path())).await.unwrap());
    concurrent_claims(Arc::clone(&store)).await;
    Arc::into_inner(store).unwrap().close().await.unwrap();
}
