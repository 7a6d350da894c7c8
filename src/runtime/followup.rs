//! Answers owed by SMS. When a USSD turn's back-end call outlives the
//! turn's budget, the runtime first journals a follow-up (durable: the
//! session as it was and the call), then ends the dialogue with "we will
//! send you the result by SMS". The same call keeps running; when it
//! answers (or finally fails), the flow steps on with that answer and
//! every screen and `sms` it produces goes out through the outbox. The
//! journal entry is removed only after that. At start, entries left over
//! are resumed by calling again (same idempotency key); a call whose
//! parameters held a secret was never written down, so it resumes as
//! `failed` and the citizen gets the flow's failure text.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tracing::Instrument;

use super::calls::Pending;
use super::conversation::{self, Loaded};
use super::journal::{Entry, FollowUp};
use super::turn::Driven;
use super::{Core, Error};
use crate::backend::CallResult;
use crate::engine::{Input, Lang};
use crate::msisdn::Msisdn;
use crate::store::{InboundId, Store, Timestamp};

/// Journals the follow-up, ends the stored dialogue, and leaves the
/// running call to finish in the background.
pub async fn promise<S: Store>(
    core: &Arc<Core<S>>,
    operator: &str,
    who: &Msisdn,
    from: String,
    l: Loaded,
    pending: Pending,
    call: BoxFuture<'static, CallResult>,
) -> Result<(), Error> {
    let f = FollowUp {
        operator: operator.to_string(),
        to: who.as_str().to_string(),
        from,
        record: l.record,
        call: pending.for_record(),
    };
    let now = Timestamp(core.now_ms());
    let id = core
        .store
        .append_inbound(Entry::FollowUp(Box::new(f.clone())).encode(), now)
        .await?;
    // The dialogue is over for the network; the follow-up owns the state.
    core.store.delete_session(&l.key).await?;
    spawn(core, id, f, call);
    Ok(())
}

/// Resumes a follow-up found in the journal at start.
pub fn resume<S: Store>(core: &Arc<Core<S>>, id: InboundId, f: FollowUp) {
    let call = core.gate.start(&f.call);
    spawn(core, id, f, call);
}

fn spawn<S: Store>(
    core: &Arc<Core<S>>,
    id: InboundId,
    f: FollowUp,
    call: BoxFuture<'static, CallResult>,
) {
    let tracker = core.followups.clone();
    let core = core.clone();
    let span = tracing::info_span!(
        "followup",
        operator = %f.operator,
        msisdn = %crate::msisdn::mask(&f.to),
        correlation_id = %f.call.correlation_id,
    );
    let task = async move {
        let result = tokio::select! {
            r = call => r,
            // Stopped: the entry stays in the journal and resumes at start.
            _ = core.stop.cancelled() => return,
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            match deliver(&core, id, &f, &result).await {
                Ok(()) => return,
                Err(e) if core.stop.is_cancelled() => {
                    tracing::warn!(error = %e, "follow-up not queued before shutdown; resumes at next start");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "follow-up not queued yet; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    };
    tracker.spawn(task.instrument(span));
}

/// Steps the flow with the call's answer and queues what it says.
async fn deliver<S: Store>(
    core: &Arc<Core<S>>,
    id: InboundId,
    f: &FollowUp,
    result: &CallResult,
) -> Result<(), Error> {
    let Ok(who) = Msisdn::parse(&f.to) else {
        core.store.mark_inbound_processed(id).await?;
        return Ok(());
    };
    let mut l = Loaded {
        key: conversation::ussd_key(&f.operator, &who),
        version: None,
        record: f.record.clone(),
    };
    if let Some(check) = &f.call.check {
        use super::lockout::Lockout;
        let lock = core.pin_lock(&who, core.now_ms());
        lock.record(check.is_wrong(result.outcome)).await;
    }
    let input = Input::CallDone {
        call_id: f.call.call_id,
        outcome: result.outcome,
        data: result.data.clone(),
    };
    let fx = match core
        .engine_for(&who)
        .drive(&mut l, input, core.clock.as_ref(), None)
        .await
    {
        Driven::Done(fx) => fx,
        Driven::Late { effects, .. } => effects,
    };
    let mut texts: Vec<String> = fx.screens.into_iter().map(|(t, _)| t).collect();
    texts.extend(fx.sms);
    if texts.is_empty() {
        let lang = l.record.session.language.unwrap_or(Lang::Ar);
        texts.push(crate::engine::lang::Ui::Unavailable.text(lang).to_string());
    }
    for text in &texts {
        core.send_sms(Some(&f.operator), &who, &f.from, text)
            .await?;
    }
    tracing::info!(
        sms = texts.len(),
        outcome = result.outcome.key(),
        "follow-up queued"
    );
    core.store.mark_inbound_processed(id).await?;
    Ok(())
}
