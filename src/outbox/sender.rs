//! The sender: one dispatcher claims due MTs from the store with a lease,
//! only as many as the operators' binds can take (a permit per MT in
//! flight, `in_flight` per operator), and hands each to a task that
//! submits its parts through the operator's `Operator` and settles the
//! lease: complete, reschedule or fail.
//!
//! The store's queue is one queue for every operator, so the claim is
//! shared; an MT whose operator is at its in-flight cap or has no bind up is
//! put back with a short delay instead of being held in memory. Throughput
//! per operator is the session layer's business (window and TPS per bind):
//! `submit` waits for room, and this module never has more than `in_flight`
//! MTs waiting on it.
//!
//! The express lane comes first: an interactive MT that `Outbox::enqueue`
//! wrote already leased (its first attempt) arrives on a bounded channel and
//! takes the next free permit before anything is claimed, with no claim and
//! no wake-up. One still in the channel when the process stops stays leased
//! in the store; the next start requeues it (`release_earlier_leases`). A
//! reply may arrive before its durable write has ended (`Express::written`):
//! it is submitted at once, and its stored record touched (settled, put
//! back, failed) only once the write is durable; a single-part text needs no
//! id to be submitted, a longer one waits for its id (the concatenation
//! reference). A reply that keeps no record once sent and is sent before
//! the writer reaches its write is not stored at all (`SendRace`; about a
//! sixth of them in the keyword benchmark, where the writer is rarely
//! behind). The usual reply, a turn's only one, of one part, wanting no
//! receipt, comes with nothing written at all (`Pending::Direct`): once
//! sent, its MOs leave the journal; if the send does not succeed at once,
//! it is queued then (leased, with its MOs out of the journal in the same
//! durable write) and goes on like any MT.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::status::{progress_key, Counters, Progress};
use super::{receipts, Direct, Express, Inner, Order, Payload, Pending};
use crate::msisdn::mask;
use crate::smpp::pdu::CommandStatus;
use crate::smpp::session::SubmitResult;
use crate::store::{Claimed, Lease, Priority, SendRace, Store, Timestamp, MAX_REQUEUE_PER_CLAIM};

/// An MT whose operator is at its in-flight cap waits this long.
const BUSY_HOLD: Duration = Duration::from_millis(50);
/// Most MTs one claim asks for.
const CLAIM_BATCH: usize = 256;

/// The dispatcher: runs until `shutdown`, then waits (up to the gateway's
/// shutdown grace) for the MTs in flight. Those still unsettled keep their
/// lease and come back when it expires.
pub(super) async fn run<S: Store>(inner: Arc<Inner<S>>, shutdown: CancellationToken) {
    let caps: BTreeMap<String, Arc<Semaphore>> = inner
        .operators
        .iter()
        .map(|(name, slot)| (name.clone(), Arc::new(Semaphore::new(slot.in_flight))))
        .collect();
    let total: usize = inner.operators.values().map(|s| s.in_flight).sum();
    let permits = Arc::new(Semaphore::new(total.max(1)));
    release_earlier_leases(&inner, total).await;
    first_bind(&inner, &shutdown).await;
    let mut lane = inner
        .express_rx
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    // An express MT that arrived while the dispatcher was idle.
    let mut pending: Option<Express> = None;
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let mut held = vec![first];
        while held.len() < CLAIM_BATCH {
            match permits.clone().try_acquire_owned() {
                Ok(p) => held.push(p),
                Err(_) => break,
            }
        }
        // Interactive MTs of the express lane before anything claimed.
        while let Some(permit) = held.pop() {
            let next = pending
                .take()
                .or_else(|| lane.as_mut().and_then(|rx| rx.try_recv().ok()));
            let Some(Express {
                claimed,
                payload,
                written,
                race,
                order,
            }) = next
            else {
                held.push(permit);
                break;
            };
            let express = (claimed, written);
            if let Some(mut job) = admit(&inner, &caps, express, Some(payload), permit).await {
                job.order = order;
                job.race = race;
                let inner = inner.clone();
                tasks.spawn(async move { send(&inner, job).await });
            }
        }
        if held.is_empty() {
            continue;
        }
        let now = super::now();
        let claimed = match inner
            .store
            .claim(held.len(), now, inner.settings.lease)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: claim failed; retrying");
                drop(held);
                pending = idle(&inner, &shutdown, &mut lane).await;
                continue;
            }
        };
        if claimed.is_empty() {
            drop(held);
            pending = idle(&inner, &shutdown, &mut lane).await;
            continue;
        }
        for c in claimed {
            let Some(permit) = held.pop() else { break };
            if let Some(job) = admit(&inner, &caps, (c, None), None, permit).await {
                let inner = inner.clone();
                tasks.spawn(async move { send(&inner, job).await });
            }
        }
    }
    // Express MTs not taken stay leased in the store; the next start
    // requeues them.
    let grace = inner.settings.shutdown_grace;
    if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!(
            left = tasks.len(),
            "outbox: MTs still in flight at shutdown; their leases will expire and they will be sent again"
        );
        tasks.abort_all();
    }
}

/// This process holds the store alone (sled locks its directory), so a
/// lease found at start was taken by an earlier run that was killed or
/// stopped mid-send: its MTs go back in the queue now, not minutes later
/// when the lease runs out. A claim of nothing, dated one lease after this
/// outbox was made (less a millisecond), requeues those leases (up to
/// `MAX_REQUEUE_PER_CLAIM` a call) and takes nothing; a run holds at most
/// `in_flight` leases at once. Leases this outbox gave out itself (the
/// express lane, possibly before the sender started) all end later and
/// are left alone.
async fn release_earlier_leases<S: Store>(inner: &Inner<S>, in_flight: usize) {
    let lease = inner.settings.lease;
    let ahead = Timestamp(inner.created.after(lease).0.saturating_sub(1));
    for _ in 0..in_flight.div_ceil(MAX_REQUEUE_PER_CLAIM).max(1) {
        if let Err(e) = inner.store.claim(0, ahead, lease).await {
            tracing::warn!(error = %e, "outbox: could not requeue earlier leases; they come back when they expire");
            return;
        }
    }
}

/// At start, waits (at most the not-bound hold) for a first bind. Claimed
/// before any bind is up, every due MT would be put back with a hold that
/// doubles with each claim (`admit`), so each restart would delay the
/// backlog by seconds after the binds are back. An outage that lasts goes
/// on as before: claimed, held, and failed once past its validity.
async fn first_bind<S: Store>(inner: &Inner<S>, shutdown: &CancellationToken) {
    let wait = inner.settings.retry.not_bound;
    let any = inner
        .operators
        .values()
        .map(|s| Box::pin(s.operator.wait_bound(wait)));
    let any: Vec<_> = any.collect();
    if any.is_empty() {
        return;
    }
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = futures::future::select_all(any) => {}
    }
}

/// Waits for a queued MT (woken), the poll period, or shutdown; an
/// express MT ends the wait and is returned.
async fn idle<S: Store>(
    inner: &Inner<S>,
    shutdown: &CancellationToken,
    lane: &mut Option<tokio::sync::mpsc::Receiver<Express>>,
) -> Option<Express> {
    let express = async {
        match lane.as_mut() {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => None,
        _ = inner.wake.notified() => None,
        _ = tokio::time::sleep(inner.settings.poll) => None,
        c = express => c,
    }
}

/// One claimed MT, admitted to its operator.
struct Job {
    lease: Lease,
    payload: Payload,
    operator: String,
    /// Whether its submits ask for a delivery receipt (the operator's
    /// `sms.receipts` for the MT's priority).
    receipt: bool,
    priority: crate::store::Priority,
    /// See [`Express::written`]; `lease.id` is a placeholder while set.
    written: Option<Pending>,
    /// See [`Express::race`].
    race: Option<SendRace>,
    /// See [`Express::order`].
    order: Order,
    _permits: (OwnedSemaphorePermit, OwnedSemaphorePermit),
}

/// Waits until the MT's durable write has ended (if it had not when it
/// was handed over), or queues a direct one now, and puts its id in
/// `lease`. False if the write failed: nothing is stored to settle.
async fn written<S: Store>(
    inner: &Inner<S>,
    lease: &mut Lease,
    pending: &mut Option<Pending>,
) -> bool {
    match pending.take() {
        None => true,
        Some(Pending::Write(rx)) => match rx.await {
            Ok(id) => {
                lease.id = id;
                true
            }
            Err(_) => {
                tracing::warn!("outbox: a reply's write failed after it was handed to the sender; its MO stays journalled");
                false
            }
        },
        Some(Pending::Direct(direct)) => {
            // Not sent at once: queued (leased, this being its first
            // attempt) with its MOs out of the journal, then handled
            // like any MT.
            let Direct { mut msg, done } = *direct;
            msg.lease_until = Some(super::now().after(inner.settings.lease));
            match inner.store.enqueue_replies(vec![msg], done).await {
                Ok(ids) if ids.len() == 1 => {
                    lease.id = ids[0];
                    true
                }
                Ok(ids) => {
                    tracing::error!(
                        ?ids,
                        "outbox: the store queued a reply under the wrong number of ids"
                    );
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: a reply could not be queued; its MO stays journalled");
                    false
                }
            }
        }
    }
}

/// Takes the MOs a direct reply answers out of the journal, now that it
/// is sent (durable with the next flush).
async fn answered<S: Store>(inner: &Inner<S>, direct: &Direct) {
    for id in &direct.done {
        if let Err(e) = inner.store.mark_inbound_processed(*id).await {
            tracing::warn!(error = %e, id = id.0, "outbox: a sent reply's MO stays journalled (answered again at the next start)");
        }
    }
}

/// Fails an MT that can never be sent, once its write (if still under
/// way) has landed. Nothing to admit.
async fn give_up<S: Store>(
    inner: &Inner<S>,
    mut lease: Lease,
    mut pending: Option<Pending>,
    reason: String,
) -> Option<Job> {
    if written(inner, &mut lease, &mut pending).await {
        settle_fail(inner, lease, ("", &[]), Progress::default(), reason).await;
    }
    None
}

/// Decodes a claimed MT (unless it came `decoded`, from the express lane)
/// and takes its operator's in-flight permit; puts it back (or fails it,
/// if it can never be sent) otherwise.
async fn admit<S: Store>(
    inner: &Inner<S>,
    caps: &BTreeMap<String, Arc<Semaphore>>,
    (c, mut pending): (Claimed, Option<Pending>),
    decoded: Option<Payload>,
    permit: OwnedSemaphorePermit,
) -> Option<Job> {
    let mut lease = c.lease;
    let Some(payload) = decoded.or_else(|| Payload::decode(&c.payload)) else {
        let reason = "malformed queued record".to_string();
        return give_up(inner, lease, pending, reason).await;
    };
    // An operator removed from the configuration since the MT was queued:
    // route it again by prefix.
    let operator = if inner.operators.contains_key(&payload.operator) {
        payload.operator.clone()
    } else {
        match crate::msisdn::Msisdn::parse(&payload.to)
            .ok()
            .and_then(|to| inner.routes.route(&to, None).ok())
        {
            Some(op) => op,
            None => {
                let reason = format!("operator {:?} is no longer configured", payload.operator);
                return give_up(inner, lease, pending, reason).await;
            }
        }
    };
    if let Some(age) = super::now().0.checked_sub(payload.queued_at) {
        let validity = inner.settings.validity;
        if payload.queued_at > 0 && Duration::from_millis(age) > validity {
            let reason = format!(
                "expired: not sent within {}",
                humantime::format_duration(validity)
            );
            return give_up(inner, lease, pending, reason).await;
        }
    }
    let slot = &inner.operators[&operator];
    // Its operator is down: hold it, longer each time it comes back
    // (claim counts), so a long outage does not churn the queue.
    let hold = (!slot.operator.is_bound()).then(|| {
        let doubling = 1u32 << lease.attempt.saturating_sub(1).min(5);
        inner.settings.retry.not_bound.saturating_mul(doubling)
    });
    let op_permit = match hold {
        Some(_) => None,
        None => caps[&operator].clone().try_acquire_owned().ok(),
    };
    let Some(op_permit) = op_permit else {
        Counters::bump(&inner.counters.held);
        let delay = hold.unwrap_or(BUSY_HOLD);
        let due = super::now().after(delay);
        if !written(inner, &mut lease, &mut pending).await {
            return None;
        }
        if let Err(e) = inner.store.reschedule(lease, due).await {
            tracing::warn!(error = %e, id = %lease.id, "outbox: reschedule failed");
        }
        return None;
    };
    let receipt = inner.receipt_wanted(&operator, c.priority);
    Some(Job {
        lease,
        payload,
        operator,
        receipt,
        priority: c.priority,
        written: pending,
        race: None,
        order: Order::default(),
        _permits: (permit, op_permit),
    })
}

/// How sending the parts ended.
enum Outcome {
    Sent,
    Retry {
        reason: String,
        hint: Option<Duration>,
        /// Uses up one of the MT's attempts. ESME_RTHROTTLED does not: it
        /// says the account is over its rate, nothing about this MT (the
        /// session layer has already paused and halved the bind's rate);
        /// such an MT is bounded by its validity instead.
        counts: bool,
    },
    Hold,
    Fail(String),
}

/// Submits every part not yet accepted, then settles the lease.
async fn send<S: Store>(inner: &Inner<S>, mut job: Job) {
    let slot = &inner.operators[&job.operator];
    // A first attempt has no progress yet (claims count attempts; one
    // leased before a crash comes back as the second).
    let kept = match job.lease.attempt {
        0 | 1 => Ok(None),
        _ => {
            inner
                .store
                .receipt_status(&progress_key(job.lease.id))
                .await
        }
    };
    let mut progress = match kept {
        Ok(r) => r
            .and_then(|r| r.status)
            .and_then(|s| Progress::decode(&s))
            .unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, id = %job.lease.id, "outbox: progress unreadable; the lease will expire");
            return;
        }
    };
    if progress.operator != job.operator {
        // First try, or re-routed: ids from another SMSC do not count.
        progress = Progress {
            operator: job.operator.clone(),
            tries: progress.tries,
            last_error: progress.last_error,
            ..Progress::default()
        };
    }
    let mut parts = slot.policy.parts(&job.payload.text, job.lease.id);
    if job.written.is_some() && !matches!(&parts, Ok(p) if p.len() == 1) {
        // Its parts carry its id (or it fails): wait for the write.
        if !written(inner, &mut job.lease, &mut job.written).await {
            return;
        }
        parts = slot.policy.parts(&job.payload.text, job.lease.id);
    }
    let parts = match parts {
        Ok(p) => p,
        Err(e) => {
            let op = (job.operator.as_str(), &[][..]);
            return settle_fail(inner, job.lease, op, progress, e.to_string()).await;
        }
    };
    if progress.parts.len() != parts.len() {
        progress.parts = vec![None; parts.len()];
    }
    if let Some(previous) = job.order.after.take() {
        let _ = previous.await; // sent, or given up on: either way, our turn
    }
    let mut accepted = Vec::new();
    let mut outcome = Outcome::Sent;
    for (i, part) in parts.iter().enumerate() {
        if progress.parts[i].is_some() {
            continue;
        }
        let sm = part.submit_sm(&job.payload.from, &job.payload.to, job.receipt);
        let result = slot.operator.submit_within(sm, inner.settings.submit_wait);
        match classify(result.await) {
            Ok(message_id) => {
                progress.parts[i] = Some(message_id.clone());
                accepted.push(message_id);
            }
            Err(o) => {
                outcome = o;
                break;
            }
        }
    }
    if let Some(next) = job.order.then.take() {
        let _ = next.send(()); // the turn's next reply may go
    }
    // A reply that keeps no record once sent (see `settle`), sent before
    // its write was applied: the write will not store it.
    let unrecorded = !job.receipt && job.priority == Priority::Interactive;
    if matches!(outcome, Outcome::Sent) && unrecorded {
        if let Some(Pending::Direct(direct)) = &job.written {
            answered(inner, direct).await;
            Counters::bump(&inner.counters.sent);
            tracing::debug!(to = %mask(&job.payload.to), "outbox: reply sent, nothing was written");
            return;
        }
        if job.race.as_ref().is_some_and(|r| r.sent()) {
            Counters::bump(&inner.counters.sent);
            tracing::debug!(to = %mask(&job.payload.to), parts = progress.parts.len(), "outbox: reply sent before its write");
            return;
        }
    }
    if !written(inner, &mut job.lease, &mut job.written).await {
        return;
    }
    settle(inner, &job, outcome, progress, &accepted).await;
}

/// The accepted message id, or what to do with the MT.
fn classify(result: SubmitResult) -> Result<String, Outcome> {
    let hint = result.retry_after();
    match result {
        SubmitResult::Accepted { message_id } => Ok(message_id),
        SubmitResult::Rejected {
            status,
            temporary: false,
        } => Err(Outcome::Fail(format!("rejected by the SMSC: {status}"))),
        SubmitResult::Rejected { status, .. } => Err(Outcome::Retry {
            reason: format!("refused for now by the SMSC: {status}"),
            hint,
            counts: status != CommandStatus::ESME_RTHROTTLED,
        }),
        SubmitResult::Unknown => Err(Outcome::Retry {
            reason: "no answer (link lost or response timer expired)".into(),
            hint: None,
            counts: true,
        }),
        SubmitResult::NotBound => Err(Outcome::Hold),
    }
}

/// Records how the send went and settles the lease accordingly.
async fn settle<S: Store>(
    inner: &Inner<S>,
    job: &Job,
    outcome: Outcome,
    mut progress: Progress,
    accepted: &[String],
) {
    let (lease, op) = (job.lease, job.operator.as_str());
    // Ids are linked for receipts to find the MT; none come unasked.
    let linked = if job.receipt { accepted } else { &[] };
    let kept = inner.kept_until(job.priority);
    match outcome {
        Outcome::Sent => {
            progress.sent = true;
            // A reply nobody links a receipt to keeps no record: nobody
            // asks a reply's status (the notification API queues at other
            // priorities). Saves a durable write and its sweep per SMS
            // answered; the price is that a crash before `complete` reaches
            // disk sends the reply again (the record would have said its
            // parts were accepted). At-least-once, as for every MT.
            let record = !linked.is_empty() || job.priority != Priority::Interactive;
            if !record || persist(inner, op, lease, (&progress, kept), linked).await {
                Counters::bump(&inner.counters.sent);
                if let Err(e) = inner.store.complete(lease).await {
                    tracing::warn!(error = %e, id = %lease.id, "outbox: complete failed");
                }
                tracing::debug!(id = %lease.id, to = %mask(&job.payload.to), parts = progress.parts.len(), "outbox: MT sent");
            }
        }
        Outcome::Hold => {
            Counters::bump(&inner.counters.held);
            let due = super::now().after(inner.settings.retry.not_bound);
            if accepted.is_empty() || persist(inner, op, lease, (&progress, kept), linked).await {
                reschedule(inner, lease, due).await;
            }
        }
        Outcome::Retry {
            reason,
            hint,
            counts,
        } => {
            progress.tries += u32::from(counts);
            let tries = progress.tries.max(1);
            if counts && !inner.settings.retry.may_retry(tries) {
                let reason = format!("{reason}; gave up after {tries} attempts");
                return settle_fail(inner, lease, (op, linked), progress, reason).await;
            }
            Counters::bump(&inner.counters.retried);
            let delay = inner.settings.retry.delay(tries, hint, rand::random());
            tracing::info!(id = %lease.id, to = %mask(&job.payload.to), tries, ?delay, %reason, "outbox: MT will be retried");
            progress.last_error = Some(reason);
            if persist(inner, op, lease, (&progress, kept), linked).await {
                reschedule(inner, lease, super::now().after(delay)).await;
            }
        }
        Outcome::Fail(reason) => settle_fail(inner, lease, (op, linked), progress, reason).await,
    }
}

/// Links the newly accepted parts' ids to the MT (durable), so receipts
/// find it. False if the store failed: the lease is left to expire.
async fn link<S: Store>(inner: &Inner<S>, operator: &str, lease: Lease, ids: &[String]) -> bool {
    let expires = inner.receipt_expiry();
    let writes = ids.iter().map(|id| {
        let key = receipts::receipt_key(operator, id, inner.id_bases(operator).submit);
        async move { inner.store.link_receipt(&key, lease.id, expires).await }
    });
    match futures::future::try_join_all(writes).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, id = %lease.id, "outbox: linking receipt ids failed; the MT will be sent again");
            false
        }
    }
}

/// Links the newly accepted ids and writes the progress record, both
/// durable and concurrently (one group commit). False if the store failed:
/// the lease is left to expire and the MT is sent again.
async fn persist<S: Store>(
    inner: &Inner<S>,
    operator: &str,
    lease: Lease,
    (progress, kept): (&Progress, crate::store::Timestamp),
    accepted: &[String],
) -> bool {
    let (linked, saved) = tokio::join!(
        link(inner, operator, lease, accepted),
        save(inner, lease, progress, kept)
    );
    linked && saved
}

/// Writes the MT's progress record (durable). False if the store failed.
/// Kept until `kept` ([`Inner::kept_until`]).
async fn save<S: Store>(
    inner: &Inner<S>,
    lease: Lease,
    progress: &Progress,
    kept: crate::store::Timestamp,
) -> bool {
    let key = progress_key(lease.id);
    match inner
        .store
        .record_receipt(&key, progress.encode(), kept)
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, id = %lease.id, "outbox: saving progress failed; the lease will expire");
            false
        }
    }
}

async fn reschedule<S: Store>(inner: &Inner<S>, lease: Lease, due: crate::store::Timestamp) {
    if let Err(e) = inner.store.reschedule(lease, due).await {
        tracing::warn!(error = %e, id = %lease.id, "outbox: reschedule failed");
    }
}

/// Gives up on an MT: records why (and the ids of parts the SMSC did
/// accept, from `accepted`: operator and ids), then marks it failed.
async fn settle_fail<S: Store>(
    inner: &Inner<S>,
    lease: Lease,
    (operator, accepted): (&str, &[String]),
    mut progress: Progress,
    reason: String,
) {
    tracing::warn!(id = %lease.id, %reason, "outbox: MT failed");
    Counters::bump(&inner.counters.failed);
    progress.failed = Some(reason);
    if persist(
        inner,
        operator,
        lease,
        (&progress, inner.receipt_expiry()),
        accepted,
    )
    .await
    {
        if let Err(e) = inner.store.fail(lease, super::now()).await {
            tracing::warn!(error = %e, id = %lease.id, "outbox: marking failed did not stick");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: CommandStatus, temporary: bool) -> SubmitResult {
        SubmitResult::Rejected { status, temporary }
    }

    #[test]
    fn results_map_to_what_happens_to_the_mt() {
        let ok = SubmitResult::Accepted {
            message_id: "0a".into(),
        };
        assert_eq!(classify(ok).ok().as_deref(), Some("0a"));
        let counted = |r| match classify(r) {
            Err(Outcome::Retry { counts, hint, .. }) => Some((counts, hint.is_some())),
            _ => None,
        };
        assert_eq!(
            counted(rejected(CommandStatus::ESME_RMSGQFUL, true)),
            Some((true, true))
        );
        assert_eq!(
            counted(rejected(CommandStatus::ESME_RTHROTTLED, true)),
            Some((false, true))
        );
        assert_eq!(counted(SubmitResult::Unknown), Some((true, false)));
        assert!(matches!(
            classify(SubmitResult::NotBound),
            Err(Outcome::Hold)
        ));
        let permanent = classify(rejected(CommandStatus::ESME_RINVDSTADR, false));
        assert!(matches!(permanent, Err(Outcome::Fail(r)) if r.contains("ESME_RINVDSTADR")));
    }
}
