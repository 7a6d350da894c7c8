//! `store::Error`: one variant per thing an operator or caller does
//! differently. No sled types leak out except as an error `source`.

use std::io;
use std::path::PathBuf;

use super::types::{OutboundId, Version};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store could not be opened. `hint` tells the operator what to do.
    #[error("cannot open store at {}: {source}; {hint}", path.display())]
    Open {
        path: PathBuf,
        hint: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database reports corruption (at open or later).
    #[error("store corrupt: {detail}; move the directory aside, start empty and page an operator")]
    Corrupt { detail: String },
    /// A stored record does not decode; a bug or on-disk damage.
    #[error("malformed record in tree {tree}: {detail}")]
    Malformed { tree: &'static str, detail: String },
    /// The disk is full: stop accepting work (ESME_RX_T_APPN / HTTP 503).
    #[error("disk full")]
    DiskFull,
    #[error("store I/O error: {0}")]
    Io(#[source] io::Error),
    /// Compare-and-swap lost: the session is at `current` (None: absent).
    #[error("version conflict: session is at {current:?}")]
    Conflict { current: Option<Version> },
    /// The lease was superseded (expired and re-claimed) or the message is gone.
    #[error("lease lost for {id}")]
    LeaseLost { id: OutboundId },
    /// The durable writer's queue is full. Map to ESME_RX_T_APPN / HTTP 503.
    #[error("store busy: durable write queue full")]
    Busy,
    /// The store is closed (shutting down).
    #[error("store closed")]
    Closed,
    /// sled reported a bug or misuse.
    #[error("store internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Classify an I/O error: a full disk is its own variant.
    pub fn from_io(e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::StorageFull {
            Error::DiskFull
        } else {
            Error::Io(e)
        }
    }

    /// True when the caller should refuse new work for now and let the peer
    /// retry (ESME_RX_T_APPN, HTTP 503) rather than treat it as a bug.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Busy | Error::DiskFull | Error::Io(_))
    }
}
