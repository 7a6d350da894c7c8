//! sled-only behaviour: the bounded writer queue, open errors, reopen.

use std::time::Duration;

use bawaba::store::*;

const SEC: Duration = Duration::from_secs(1);

#[path = "../src/store/fixtures.rs"]
mod fixtures;
use fixtures::{key, mt};

#[tokio::test]
async fn sled_full_writer_queue_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = SledConfig::new(dir.path());
    cfg.queue_capacity = 1;
    let s = SledStore::open(cfg).await.unwrap();
    // current-thread runtime: all three try_send before the writer runs
    let (a, b, c) = tokio::join!(
        s.append_inbound(b"1".to_vec(), Timestamp(0)),
        s.append_inbound(b"2".to_vec(), Timestamp(0)),
        s.enqueue_outbound(mt(Priority::Bulk, 0, "3")),
    );
    assert!(a.is_ok());
    assert!(
        matches!(b, Err(Error::Busy)) && matches!(c, Err(Error::Busy)),
        "{b:?} {c:?}"
    );
    assert!(Error::Busy.is_transient());
    assert_eq!(s.unprocessed_inbound(None, 10).await.unwrap().len(), 1);
    s.close().await.unwrap();
}

#[tokio::test]
async fn sled_open_errors_name_the_path_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
    let Err(err) = SledStore::open(SledConfig::new(dir.path())).await else {
        panic!("second open succeeded")
    };
    let msg = err.to_string();
    assert!(
        msg.contains(&dir.path().display().to_string()) && msg.contains("has it open"),
        "{msg}"
    );
    s.close().await.unwrap();

    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a dir").unwrap();
    let Err(err) = SledStore::open(SledConfig::new(file.join("db"))).await else {
        panic!("opened under a file")
    };
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
}

#[tokio::test]
async fn sled_close_then_reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
    s.put_session(&key("k"), None, b"state".to_vec(), Timestamp(5))
        .await
        .unwrap();
    let mo = s
        .append_inbound(b"mo".to_vec(), Timestamp(1))
        .await
        .unwrap();
    let mt_id = s
        .enqueue_outbound(mt(Priority::Interactive, 0, "mt"))
        .await
        .unwrap();
    s.close().await.unwrap();
    let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
    assert_eq!(
        s.get_session(&key("k")).await.unwrap().unwrap().data,
        b"state"
    );
    assert_eq!(s.unprocessed_inbound(None, 10).await.unwrap()[0].id, mo);
    assert_eq!(
        s.claim(5, Timestamp(0), SEC).await.unwrap()[0].lease.id,
        mt_id
    );
    // sequences continue after a reopen
    assert!(s.append_inbound(vec![], Timestamp(2)).await.unwrap() > mo);
    s.close().await.unwrap();
}

#[tokio::test]
async fn sled_silently_truncated_log_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
    for i in 0..100u64 {
        s.enqueue_outbound(mt(Priority::Bulk, i, &"x".repeat(300)))
            .await
            .unwrap();
    }
    s.close().await.unwrap();
    let db = dir.path().join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    for b in bytes.iter_mut().skip(100).step_by(7) {
        *b ^= 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();
    // sled 0.34.7 itself opens this without error and with 0 records; the
    // watermark outside sled turns that into a refusal to start.
    let Err(err) = SledStore::open(SledConfig::new(dir.path())).await else {
        panic!("opened a store that lost 100 acknowledged records")
    };
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
    assert!(
        err.to_string().contains("lost acknowledged records"),
        "{err}"
    );
}

fn journal_segments(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut segs: Vec<_> = std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segs.sort();
    segs
}

fn small_segments(dir: &std::path::Path) -> SledConfig {
    let mut cfg = SledConfig::new(dir);
    cfg.journal_segment_bytes = 4096;
    cfg
}

/// Journals 100 MOs of 300 bytes and closes the store: its segments.
async fn hundred_mos(cfg: SledConfig) -> Vec<std::path::PathBuf> {
    let dir = cfg.path.clone();
    let s = SledStore::open(cfg).await.unwrap();
    for i in 0..100u64 {
        s.append_inbound(vec![b'x'; 300], Timestamp(i))
            .await
            .unwrap();
    }
    s.close().await.unwrap();
    journal_segments(&dir)
}

fn flip(file: &std::path::Path, at: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] ^= 0x5a;
    std::fs::write(file, bytes).unwrap();
}

#[tokio::test]
async fn journal_damage_in_an_older_segment_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let segs = hundred_mos(small_segments(dir.path())).await;
    assert!(segs.len() > 2, "{segs:?}");
    flip(&segs[0], 100);
    let Err(err) = SledStore::open(small_segments(dir.path())).await else {
        panic!("opened a journal with a damaged record in the middle")
    };
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[tokio::test]
async fn journal_damage_at_its_end_is_refused_by_the_watermark() {
    // A flipped byte in the newest segment looks like a torn write and is
    // cut off; the records after it were acknowledged, and the watermark
    // turns their loss into a refusal to start.
    let dir = tempfile::tempdir().unwrap();
    let segs = hundred_mos(SledConfig::new(dir.path())).await;
    flip(&segs[0], 1000);
    let Err(err) = SledStore::open(SledConfig::new(dir.path())).await else {
        panic!("opened a store that lost acknowledged MOs")
    };
    assert!(
        err.to_string().contains("lost acknowledged records"),
        "{err}"
    );
}

#[tokio::test]
async fn journal_torn_tail_is_cut_and_everything_acknowledged_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..20u64 {
        ids.push(
            s.append_inbound(vec![b'm'; 50], Timestamp(i))
                .await
                .unwrap(),
        );
    }
    s.close().await.unwrap();
    // A write a crash cut short: a record header promising more than follows.
    let seg = journal_segments(dir.path()).pop().unwrap();
    let clean = std::fs::metadata(&seg).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    std::io::Write::write_all(&mut f, &[0xde, 0xad, 0xbe, 0xef, 0, 0, 1, 0, 1, 2]).unwrap();
    drop(f);
    let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), clean);
    let kept: Vec<_> = s
        .unprocessed_inbound(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(kept, ids);
    let next = s
        .append_inbound(b"after".to_vec(), Timestamp(30))
        .await
        .unwrap();
    assert!(next > *ids.last().unwrap());
    s.close().await.unwrap();
}

#[tokio::test]
async fn journal_compaction_keeps_live_mos_and_drops_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(small_segments(dir.path())).await.unwrap();
    let mut kept = Vec::new();
    let mut last = None;
    for i in 0..2000u64 {
        let payload = format!("mo {i}").into_bytes();
        let id = s.append_inbound(payload, Timestamp(i)).await.unwrap();
        // one in a hundred stays unprocessed (a follow-up, a stuck MO)
        if i % 100 == 7 {
            kept.push((id, format!("mo {i}").into_bytes()));
        } else {
            assert!(s.mark_inbound_processed(id).await.unwrap());
        }
        last = Some(id);
    }
    s.sync().await.unwrap();
    // 2000 MOs of about 40 bytes plus their dones is some 25 segments of
    // 4 KiB; compaction leaves a handful.
    let n = journal_segments(dir.path()).len();
    assert!(n <= 6, "{n} segments left");
    s.close().await.unwrap();
    let s = SledStore::open(small_segments(dir.path())).await.unwrap();
    let back: Vec<_> = s
        .unprocessed_inbound(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m.payload))
        .collect();
    assert_eq!(back, kept);
    // Ids are never given twice, even once every record is gone.
    for (id, _) in &kept {
        assert!(s.mark_inbound_processed(*id).await.unwrap());
    }
    s.close().await.unwrap();
    let s = SledStore::open(small_segments(dir.path())).await.unwrap();
    assert!(s.unprocessed_inbound(None, 10).await.unwrap().is_empty());
    let next = s.append_inbound(b"x".to_vec(), Timestamp(0)).await.unwrap();
    assert!(next > last.unwrap(), "{next:?} after {last:?}");
    s.close().await.unwrap();
}

#[tokio::test]
async fn dedupe_keys_outlive_the_segments_they_were_written_in() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(small_segments(dir.path())).await.unwrap();
    let hour = Duration::from_secs(3600);
    let first = DedupeKey(b"asiacell\0msisdn\0first".to_vec());
    assert_eq!(
        s.check_and_insert(&first, Timestamp(1000), hour)
            .await
            .unwrap(),
        Dedupe::First
    );
    let before = journal_segments(dir.path());
    for i in 0..1000u64 {
        let at = Timestamp(2000 + i);
        let key = DedupeKey(format!("asiacell\0msisdn\0{i}").into_bytes());
        assert_eq!(
            s.check_and_insert(&key, at, hour).await.unwrap(),
            Dedupe::First
        );
        let id = s.append_inbound(vec![b'm'; 40], at).await.unwrap();
        assert!(s.mark_inbound_processed(id).await.unwrap());
    }
    s.sync().await.unwrap();
    let after = journal_segments(dir.path());
    assert!(!after.contains(&before[0]), "the first segment was dropped");
    s.close().await.unwrap();
    let s = SledStore::open(small_segments(dir.path())).await.unwrap();
    for k in [&first, &DedupeKey(b"asiacell\0msisdn\x00500".to_vec())] {
        let again = s.check_and_insert(k, Timestamp(5000), hour).await.unwrap();
        assert!(
            matches!(again, Dedupe::Duplicate { .. }),
            "{k:?}: {again:?}"
        );
    }
    s.close().await.unwrap();
}
