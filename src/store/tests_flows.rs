//! The admin API's store calls (flow texts, flow history, listing
//! sessions), run against both `MemoryStore` and `SledStore` (real sled in
//! a temp dir, reopened to show the history survives a restart).

use super::*;

async fn flow_texts_and_history<S: Store>(s: &S) {
    assert_eq!(s.get_flow_source("pds", 1).await.unwrap(), None);
    s.put_flow_source("pds", 1, b"one".to_vec()).await.unwrap();
    s.put_flow_source("pds", 2, b"two".to_vec()).await.unwrap();
    s.put_flow_source("pd", 1, b"other".to_vec()).await.unwrap();
    assert_eq!(
        s.get_flow_source("pds", 1).await.unwrap(),
        Some(b"one".to_vec())
    );
    assert_eq!(
        s.get_flow_source("pds", 2).await.unwrap(),
        Some(b"two".to_vec())
    );
    assert_eq!(
        s.get_flow_source("pd", 1).await.unwrap(),
        Some(b"other".to_vec())
    );
    assert!(s.flow_history(u64::MAX, 10).await.unwrap().is_empty());
    let a = s.append_flow_history(b"a".to_vec()).await.unwrap();
    let b = s.append_flow_history(b"b".to_vec()).await.unwrap();
    let c = s.append_flow_history(b"c".to_vec()).await.unwrap();
    assert!(a < b && b < c, "{a} {b} {c}");
    let newest: Vec<_> = s.flow_history(u64::MAX, 2).await.unwrap();
    assert_eq!(newest, vec![(c, b"c".to_vec()), (b, b"b".to_vec())]);
    assert_eq!(
        s.flow_history(b, 10).await.unwrap(),
        vec![(a, b"a".to_vec())]
    );
}

async fn sessions_page_in_key_order<S: Store>(s: &S) {
    for k in [
        "u\0sim\x003",
        "u\0sim\x001",
        "s\x009\x002150",
        "u\0sim\x002",
    ] {
        let key = SessionKey(k.as_bytes().to_vec());
        s.put_session(&key, None, k.as_bytes().to_vec(), Timestamp(100))
            .await
            .unwrap();
    }
    let first = s.list_sessions(None, 2).await.unwrap();
    let keys: Vec<_> = first.iter().map(|(k, _)| k.0.clone()).collect();
    assert_eq!(
        keys,
        vec![b"s\x009\x002150".to_vec(), b"u\0sim\x001".to_vec()]
    );
    assert_eq!(first[1].1.data, b"u\0sim\x001".to_vec());
    let rest = s.list_sessions(Some(&first[1].0), 10).await.unwrap();
    let keys: Vec<_> = rest.iter().map(|(k, _)| k.0.clone()).collect();
    assert_eq!(keys, vec![b"u\0sim\x002".to_vec(), b"u\0sim\x003".to_vec()]);
    assert!(s
        .list_sessions(Some(&rest[1].0), 10)
        .await
        .unwrap()
        .is_empty());
}

mod memory_impl {
    #[tokio::test]
    async fn flow_texts_and_history() {
        super::flow_texts_and_history(&crate::store::MemoryStore::new()).await;
    }
    #[tokio::test]
    async fn sessions_page_in_key_order() {
        super::sessions_page_in_key_order(&crate::store::MemoryStore::new()).await;
    }
}

mod sled_impl {
    use super::*;

    async fn open(dir: &std::path::Path) -> SledStore {
        SledStore::open(SledConfig::new(dir)).await.unwrap()
    }

    #[tokio::test]
    async fn flow_texts_and_history_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path()).await;
        super::flow_texts_and_history(&s).await;
        s.close().await.unwrap();
        let s = open(dir.path()).await;
        assert_eq!(
            s.get_flow_source("pds", 2).await.unwrap(),
            Some(b"two".to_vec())
        );
        let newest = s.flow_history(u64::MAX, 1).await.unwrap();
        assert_eq!(newest[0].1, b"c".to_vec());
        let next = s.append_flow_history(b"d".to_vec()).await.unwrap();
        assert!(next > newest[0].0, "never reused after a reopen");
        s.close().await.unwrap();
    }

    #[tokio::test]
    async fn sessions_page_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path()).await;
        super::sessions_page_in_key_order(&s).await;
        s.close().await.unwrap();
    }
}
