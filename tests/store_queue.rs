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
            lease_until: None,
            unless_sent: None,
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

/// Leases that run out while their holder is still busy: the sweep inside
/// `claim` puts the message back and another worker takes it. Exactly one
/// holder of each message gets to complete it; a late holder is told its
/// lease is lost; nothing is left queued, leased or lost.
async fn expiring_leases<S: Store>(store: Arc<S>) {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    const N: usize = 300;
    for i in 0..N {
        let msg = NewOutbound {
            priority: Priority::ALL[i % 3],
            due_at: Timestamp(0),
            payload: i.to_string().into_bytes(),
            lease_until: None,
            unless_sent: None,
        };
        store.enqueue_outbound(msg).await.unwrap();
    }
    let clock = Arc::new(AtomicU64::new(1));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..WORKERS as u64 {
        let (store, clock, done) = (store.clone(), clock.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let (mut completed, mut lost) = (Vec::new(), 0usize);
            let mut round = 0u64;
            while done.load(Ordering::SeqCst) < N {
                round += 1;
                let now = Timestamp(clock.fetch_add(1, Ordering::SeqCst));
                let got = store.claim(5, now, Duration::from_millis(3)).await.unwrap();
                for c in got {
                    // Every third message of every other worker is slow: its
                    // lease runs out before it settles.
                    if (w + round + c.lease.id.0) % 3 == 0 {
                        let later = clock.fetch_add(5, Ordering::SeqCst) + 5;
                        tokio::task::yield_now().await;
                        // The sweep inside any claim (this one takes nothing)
                        // puts the message back: this lease is gone for sure.
                        let none = store.claim(0, Timestamp(later), Duration::ZERO);
                        assert!(none.await.unwrap().is_empty());
                    }
                    match store.complete(c.lease).await {
                        Ok(()) => {
                            completed.push(c.lease.id);
                            done.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(Error::LeaseLost { .. }) => lost += 1,
                        Err(e) => panic!("complete: {e}"),
                    }
                }
                tokio::task::yield_now().await;
                assert!(round < 100_000, "the queue never drained");
            }
            (completed, lost)
        }));
    }
    let (mut seen, mut lost) = (HashSet::new(), 0);
    for t in tasks {
        let (ids, l) = t.await.unwrap();
        lost += l;
        for id in ids {
            assert!(seen.insert(id), "{id} completed twice");
        }
    }
    assert_eq!(seen.len(), N);
    assert!(lost > 0, "no lease ran out: the test did not test anything");
    let left = store
        .claim(N, Timestamp(u64::MAX / 2), Duration::ZERO)
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "{} messages left after completion",
        left.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_expired_leases_settle_once() {
    expiring_leases(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_expired_leases_settle_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(SledConfig::new(dir.path())).await.unwrap());
    expiring_leases(Arc::clone(&store)).await;
    Arc::into_inner(store).unwrap().close().await.unwrap();
}
