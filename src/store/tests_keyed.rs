//! The notification API's store calls (keyed enqueue, audit log), run
//! against both `MemoryStore` and `SledStore` (real sled in a temp dir,
//! reopened to show durability).

use super::*;

fn key(s: &str) -> MessageId {
    MessageId(format!("\0idem:{s}"))
}

fn mt(body: &str) -> NewOutbound {
    NewOutbound {
        priority: Priority::Normal,
        due_at: Timestamp(10),
        payload: body.as_bytes().to_vec(),
        lease_until: None,
        unless_sent: None,
    }
}

async fn keyed_enqueue<S: Store>(s: &S) {
    let (a, fresh) = s
        .enqueue_outbound_once(&key("k1"), mt("one"), Timestamp(1000))
        .await
        .unwrap();
    assert!(fresh);
    let (again, fresh) = s
        .enqueue_outbound_once(&key("k1"), mt("other body"), Timestamp(1000))
        .await
        .unwrap();
    assert_eq!((again, fresh), (a, false), "the same key names the same MT");
    let (b, fresh) = s
        .enqueue_outbound_once(&key("k2"), mt("two"), Timestamp(1000))
        .await
        .unwrap();
    assert!(fresh && b != a);
    let claimed = s.claim(10, Timestamp(10), Duration::from_secs(1)).await;
    let bodies: Vec<Vec<u8>> = claimed.unwrap().into_iter().map(|c| c.payload).collect();
    assert_eq!(
        bodies,
        vec![b"one".to_vec(), b"two".to_vec()],
        "one MT per key"
    );
    // the key is still known after its MT left the queue ...
    let (again, fresh) = s
        .enqueue_outbound_once(&key("k1"), mt("x"), Timestamp(1000))
        .await
        .unwrap();
    assert_eq!((again, fresh), (a, false));
    // ... until it expires with the receipts
    assert_eq!(s.sweep_receipts(Timestamp(1000), 10).await.unwrap(), 2);
    let (c, fresh) = s
        .enqueue_outbound_once(&key("k1"), mt("later"), Timestamp(2000))
        .await
        .unwrap();
    assert!(fresh && c != a);
}

async fn audit_chain<S: Store>(s: &S) {
    assert!(s.audit_entries(0, 10).await.unwrap().is_empty());
    let first = s.append_audit(b"a".to_vec()).await.unwrap();
    let second = s.append_audit(b"b".to_vec()).await.unwrap();
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(second.prev, first.hash);
    let all = s.audit_entries(0, 10).await.unwrap();
    assert_eq!(all, vec![first, second.clone()]);
    assert_eq!(audit::verify(&all), Ok(()));
    assert_eq!(s.audit_entries(1, 10).await.unwrap(), vec![second]);
    assert!(s.audit_entries(u64::MAX, 10).await.unwrap().is_empty());
}

mod memory_impl {
    #[tokio::test]
    async fn keyed_enqueue() {
        super::keyed_enqueue(&crate::store::MemoryStore::new()).await;
    }
    #[tokio::test]
    async fn audit_chain() {
        super::audit_chain(&crate::store::MemoryStore::new()).await;
    }
}

mod sled_impl {
    use super::*;

    async fn open(dir: &std::path::Path) -> SledStore {
        SledStore::open(SledConfig::new(dir)).await.unwrap()
    }

    #[tokio::test]
    async fn keyed_enqueue() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path()).await;
        super::keyed_enqueue(&s).await;
        s.close().await.unwrap();
    }

    #[tokio::test]
    async fn audit_chain() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path()).await;
        super::audit_chain(&s).await;
        s.close().await.unwrap();
    }

    #[tokio::test]
    async fn key_and_chain_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path()).await;
        let (id, _) = s
            .enqueue_outbound_once(&key("k"), mt("one"), Timestamp(1000))
            .await
            .unwrap();
        let a = s.append_audit(b"a".to_vec()).await.unwrap();
        s.close().await.unwrap();
        let s = open(dir.path()).await;
        let again = s
            .enqueue_outbound_once(&key("k"), mt("one"), Timestamp(1000))
            .await
            .unwrap();
        assert_eq!(again, (id, false));
        let b = s.append_audit(b"b".to_vec()).await.unwrap();
        assert_eq!(
            (b.seq, b.prev),
            (2, a.hash),
            "the chain goes on after a reopen"
        );
        s.close().await.unwrap();
    }
}
