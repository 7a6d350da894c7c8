//! `SledStore`: the [`Store`] on sled 0.34.7 (pinned; see
//! reliability-security.md §2). A fixed, small set of trees (`codec.rs` has
//! the layout), compare-and-swap for state changes, the inbound (MO)
//! journal in an append-only log of its own beside sled (`journal.rs`,
//! `<dir>/journal/`), and one group commit writer (`writer.rs`) for the
//! writes that must be durable before they are acknowledged, plus a
//! watermark file outside sled that makes an open refuse a store which
//! silently lost acknowledged records (`watermark.rs`). Must not: open a tree per session, do I/O inside a
//! transaction closure, or acknowledge a durable write before its flush.

mod batch;
mod codec;
mod dedupe;
mod journal;
mod queue;
mod sessions;
mod trees;
mod watermark;
mod writer;

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use self::batch::{Done, Write};
use self::journal::Journal;
use self::trees::Trees;
pub use self::writer::{CommitStats, GroupCommit};
use self::writer::{Disk, Job, Reply};
use super::audit::AuditEntry;
use super::error::{Error, Result};
use super::types::*;
use super::Store;

/// How to open the sled store.
#[derive(Debug, Clone)]
pub struct SledConfig {
    /// Directory of the database (sled creates `db`, `conf`, `blobs/`).
    pub path: PathBuf,
    /// sled page cache in bytes. RSS runs well above this (sled#1309), so
    /// set it explicitly. Default 128 MiB.
    pub cache_capacity: u64,
    /// sled's background flush period for writes not force-flushed
    /// (sessions etc.): the most a crash can lose of them. Default 500 ms.
    pub flush_every_ms: Option<u64>,
    pub group_commit: GroupCommit,
    /// Bound of the durable-write queue; beyond it, `Error::Busy`.
    pub queue_capacity: usize,
    /// Size at which the inbound journal starts a new segment (`journal.rs`).
    /// Default 64 MiB.
    pub journal_segment_bytes: u64,
}

impl SledConfig {
    pub const DEFAULT_CACHE_CAPACITY: u64 = 128 * 1024 * 1024;

    pub fn new(path: impl Into<PathBuf>) -> SledConfig {
        SledConfig {
            path: path.into(),
            cache_capacity: Self::DEFAULT_CACHE_CAPACITY,
            flush_every_ms: Some(500),
            group_commit: GroupCommit::DEFAULT,
            queue_capacity: 4096,
            journal_segment_bytes: journal::SEGMENT_BYTES,
        }
    }
}

/// The sled-backed store. Share it with `Arc`; call [`SledStore::close`] on
/// shutdown so the last writes are flushed and the directory lock released.
pub struct SledStore {
    trees: Trees,
    disk: Disk,
    writer: SyncSender<Job>,
    thread: std::thread::JoinHandle<()>,
    stats: Arc<CommitStats>,
    dir: PathBuf,
}

impl SledStore {
    /// Open (or create) the store and start its writer. Needs a tokio
    /// runtime; sled's own open (recovery can take a while) runs on a
    /// blocking thread.
    pub async fn open(cfg: SledConfig) -> Result<SledStore> {
        let path = cfg.path.clone();
        let sled_cfg = sled::Config::new()
            .path(&cfg.path)
            .cache_capacity(cfg.cache_capacity)
            .flush_every_ms(cfg.flush_every_ms)
            .mode(sled::Mode::HighThroughput);
        let opened = tokio::task::spawn_blocking(move || -> std::result::Result<_, sled::Error> {
            let db = sled_cfg.open()?;
            let trees = Trees::open(db)?;
            // The file sled 0.34.7 writes its log to (Config::db_path).
            let db_file = File::open(sled_cfg.get_path().join("db"))?;
            Ok((trees, db_file))
        })
        .await
        .map_err(|e| Error::Internal(format!("open task: {e}")))?;
        let (trees, db_file) = opened.map_err(|e| open_error(path.clone(), e))?;
        let journal = {
            let (trees, dir, seg) = (
                trees.clone(),
                path.join("journal"),
                cfg.journal_segment_bytes,
            );
            tokio::task::spawn_blocking(move || open_journal(&trees, &dir, seg))
                .await
                .map_err(|e| Error::Internal(format!("open task: {e}")))??
        };
        let disk = Disk {
            trees: trees.clone(),
            db_file: Arc::new(db_file),
            journal: Arc::new(journal),
        };
        watermark::check(&path, &disk.trees, &disk.journal)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(cfg.queue_capacity.max(1));
        let stats = Arc::new(CommitStats::default());
        let gc = GroupCommit {
            max_ops: cfg.group_commit.max_ops.max(1),
            ..cfg.group_commit
        };
        let thread = writer::spawn(disk.clone(), path.clone(), rx, gc, Arc::clone(&stats))
            .map_err(Error::from_io)?;
        Ok(SledStore {
            trees,
            disk,
            writer: tx,
            thread,
            stats,
            dir: path,
        })
    }

    /// Stop the writer (after it answers everything queued), flush, and
    /// release the database.
    pub async fn close(self) -> Result<()> {
        let SledStore {
            trees,
            disk,
            writer,
            thread,
            stats: _,
            dir,
        } = self;
        drop(writer);
        tokio::task::spawn_blocking(move || -> Result<()> {
            thread
                .join()
                .map_err(|_| Error::Internal("the writer thread panicked".into()))?;
            writer::flush(&disk)?;
            writer::update_watermark(&disk, &dir);
            drop((trees, disk));
            released(&dir.join("db"));
            Ok(())
        })
        .await
        .map_err(|e| Error::Internal(format!("close task: {e}")))?
    }

    /// Group commit counters (batches, operations).
    pub fn commit_stats(&self) -> &CommitStats {
        &self.stats
    }

    /// Bytes the store uses on disk, sled and the inbound journal (alert
    /// at 2x the expected size).
    pub fn size_on_disk(&self) -> Result<u64> {
        let sled = self.trees.db.size_on_disk().map_err(trees::sled_err)?;
        Ok(sled + self.disk.journal.size_on_disk())
    }

    async fn durable(&self, write: Write) -> Result<Done> {
        self.queue(write)?.await.map_err(|_| Error::Closed)?
    }

    /// Hands `write` to the writer; the receiver gets its outcome once the
    /// batch is durable (or failed).
    fn queue(&self, write: Write) -> Result<oneshot::Receiver<Result<Done>>> {
        let (reply, rx) = oneshot::channel();
        self.hand(write, Reply::Waiter(reply)).map_err(|(e, _)| e)?;
        Ok(rx)
    }

    /// Hands `write` to the writer, or gives `reply` back with the reason
    /// it could not be (`Busy`: the queue is full).
    fn hand(&self, write: Write, reply: Reply) -> std::result::Result<(), (Error, Reply)> {
        self.writer
            .try_send(Job { write, reply })
            .map_err(|e| match e {
                TrySendError::Full(job) => (Error::Busy, job.reply),
                TrySendError::Disconnected(job) => (Error::Closed, job.reply),
            })
    }
}

/// Waits (at most 5 s) until sled's lock on `db` is released. sled's
/// background threads keep the database, and its exclusive lock, for a
/// moment after the last handle is dropped, so a store reopened at once in
/// the same process could find it still locked.
fn released(db: &std::path::Path) {
    let Ok(file) = File::open(db) else { return };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match fs2::FileExt::try_lock_exclusive(&file) {
            Ok(()) => return,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => {
                tracing::warn!(error = %e, "store closed, but sled still holds its lock");
                return;
            }
        }
    }
}

/// Opens the inbound journal with ids after sled's old `inbound_seq`, and
/// moves into it the MOs a store from before the journal kept in sled
/// (durable in the journal before they leave sled; a crash in between
/// moves them again under the same ids).
fn open_journal(trees: &Trees, dir: &std::path::Path, segment_bytes: u64) -> Result<Journal> {
    let old_seq = watermark::sled_inbound_seq(trees)?;
    let dedupes = &trees.dedupes;
    let journal = Journal::open(dir, segment_bytes, old_seq + 1, &mut |k| {
        dedupes.replayed(k)
    })?;
    dedupes.adopt_legacy(&journal)?;
    let old = trees.unprocessed_inbound(None, usize::MAX)?;
    if !old.is_empty() {
        for m in &old {
            journal.append_with_id(m);
        }
        journal.commit()?;
        for m in &old {
            trees.mark_inbound_processed(m.id)?;
        }
        trees.db.flush().map_err(trees::sled_err)?;
        tracing::info!(
            count = old.len(),
            "moved journalled MOs from sled to the inbound journal"
        );
    }
    Ok(journal)
}

fn mismatch(d: Done) -> Error {
    Error::Internal(format!("writer answered {d:?} to the wrong request"))
}

fn open_error(path: PathBuf, e: sled::Error) -> Error {
    let hint = match &e {
        sled::Error::Corruption { .. } => {
            "the database is corrupt: move the directory aside, start empty and page an operator"
        }
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            "another process (or another SledStore in this one) has it open"
        }
        sled::Error::Io(io) => match io.kind() {
            io::ErrorKind::WouldBlock => {
                "another process has it open (sled holds an exclusive lock)"
            }
            io::ErrorKind::PermissionDenied => "check the directory's owner and permissions",
            io::ErrorKind::StorageFull => "the disk is full: free space first",
            io::ErrorKind::NotFound => "the parent directory does not exist",
            _ => "check the path, the disk and the file system (ext4/xfs, not btrfs)",
        },
        _ => "sled refused the configuration or hit a bug; see the cause",
    };
    Error::Open {
        path,
        hint,
        source: Box::new(e),
    }
}

impl Store for SledStore {
    async fn get_session(&self, key: &SessionKey) -> Result<Option<Session>> {
        self.trees.get_session(key)
    }

    async fn put_session(
        &self,
        key: &SessionKey,
        expected: Option<Version>,
        data: Vec<u8>,
        expires_at: Timestamp,
    ) -> Result<Version> {
        self.trees.put_session(key, expected, &data, expires_at)
    }

    async fn delete_session(&self, key: &SessionKey) -> Result<bool> {
        self.trees.delete_session(key)
    }

    async fn sweep_expired(&self, now: Timestamp, max: usize) -> Result<Vec<SessionKey>> {
        self.trees.sweep_sessions(now, max)
    }

    async fn get_profile(&self, who: &SubscriberKey) -> Result<Option<Vec<u8>>> {
        self.trees.get_profile(who)
    }

    async fn put_profile(&self, who: &SubscriberKey, data: Vec<u8>) -> Result<()> {
        self.trees.put_profile(who, &data)
    }

    async fn append_inbound(&self, payload: Vec<u8>, received_at: Timestamp) -> Result<InboundId> {
        match self
            .durable(Write::AppendInbound {
                payload,
                received_at,
            })
            .await?
        {
            Done::Inbound(id) => Ok(id),
            other => Err(mismatch(other)),
        }
    }

    async fn journal_inbound(
        &self,
        payload: Vec<u8>,
        received_at: Timestamp,
        intake: Box<dyn Intake>,
    ) {
        let write = Write::AppendInbound {
            payload,
            received_at,
        };
        if let Err((e, Reply::Intake(intake))) = self.hand(write, Reply::Intake(intake)) {
            intake.durable(Err(e));
        }
    }

    async fn mark_inbound_processed(&self, id: InboundId) -> Result<bool> {
        Ok(self.disk.journal.remove(id))
    }

    async fn unprocessed_inbound(
        &self,
        after: Option<InboundId>,
        max: usize,
    ) -> Result<Vec<InboundMessage>> {
        self.disk.journal.unprocessed(after, max)
    }

    async fn sweep_inbound(&self, before: Timestamp, max: usize) -> Result<usize> {
        Ok(self.disk.journal.sweep(before, max))
    }

    async fn sweep_failed_outbound(&self, before: Timestamp, max: usize) -> Result<usize> {
        self.trees.sweep_failed_outbound(before, max)
    }

    async fn enqueue_outbound(&self, msg: NewOutbound) -> Result<OutboundId> {
        match self.durable(Write::EnqueueOutbound(msg)).await? {
            Done::Outbound(id) => Ok(id),
            other => Err(mismatch(other)),
        }
    }

    async fn claim(&self, n: usize, now: Timestamp, lease: Duration) -> Result<Vec<Claimed>> {
        self.trees.claim(n, now, lease)
    }

    async fn complete(&self, lease: Lease) -> Result<()> {
        self.trees.complete(lease)
    }

    async fn fail(&self, lease: Lease, now: Timestamp) -> Result<()> {
        self.trees.fail(lease, now)
    }

    async fn reschedule(&self, lease: Lease, due_at: Timestamp) -> Result<()> {
        self.trees.reschedule(lease, due_at)
    }

    async fn get_outbound(&self, id: OutboundId) -> Result<Option<OutboundMessage>> {
        self.trees.get_outbound(id)
    }

    async fn check_and_insert(
        &self,
        key: &DedupeKey,
        now: Timestamp,
        ttl: Duration,
    ) -> Result<Dedupe> {
        Ok(self
            .trees
            .dedupes
            .check_and_insert(key, now, ttl, &self.disk.journal))
    }

    async fn withdraw_dedupe(&self, key: &DedupeKey, first: Timestamp) -> Result<()> {
        self.trees.dedupes.withdraw(key, first);
        Ok(())
    }

    async fn sweep_dedupe(&self, now: Timestamp, max: usize) -> Result<usize> {
        Ok(self.trees.dedupes.sweep(now, max, &self.disk.journal))
    }

    async fn link_receipt(
        &self,
        id: &MessageId,
        outbound: OutboundId,
        expires_at: Timestamp,
    ) -> Result<Receipt> {
        match self
            .durable(Write::LinkReceipt {
                id: id.clone(),
                outbound,
                expires_at,
            })
            .await?
        {
            Done::Receipt(r) => Ok(r),
            other => Err(mismatch(other)),
        }
    }

    async fn record_receipt(
        &self,
        id: &MessageId,
        status: Vec<u8>,
        expires_at: Timestamp,
    ) -> Result<Receipt> {
        match self
            .durable(Write::RecordReceipt {
                id: id.clone(),
                status,
                expires_at,
            })
            .await?
        {
            Done::Receipt(r) => Ok(r),
            other => Err(mismatch(other)),
        }
    }

    async fn receipt_status(&self, id: &MessageId) -> Result<Option<Receipt>> {
        self.trees.receipt_status(id)
    }

    async fn sweep_receipts(&self, now: Timestamp, max: usize) -> Result<usize> {
        self.trees.sweep_receipts(now, max)
    }

    fn writes_ok(&self) -> bool {
        !self
            .stats
            .failing
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn sync(&self) -> Result<()> {
        match self.durable(Write::Sync).await? {
            Done::Synced => Ok(()),
            other => Err(mismatch(other)),
        }
    }

    async fn enqueue_outbound_once(
        &self,
        key: &MessageId,
        msg: NewOutbound,
        expires_at: Timestamp,
    ) -> Result<(OutboundId, bool)> {
        let write = Write::EnqueueOnce {
            key: key.clone(),
            msg,
            expires_at,
        };
        match self.durable(write).await? {
            Done::Keyed(id, fresh) => Ok((id, fresh)),
            other => Err(mismatch(other)),
        }
    }

    async fn enqueue_replies(
        &self,
        msgs: Vec<NewOutbound>,
        done: Vec<InboundId>,
    ) -> Result<Vec<OutboundId>> {
        match self.durable(Write::EnqueueReplies { msgs, done }).await? {
            Done::Replies(ids) => Ok(ids),
            other => Err(mismatch(other)),
        }
    }

    async fn append_audit(&self, record: Vec<u8>) -> Result<AuditEntry> {
        match self.durable(Write::AppendAudit(record)).await? {
            Done::Audit(e) => Ok(e),
            other => Err(mismatch(other)),
        }
    }

    async fn audit_entries(&self, after: u64, max: usize) -> Result<Vec<AuditEntry>> {
        self.trees.audit_entries(after, max)
    }

    async fn put_flow_source(&self, id: &str, version: u32, record: Vec<u8>) -> Result<()> {
        self.trees.put_flow_source(id, version, &record)?;
        self.sync().await
    }

    async fn get_flow_source(&self, id: &str, version: u32) -> Result<Option<Vec<u8>>> {
        self.trees.get_flow_source(id, version)
    }

    async fn append_flow_history(&self, record: Vec<u8>) -> Result<u64> {
        let seq = self.trees.append_flow_history(&record)?;
        self.sync().await?;
        Ok(seq)
    }

    async fn flow_history(&self, before: u64, max: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        self.trees.flow_history(before, max)
    }

    async fn list_sessions(
        &self,
        after: Option<&SessionKey>,
        max: usize,
    ) -> Result<Vec<(SessionKey, Session)>> {
        self.trees.list_sessions(after, max)
    }
}

#[cfg(test)]
mod tests {
    use super::codec::{be, encode_inbound};
    use super::*;

    #[tokio::test]
    async fn mos_journalled_in_sled_by_an_older_store_move_to_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let old: Vec<InboundMessage> = (5..8)
            .map(|i| InboundMessage {
                id: InboundId(i),
                received_at: Timestamp(100 + i),
                payload: format!("old mo {i}").into_bytes(),
            })
            .collect();
        {
            // No flusher thread: it would hold the database (and its file lock)
            // for up to its interval after the drop, and the reopen below fail.
            let db = sled::Config::new()
                .path(dir.path())
                .flush_every_ms(None)
                .open()
                .unwrap();
            let trees = Trees::open(db).unwrap();
            for m in &old {
                trees.inbox.insert(be(m.id.0), encode_inbound(m)).unwrap();
            }
            trees.meta.insert(b"inbound_seq", &be(9)).unwrap();
            trees.db.flush().unwrap();
        }
        // sled's I/O threads may hold it (and its lock) a moment longer.
        released(&dir.path().join("db"));
        let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
        assert_eq!(s.unprocessed_inbound(None, 10).await.unwrap(), old);
        assert!(s.trees.inbox.is_empty(), "moved out of sled");
        let next = s.append_inbound(b"new".to_vec(), Timestamp(200)).await;
        assert_eq!(next.unwrap(), InboundId(10), "ids go on after sled's");
        s.close().await.unwrap();
        let s = SledStore::open(SledConfig::new(dir.path())).await.unwrap();
        assert_eq!(s.unprocessed_inbound(None, 10).await.unwrap().len(), 4);
        s.close().await.unwrap();
    }
}
