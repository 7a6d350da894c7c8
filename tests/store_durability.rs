//! Durability evidence for the group commit: what `append_inbound` and
//! `enqueue_outbound` acknowledged is there after a reopen, and after the
//! writing process is killed with SIGKILL mid-stream.
//!
//! The crash test re-executes this test binary as a child (`crash_child`,
//! enabled by `BAWABA_CRASH_DIR`) that writes from many tasks and prints a
//! line per acknowledgement; the parent kills it after enough acks, reopens
//! the directory and checks every acked record.
//!
//! What this can and cannot show: SIGKILL loses what sled still holds in
//! process memory, so it proves "ack only after the write left the
//! process". It cannot show loss of the drive cache on power failure; that
//! is what the `fdatasync` is for. Mutation check, done by hand: with the
//! flush skipped (ack before durable), the first kill lost 16 acked records
//! and this test failed; with the flush, none is ever lost.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use bawaba::store::*;

const CHILD_ENV: &str = "BAWABA_CRASH_DIR";
const WRITERS: usize = 16;

fn body(tag: &str) -> Vec<u8> {
    tag.as_bytes().to_vec()
}

fn mt(tag: &str) -> NewOutbound {
    NewOutbound {
        priority: Priority::Normal,
        due_at: Timestamp(0),
        payload: body(tag),
        lease_until: None,
        unless_sent: None,
    }
}

/// Everything in the store: inbound id -> payload, and outbound lookups.
async fn inbound_map(s: &SledStore) -> HashMap<u64, Vec<u8>> {
    let mut map = HashMap::new();
    let mut after = None;
    loop {
        let page = s.unprocessed_inbound(after, 1000).await.unwrap();
        let Some(last) = page.last() else { return map };
        after = Some(last.id);
        map.extend(page.into_iter().map(|m| (m.id.0, m.payload)));
    }
}

/// Opens the store in `dir` again after `close`. sled lets go of its lock
/// file once its own I/O threads drop the database, which can be a moment
/// after `close` returns (a new process never sees this: the old one has
/// exited).
async fn reopen(dir: &Path) -> SledStore {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match SledStore::open(SledConfig::new(dir)).await {
            Ok(s) => return s,
            Err(e)
                if e.to_string().contains("has it open")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("reopen: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(SledStore::open(SledConfig::new(dir.path())).await.unwrap());
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..50 {
                let tag = format!("w{w}-{i}");
                let inn = s.append_inbound(body(&tag), Timestamp(1)).await.unwrap();
                let out = s.enqueue_outbound(mt(&tag)).await.unwrap();
                acked.push((tag, inn, out));
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    let (batches, ops) = s.commit_stats().snapshot();
    assert_eq!(ops, 2 * 50 * WRITERS as u64);
    assert!(
        batches < ops,
        "group commit never batched: {batches} batches for {ops} ops"
    );
    Arc::into_inner(s).unwrap().close().await.unwrap();

    let s = reopen(dir.path()).await;
    let inbound = inbound_map(&s).await;
    for (tag, inn, out) in &acked {
        assert_eq!(inbound.get(&inn.0), Some(&body(tag)), "inbound {inn:?}");
        let m = s.get_outbound(*out).await.unwrap().unwrap();
        assert_eq!(m.payload, body(tag));
    }
    s.close().await.unwrap();
}

/// `check_and_insert` of MO key `i` at `at` (ms), window 120 s.
async fn seen(s: &SledStore, i: u32, at: u64) -> Dedupe {
    let key = DedupeKey(format!("mo:{i}").into_bytes());
    let ttl = std::time::Duration::from_secs(120);
    s.check_and_insert(&key, Timestamp(at), ttl).await.unwrap()
}

/// The MO dedupe window survives a restart (the SMSC resends an MO whose
/// ack a crash swallowed), and what expired is swept from disk too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_records_survive_reopen_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let first = |at| Dedupe::Duplicate {
        first_seen: Timestamp(at),
    };
    let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
    for i in 0..100 {
        assert_eq!(seen(&s, i, 1_000 + u64::from(i)).await, Dedupe::First);
    }
    // Seen again after expiry: recorded anew (one record per key).
    assert_eq!(seen(&s, 0, 200_000).await, Dedupe::First);
    s.sync().await.unwrap();
    s.close().await.unwrap();

    let s = reopen(dir.path()).await;
    assert_eq!(seen(&s, 7, 2_000).await, first(1_007));
    assert_eq!(seen(&s, 0, 200_001).await, first(200_000));
    // Keys 1..100 expire at 121_001..121_099; key 0 only at 320_000.
    assert_eq!(s.sweep_dedupe(Timestamp(121_049), 1000).await.unwrap(), 49);
    assert_eq!(s.sweep_dedupe(Timestamp(300_000), 10).await.unwrap(), 10);
    assert_eq!(s.sweep_dedupe(Timestamp(300_000), 1000).await.unwrap(), 40);
    assert_eq!(s.sweep_dedupe(Timestamp(300_000), 1000).await.unwrap(), 0);
    s.close().await.unwrap();

    let s = reopen(dir.path()).await;
    let again = seen(&s, 50, 300_000).await;
    assert_eq!(
        again,
        Dedupe::First,
        "swept before the restart: gone after it"
    );
    assert_eq!(seen(&s, 0, 300_000).await, first(200_000));
    s.close().await.unwrap();
}

/// Child side of the crash test: write until killed. Does nothing unless
/// started by `acknowledged_writes_survive_kill_9`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let cycle = std::env::var("BAWABA_CRASH_CYCLE").unwrap_or_default();
    let s = Arc::new(SledStore::open(SledConfig::new(&dir)).await.unwrap());
    println!("READY");
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        let cycle = cycle.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0u64.. {
                let tag = format!("c{cycle}-w{w}-{i}");
                if i % 2 == 0 {
                    let id = s.append_inbound(body(&tag), Timestamp(i)).await.unwrap();
                    println!("ACK IN {} {tag}", id.0);
                } else {
                    let id = s.enqueue_outbound(mt(&tag)).await.unwrap();
                    println!("ACK OUT {} {tag}", id.0);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Run one child, kill it with SIGKILL after `acks` acknowledgements, and
/// return every acknowledgement line it printed.
fn write_until_killed(dir: &Path, cycle: usize, acks: usize) -> Vec<(String, u64, String)> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env("BAWABA_CRASH_CYCLE", cycle.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    let mut killed = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            let mut parts = rest.splitn(3, ' ');
            let (Some(kind), Some(id), Some(tag)) = (parts.next(), parts.next(), parts.next())
            else {
                continue; // torn by the kill
            };
            let Ok(id) = id.parse() else { continue };
            acked.push((kind.to_string(), id, tag.to_string()));
            if acked.len() == acks && !killed {
                child.kill().unwrap(); // SIGKILL on Unix
                killed = true;
            }
        }
    }
    // The pipe drained: lines printed before the kill are all in `acked`.
    let status = child.wait().unwrap();
    assert!(killed, "child exited before {acks} acks: {status:?}");
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Vec::new();
    for cycle in 0..6 {
        let path = dir.path().to_path_buf();
        let batch = tokio::task::spawn_blocking(move || {
            write_until_killed(&path, cycle, 1500 + 500 * cycle)
        })
        .await
        .unwrap();
        acked.extend(batch);

        let s = SledStore::open(SledConfig::new(dir.path()))
            .await
            .expect("reopen after SIGKILL");
        let inbound = inbound_map(&s).await;
        let mut lost = Vec::new();
        for (kind, id, tag) in &acked {
            let found = match kind.as_str() {
                "IN" => inbound.get(id).cloned(),
                _ => s
                    .get_outbound(OutboundId(*id))
                    .await
                    .unwrap()
                    .map(|m| m.payload),
            };
            if found.as_deref() != Some(tag.as_bytes()) {
                lost.push((kind.clone(), *id, tag.clone(), found));
            }
        }
        assert!(
            lost.is_empty(),
            "cycle {cycle}: {} of {} acked records lost: {:?}",
            lost.len(),
            acked.len(),
            &lost[..lost.len().min(5)]
        );
        eprintln!(
            "cycle {cycle}: all {} acked records present after SIGKILL",
            acked.len()
        );
        s.close().await.unwrap();
    }
}
