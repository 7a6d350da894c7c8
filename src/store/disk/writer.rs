//! Group commit: the one task that performs every durable write.
//!
//! Requests arrive on a bounded channel. The writer applies each at once
//! (so reads see it), and closes the batch at `max_ops` operations or
//! `max_wait` after the batch's first operation. It then runs sled's
//! `flush_async` and `fdatasync` on `<dir>/db` (sled 0.34.7 keeps its log
//! there, `Config::db_path`; its flush uses `sync_file_range` on Linux, which
//! does not flush the drive cache), and only then answers every waiter of the
//! batch. A failed flush answers all of them with the error: nothing is
//! acknowledged that is not on disk.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::trees::{sled_err, Trees};
use crate::store::error::{Error, Result};
use crate::store::types::*;

/// When the writer closes a batch and flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// Close the batch after this many operations (>= 1).
    pub max_ops: usize,
    /// ... or this long after its first operation.
    pub max_wait: Duration,
}

impl GroupCommit {
    /// 64 operations or 2 ms (see reliability-security.md §2).
    pub const DEFAULT: GroupCommit = GroupCommit {
        max_ops: 64,
        max_wait: Duration::from_millis(2),
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

type Reply<T> = oneshot::Sender<Result<T>>;

/// A durable write request.
pub(super) enum Op {
    AppendInbound {
        payload: Vec<u8>,
        received_at: Timestamp,
        reply: Reply<InboundId>,
    },
    EnqueueOutbound {
        msg: NewOutbound,
        reply: Reply<OutboundId>,
    },
    LinkReceipt {
        id: MessageId,
        outbound: OutboundId,
        expires_at: Timestamp,
        reply: Reply<Receipt>,
    },
    RecordReceipt {
        id: MessageId,
        status: Vec<u8>,
        expires_at: Timestamp,
        reply: Reply<Receipt>,
    },
    Sync {
        reply: Reply<()>,
    },
}

/// Answers one waiter once the batch's flush result is known.
type Release = Box<dyn FnOnce(&Result<()>) + Send>;

pub(super) async fn run(
    trees: Trees,
    db_file: Arc<File>,
    mut rx: mpsc::Receiver<Op>,
    gc: GroupCommit,
    stats: Arc<CommitStats>,
) {
    let mut batch: Vec<Release> = Vec::with_capacity(gc.max_ops);
    while let Some(first) = rx.recv().await {
        let deadline = Instant::now() + gc.max_wait;
        batch.extend(apply(&trees, first));
        let mut ops = 1;
        while ops < gc.max_ops {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(op)) => {
                    ops += 1;
                    batch.extend(apply(&trees, op));
                }
                Ok(None) | Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue; // every op failed and was answered already
        }
        let flushed = flush(&trees, &db_file).await;
        if let Err(e) = &flushed {
            tracing::error!(error = %e, waiters = batch.len(), "store flush failed; writes not acknowledged");
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.ops.fetch_add(batch.len() as u64, Ordering::Relaxed);
        for release in batch.drain(..) {
            release(&flushed);
        }
    }
}

/// Make everything written so far durable.
pub(super) async fn flush(trees: &Trees, db_file: &Arc<File>) -> Result<()> {
    trees.db.flush_async().await.map_err(sled_err)?;
    let f = Arc::clone(db_file);
    tokio::task::spawn_blocking(move || f.sync_data())
        .await
        .map_err(|e| Error::Internal(format!("fdatasync task: {e}")))?
        .map_err(Error::from_io)
}

fn apply(trees: &Trees, op: Op) -> Option<Release> {
    match op {
        Op::AppendInbound {
            payload,
            received_at,
            reply,
        } => hold(reply, trees.append_inbound(&payload, received_at)),
        Op::EnqueueOutbound { msg, reply } => hold(reply, trees.enqueue_outbound(&msg)),
        Op::LinkReceipt {
            id,
            outbound,
            expires_at,
            reply,
        } => {
            let merged = trees.merge_receipt(&id, expires_at, |r| r.outbound = Some(outbound));
            hold(reply, merged)
        }
        Op::RecordReceipt {
            id,
            status,
            expires_at,
            reply,
        } => {
            let merged = trees.merge_receipt(&id, expires_at, |r| r.status = Some(status.clone()));
            hold(reply, merged)
        }
        Op::Sync { reply } => hold(reply, Ok(())),
    }
}

fn hold<T: Send + 'static>(reply: Reply<T>, applied: Result<T>) -> Option<Release> {
    match applied {
        Err(e) => {
            let _ = reply.send(Err(e)); // caller gone: nothing to tell
            None
        }
        Ok(v) => Some(Box::new(move |flushed: &Result<()>| {
            let answer = match flushed {
                Ok(()) => Ok(v),
                Err(e) => Err(copy_err(e)),
            };
            let _ = reply.send(answer);
        })),
    }
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
