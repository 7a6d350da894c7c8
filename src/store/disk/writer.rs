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
//! (`batch.rs`), then runs sled's `flush` and `fdatasync` on `<dir>/db`
//! (sled 0.34.7 keeps its log there, `Config::db_path`; its flush uses
//! `sync_file_range` on Linux, which does not flush the drive cache), and
//! only then answers every waiter of the batch. A failed flush answers all
//! of them with the error: nothing is acknowledged that is not on disk.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::sync::mpsc::{Receiver, TryRecvError};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use super::batch::{Done, Write};
use super::trees::{sled_err, Trees};
use super::watermark;
use crate::store::error::{Error, Result};

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
    pub(super) reply: oneshot::Sender<Result<Done>>,
}

/// Starts the writer thread. It runs until every sender of `rx` is gone,
/// after answering what was queued.
pub(super) fn spawn(
    trees: Trees,
    db_file: Arc<File>,
    dir: PathBuf,
    rx: Receiver<Job>,
    gc: GroupCommit,
    stats: Arc<CommitStats>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("bawaba-commit".into())
        .spawn(move || run(&trees, &db_file, &dir, &rx, gc, &stats))
}

fn run(
    trees: &Trees,
    db_file: &File,
    dir: &Path,
    rx: &Receiver<Job>,
    gc: GroupCommit,
    stats: &CommitStats,
) {
    let mut last_mark = Instant::now();
    let mut writes = Vec::new();
    let mut replies = Vec::new();
    while let Ok(first) = rx.recv() {
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
        let durable = commit(trees, db_file, stats, &mut writes, &mut replies);
        if durable && last_mark.elapsed() >= WATERMARK_EVERY {
            update_watermark(trees, dir);
            last_mark = Instant::now();
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
pub(super) fn update_watermark(trees: &Trees, dir: &Path) {
    let mark = match watermark::current(trees) {
        Ok(m) => m,
        Err(e) => return tracing::warn!(error = %e, "cannot read store sequences"),
    };
    if let Err(e) = watermark::write(dir, mark) {
        tracing::warn!(error = %e, "cannot write store watermark");
    }
}

/// Apply one batch, make it durable, then answer every waiter (draining
/// both vectors). True if something was written and flushed.
fn commit(
    trees: &Trees,
    db_file: &File,
    stats: &CommitStats,
    writes: &mut Vec<Write>,
    replies: &mut Vec<oneshot::Sender<Result<Done>>>,
) -> bool {
    let results = match trees.apply_batch(writes) {
        Ok(results) => results,
        Err(e) => {
            tracing::error!(error = %e, writes = writes.len(), "store batch failed; writes not acknowledged");
            writes.iter().map(|_| Err(copy_err(&e))).collect()
        }
    };
    let wrote = results.iter().any(|r| r.is_ok());
    let flushed = if wrote { flush(trees, db_file) } else { Ok(()) };
    if let Err(e) = &flushed {
        tracing::error!(error = %e, writes = writes.len(), "store flush failed; writes not acknowledged");
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
        let _ = reply.send(answer); // a caller that gave up needs no answer
    }
    wrote && flushed.is_ok()
}

/// Make everything written so far durable. Blocks: call it on the writer
/// thread or in `spawn_blocking`.
pub(super) fn flush(trees: &Trees, db_file: &File) -> Result<()> {
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
