//! Reassembly of inbound concatenated SMS (parts from UDH or SAR TLVs).
//!
//! Bounded in count (the oldest partial message is evicted and handed back)
//! and in time (`expire(now)` hands back partials older than `max_age`).
//! Time is passed in; this module never reads a clock.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

use super::{decode, parse_udh, Sar};

/// One part of a concatenated message, as the PDU layer extracted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
    pub data_coding: u8,
    /// The user data of this part, with any UDH already removed.
    pub payload: Vec<u8>,
}

/// What an inbound short_message (or message_payload) carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A whole message: decode `payload` with its data_coding.
    Whole { data_coding: u8, payload: Vec<u8> },
    /// One part of a concatenated message: push it into a [`Reassembler`].
    Part(Segment),
}

/// Sorts an inbound message into whole text or one part, from the UDHI bit
/// of esm_class, the sar_* TLVs (if present) and the octets. A malformed
/// UDH leaves the octets whole rather than losing them; a UDH without a
/// concatenation element (ports only) is stripped. SAR TLVs win over a UDH.
pub fn inbound(data_coding: u8, udhi: bool, sar: Option<Sar>, bytes: &[u8]) -> Inbound {
    let (concat, payload) = match udhi.then(|| parse_udh(bytes)).flatten() {
        Some((udh, rest)) => (udh.concat, rest),
        None => (None, bytes),
    };
    let part = |reference, total, seq| {
        Inbound::Part(Segment {
            reference,
            total,
            seq,
            data_coding,
            payload: payload.to_vec(),
        })
    };
    match (sar, concat) {
        (Some(s), _) => part(s.ref_num, s.total, s.seq),
        (None, Some(c)) => part(c.reference, c.total, c.seq),
        (None, None) => Inbound::Whole {
            data_coding,
            payload: payload.to_vec(),
        },
    }
}

/// A segment that cannot belong to any message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error("segment claims a total of 0 parts")]
    ZeroTotal,
    #[error("segment number {seq} is outside 1..={total}")]
    SeqOutOfRange { seq: u8, total: u8 },
}

/// Every part of a message, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complete<K> {
    pub key: K,
    pub reference: u16,
    pub segments: Vec<Segment>,
}

/// The parts received of a message that was evicted or expired, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial<K> {
    pub key: K,
    pub reference: u16,
    pub total: u8,
    pub segments: Vec<Segment>,
}

/// What became of a pushed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed<K> {
    /// That was the last missing part.
    Complete(Complete<K>),
    /// Stored; making room may have pushed out the oldest (or a stale)
    /// partial message, handed back here so nothing is lost silently.
    Pending { evicted: Option<Partial<K>> },
    /// This part was already stored; the first copy is kept.
    Duplicate,
}

impl<K> Pushed<K> {
    /// The completed message, if this segment completed one.
    pub fn complete(self) -> Option<Complete<K>> {
        match self {
            Pushed::Complete(c) => Some(c),
            _ => None,
        }
    }
}

/// Text of consecutive segments, decoded run by run of equal data_coding so
/// a character split across parts (UCS-2 pair, GSM escape) still decodes.
fn text_of(segments: &[Segment]) -> String {
    let mut out = String::new();
    for run in segments.chunk_by(|a, b| a.data_coding == b.data_coding) {
        let bytes: Vec<u8> = run.iter().flat_map(|s| s.payload.iter().copied()).collect();
        out.push_str(&decode(run[0].data_coding, &bytes));
    }
    out
}

impl<K> Complete<K> {
    /// The whole message as text.
    pub fn text(&self) -> String {
        text_of(&self.segments)
    }
}

impl<K> Partial<K> {
    /// What was received, as text (parts missing in between are skipped).
    pub fn text(&self) -> String {
        text_of(&self.segments)
    }
}

type Slot<K> = (K, u16, u8);

struct Pending {
    parts: Vec<Option<Segment>>,
    received: usize,
    first_seen: Instant,
    order: u64,
}

/// Collects segments until each message is whole. `K` identifies the
/// conversation (operator, source, destination); the reference and the
/// total count are added to it.
pub struct Reassembler<K> {
    max_pending: usize,
    max_age: Duration,
    pending: HashMap<Slot<K>, Pending>,
    by_age: BTreeMap<u64, Slot<K>>,
    next_order: u64,
}

impl<K: Eq + Hash + Clone> Reassembler<K> {
    /// Holds at most `max_pending_messages` partial messages (at least one),
    /// each for at most `max_age` after its first segment.
    pub fn new(max_pending_messages: usize, max_age: Duration) -> Self {
        Reassembler {
            max_pending: max_pending_messages.max(1),
            max_age,
            pending: HashMap::new(),
            by_age: BTreeMap::new(),
            next_order: 0,
        }
    }

    /// Partial messages held now.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no partial message is held.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Adds one segment received at `now`.
    pub fn push(&mut self, key: K, seg: Segment, now: Instant) -> Result<Pushed<K>, SegmentError> {
        if seg.total == 0 {
            return Err(SegmentError::ZeroTotal);
        }
        if seg.seq == 0 || seg.seq > seg.total {
            return Err(SegmentError::SeqOutOfRange {
                seq: seg.seq,
                total: seg.total,
            });
        }
        if seg.total == 1 {
            let reference = seg.reference;
            let segments = vec![seg];
            return Ok(Pushed::Complete(Complete {
                key,
                reference,
                segments,
            }));
        }
        let slot = (key, seg.reference, seg.total);
        let mut evicted = None;
        if let Some(p) = self.pending.get(&slot) {
            if self.is_stale(p, now) {
                evicted = self.remove(&slot);
            }
        }
        if !self.pending.contains_key(&slot) {
            if self.pending.len() >= self.max_pending {
                evicted = evicted.or_else(|| self.evict_oldest());
            }
            self.insert(slot.clone(), seg.total, now);
        }
        let Some(p) = self.pending.get_mut(&slot) else {
            return Ok(Pushed::Pending { evicted });
        };
        let index = usize::from(seg.seq - 1);
        if p.parts[index].is_some() {
            return Ok(Pushed::Duplicate);
        }
        p.parts[index] = Some(seg);
        p.received += 1;
        if p.received < p.parts.len() {
            return Ok(Pushed::Pending { evicted });
        }
        let Some(done) = self.remove(&slot) else {
            return Ok(Pushed::Pending { evicted });
        };
        // Only a fresh slot can have evicted something, and a fresh slot
        // holds one part of at least two, so nothing evicted is dropped here.
        Ok(Pushed::Complete(Complete {
            key: done.key,
            reference: done.reference,
            segments: done.segments,
        }))
    }

    /// Removes and returns every partial message first seen more than
    /// `max_age` before `now`, oldest first.
    pub fn expire(&mut self, now: Instant) -> Vec<Partial<K>> {
        let stale: Vec<Slot<K>> = self
            .by_age
            .values()
            .filter(|slot| {
                self.pending
                    .get(*slot)
                    .is_some_and(|p| self.is_stale(p, now))
            })
            .cloned()
            .collect();
        stale.iter().filter_map(|slot| self.remove(slot)).collect()
    }

    fn is_stale(&self, p: &Pending, now: Instant) -> bool {
        now.saturating_duration_since(p.first_seen) > self.max_age
    }

    fn insert(&mut self, slot: Slot<K>, total: u8, now: Instant) {
        let order = self.next_order;
        self.next_order += 1;
        self.by_age.insert(order, slot.clone());
        let pending = Pending {
            parts: vec![None; usize::from(total)],
            received: 0,
            first_seen: now,
            order,
        };
        self.pending.insert(slot, pending);
    }

    fn evict_oldest(&mut self) -> Option<Partial<K>> {
        let slot = self.by_age.values().next()?.clone();
        self.remove(&slot)
    }

    fn remove(&mut self, slot: &Slot<K>) -> Option<Partial<K>> {
        let p = self.pending.remove(slot)?;
        self.by_age.remove(&p.order);
        let (key, reference, total) = slot.clone();
        let segments = p.parts.into_iter().flatten().collect();
        Some(Partial {
            key,
            reference,
            total,
            segments,
        })
    }
}
