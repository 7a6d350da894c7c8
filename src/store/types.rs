//! Keys and records the store hands out. Values owned by other modules
//! (engine sessions, SMPP payloads) are opaque bytes here; the store never
//! looks inside them.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Wall-clock time in milliseconds since the Unix epoch. Always injected by
/// the caller (`now` parameters) so tests control time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// `self + d`, saturating; milliseconds beyond u64 are clamped.
    pub fn after(self, d: Duration) -> Timestamp {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }
}

/// Identifies one USSD/SMS conversation (e.g. operator + MSISDN + session
/// info, encoded by the runtime). Opaque bytes; `Debug` shows only its length
/// because it usually contains an MSISDN.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey(pub Vec<u8>);

/// A subscriber (MSISDN) as the store keys it. `Debug` masks all but the
/// last two bytes so profiles never leak numbers into logs.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriberKey(pub String);

/// Key of a deduplication entry (e.g. operator + SMSC message id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DedupeKey(pub Vec<u8>);

/// The SMSC's message id (from submit_sm_resp or a delivery receipt).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub String);

/// Id of an inbound (MO) journal entry; increases monotonically, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InboundId(pub u64);

/// Id of an outbound (MT) message; increases monotonically, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutboundId(pub u64);

/// Version of a stored session, for compare-and-swap. The first write is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u64);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey(<{} bytes>)", self.0.len())
    }
}

impl fmt::Debug for SubscriberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubscriberKey({self})")
    }
}

impl fmt::Display for SubscriberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.chars().count();
        for (i, c) in self.0.chars().enumerate() {
            let shown = if i + 2 >= n { c } else { '*' };
            write!(f, "{shown}")?;
        }
        Ok(())
    }
}

impl fmt::Display for OutboundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mt#{}", self.0)
    }
}

/// A stored session: opaque engine state plus what the store needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub version: Version,
    pub expires_at: Timestamp,
    pub data: Vec<u8>,
}

/// One MO message as journaled before it is acknowledged to the SMSC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub id: InboundId,
    pub received_at: Timestamp,
    pub payload: Vec<u8>,
}

/// Told how an MO's journal write goes ([`crate::store::Store::journal_inbound`]):
/// what would otherwise be a task awaiting two answers. Called from
/// whichever thread completes the write (the sled store's commit
/// thread): must not block.
pub trait Intake: Send + 'static {
    /// The MO's id, once its write is under way but before it is durable:
    /// it may be worked on now.
    fn journalled(&mut self, id: InboundId);

    /// The write's outcome: on disk, or the error that kept it off (the MO
    /// is then not journalled, and a `mark_inbound_processed` of its id
    /// finds nothing). Acknowledge the MO now. Called once, after
    /// `journalled` if that was called at all.
    fn durable(self: Box<Self>, outcome: super::Result<()>);
}

/// Sending order of the outbound queue: lower goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// USSD follow-ups and replies a citizen is waiting for.
    Interactive = 0,
    /// Notifications triggered by one citizen's request.
    Normal = 1,
    /// Campaigns; sent only when nothing else is due.
    Bulk = 2,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Interactive, Priority::Normal, Priority::Bulk];

    pub fn from_u8(v: u8) -> Option<Priority> {
        Priority::ALL.get(usize::from(v)).copied()
    }
}

/// An MT message to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbound {
    pub priority: Priority,
    pub due_at: Timestamp,
    pub payload: Vec<u8>,
    /// `Some(until)`: written already leased until then, as its first
    /// attempt (`Lease { id, attempt: 1 }`), for a caller that sends it at
    /// once instead of waiting for a claim. Like any lease, it comes back
    /// to the queue if it runs out unsettled (or at the next start).
    pub lease_until: Option<Timestamp>,
    /// Set for a reply handed to the sender before its write: if the
    /// sender has sent it by the time the write is applied, and it needs
    /// no record (see [`SendRace`]), the MT is not stored at all (its id
    /// is still taken).
    pub unless_sent: Option<SendRace>,
}

/// Who gets to a reply first: the sender, which has sent it and wants no
/// record of it, or the store's writer, about to store it. Exactly one of
/// [`SendRace::sent`] and [`SendRace::store`] returns true. A reply sent
/// before its write is applied then costs no MT record, no lease entry and
/// no removal of both (most of them, at high rates, where the write waits
/// behind a flush while the SMSC answers in a fraction of that).
#[derive(Debug, Clone, Default)]
pub struct SendRace(Arc<AtomicU8>);

impl SendRace {
    const OPEN: u8 = 0;
    const SENT: u8 = 1;
    const STORED: u8 = 2;

    /// The sender: the MT was sent and needs no record. True if it was not
    /// stored and now never will be; false if it was (settle it).
    pub fn sent(&self) -> bool {
        self.settle(Self::SENT)
    }

    /// The store: true if the MT is to be stored (the sender has not
    /// finished first); it then is the sender's to settle.
    pub fn store(&self) -> bool {
        self.settle(Self::STORED) || self.0.load(Ordering::Acquire) == Self::STORED
    }

    fn settle(&self, to: u8) -> bool {
        let won = self
            .0
            .compare_exchange(Self::OPEN, to, Ordering::AcqRel, Ordering::Acquire);
        won.is_ok()
    }
}

/// Two races are equal when they are the same race.
impl PartialEq for SendRace {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SendRace {}

/// Where an outbound message is in its life. Completed messages are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundState {
    /// Waiting for `due_at`.
    Queued,
    /// Claimed by a worker until `until`; afterwards the next claim requeues it.
    Leased { until: Timestamp },
    /// Given up on (kept for inspection; not claimable).
    Failed { at: Timestamp },
}

/// An outbound message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    pub id: OutboundId,
    pub priority: Priority,
    pub due_at: Timestamp,
    /// Number of times it has been claimed.
    pub attempts: u32,
    pub state: OutboundState,
    pub payload: Vec<u8>,
}

/// Proof of a claim. Only the holder of the current lease may complete,
/// fail or reschedule; a stale lease gets `Error::LeaseLost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    pub id: OutboundId,
    /// The claim number (equals `attempts` right after the claim).
    pub attempt: u32,
}

/// A message handed to a worker by `claim`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub lease: Lease,
    pub priority: Priority,
    pub payload: Vec<u8>,
}

/// Result of `check_and_insert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedupe {
    /// Not seen within the TTL; now recorded.
    First,
    /// Seen before, at `first_seen`.
    Duplicate { first_seen: Timestamp },
}

/// What is known about one SMSC message id. Either half may arrive first: a
/// DLR can beat submit_sm_resp, so a receipt with no `outbound` is kept
/// ("unmatched") until it is linked or expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub outbound: Option<OutboundId>,
    /// Opaque delivery status (the bearer decides the encoding).
    pub status: Option<Vec<u8>>,
    pub expires_at: Timestamp,
}

/// Most entries a single `claim` requeues from expired leases, so one call
/// stays bounded. Both implementations use it, so they agree exactly.
pub const MAX_REQUEUE_PER_CLAIM: usize = 1024;
