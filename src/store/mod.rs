//! Durable state of the gateway behind one trait, [`Store`]: sessions (with
//! an expiry index), subscriber profiles, the inbound (MO) journal, the
//! outbound (MT) queue with leases, dedupe entries and delivery receipts.
//!
//! Owns: key/record layout, durability, atomicity of state changes.
//! Must not: know SMPP, flows or HTTP. Values kept for other modules are
//! opaque bytes; keys are the newtypes in [`types`]. No clock: every time is
//! a `now`/`expires_at` parameter (wall-clock ms, [`Timestamp`]).
//!
//! Implementations: [`SledStore`] (sled 0.34.7 on disk, production) and
//! [`MemoryStore`] (BTreeMaps behind a mutex: engine/runtime tests and the
//! model the sled store is property-tested against, `tests/store_model.rs`).
//!
//! # Durability contract
//! * [`Store::append_inbound`], [`Store::enqueue_outbound`],
//!   [`Store::link_receipt`], [`Store::record_receipt`] and [`Store::sync`]
//!   resolve only once the write is on disk. The sled store does this by
//!   **group commit**: one writer thread takes requests from a bounded queue,
//!   takes what queued during the previous flush (at most 1024 operations;
//!   `max_delay` can make it wait for more, default no wait), applies
//!   the batch as ordered writes, runs sled's `flush` and
//!   `fdatasync(<dir>/db)` if the batch wrote to sled, then writes the
//!   inbound journal (MOs are kept in a log of its own, not in sled:
//!   `disk/journal.rs`) with one `write` and `fdatasync`, then releases
//!   every waiter of the batch. So:
//!   journal the MO, await, then `deliver_sm_resp` (or with
//!   [`Store::journal_inbound`], work on the MO while the write is
//!   synced, and acknowledge it once it is durable); enqueue the MT, await,
//!   then HTTP 202. A full queue is [`Error::Busy`]: answer ESME_RX_T_APPN /
//!   HTTP 503 and let the peer retry. A durable write becomes visible to
//!   reads when its batch is applied, just before its flush. If the caller
//!   stops waiting after the request was queued, the write may still land
//!   (at-least-once; dedupe absorbs the peer's retry).
//! * Everything else (sessions, profiles, dedupe, claim/complete/fail/
//!   reschedule, mark processed) is written at once but not forced to disk;
//!   sled's background flusher persists it within `flush_every_ms`, and an
//!   MO's removal from the journal rides on the next group commit (or is
//!   written alone after 200 ms idle). A crash
//!   can lose that window: a USSD session is lost (the citizen redials), an
//!   MT completed just before the crash is sent again (at-least-once), an MO
//!   marked processed is processed again (dedupe catches repeats). Call
//!   [`Store::sync`] where that is not acceptable (e.g. at shutdown).
//!
//! # Why async, generic, not `dyn`
//! Methods return `impl Future + Send`: a PostgreSQL store needs real async
//! I/O, and durable writes here await the group commit. The runtime is
//! generic over `S: Store` (no boxing per call). In the sled store the
//! non-durable operations call sled directly inside the future: they touch
//! only sled's in-memory page cache and log buffers (microseconds, like a
//! mutex), while the slow part, flushing, runs on sled's thread pool and
//! `spawn_blocking`, never on a runtime worker.
//!
//! # A PostgreSQL implementation can follow (design notes, not code)
//! Each operation maps onto one statement or one short transaction:
//! * sessions: `(key PRIMARY KEY, version, expires_at, data)`; CAS is
//!   `UPDATE .. SET version = version + 1 WHERE key = $1 AND version = $2`
//!   (0 rows -> select the current version -> `Conflict`); create is
//!   `INSERT .. ON CONFLICT DO NOTHING`. Sweep: `DELETE .. WHERE expires_at
//!   <= now RETURNING key` on an index over `expires_at` (that index is what
//!   `session_exp` emulates in sled).
//! * outbound queue: `(id bigserial, priority, due_at, attempts, state,
//!   lease_until, payload)`; `claim` is `UPDATE .. SET state = leased,
//!   lease_until = now + lease, attempts = attempts + 1 WHERE id IN (SELECT id
//!   .. WHERE (state = queued AND due_at <= now) OR (state = leased AND
//!   lease_until <= now) ORDER BY priority, due_at, id LIMIT n FOR UPDATE
//!   SKIP LOCKED) RETURNING ..`, safe for many nodes. [`Lease::attempt`] is
//!   the fencing token: complete/fail/reschedule add `AND attempts = $n`.
//! * inbound journal: `bigserial` id, `processed_at` column, partial index on
//!   unprocessed rows. Dedupe and receipts: primary keys plus `expires_at`;
//!   `check_and_insert` is `INSERT .. ON CONFLICT DO UPDATE .. WHERE
//!   expires_at <= now RETURNING ..`; receipts merge with `ON CONFLICT DO
//!   UPDATE SET status = COALESCE(..)`.
//! * durability: `synchronous_commit = on` (plus a synchronous standby) makes
//!   every commit durable; group commit is PostgreSQL's own. sled then stays
//!   as the node's local spool for PostgreSQL outages.

pub mod audit;
pub mod disk;
pub mod error;
pub mod memory;
pub mod types;

use std::future::Future;
use std::time::Duration;

pub use self::audit::AuditEntry;
pub use self::disk::{GroupCommit, SledConfig, SledStore};
pub use self::error::{Error, Result};
pub use self::memory::MemoryStore;
pub use self::types::*;

/// The gateway's durable state. See the module docs for which calls are
/// durable on return.
pub trait Store: Send + Sync + 'static {
    // --- sessions (not force-flushed) ---

    /// The stored session, expired or not (the sweep removes expired ones).
    fn get_session(&self, key: &SessionKey)
        -> impl Future<Output = Result<Option<Session>>> + Send;

    /// Create (`expected = None`: must not exist) or update (`Some(v)`: must
    /// be at `v`) a session. Returns the new version; `Conflict` otherwise.
    fn put_session(
        &self,
        key: &SessionKey,
        expected: Option<Version>,
        data: Vec<u8>,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<Version>> + Send;

    /// Remove a session and its expiry entry. True if it existed.
    fn delete_session(&self, key: &SessionKey) -> impl Future<Output = Result<bool>> + Send;

    /// Remove up to `max` sessions with `expires_at <= now`, oldest first.
    fn sweep_expired(
        &self,
        now: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<Vec<SessionKey>>> + Send;

    // --- subscriber profiles (not force-flushed) ---

    fn get_profile(
        &self,
        who: &SubscriberKey,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    fn put_profile(
        &self,
        who: &SubscriberKey,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- inbound journal ---

    /// Journal an MO message. Durable when it resolves.
    fn append_inbound(
        &self,
        payload: Vec<u8>,
        received_at: Timestamp,
    ) -> impl Future<Output = Result<InboundId>> + Send;

    /// Journal an MO message without a task waiting on it: `intake` is
    /// told the MO's id once its write is under way (work on it meanwhile)
    /// and the outcome once it is durable ([`Intake`]); acknowledge the MO
    /// only then. A write that cannot be queued (`Error::Busy`) is told at
    /// once, through `durable`. Resolves once the write is handed on, so
    /// the router calls it inline: a store must not wait for its disk here.
    /// The default awaits [`Store::append_inbound`] (fine for a store
    /// whose appends do not wait, like [`MemoryStore`]).
    fn journal_inbound(
        &self,
        payload: Vec<u8>,
        received_at: Timestamp,
        mut intake: Box<dyn Intake>,
    ) -> impl Future<Output = ()> + Send {
        async move {
            match self.append_inbound(payload, received_at).await {
                Ok(id) => {
                    intake.journalled(id);
                    intake.durable(Ok(()));
                }
                Err(e) => intake.durable(Err(e)),
            }
        }
    }

    /// Done with an MO message (removes it from the journal). True if present.
    fn mark_inbound_processed(&self, id: InboundId) -> impl Future<Output = Result<bool>> + Send;

    /// Retention: remove up to `max` unprocessed MO messages received
    /// before `before` (oldest first); returns the count.
    fn sweep_inbound(
        &self,
        before: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<usize>> + Send;

    /// Unprocessed MO messages with id > `after`, in id order, at most `max`.
    fn unprocessed_inbound(
        &self,
        after: Option<InboundId>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<InboundMessage>>> + Send;

    // --- outbound queue ---

    /// Queue an MT message. Durable when it resolves.
    fn enqueue_outbound(&self, msg: NewOutbound)
        -> impl Future<Output = Result<OutboundId>> + Send;

    /// First requeue expired leases, then lease up to `n` due messages in
    /// (priority, due_at, id) order until `now + lease`.
    fn claim(
        &self,
        n: usize,
        now: Timestamp,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Claimed>>> + Send;

    /// Sent: remove the message.
    fn complete(&self, lease: Lease) -> impl Future<Output = Result<()>> + Send;

    /// Give up: keep the message as `Failed { at: now }`, not claimable.
    fn fail(&self, lease: Lease, now: Timestamp) -> impl Future<Output = Result<()>> + Send;

    /// Retention: remove up to `max` messages kept as `Failed` since before
    /// `before`; returns the count.
    fn sweep_failed_outbound(
        &self,
        before: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<usize>> + Send;

    /// Try again at `due_at` (throttled, transient error).
    fn reschedule(
        &self,
        lease: Lease,
        due_at: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send;

    fn get_outbound(
        &self,
        id: OutboundId,
    ) -> impl Future<Output = Result<Option<OutboundMessage>>> + Send;

    // --- dedupe (not force-flushed) ---

    /// Atomically: `First` (and record `now`) unless `key` was seen within
    /// `ttl`, else `Duplicate`.
    fn check_and_insert(
        &self,
        key: &DedupeKey,
        now: Timestamp,
        ttl: Duration,
    ) -> impl Future<Output = Result<Dedupe>> + Send;

    /// Takes back the `First` that `check_and_insert` gave `key` at `first`
    /// (its MO was not handled after all, so a resend must not be a
    /// duplicate). Leaves a later sighting alone. Not durable: a restart
    /// brings the key back if its record was flushed. Default: keeps it.
    fn withdraw_dedupe(
        &self,
        key: &DedupeKey,
        first: Timestamp,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (key, first);
        async { Ok(()) }
    }

    /// Remove up to `max` dedupe entries expired at `now`; returns the count.
    fn sweep_dedupe(
        &self,
        now: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<usize>> + Send;

    // --- delivery receipts (durable) ---

    /// submit_sm_resp arrived: `id` is our `outbound`. Returns the merged
    /// record (its `status` is set if the DLR came first).
    fn link_receipt(
        &self,
        id: &MessageId,
        outbound: OutboundId,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<Receipt>> + Send;

    /// A DLR arrived. Kept even when unmatched. Returns the merged record.
    fn record_receipt(
        &self,
        id: &MessageId,
        status: Vec<u8>,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<Receipt>> + Send;

    fn receipt_status(
        &self,
        id: &MessageId,
    ) -> impl Future<Output = Result<Option<Receipt>>> + Send;

    /// Remove up to `max` receipts expired at `now`; returns the count.
    fn sweep_receipts(
        &self,
        now: Timestamp,
        max: usize,
    ) -> impl Future<Output = Result<usize>> + Send;

    /// False while the store cannot make writes durable: its last durable
    /// write failed (a full disk, an I/O error) and none has succeeded
    /// since. `/readyz` reports it. By default always true.
    fn writes_ok(&self) -> bool {
        true
    }

    /// Make every write issued so far durable (shutdown, or when a caller
    /// needs a normally unflushed write on disk).
    fn sync(&self) -> impl Future<Output = Result<()>> + Send;

    /// Queue the replies to MO messages `done` and take those out of the
    /// journal, in one durable write: the MTs first, so a crash keeps
    /// nothing, or some MTs with the MOs still journalled (they are
    /// processed again at the next start and the replies go out again:
    /// at-least-once, never lost), or everything. The MTs' ids, in order.
    /// Durable when it resolves. An MT whose [`NewOutbound::unless_sent`]
    /// race the sender has won is not kept (its id is still taken). This
    /// default does it in two steps in that order (such an MT queued, then
    /// completed); the sled store does it in one group commit.
    fn enqueue_replies(
        &self,
        msgs: Vec<NewOutbound>,
        done: Vec<InboundId>,
    ) -> impl Future<Output = Result<Vec<OutboundId>>> + Send {
        async move {
            let mut ids = Vec::with_capacity(msgs.len());
            for m in msgs {
                let sent = m.unless_sent.as_ref().is_some_and(|race| !race.store());
                let attempt = if m.lease_until.is_some() { 1 } else { 0 };
                let id = self.enqueue_outbound(m).await?;
                if sent {
                    self.complete(Lease { id, attempt }).await?;
                }
                ids.push(id);
            }
            for id in done {
                self.mark_inbound_processed(id).await?;
            }
            self.sync().await?;
            Ok(ids)
        }
    }

    // --- keyed enqueue and audit log (the notification API; durable) ---

    /// Queue an MT under a caller's idempotency `key`, atomically: if no
    /// record is kept under `key`, the MT and `key -> id` are written in one
    /// durable write and `(id, true)` returned; otherwise nothing is queued
    /// and the id it names comes back as `(id, false)`. A crash can never
    /// leave the MT without its key or the key without its MT. The mapping
    /// lives in the receipts records (so `sweep_receipts` expires it at
    /// `expires_at`): callers choose keys no SMSC message id can take (a
    /// leading NUL). Durable when it resolves.
    fn enqueue_outbound_once(
        &self,
        key: &MessageId,
        msg: NewOutbound,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<(OutboundId, bool)>> + Send;

    /// Append `record` to the hash-chained audit log ([`audit`]). Durable
    /// when it resolves.
    fn append_audit(&self, record: Vec<u8>) -> impl Future<Output = Result<AuditEntry>> + Send;

    /// Audit entries with `seq > after`, in order, at most `max`.
    fn audit_entries(
        &self,
        after: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;

    // --- published flows (the admin API; durable) ---

    /// Keeps the text of flow `id` at `version` (opaque bytes: the
    /// publisher's record), replacing what was kept under that id and
    /// version. Durable when it resolves.
    fn put_flow_source(
        &self,
        id: &str,
        version: u32,
        record: Vec<u8>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// What [`Store::put_flow_source`] kept for `id` at `version`.
    fn get_flow_source(
        &self,
        id: &str,
        version: u32,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;

    /// Appends one publish (opaque bytes) to the flow history; returns its
    /// sequence number (increasing, never reused). Durable when it resolves.
    fn append_flow_history(&self, record: Vec<u8>) -> impl Future<Output = Result<u64>> + Send;

    /// History entries with a sequence number below `before`, newest
    /// first, at most `max`.
    fn flow_history(
        &self,
        before: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<(u64, Vec<u8>)>>> + Send;

    /// Sessions with a key after `after` (from the first when `None`), in
    /// key order, at most `max`: paging through every stored session.
    fn list_sessions(
        &self,
        after: Option<&SessionKey>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<(SessionKey, Session)>>> + Send;
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
mod tests_keyed;
