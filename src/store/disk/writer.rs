//! Group commit: the one task that performs every durable write.
//!
//! The writer is one OS thread (`bawaba-commit`), not a runtime task: it
//! spends its time blocked in sled's flush and `fdatasync`, and a thread
//! waits for the next request or a batch's deadline to the microsecond,
//! where a tokio timer rounds up to the next millisecond (with
//! `max_wait = 0` that alone was most of a durable write's 1.8 ms).
//!
//! Requests arrive on a bounded channel. The writer closes a batch at
//! `max_ops` operations or `max_wait` after the batch's first operation
//! (whatever queued during the previous flush is taken at once), applies it
//! (`batch.rs`), then, if it wrote to sled, runs sled's `flush` and
//! `fdatasync` on `<dir>/db` (sled 0.34.7 keeps its log there,
//! `Config::db_path`; its flush uses `sync_file_range` on Linux, which
//! does not flush the drive cache), then writes and syncs the inbound
//! journal (`journal.rs`), and only then answers every waiter of the batch.
//! It also owns the journal's segments: a new one past its size, old ones
//! compacted away (`Journal::maintain`). A failed flush answers all
//! of them with the error: nothing is acknowledged that is not on disk.
//! An MO journalled with `journal_inbound` has its intake told its id as
//! soon as its batch is applied, before the flush, so the runtime can work
//! on it meanwhile; its acknowledgement still waits for the batch's answer.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use super::batch::{Applied, Done, Write};
use super::journal::Journal;
use super::trees::{sled_err, Trees};
use super::watermark;
use crate::store::error::{Error, Result};
use crate::store::types::Intake;

/// When the writer closes a batch and flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// Close the batch after this many operations (>= 1).
    pub max_ops: usize,
    /// ... or this long after its first operation.
    pub max_wait: Duration,
}

impl GroupCommit {
    /// At most 1024 operations, and no wait: a batch is whatever queued
    /// up during the flush before it (classic group commit; under load
    /// batches grow by themselves). reliability-security.md §2 suggested
    /// 64 operations or 2 ms. At 64 the store capped near 13k durable
    /// writes/s (4.3k SMS/s). A 2 ms wait put 2 ms on each of an SMS's
    /// two durable writes: keyword SMS at 4,000/s took p50 5.9 / p99
    /// 8.7 ms with it and 1.5-2.0 / 6.7 ms without, and at saturation
    /// 10.6k replies/s without it against 12.1-13.2k with it. The price is
    /// more flushes at moderate rates (about 250 against 180 µs of CPU per
    /// SMS at 4,000/s), which is CPU the gateway has spare at those rates.
    pub const DEFAULT: GroupCommit = GroupCommit {
        max_ops: 1024,
        max_wait: Duration::ZERO,
    };
    /// Flush after every operation: only for comparison benchmarks.
    pub const PER_OP: GroupCommit = GroupCommit {
        max_ops: 1,
        max_wait: Duration::ZERO,
    };
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit::DEFAULT
    }
}

/// Counters of the writer, for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct CommitStats {
    pub batches: AtomicU64,
    pub ops: AtomicU64,
    /// The last commit that wrote something failed.
    pub failing: AtomicBool,
}

impl CommitStats {
    /// (batches flushed, operations acknowledged)
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.ops.load(Ordering::Relaxed),
        )
    }
}

/// A durable write and where to send its outcome.
pub(super) struct Job {
    pub(super) write: Write,
    pub(super) reply: Reply,
}

/// Who learns a write's outcome.
pub(super) enum Reply {
    /// A caller awaiting it.
    Waiter(oneshot::Sender<Result<Done>>),
    /// An MO's intake (`Store::journal_inbound`): told the id once the
    /// batch is applied, before its flush, and the outcome after it.
    Intake(Box<dyn Intake>),
}

impl Reply {
    fn send(self, outcome: Result<Done>) {
        match self {
            // A caller that gave up needs no answer.
            Reply::Waiter(tx) => drop(tx.send(outcome)),
            Reply::Intake(intake) => intake.durable(outcome.map(drop)),
        }
    }
}

/// Starts the writer thread. It runs until every sender of `rx` is gone,
/// after answering what was queued.
pub(super) fn spawn(
    disk: Disk,
    dir: PathBuf,
    rx: Receiver<Job>,
    gc: GroupCommit,
    stats: Arc<CommitStats>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("bawaba-commit".into())
        .spawn(move || run(&disk, &dir, &rx, gc, &stats))
}

/// What the writer writes to: sled (with the file its log is in) and the
/// inbound journal.
#[derive(Clone)]
pub(super) struct Disk {
    pub(super) trees: Trees,
    pub(super) db_file: Arc<File>,
    pub(super) journal: Arc<Journal>,
}

/// How long removals from the journal may wait for a batch to ride on
/// before the writer writes them alone (like sled's `flush_every_ms`).
const IDLE_DONES: Duration = Duration::from_millis(200);

fn run(disk: &Disk, dir: &Path, rx: &Receiver<Job>, gc: GroupCommit, stats: &CommitStats) {
    let mut last_mark = Instant::now();
    let mut writes = Vec::new();
    let mut replies = Vec::new();
    loop {
        let first = match rx.recv_timeout(IDLE_DONES) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                if disk.journal.has_pending() {
                    let done = disk.journal.commit();
                    stats.failing.store(done.is_err(), Ordering::Relaxed);
                    if let Err(e) = done {
                        tracing::warn!(error = %e, "inbound journal: writing removals failed");
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let deadline = Instant::now() + gc.max_wait;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            writes.push(job.write);
            replies.push(job.reply);
            if writes.len() >= gc.max_ops {
                break;
            }
            next = next_before(rx, deadline);
        }
        let durable = commit(disk, stats, &mut writes, &mut replies);
        if durable {
            let flush = || flush_sled(&disk.trees, &disk.db_file);
            if let Err(e) = disk.journal.maintain(flush) {
                tracing::error!(error = %e, "inbound journal: starting a segment or compacting failed");
            }
            if last_mark.elapsed() >= WATERMARK_EVERY {
                update_watermark(disk, dir);
                last_mark = Instant::now();
            }
        }
    }
}

/// The next request if one is queued, or arrives before `deadline`.
fn next_before(rx: &Receiver<Job>, deadline: Instant) -> Option<Job> {
    match rx.try_recv() {
        Ok(job) => Some(job),
        Err(TryRecvError::Disconnected) => None,
        Err(TryRecvError::Empty) => {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            rx.recv_timeout(left).ok() // timed out, or every sender gone
        }
    }
}

/// How often the writer refreshes `<dir>/bawaba-watermark` (`watermark.rs`).
const WATERMARK_EVERY: Duration = Duration::from_secs(1);

/// Record the (durable) sequences outside sled. Call only right after a
/// successful flush with no write in between.
pub(super) fn update_watermark(disk: &Disk, dir: &Path) {
    let mark = match watermark::current(&disk.trees, &disk.journal) {
        Ok(m) => m,
        Err(e) => return tracing::warn!(error = %e, "cannot read store sequences"),
    };
    if let Err(e) = watermark::write(dir, mark) {
        tracing::warn!(error = %e, "cannot write store watermark");
    }
}

/// Apply one batch, make it durable, then answer every waiter (draining
/// both vectors). True if something was written and made durable.
///
/// Order: sled's writes are flushed first, then the MOs answered by this
/// batch's replies leave the journal, then the journal is written and
/// synced (its new MOs and every removal waiting). A failure of either
/// answers every write of the batch with the error.
fn commit(
    disk: &Disk,
    stats: &CommitStats,
    writes: &mut Vec<Write>,
    replies: &mut Vec<Reply>,
) -> bool {
    let Applied {
        results,
        sled,
        done_after_flush,
    } = match disk.trees.apply_batch(writes, &disk.journal) {
        Ok(applied) => applied,
        Err(e) => {
            tracing::error!(error = %e, writes = writes.len(), "store batch failed; writes not acknowledged");
            stats.failing.store(true, Ordering::Relaxed);
            Applied {
                results: writes.iter().map(|_| Err(copy_err(&e))).collect(),
                sled: false,
                done_after_flush: Vec::new(),
            }
        }
    };
    // Intakes may work on their MO while the batch is flushed: it is
    // acknowledged only with the batch's outcome below.
    for (reply, r) in replies.iter_mut().zip(&results) {
        if let (Reply::Intake(intake), Ok(Done::Inbound(id))) = (reply, r) {
            intake.journalled(*id);
        }
    }
    let wrote = results.iter().any(|r| r.is_ok());
    let mut flushed = if wrote && sled {
        flush_sled(&disk.trees, &disk.db_file)
    } else {
        Ok(())
    };
    if flushed.is_ok() {
        for id in done_after_flush {
            disk.journal.remove(id);
        }
        if wrote {
            flushed = disk.journal.commit();
        }
    }
    if let Err(e) = &flushed {
        tracing::error!(error = %e, writes = writes.len(), "store flush failed; writes not acknowledged");
    }
    if wrote {
        stats.failing.store(flushed.is_err(), Ordering::Relaxed);
    }
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.ops.fetch_add(writes.len() as u64, Ordering::Relaxed);
    writes.clear();
    for (reply, result) in replies.drain(..).zip(results) {
        let answer = match (&flushed, result) {
            (Ok(()), r) => r,
            (Err(_), Err(e)) => Err(e),
            (Err(e), Ok(_)) => Err(copy_err(e)),
        };
        reply.send(answer);
    }
    wrote && flushed.is_ok()
}

/// Make everything written so far durable: sled, then the journal. Blocks:
/// call it on the writer thread or in `spawn_blocking`.
pub(super) fn flush(disk: &Disk) -> Result<()> {
    flush_sled(&disk.trees, &disk.db_file)?;
    disk.journal.commit()
}

fn flush_sled(trees: &Trees, db_file: &File) -> Result<()> {
    trees.db.flush().map_err(sled_err)?;
    db_file.sync_data().map_err(Error::from_io)
}

/// `Error` is not `Clone` (it holds `io::Error`); give each waiter its own.
fn copy_err(e: &Error) -> Error {
    match e {
        Error::DiskFull => Error::DiskFull,
        Error::Io(io) => Error::Io(io::Error::new(io.kind(), io.to_string())),
        Error::Corrupt { detail } => Error::Corrupt {
            detail: detail.clone(),
        },
        other => Error::Internal(other.to_string()),
    }
}
