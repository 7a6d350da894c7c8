//! Unit tests per operation, written once as generic functions and run
//! against both `MemoryStore` and `SledStore` (real sled in a temp dir).

use std::time::Duration;

use super::*;

#[path = "fixtures.rs"]
mod fixtures;
use fixtures::{key, mt};

/// Enqueues `mt(priority, due, body)`, which must be accepted.
async fn enqueue<S: Store>(s: &S, priority: Priority, due: u64, body: &str) -> OutboundId {
    s.enqueue_outbound(mt(priority, due, body)).await.unwrap()
}

#[track_caller]
fn assert_conflict(err: &Error, want: Option<Version>) {
    assert!(
        matches!(err, Error::Conflict { current } if *current == want),
        "{err:?}"
    );
}

const SEC: Duration = Duration::from_secs(1);

async fn session_cas<S: Store>(s: &S) {
    let k = key("zain:9647701234567");
    assert_eq!(s.get_session(&k).await.unwrap(), None);
    let v1 = s
        .put_session(&k, None, b"a".to_vec(), Timestamp(100))
        .await
        .unwrap();
    assert_eq!(v1, Version(1));
    let err = s
        .put_session(&k, None, b"x".to_vec(), Timestamp(100))
        .await
        .unwrap_err();
    assert_conflict(&err, Some(Version(1)));
    let v2 = s
        .put_session(&k, Some(v1), b"b".to_vec(), Timestamp(200))
        .await
        .unwrap();
    assert_eq!(v2, Version(2));
    let err = s
        .put_session(&k, Some(v1), b"stale".to_vec(), Timestamp(300))
        .await
        .unwrap_err();
    assert_conflict(&err, Some(Version(2)));
    let got = s.get_session(&k).await.unwrap().unwrap();
    assert_eq!(
        got,
        Session {
            version: v2,
            expires_at: Timestamp(200),
            data: b"b".to_vec()
        }
    );
    let err = s
        .put_session(&key("other"), Some(v1), vec![], Timestamp(1))
        .await
        .unwrap_err();
    assert_conflict(&err, None);
    assert!(s.delete_session(&k).await.unwrap());
    assert!(!s.delete_session(&k).await.unwrap());
    assert_eq!(s.get_session(&k).await.unwrap(), None);
    // a deleted session leaves nothing behind in the expiry index
    assert_eq!(
        s.sweep_expired(Timestamp(u64::MAX), 10).await.unwrap(),
        vec![]
    );
}

async fn session_sweep<S: Store>(s: &S) {
    for (name, exp) in [("a", 30), ("b", 10), ("c", 20), ("d", 10)] {
        s.put_session(&key(name), None, vec![], Timestamp(exp))
            .await
            .unwrap();
    }
    // extending "c" moves its expiry entry: it must not be swept at 20
    s.put_session(&key("c"), Some(Version(1)), vec![1], Timestamp(40))
        .await
        .unwrap();
    assert_eq!(s.sweep_expired(Timestamp(9), 10).await.unwrap(), vec![]);
    assert_eq!(
        s.sweep_expired(Timestamp(20), 1).await.unwrap(),
        vec![key("b")]
    );
    assert_eq!(
        s.sweep_expired(Timestamp(20), 10).await.unwrap(),
        vec![key("d")]
    );
    assert_eq!(s.get_session(&key("b")).await.unwrap(), None);
    assert_eq!(
        s.sweep_expired(Timestamp(40), 10).await.unwrap(),
        vec![key("a"), key("c")]
    );
    assert_eq!(
        s.sweep_expired(Timestamp(u64::MAX), 10).await.unwrap(),
        vec![]
    );
}

async fn profiles<S: Store>(s: &S) {
    let who = SubscriberKey("9647501234567".into());
    assert_eq!(s.get_profile(&who).await.unwrap(), None);
    s.put_profile(&who, b"lang=ar".to_vec()).await.unwrap();
    s.put_profile(&who, b"lang=ckb".to_vec()).await.unwrap();
    assert_eq!(
        s.get_profile(&who).await.unwrap(),
        Some(b"lang=ckb".to_vec())
    );
    assert_eq!(format!("{who:?}"), "SubscriberKey(***********67)");
}

async fn inbound_journal<S: Store>(s: &S) {
    let a = s
        .append_inbound(b"PDS 1".to_vec(), Timestamp(1))
        .await
        .unwrap();
    let b = s
        .append_inbound(b"PDS 2".to_vec(), Timestamp(2))
        .await
        .unwrap();
    let c = s
        .append_inbound(b"PDS 3".to_vec(), Timestamp(3))
        .await
        .unwrap();
    assert!(a < b && b < c);
    assert!(s.mark_inbound_processed(b).await.unwrap());
    assert!(!s.mark_inbound_processed(b).await.unwrap());
    let all = s.unprocessed_inbound(None, 10).await.unwrap();
    assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a, c]);
    assert_eq!(all[1].payload, b"PDS 3");
    assert_eq!(all[1].received_at, Timestamp(3));
    assert_eq!(s.unprocessed_inbound(Some(a), 10).await.unwrap()[0].id, c);
    assert_eq!(s.unprocessed_inbound(None, 1).await.unwrap().len(), 1);
    assert!(s
        .unprocessed_inbound(Some(InboundId(u64::MAX)), 10)
        .await
        .unwrap()
        .is_empty());
    // ids are never reused, even after the newest one is processed
    assert!(s.mark_inbound_processed(c).await.unwrap());
    assert!(s.append_inbound(vec![], Timestamp(4)).await.unwrap() > c);
}

/// What an [`Intake`] was told, in order.
#[derive(Debug)]
enum Told {
    Journalled(InboundId),
    Durable(Result<()>),
}

/// An intake that reports what it is told on a channel.
struct Probe(tokio::sync::mpsc::UnboundedSender<Told>);

impl Intake for Probe {
    fn journalled(&mut self, id: InboundId) {
        let _ = self.0.send(Told::Journalled(id));
    }

    fn durable(self: Box<Self>, outcome: Result<()>) {
        let _ = self.0.send(Told::Durable(outcome));
    }
}

/// Journals `payload`; the id it was given once durable.
async fn journal<S: Store>(s: &S, payload: &[u8], at: u64) -> InboundId {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    s.journal_inbound(payload.to_vec(), Timestamp(at), Box::new(Probe(tx)))
        .await;
    let Some(Told::Journalled(id)) = rx.recv().await else {
        panic!("told the outcome before the id");
    };
    match rx.recv().await {
        Some(Told::Durable(Ok(()))) => id,
        other => panic!("{other:?}"),
    }
}

/// An MO handed out before its write is durable can be worked on (and
/// finished) meanwhile; its durable outcome still comes, and an MO left
/// unprocessed is there once it has.
async fn early_append<S: Store>(s: &S) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    s.journal_inbound(b"PDS 1".to_vec(), Timestamp(1), Box::new(Probe(tx)))
        .await;
    let Some(Told::Journalled(a)) = rx.recv().await else {
        panic!("no id");
    };
    // Finished (possibly) before its write is durable.
    assert!(s.mark_inbound_processed(a).await.unwrap());
    assert!(matches!(rx.recv().await, Some(Told::Durable(Ok(())))));
    assert!(rx.recv().await.is_none(), "told once");
    let b = journal(s, b"PDS 2", 2).await;
    assert!(a < b);
    let left = s.unprocessed_inbound(None, 10).await.unwrap();
    assert_eq!(left.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b]);
    assert_eq!(left[0].payload, b"PDS 2");
}

async fn replies_take_their_mos_out_of_the_journal<S: Store>(s: &S) {
    let first = s.append_inbound(b"part 1".to_vec(), Timestamp(1)).await;
    let second = s.append_inbound(b"part 2".to_vec(), Timestamp(2)).await;
    let other = s.append_inbound(b"PDS 9".to_vec(), Timestamp(3)).await;
    let (first, second, other) = (first.unwrap(), second.unwrap(), other.unwrap());
    let before = enqueue(s, Priority::Bulk, 1, "queued before").await;
    let replies = vec![
        mt(Priority::Interactive, 5, "screen"),
        NewOutbound {
            lease_until: Some(Timestamp(60_000)),
            unless_sent: None,
            ..mt(Priority::Interactive, 5, "sms effect")
        },
    ];
    let ids = s
        .enqueue_replies(replies, vec![first, second])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(before < ids[0] && ids[0] < ids[1], "{before} {ids:?}");
    let left = s.unprocessed_inbound(None, 10).await.unwrap();
    assert_eq!(left.iter().map(|m| m.id).collect::<Vec<_>>(), vec![other]);
    let screen = s.get_outbound(ids[0]).await.unwrap().unwrap();
    assert_eq!(screen.payload, b"screen");
    assert_eq!(screen.state, OutboundState::Queued);
    let effect = s.get_outbound(ids[1]).await.unwrap().unwrap();
    assert_eq!(
        effect.state,
        OutboundState::Leased {
            until: Timestamp(60_000)
        },
        "written leased, for the express lane"
    );
    // Only the queued one is claimable; the leased one comes back when its
    // lease ends.
    let claimed = s.claim(10, Timestamp(10), SEC).await.unwrap();
    let got: Vec<_> = claimed.iter().map(|c| c.lease.id).collect();
    assert_eq!(got, vec![ids[0], before]);
    // No reply: the MOs are left alone; ids keep growing.
    assert!(s.enqueue_replies(vec![], vec![]).await.unwrap().is_empty());
    assert!(enqueue(s, Priority::Bulk, 1, "after").await > ids[1]);
}

/// A reply the sender sent (wanting no record) before its write was
/// applied is not stored; one the writer reached first is, and is the
/// sender's to settle. Either way its MO leaves the journal.
async fn replies_sent_before_their_write_are_not_stored<S: Store>(s: &S) {
    let mo = s.append_inbound(b"PDS 1".to_vec(), Timestamp(1)).await;
    let leased = |body: &str, race: &SendRace| NewOutbound {
        lease_until: Some(Timestamp(60_000)),
        unless_sent: Some(race.clone()),
        ..mt(Priority::Interactive, 5, body)
    };
    let (sent, unsent) = (SendRace::default(), SendRace::default());
    assert!(sent.sent(), "the sender finishes first");
    let replies = vec![leased("sent", &sent), leased("not yet", &unsent)];
    let ids = s.enqueue_replies(replies, vec![mo.unwrap()]).await.unwrap();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    assert_eq!(s.get_outbound(ids[0]).await.unwrap(), None, "never stored");
    let kept = s.get_outbound(ids[1]).await.unwrap().unwrap();
    assert_eq!(kept.payload, b"not yet");
    assert!(!unsent.sent(), "stored: the sender must settle it");
    assert!(!sent.store() && unsent.store(), "decided once, for good");
    assert!(s.unprocessed_inbound(None, 10).await.unwrap().is_empty());
    // Past every lease, only the stored one comes back.
    let claimed = s.claim(10, Timestamp(120_000), SEC).await.unwrap();
    let got: Vec<_> = claimed.iter().map(|c| c.lease.id).collect();
    assert_eq!(got, vec![ids[1]]);
    assert!(enqueue(s, Priority::Bulk, 1, "after").await > ids[1]);
}

async fn outbound_priority_order<S: Store>(s: &S) {
    let bulk = enqueue(s, Priority::Bulk, 0, "bulk").await;
    let later = enqueue(s, Priority::Interactive, 100, "later").await;
    let normal = enqueue(s, Priority::Normal, 0, "normal").await;
    let ussd = enqueue(s, Priority::Interactive, 5, "ussd").await;
    let got = s.claim(10, Timestamp(10), SEC).await.unwrap();
    let ids: Vec<_> = got.iter().map(|c| c.lease.id).collect();
    assert_eq!(ids, vec![ussd, normal, bulk]);
    assert_eq!(got[0].payload, b"ussd");
    assert_eq!(got[0].lease.attempt, 1);
    // leased ones are not handed out again; the future one is not due yet
    assert!(s.claim(10, Timestamp(10), SEC).await.unwrap().is_empty());
    let m = s.get_outbound(later).await.unwrap().unwrap();
    assert_eq!((m.state, m.attempts), (OutboundState::Queued, 0));
    assert_eq!(
        s.claim(1, Timestamp(100), SEC).await.unwrap()[0].lease.id,
        later
    );
}

async fn outbound_lease_expiry<S: Store>(s: &S) {
    let id = enqueue(s, Priority::Normal, 0, "m").await;
    enqueue(s, Priority::Normal, 0, "n").await;
    let first = s.claim(1, Timestamp(0), SEC).await.unwrap();
    assert_eq!(first[0].lease, Lease { id, attempt: 1 });
    let m = s.get_outbound(id).await.unwrap().unwrap();
    assert_eq!(
        m.state,
        OutboundState::Leased {
            until: Timestamp(1000)
        }
    );
    assert!(s
        .claim(1, Timestamp(999), SEC)
        .await
        .unwrap()
        .iter()
        .all(|c| c.lease.id != id));
    let again = s.claim(1, Timestamp(1000), SEC).await.unwrap();
    assert_eq!(again[0].lease, Lease { id, attempt: 2 });
    let err = s.complete(first[0].lease).await.unwrap_err();
    assert!(
        matches!(err, Error::LeaseLost { id: lost } if lost == id),
        "{err:?}"
    );
    s.complete(again[0].lease).await.unwrap();
    assert_eq!(s.get_outbound(id).await.unwrap(), None);
    assert!(matches!(
        s.complete(again[0].lease).await,
        Err(Error::LeaseLost { .. })
    ));
}

async fn outbound_fail_and_reschedule<S: Store>(s: &S) {
    let a = enqueue(s, Priority::Normal, 0, "a").await;
    let b = enqueue(s, Priority::Normal, 0, "b").await;
    let got = s.claim(2, Timestamp(0), SEC).await.unwrap();
    s.fail(got[0].lease, Timestamp(7)).await.unwrap();
    s.reschedule(got[1].lease, Timestamp(5000)).await.unwrap();
    let fa = s.get_outbound(a).await.unwrap().unwrap();
    assert_eq!(fa.state, OutboundState::Failed { at: Timestamp(7) });
    assert!(matches!(
        s.reschedule(got[0].lease, Timestamp(0)).await,
        Err(Error::LeaseLost { .. })
    ));
    // the expired lease of a failed message does not bring it back
    assert!(s.claim(10, Timestamp(4999), SEC).await.unwrap().is_empty());
    let again = s.claim(10, Timestamp(5000), SEC).await.unwrap();
    assert_eq!(
        again.iter().map(|c| c.lease).collect::<Vec<_>>(),
        vec![Lease { id: b, attempt: 2 }]
    );
}

async fn dedupe<S: Store>(s: &S) {
    let k = DedupeKey(b"asiacell:msg-77".to_vec());
    let ttl = Duration::from_secs(900);
    assert_eq!(
        s.check_and_insert(&k, Timestamp(1000), ttl).await.unwrap(),
        Dedupe::First
    );
    let dup = s.check_and_insert(&k, Timestamp(2000), ttl).await.unwrap();
    assert_eq!(
        dup,
        Dedupe::Duplicate {
            first_seen: Timestamp(1000)
        }
    );
    assert_eq!(s.sweep_dedupe(Timestamp(900_999), 10).await.unwrap(), 0);
    assert_eq!(
        s.check_and_insert(&k, Timestamp(901_000), ttl)
            .await
            .unwrap(),
        Dedupe::First
    );
    let other = DedupeKey(b"x".to_vec());
    s.check_and_insert(&other, Timestamp(0), ttl).await.unwrap();
    assert_eq!(s.sweep_dedupe(Timestamp(900_000), 10).await.unwrap(), 1);
    assert_eq!(
        s.check_and_insert(&other, Timestamp(1), ttl).await.unwrap(),
        Dedupe::First
    );
}

async fn receipts<S: Store>(s: &S) {
    let id = MessageId("5f3a".into());
    // the DLR beats submit_sm_resp: kept unmatched
    let r = s
        .record_receipt(&id, b"DELIVRD".to_vec(), Timestamp(100))
        .await
        .unwrap();
    assert_eq!(
        r,
        Receipt {
            outbound: None,
            status: Some(b"DELIVRD".to_vec()),
            expires_at: Timestamp(100)
        }
    );
    let r = s
        .link_receipt(&id, OutboundId(9), Timestamp(50))
        .await
        .unwrap();
    assert_eq!(r.outbound, Some(OutboundId(9)));
    assert_eq!(r.status.as_deref(), Some(&b"DELIVRD"[..]));
    assert_eq!(r.expires_at, Timestamp(100));
    assert_eq!(s.receipt_status(&id).await.unwrap(), Some(r));
    let other = MessageId("77".into());
    s.link_receipt(&other, OutboundId(10), Timestamp(200))
        .await
        .unwrap();
    assert_eq!(
        s.receipt_status(&other).await.unwrap().unwrap().status,
        None
    );
    assert_eq!(s.sweep_receipts(Timestamp(100), 10).await.unwrap(), 1);
    assert_eq!(s.receipt_status(&id).await.unwrap(), None);
    assert!(s.receipt_status(&other).await.unwrap().is_some());
    s.sync().await.unwrap();
}

/// A `First` taken back is no duplicate any more; a later sighting of the
/// key is not taken back by an older one's withdrawal.
async fn dedupe_withdrawn<S: Store>(s: &S) {
    let k = DedupeKey(b"mo:zain:964770:2150:PDS".to_vec());
    let ttl = Duration::from_secs(60);
    let first = s.check_and_insert(&k, Timestamp(10), ttl).await.unwrap();
    assert_eq!(first, Dedupe::First);
    s.withdraw_dedupe(&k, Timestamp(9)).await.unwrap();
    let dup = s.check_and_insert(&k, Timestamp(11), ttl).await.unwrap();
    assert_eq!(
        dup,
        Dedupe::Duplicate {
            first_seen: Timestamp(10)
        }
    );
    s.withdraw_dedupe(&k, Timestamp(10)).await.unwrap();
    let again = s.check_and_insert(&k, Timestamp(12), ttl).await.unwrap();
    assert_eq!(again, Dedupe::First);
    s.withdraw_dedupe(&k, Timestamp(10)).await.unwrap();
    let dup = s.check_and_insert(&k, Timestamp(13), ttl).await.unwrap();
    assert_eq!(
        dup,
        Dedupe::Duplicate {
            first_seen: Timestamp(12)
        }
    );
    // The sweep still finds it once expired.
    assert_eq!(
        s.sweep_dedupe(Timestamp(12).after(ttl), 10).await.unwrap(),
        1
    );
}

macro_rules! against_both {
    ($($name:ident),* $(,)?) => {
        mod memory_impl {
            $(#[tokio::test]
            async fn $name() {
                super::$name(&crate::store::MemoryStore::new()).await;
            })*
        }
        mod sled_impl {
            $(#[tokio::test]
            async fn $name() {
                let dir = tempfile::tempdir().unwrap();
                let cfg = crate::store::SledConfig::new(dir.path());
                let s = crate::store::SledStore::open(cfg).await.unwrap();
                super::$name(&s).await;
                s.close().await.unwrap();
            })*
        }
    };
}

against_both!(
    session_cas,
    session_sweep,
    profiles,
    inbound_journal,
    early_append,
    replies_take_their_mos_out_of_the_journal,
    replies_sent_before_their_write_are_not_stored,
    outbound_priority_order,
    outbound_lease_expiry,
    outbound_fail_and_reschedule,
    dedupe,
    dedupe_withdrawn,
    receipts,
);
