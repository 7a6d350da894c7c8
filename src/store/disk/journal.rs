//! The inbound (MO) journal: an append-only log of our own beside sled.
//!
//! Why not a sled tree: each journalled MO cost a sled insert and a
//! removal, and every group commit waited for sled's flush (its log buffer
//! handed to sled's I/O threads, written, `sync_file_range` waited on), up
//! to 10 ms under load: that was the p99 tail of a keyword SMS. Here the
//! MOs of one batch are one `write` and one `fdatasync`, on the writer
//! thread, and sled is not flushed at all when a batch holds only MOs.
//!
//! # Layout
//! `<store>/journal/<segment, 20 digits>.log`. A segment starts with a
//! 20-byte header: the magic `BWBJRNL1`, the next id when it was created
//! (u64 big-endian), and the CRC-32 of those 16 bytes. Records follow:
//!
//! ```text
//! crc32 (u32 BE, of len and body) | len (u32 BE, of body) | body
//! body = 1 | id (u64 BE) | received_at (u64 BE) | payload   an MO journalled
//!      = 2 | id (u64 BE)                                    an MO done
//!      = 3 | first (u64 BE) | expires (u64 BE) | key         a dedupe key seen
//!      = 4 | expires (u64 BE) | key digest (16 bytes)        ... swept, expired
//! ```
//!
//! A "seen" record is the durable form of a dedupe key (`dedupe.rs`, which
//! keeps them in memory): written with the next group commit, so before the
//! "done" of the MO it came with, since a resend of an MO whose "done"
//! survived a crash must still be found a duplicate. A "forgot" record
//! says the sweep removed an expired key, so that it stays removed. At
//! open both are handed back to the dedupe map, in order.
//!
//! In memory: where each live (unprocessed) MO's record is, never its
//! payload, so a backlog costs about 60 bytes a message; the payload is
//! read back from the file when asked for (at start-up replay).
//!
//! # Why any crash is harmless
//! * A record is acknowledged only after the `fdatasync` that follows its
//!   `write`. A bad record at the end of the newest segment is therefore a
//!   write torn by a crash and never acknowledged: the segment is cut
//!   there. A bad record anywhere else is corruption, and the open is
//!   refused rather than losing what follows it.
//! * A "done" record is always written after its MO's record (dones wait
//!   in memory and go at the end of the next write), and segments are
//!   deleted oldest first only, so no segment that remains holds an MO
//!   whose "done" was deleted: a processed MO never comes back.
//! * A done that is lost in a crash means the MO is processed again at the
//!   next start (at-least-once; dedupe absorbs the SMSC's resend).
//!
//! # Compaction
//! When the newest segment passes `segment_bytes`, a new one starts, and
//! segments older than the one before it go: at once when nothing in them
//! is live; else their live records are copied into the new segment (made
//! durable) first, when they are few (at most a quarter of a segment). A
//! segment also waits until its seen records have expired, unless the
//! journal has more than [`SEGMENTS_FOR_SEEN`] segments: then those not
//! expired are copied forward too. Expired means before the latest
//! first-seen time of any seen record, or the latest expiry the sweep
//! forgot: the journal has no clock of its own.
//! A segment with more live data than that stays, and the ones after it
//! wait for it, so disk use is bounded by about four times the live data
//! plus [`SEGMENTS_FOR_SEEN`] segments. The id sequence survives in each header even when
//! every record is gone, so ids are never given twice.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::error::{Error, Result};
use crate::store::types::{InboundId, InboundMessage, Timestamp};

const MAGIC: &[u8; 8] = b"BWBJRNL1";
const HEADER: u64 = 20;
const APPEND: u8 = 1;
const DONE: u8 = 2;
const SEEN: u8 = 3;
const FORGOT: u8 = 4;
/// Bodies are MO messages (a few hundred bytes); anything longer is damage.
const MAX_BODY: u32 = 1 << 20;
/// Where a new segment starts, by default.
pub(crate) const SEGMENT_BYTES: u64 = 64 << 20;
/// Segments kept for their unexpired seen records before those are copied
/// forward instead: 1 GiB of default segments, which holds a 2-minute
/// dedupe window at 20,000 MOs/s without copying (reading a segment back
/// to copy them stalls the writer for tens of milliseconds).
const SEGMENTS_FOR_SEEN: usize = 16;

/// Where a live MO's record is.
#[derive(Debug, Clone, Copy)]
struct Loc {
    seg: u64,
    /// Offset of the record (its crc) in the segment.
    off: u64,
    /// Length of the whole record.
    len: u32,
    received_at: Timestamp,
}

#[derive(Debug, Default, Clone, Copy)]
struct Seg {
    live: usize,
    live_bytes: u64,
    /// The latest expiry of a seen record in it.
    seen_until: Timestamp,
}

/// Where every live MO is, and how much of each segment is still live.
#[derive(Default)]
struct Index {
    live: BTreeMap<u64, Loc>,
    /// Every segment on disk, oldest first.
    segs: BTreeMap<u64, Seg>,
    /// The latest first-seen time of a seen record: the journal's clock
    /// (it has no other) for telling which seen records have expired.
    clock: Timestamp,
}

impl Index {
    fn saw(&mut self, seg: u64, first: Timestamp, expires: Timestamp) {
        self.clock = self.clock.max(first);
        let s = self.segs.entry(seg).or_default();
        s.seen_until = s.seen_until.max(expires);
    }

    fn add(&mut self, id: u64, loc: Loc) {
        if let Some(old) = self.live.insert(id, loc) {
            self.forget(old);
        }
        let s = self.segs.entry(loc.seg).or_default();
        s.live += 1;
        s.live_bytes += u64::from(loc.len);
    }

    fn drop_id(&mut self, id: u64) -> Option<Loc> {
        let loc = self.live.remove(&id)?;
        self.forget(loc);
        Some(loc)
    }

    fn forget(&mut self, loc: Loc) {
        if let Some(s) = self.segs.get_mut(&loc.seg) {
            s.live = s.live.saturating_sub(1);
            s.live_bytes = s.live_bytes.saturating_sub(u64::from(loc.len));
        }
    }
}

struct Inner {
    idx: Index,
    /// The newest segment, open for appending; `seg` is its number.
    file: Arc<File>,
    seg: u64,
    /// Bytes of `seg` written to the file (the header included).
    written: u64,
    /// Records not written yet; their offsets follow `written`.
    buf: Vec<u8>,
    /// Ids whose records are in `buf` (undone if the write fails).
    in_buf: Vec<u64>,
    /// Processed MOs whose "done" is not written yet.
    pending: Vec<u64>,
    next_id: u64,
    /// A write failed and the segment could not be cut back.
    poisoned: Option<String>,
}

/// The journal. Appends, commits and compaction come from the store's
/// writer thread only; removals and reads from anywhere.
pub(crate) struct Journal {
    dir: PathBuf,
    segment_bytes: u64,
    inner: Mutex<Inner>,
}

fn seg_path(dir: &Path, seg: u64) -> PathBuf {
    dir.join(format!("{seg:020}.log"))
}

fn corrupt(seg: u64, off: u64, what: &str) -> Error {
    Error::Corrupt {
        detail: format!("inbound journal segment {seg:020}.log at byte {off}: {what}"),
    }
}

fn header(next_id: u64) -> [u8; HEADER as usize] {
    let mut h = [0u8; HEADER as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&next_id.to_be_bytes());
    let crc = crc32fast::hash(&h[..16]);
    h[16..].copy_from_slice(&crc.to_be_bytes());
    h
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

/// Appends one record (crc, len, body) to `out`.
fn encode(out: &mut Vec<u8>, body: &[&[u8]]) {
    let len: usize = body.iter().map(|p| p.len()).sum();
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    for part in body {
        out.extend_from_slice(part);
    }
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_be_bytes());
}

/// One decoded record.
enum Record<'a> {
    Append {
        id: u64,
        received_at: Timestamp,
        payload: &'a [u8],
    },
    Done {
        id: u64,
    },
    Seen(SeenKey),
    Forgot(Forgot),
}

/// A dedupe key the sweep removed: its digest and the expiry it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Forgot {
    pub(crate) digest: [u8; 16],
    pub(crate) expires: Timestamp,
}

/// What replay hands the dedupe map, in log order.
pub(crate) enum Replayed {
    Seen(SeenKey),
    Forgot(Forgot),
}

/// A dedupe key from a "seen" record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeenKey {
    pub(crate) key: Vec<u8>,
    pub(crate) first: Timestamp,
    pub(crate) expires: Timestamp,
}

/// The record at the start of `b` and its length, or why there is none.
fn decode(b: &[u8]) -> std::result::Result<(Record<'_>, usize), &'static str> {
    if b.len() < 8 {
        return Err("record header cut short");
    }
    let len = u32_at(b, 4);
    if len > MAX_BODY {
        return Err("record length out of range");
    }
    let end = 8 + len as usize;
    if b.len() < end {
        return Err("record cut short");
    }
    if crc32fast::hash(&b[4..end]) != u32_at(b, 0) {
        return Err("record checksum mismatch");
    }
    let body = &b[8..end];
    let rec = match (body.first(), body.len()) {
        (Some(&APPEND), n) if n >= 17 => Record::Append {
            id: u64_at(body, 1),
            received_at: Timestamp(u64_at(body, 9)),
            payload: &body[17..],
        },
        (Some(&DONE), 9) => Record::Done {
            id: u64_at(body, 1),
        },
        (Some(&FORGOT), 25) => Record::Forgot(Forgot {
            expires: Timestamp(u64_at(body, 1)),
            digest: body[9..25].try_into().unwrap_or_default(),
        }),
        (Some(&SEEN), n) if n >= 17 => Record::Seen(SeenKey {
            first: Timestamp(u64_at(body, 1)),
            expires: Timestamp(u64_at(body, 9)),
            key: body[17..].to_vec(),
        }),
        _ => return Err("unknown record"),
    };
    Ok((rec, end))
}

/// Creates segment `seg` with its header, durable (file and directory).
fn create_segment(dir: &Path, seg: u64, next_id: u64) -> io::Result<File> {
    let path = seg_path(dir, seg);
    let mut f = OpenOptions::new()
        .create_new(true)
        .read(true)
        .append(true)
        .open(&path)?;
    f.write_all(&header(next_id))?;
    f.sync_data()?;
    sync_dir(dir)?;
    Ok(f)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn valid_header(b: &[u8]) -> bool {
    b.len() >= HEADER as usize && b[..HEADER as usize] == header(u64_at(b, 8))
}

/// Replays segment `seg` into `idx`. Returns the next id its header and
/// records imply, and where its records end. A bad record cuts the newest
/// segment (`last`) there; in any other it is corruption.
fn replay(
    dir: &Path,
    seg: u64,
    last: bool,
    idx: &mut Index,
    on_seen: &mut dyn FnMut(Replayed),
) -> Result<(u64, u64)> {
    let path = seg_path(dir, seg);
    let bytes = fs::read(&path).map_err(Error::from_io)?;
    if !valid_header(&bytes) {
        return Err(corrupt(seg, 0, "bad segment header"));
    }
    let mut next_id = u64_at(&bytes, 8);
    idx.segs.insert(seg, Seg::default());
    let mut off = HEADER as usize;
    while off < bytes.len() {
        match decode(&bytes[off..]) {
            Ok((
                Record::Append {
                    id, received_at, ..
                },
                n,
            )) => {
                let loc = Loc {
                    seg,
                    off: off as u64,
                    len: n as u32,
                    received_at,
                };
                idx.add(id, loc);
                next_id = next_id.max(id + 1);
                off += n;
            }
            Ok((Record::Done { id }, n)) => {
                idx.drop_id(id);
                off += n;
            }
            Ok((Record::Seen(key), n)) => {
                idx.saw(seg, key.first, key.expires);
                on_seen(Replayed::Seen(key));
                off += n;
            }
            Ok((Record::Forgot(f), n)) => {
                idx.clock = idx.clock.max(f.expires);
                on_seen(Replayed::Forgot(f));
                off += n;
            }
            Err(what) if last => {
                tracing::warn!(
                    segment = seg,
                    at = off,
                    cut = bytes.len() - off,
                    reason = what,
                    "inbound journal: torn write at the end cut off (it was never acknowledged)"
                );
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(Error::from_io)?;
                f.set_len(off as u64).map_err(Error::from_io)?;
                f.sync_all().map_err(Error::from_io)?;
                break;
            }
            Err(what) => return Err(corrupt(seg, off as u64, what)),
        }
    }
    Ok((next_id, off as u64))
}

fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut segs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name.strip_suffix(".log") {
            if n.len() == 20 && n.bytes().all(|c| c.is_ascii_digit()) {
                segs.push(n.parse().map_err(io::Error::other)?);
            }
        }
    }
    segs.sort_unstable();
    Ok(segs)
}

impl Inner {
    fn remove(&mut self, id: u64) -> bool {
        let found = self.idx.drop_id(id).is_some();
        if found {
            self.pending.push(id);
        }
        found
    }

    /// The record of `loc`, from the buffer, the open segment or its file.
    fn read(&self, dir: &Path, loc: Loc, files: &mut HashMap<u64, File>) -> Result<Vec<u8>> {
        let len = loc.len as usize;
        if loc.seg == self.seg && loc.off >= self.written {
            let at = (loc.off - self.written) as usize;
            return Ok(self.buf[at..at + len].to_vec());
        }
        let mut out = vec![0u8; len];
        if loc.seg == self.seg {
            self.file.read_exact_at(&mut out, loc.off)
        } else {
            let f = match files.entry(loc.seg) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(File::open(seg_path(dir, loc.seg)).map_err(Error::from_io)?)
                }
            };
            f.read_exact_at(&mut out, loc.off)
        }
        .map_err(Error::from_io)?;
        Ok(out)
    }
}

impl Journal {
    /// Opens (creating it if missing) the journal in `dir` and replays it,
    /// handing each dedupe key a "seen" or "forgot" record holds to
    /// `on_seen`, in log order. Ids continue from at least `min_next` (the sequence sled kept
    /// before the journal existed).
    pub(crate) fn open(
        dir: &Path,
        segment_bytes: u64,
        min_next: u64,
        on_seen: &mut dyn FnMut(Replayed),
    ) -> Result<Journal> {
        fs::create_dir_all(dir).map_err(Error::from_io)?;
        let mut found = segments(dir).map_err(Error::from_io)?;
        // A newest segment with no valid header: its creation was cut by a
        // crash before anything was written to it.
        if let Some(&last) = found.last() {
            let path = seg_path(dir, last);
            let bytes = fs::read(&path).map_err(Error::from_io)?;
            if bytes.len() <= HEADER as usize && !valid_header(&bytes) {
                tracing::warn!(
                    segment = last,
                    "inbound journal: segment cut at creation removed"
                );
                fs::remove_file(&path).map_err(Error::from_io)?;
                found.pop();
            }
        }
        let mut idx = Index::default();
        let mut next_id = min_next.max(1);
        let mut newest = None;
        for (i, &seg) in found.iter().enumerate() {
            let last = i + 1 == found.len();
            let (next, end) = replay(dir, seg, last, &mut idx, on_seen)?;
            next_id = next_id.max(next);
            if last {
                newest = Some((seg, end));
            }
        }
        if let Some(max) = idx.live.keys().next_back() {
            next_id = next_id.max(max + 1);
        }
        let (seg, written, file) = match newest {
            Some((seg, written)) => {
                let f = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .open(seg_path(dir, seg))
                    .map_err(Error::from_io)?;
                (seg, written, f)
            }
            None => {
                idx.segs.insert(1, Seg::default());
                let f = create_segment(dir, 1, next_id).map_err(Error::from_io)?;
                (1, HEADER, f)
            }
        };
        let journal = Journal {
            dir: dir.to_path_buf(),
            segment_bytes: segment_bytes.max(HEADER + 1),
            inner: Mutex::new(Inner {
                idx,
                file: Arc::new(file),
                seg,
                written,
                buf: Vec::new(),
                in_buf: Vec::new(),
                pending: Vec::new(),
                next_id,
                poisoned: None,
            }),
        };
        Ok(journal)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Journals an MO under the next id. Writer thread only; visible at
    /// once, durable after the next [`Journal::commit`].
    pub(crate) fn append(&self, payload: &[u8], received_at: Timestamp) -> InboundId {
        let mut g = self.lock();
        let id = g.next_id;
        g.next_id += 1;
        Self::push_append(&mut g, id, received_at, payload);
        InboundId(id)
    }

    /// Journals an MO under an id it already has (taken over from sled).
    pub(crate) fn append_with_id(&self, m: &InboundMessage) {
        let mut g = self.lock();
        g.next_id = g.next_id.max(m.id.0 + 1);
        Self::push_append(&mut g, m.id.0, m.received_at, &m.payload);
    }

    fn push_append(g: &mut Inner, id: u64, received_at: Timestamp, payload: &[u8]) {
        let off = g.written + g.buf.len() as u64;
        let body_head = {
            let mut h = [0u8; 17];
            h[0] = APPEND;
            h[1..9].copy_from_slice(&id.to_be_bytes());
            h[9..].copy_from_slice(&received_at.0.to_be_bytes());
            h
        };
        encode(&mut g.buf, &[&body_head, payload]);
        let len = (g.written + g.buf.len() as u64 - off) as u32;
        let loc = Loc {
            seg: g.seg,
            off,
            len,
            received_at,
        };
        g.idx.add(id, loc);
        g.in_buf.push(id);
    }

    /// Records a dedupe key first seen at `first`: durable with the next
    /// commit, before the "done" of any MO processed after this call.
    pub(crate) fn seen(&self, key: &[u8], first: Timestamp, expires: Timestamp) {
        let mut head = [0u8; 17];
        head[0] = SEEN;
        head[1..9].copy_from_slice(&first.0.to_be_bytes());
        head[9..].copy_from_slice(&expires.0.to_be_bytes());
        let mut g = self.lock();
        let seg = g.seg;
        g.idx.saw(seg, first, expires);
        encode(&mut g.buf, &[&head, key]);
    }

    /// Records that the sweep removed a key that expired at `expires`
    /// (which the journal's clock then has passed): durable with the next
    /// commit.
    pub(crate) fn forgot(&self, f: Forgot) {
        let mut body = [0u8; 25];
        body[0] = FORGOT;
        body[1..9].copy_from_slice(&f.expires.0.to_be_bytes());
        body[9..].copy_from_slice(&f.digest);
        let mut g = self.lock();
        g.idx.clock = g.idx.clock.max(f.expires);
        encode(&mut g.buf, &[&body]);
    }

    /// Done with an MO: gone at once, its "done" durable with the next
    /// commit. True if it was journalled.
    pub(crate) fn remove(&self, id: InboundId) -> bool {
        self.lock().remove(id.0)
    }

    /// Removes up to `max` MOs received before `before`, oldest first,
    /// stopping at the first newer one.
    pub(crate) fn sweep(&self, before: Timestamp, max: usize) -> usize {
        let mut g = self.lock();
        let old: Vec<u64> = g
            .idx
            .live
            .iter()
            .take(max)
            .take_while(|(_, loc)| loc.received_at < before)
            .map(|(&id, _)| id)
            .collect();
        for &id in &old {
            g.remove(id);
        }
        old.len()
    }

    /// Live MOs with id > `after`, in id order, at most `max`.
    pub(crate) fn unprocessed(
        &self,
        after: Option<InboundId>,
        max: usize,
    ) -> Result<Vec<InboundMessage>> {
        let g = self.lock();
        let from = after.map_or(0, |a| a.0.saturating_add(1));
        let mut files = HashMap::new();
        let mut out = Vec::new();
        for (&id, &loc) in g.idx.live.range(from..).take(max) {
            let rec = g.read(&self.dir, loc, &mut files)?;
            match decode(&rec) {
                Ok((
                    Record::Append {
                        id: got, payload, ..
                    },
                    _,
                )) if got == id => out.push(InboundMessage {
                    id: InboundId(id),
                    received_at: loc.received_at,
                    payload: payload.to_vec(),
                }),
                _ => return Err(corrupt(loc.seg, loc.off, "live record does not read back")),
            }
        }
        Ok(out)
    }

    /// The highest id given so far (0 if none).
    pub(crate) fn last_id(&self) -> u64 {
        self.lock().next_id - 1
    }

    /// True when removals or seen keys wait to be written.
    pub(crate) fn has_pending(&self) -> bool {
        let g = self.lock();
        !g.pending.is_empty() || !g.buf.is_empty()
    }

    /// Bytes of every segment on disk.
    pub(crate) fn size_on_disk(&self) -> u64 {
        let segs: Vec<u64> = self.lock().idx.segs.keys().copied().collect();
        segs.iter()
            .filter_map(|&s| fs::metadata(seg_path(&self.dir, s)).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Writes what is buffered and the pending "done" records, then
    /// `fdatasync`. On failure the segment is cut back to what was durable
    /// and the appends of this write are dropped (their callers get the
    /// error). Writer thread only.
    pub(crate) fn commit(&self) -> Result<()> {
        let (file, before, appended) = {
            let mut g = self.lock();
            if let Some(why) = &g.poisoned {
                let e = Error::Io(io::Error::other(why.clone()));
                let appended = std::mem::take(&mut g.in_buf);
                Self::undo(&mut g, appended, Vec::new());
                g.buf.clear();
                return Err(e);
            }
            let pending = std::mem::take(&mut g.pending);
            for &id in &pending {
                let mut body = [0u8; 9];
                body[0] = DONE;
                body[1..].copy_from_slice(&id.to_be_bytes());
                encode(&mut g.buf, &[&body]);
            }
            if g.buf.is_empty() {
                return Ok(());
            }
            let before = g.written;
            let file = Arc::clone(&g.file);
            let wrote = (&*file).write_all(&g.buf);
            let appended = std::mem::take(&mut g.in_buf);
            let n = g.buf.len() as u64;
            g.buf.clear();
            if let Err(e) = wrote {
                Self::fail(&mut g, &file, before, appended, pending, &e);
                return Err(Error::from_io(e));
            }
            g.written += n;
            (file, before, (appended, pending))
        };
        if let Err(e) = file.sync_data() {
            let mut g = self.lock();
            Self::fail(&mut g, &file, before, appended.0, appended.1, &e);
            return Err(Error::from_io(e));
        }
        Ok(())
    }

    /// A write failed: cut the segment back to `before`, forget the MOs of
    /// the write, queue its dones again.
    fn fail(
        g: &mut Inner,
        file: &File,
        before: u64,
        appended: Vec<u64>,
        dones: Vec<u64>,
        e: &io::Error,
    ) {
        tracing::error!(error = %e, "inbound journal write failed; its MOs not acknowledged");
        if let Err(cut) = file.set_len(before).and_then(|()| file.sync_all()) {
            tracing::error!(error = %cut, "inbound journal cannot cut back a failed write; refusing further writes");
            g.poisoned = Some(format!(
                "inbound journal unusable after a failed write: {cut}"
            ));
        }
        g.written = before;
        Self::undo(g, appended, dones);
    }

    fn undo(g: &mut Inner, appended: Vec<u64>, dones: Vec<u64>) {
        for id in appended {
            g.idx.drop_id(id);
        }
        g.pending.extend(dones);
    }

    /// Starts a new segment once the current one passes `segment_bytes`,
    /// then drops (or first copies forward) the old ones, calling
    /// `before_delete` (flush sled, which holds the dedupe keys for good)
    /// before the first deletion. Writer thread only, right after a commit.
    pub(crate) fn maintain(&self, before_delete: impl FnOnce() -> Result<()>) -> Result<()> {
        // The lock is not held across the file system's syncs: every MO's
        // dedupe check and removal takes it.
        let (seg, next_id) = {
            let g = self.lock();
            if g.written < self.segment_bytes || !g.buf.is_empty() || g.poisoned.is_some() {
                return Ok(());
            }
            (g.seg + 1, g.next_id)
        };
        let file = create_segment(&self.dir, seg, next_id).map_err(Error::from_io)?;
        {
            let mut g = self.lock();
            // Seen records buffered meanwhile land in the new segment.
            let carried = g
                .idx
                .segs
                .get(&g.seg)
                .map_or_else(Timestamp::default, |s| s.seen_until);
            g.file = Arc::new(file);
            g.seg = seg;
            g.written = HEADER;
            g.idx.segs.insert(
                seg,
                Seg {
                    seen_until: carried,
                    ..Seg::default()
                },
            );
        }
        before_delete()?;
        while self.drop_oldest()? {}
        Ok(())
    }

    /// Removes the oldest segment if it is older than the one before the
    /// newest (whose MOs are still in flight) and holds no more than a
    /// quarter of a segment of live records, which are first copied into
    /// the newest segment and made durable. A segment whose seen records
    /// have not all expired waits for them while the journal has at most
    /// [`SEGMENTS_FOR_SEEN`] segments; past that they are copied too. True
    /// if one was removed.
    fn drop_oldest(&self) -> Result<bool> {
        let mut g = self.lock();
        let Some((&oldest, &s)) = g.idx.segs.iter().next() else {
            return Ok(false);
        };
        if oldest + 1 >= g.seg || s.live_bytes > self.segment_bytes / 4 {
            return Ok(false);
        }
        let seen_live = s.seen_until > g.idx.clock;
        if seen_live && g.idx.segs.len() <= SEGMENTS_FOR_SEEN {
            return Ok(false);
        }
        // Read without the lock (only this thread changes the segments).
        let old = if seen_live {
            drop(g);
            let bytes = fs::read(seg_path(&self.dir, oldest)).map_err(Error::from_io)?;
            g = self.lock();
            bytes
        } else {
            Vec::new()
        };
        let moved: Vec<(u64, Loc)> = g
            .idx
            .live
            .iter()
            .filter(|(_, l)| l.seg == oldest)
            .map(|(&id, &l)| (id, l))
            .collect();
        if seen_live {
            let clock = g.idx.clock;
            let mut off = HEADER as usize;
            while let Ok((rec, n)) = decode(old.get(off..).unwrap_or_default()) {
                if let Record::Seen(k) = rec {
                    if k.expires > clock {
                        let seg = g.seg;
                        g.idx.saw(seg, k.first, k.expires);
                        g.buf.extend_from_slice(&old[off..off + n]);
                    }
                }
                off += n;
            }
        }
        if !moved.is_empty() || seen_live {
            let mut files = HashMap::new();
            for &(id, loc) in &moved {
                let rec = g.read(&self.dir, loc, &mut files)?;
                let off = g.written + g.buf.len() as u64;
                g.buf.extend_from_slice(&rec);
                let seg = g.seg;
                g.idx.add(id, Loc { seg, off, ..loc });
            }
            drop(g);
            if let Err(e) = self.commit() {
                // Still where they were: point back at the old copies.
                let mut g = self.lock();
                for (id, loc) in moved {
                    if g.idx.live.contains_key(&id) {
                        g.idx.add(id, loc);
                    }
                }
                return Err(e);
            }
        } else {
            drop(g);
        }
        fs::remove_file(seg_path(&self.dir, oldest)).map_err(Error::from_io)?;
        sync_dir(&self.dir).map_err(Error::from_io)?;
        self.lock().idx.segs.remove(&oldest);
        Ok(true)
    }
}
