//! Model test: random operation sequences run against `SledStore` (real
//! sled in a temp dir) and `MemoryStore` (the model), with the sled store
//! closed and reopened at random points. Every observable result (values,
//! ids, versions, errors) must be identical.

use std::time::Duration;

use bawaba::store::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    PutSession {
        k: u8,
        expected: Option<u8>,
        data: u8,
        exp: u16,
    },
    GetSession(u8),
    DeleteSession(u8),
    SweepSessions {
        now: u16,
        max: u8,
    },
    PutProfile(u8, u8),
    GetProfile(u8),
    AppendInbound(u8),
    MarkInbound(u8),
    Unprocessed {
        after: Option<u8>,
        max: u8,
    },
    Enqueue {
        prio: u8,
        due: u16,
        body: u8,
    },
    Claim {
        n: u8,
        now: u16,
        lease: u16,
    },
    Complete(usize),
    Fail(usize, u16),
    Reschedule(usize, u16),
    GetOutbound(u8),
    Dedupe {
        k: u8,
        now: u16,
        ttl: u16,
    },
    SweepDedupe {
        now: u16,
        max: u8,
    },
    Record {
        id: u8,
        status: u8,
        exp: u16,
    },
    Link {
        id: u8,
        out: u8,
        exp: u16,
    },
    ReceiptStatus(u8),
    SweepReceipts {
        now: u16,
        max: u8,
    },
    /// Keyed enqueue: the key shares the receipts' key space on purpose.
    EnqueueOnce {
        k: u8,
        body: u8,
        exp: u16,
    },
    AppendAudit(u8),
    AuditEntries {
        after: u8,
        max: u8,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..6;
    let t = 0u16..2000;
    prop_oneof![
        4 => (k.clone(), proptest::option::of(1u8..4), any::<u8>(), t.clone())
            .prop_map(|(k, expected, data, exp)| Op::PutSession { k, expected, data, exp }),
        2 => k.clone().prop_map(Op::GetSession),
        1 => k.clone().prop_map(Op::DeleteSession),
        1 => (t.clone(), 0u8..4).prop_map(|(now, max)| Op::SweepSessions { now, max }),
        1 => (k.clone(), any::<u8>()).prop_map(|(k, d)| Op::PutProfile(k, d)),
        1 => k.clone().prop_map(Op::GetProfile),
        3 => any::<u8>().prop_map(Op::AppendInbound),
        2 => (0u8..12).prop_map(Op::MarkInbound),
        1 => (proptest::option::of(0u8..12), 0u8..5).prop_map(|(after, max)| Op::Unprocessed { after, max }),
        4 => (0u8..3, t.clone(), any::<u8>()).prop_map(|(prio, due, body)| Op::Enqueue { prio, due, body }),
        4 => (0u8..4, t.clone(), 0u16..500).prop_map(|(n, now, lease)| Op::Claim { n, now, lease }),
        2 => any::<usize>().prop_map(Op::Complete),
        1 => (any::<usize>(), t.clone()).prop_map(|(i, now)| Op::Fail(i, now)),
        1 => (any::<usize>(), t.clone()).prop_map(|(i, due)| Op::Reschedule(i, due)),
        1 => (0u8..12).prop_map(Op::GetOutbound),
        3 => (k.clone(), t.clone(), 0u16..600).prop_map(|(k, now, ttl)| Op::Dedupe { k, now, ttl }),
        1 => (t.clone(), 0u8..4).prop_map(|(now, max)| Op::SweepDedupe { now, max }),
        2 => (k.clone(), any::<u8>(), t.clone()).prop_map(|(id, status, exp)| Op::Record { id, status, exp }),
        2 => (k.clone(), 0u8..12, t.clone()).prop_map(|(id, out, exp)| Op::Link { id, out, exp }),
        1 => k.clone().prop_map(Op::ReceiptStatus),
        1 => (t.clone(), 0u8..4).prop_map(|(now, max)| Op::SweepReceipts { now, max }),
        2 => (k.clone(), any::<u8>(), t.clone()).prop_map(|(k, body, exp)| Op::EnqueueOnce { k, body, exp }),
        2 => any::<u8>().prop_map(Op::AppendAudit),
        1 => (0u8..6, 0u8..5).prop_map(|(after, max)| Op::AuditEntries { after, max }),
        1 => Just(Op::Reopen),
    ]
}

fn skey(k: u8) -> SessionKey {
    SessionKey(vec![b's', k])
}

fn ts(t: u16) -> Timestamp {
    Timestamp(u64::from(t))
}

fn ms(t: u16) -> Duration {
    Duration::from_millis(u64::from(t))
}

/// Run one operation; the observable result rendered for comparison.
/// Leases handed out by `claim` are remembered so later ops can use them.
async fn run<S: Store>(s: &S, op: &Op, leases: &mut Vec<Lease>) -> String {
    let pick = |i: usize, leases: &Vec<Lease>| leases.get(i % leases.len().max(1)).copied();
    match *op {
        Op::PutSession {
            k,
            expected,
            data,
            exp,
        } => {
            let expected = expected.map(|v| Version(u64::from(v)));
            format!(
                "{:?}",
                s.put_session(&skey(k), expected, vec![data], ts(exp)).await
            )
        }
        Op::GetSession(k) => format!("{:?}", s.get_session(&skey(k)).await),
        Op::DeleteSession(k) => format!("{:?}", s.delete_session(&skey(k)).await),
        Op::SweepSessions { now, max } => {
            format!("{:?}", s.sweep_expired(ts(now), max.into()).await)
        }
        Op::PutProfile(k, d) => format!(
            "{:?}",
            s.put_profile(&SubscriberKey(format!("96477{k}")), vec![d])
                .await
        ),
        Op::GetProfile(k) => format!(
            "{:?}",
            s.get_profile(&SubscriberKey(format!("96477{k}"))).await
        ),
        Op::AppendInbound(b) => format!("{:?}", s.append_inbound(vec![b], Timestamp(7)).await),
        Op::MarkInbound(id) => {
            format!("{:?}", s.mark_inbound_processed(InboundId(id.into())).await)
        }
        Op::Unprocessed { after, max } => {
            let after = after.map(|a| InboundId(a.into()));
            format!("{:?}", s.unprocessed_inbound(after, max.into()).await)
        }
        Op::Enqueue { prio, due, body } => {
            let priority = Priority::from_u8(prio).unwrap_or(Priority::Bulk);
            let msg = NewOutbound {
                priority,
                due_at: ts(due),
                payload: vec![body],
                lease_until: None,
                unless_sent: None,
            };
            format!("{:?}", s.enqueue_outbound(msg).await)
        }
        Op::Claim { n, now, lease } => {
            let got = s.claim(n.into(), ts(now), ms(lease)).await;
            if let Ok(got) = &got {
                leases.extend(got.iter().map(|c| c.lease));
            }
            format!("{got:?}")
        }
        Op::Complete(i) => match pick(i, leases) {
            Some(l) => format!("{:?}", s.complete(l).await),
            None => "no lease".into(),
        },
        Op::Fail(i, now) => match pick(i, leases) {
            Some(l) => format!("{:?}", s.fail(l, ts(now)).await),
            None => "no lease".into(),
        },
        Op::Reschedule(i, due) => match pick(i, leases) {
            Some(l) => format!("{:?}", s.reschedule(l, ts(due)).await),
            None => "no lease".into(),
        },
        Op::GetOutbound(id) => format!("{:?}", s.get_outbound(OutboundId(id.into())).await),
        Op::Dedupe { k, now, ttl } => {
            format!(
                "{:?}",
                s.check_and_insert(&DedupeKey(vec![k]), ts(now), ms(ttl))
                    .await
            )
        }
        Op::SweepDedupe { now, max } => format!("{:?}", s.sweep_dedupe(ts(now), max.into()).await),
        Op::Record { id, status, exp } => {
            format!(
                "{:?}",
                s.record_receipt(&MessageId(format!("m{id}")), vec![status], ts(exp))
                    .await
            )
        }
        Op::Link { id, out, exp } => {
            let out = OutboundId(out.into());
            format!(
                "{:?}",
                s.link_receipt(&MessageId(format!("m{id}")), out, ts(exp))
                    .await
            )
        }
        Op::ReceiptStatus(id) => {
            format!("{:?}", s.receipt_status(&MessageId(format!("m{id}"))).await)
        }
        Op::SweepReceipts { now, max } => {
            format!("{:?}", s.sweep_receipts(ts(now), max.into()).await)
        }
        Op::EnqueueOnce { k, body, exp } => {
            let msg = NewOutbound {
                priority: Priority::Normal,
                due_at: ts(0),
                payload: vec![body],
                lease_until: None,
                unless_sent: None,
            };
            let key = MessageId(format!("m{k}"));
            format!("{:?}", s.enqueue_outbound_once(&key, msg, ts(exp)).await)
        }
        Op::AppendAudit(b) => format!("{:?}", s.append_audit(vec![b]).await),
        Op::AuditEntries { after, max } => {
            format!("{:?}", s.audit_entries(after.into(), max.into()).await)
        }
        Op::Reopen => unreachable!("handled by the driver"),
    }
}

async fn check(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let open = || SledStore::open(SledConfig::new(dir.path()));
    let mut sled = open()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let model = MemoryStore::new();
    let (mut sled_leases, mut model_leases) = (Vec::new(), Vec::new());
    for (step, op) in ops.iter().enumerate() {
        if let Op::Reopen = op {
            sled.close()
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            sled = open()
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            continue;
        }
        let got = run(&sled, op, &mut sled_leases).await;
        let want = run(&model, op, &mut model_leases).await;
        prop_assert_eq!(got, want, "step {} {:?}", step, op);
    }
    sled.close()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn sled_matches_model_across_reopens(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(check(ops))?;
    }
}
