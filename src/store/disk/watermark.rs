//! A lower bound of the inbound/outbound id sequences, kept outside sled in
//! `<dir>/bawaba-watermark`, so that an open which silently lost
//! acknowledged writes is refused instead of starting half empty.
//!
//! Why: sled 0.34.7 treats a bad CRC in its log as the end of the log. A
//! flipped byte near the start of `<dir>/db` opened without any error and
//! with every record gone (tests/store_sled.rs). The sequences only grow,
//! and the file is written only with values sled had already made durable,
//! so "sled's sequence < watermark" always means lost data, never a false
//! alarm. The file itself is not fsynced: a stale or missing watermark only
//! weakens the check.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::codec::Reader;
use super::journal::Journal;
use super::trees::{sled_err, Trees};
use crate::store::error::{Error, Result};

const FILE: &str = "bawaba-watermark";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Watermark {
    inbound: u64,
    outbound: u64,
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

fn seq(trees: &Trees, name: &[u8]) -> Result<u64> {
    match trees.meta.get(name).map_err(sled_err)? {
        Some(v) => Reader::new("meta", &v).u64(),
        None => Ok(0),
    }
}

/// The inbound sequence sled kept before the inbound journal existed.
pub(super) fn sled_inbound_seq(trees: &Trees) -> Result<u64> {
    seq(trees, b"inbound_seq")
}

/// The sequences as the store has them now: inbound from the journal,
/// outbound from sled.
pub(super) fn current(trees: &Trees, journal: &Journal) -> Result<Watermark> {
    Ok(Watermark {
        inbound: journal.last_id(),
        outbound: seq(trees, b"outbound_seq")?,
    })
}

/// Record `w` (already durable in sled) by write-then-rename.
pub(super) fn write(dir: &Path, w: Watermark) -> io::Result<()> {
    let tmp = dir.join(format!("{FILE}.tmp"));
    fs::write(&tmp, format!("{} {}\n", w.inbound, w.outbound))?;
    fs::rename(tmp, path(dir))
}

fn read(dir: &Path) -> Option<Watermark> {
    let text = fs::read_to_string(path(dir)).ok()?;
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(inbound)), Some(Ok(outbound))) => Some(Watermark { inbound, outbound }),
        _ => {
            tracing::warn!("unreadable store watermark ignored");
            None
        }
    }
}

/// Refuse to open a store that holds fewer records than it once acknowledged.
pub(super) fn check(dir: &Path, trees: &Trees, journal: &Journal) -> Result<()> {
    let Some(mark) = read(dir) else { return Ok(()) };
    let now = current(trees, journal)?;
    if now.inbound < mark.inbound || now.outbound < mark.outbound {
        return Err(Error::Open {
            path: dir.to_path_buf(),
            hint: "the store lost acknowledged records (sled's log or the inbound journal \
                   truncated or corrupt): move the directory aside, restore the last backup and \
                   page an operator",
            source: format!("sequences in the store {now:?} are below the watermark {mark:?}")
                .into(),
        });
    }
    Ok(())
}
