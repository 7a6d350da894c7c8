//! One USSD turn: load the subscriber's state, apply the operator's timers,
//! step the engine (back-end calls within the turn's budget), save, and
//! answer on the same operator. Every turn gets an answer before the
//! operator's reply deadline: the flow's screen, a "please try again" end
//! screen, or (slow back-end) "we will send you the result by SMS".

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use super::conversation::{self, Loaded};
use super::limits::{self, Verdict};
use super::notice::Notice;
use super::turn::Driven;
use super::ussd::{self, Action, Mo};
use super::{followup, Core, Error};
use crate::config;
use crate::engine::{Bearer, Input, Lang, Status};
use crate::metrics;
use crate::smpp::session::SubmitResult;
use crate::store::{Store, Timestamp};

/// A USSD MO waiting for its worker.
pub struct Turn {
    pub operator: Arc<str>,
    pub mo: Mo,
    /// When the MO arrived (the reply deadline counts from here).
    pub received: Instant,
}

/// The share of the reply deadline kept for queueing the submit_sm and the
/// network's own latency: a quarter, at least 250 ms, at most 2 s.
pub fn margin(reply_deadline: Duration) -> Duration {
    (reply_deadline / 4).clamp(Duration::from_millis(250), Duration::from_secs(2))
}

/// Back-end calls must answer by here, or the answer goes by SMS.
pub fn call_deadline(received: Instant, reply_deadline: Duration) -> Instant {
    received + reply_deadline.saturating_sub(margin(reply_deadline))
}

/// Past here, whatever is still running, the citizen gets "try again".
pub fn hard_deadline(received: Instant, reply_deadline: Duration) -> Instant {
    received + reply_deadline.saturating_sub(margin(reply_deadline) / 2)
}

pub async fn run<S: Store>(core: &Arc<Core<S>>, t: Turn) {
    let span = tracing::info_span!(
        "ussd",
        operator = %t.operator,
        msisdn = %t.mo.who.masked(),
        flow = tracing::field::Empty,
    );
    async {
        let Some((op, _)) = core.operators.get(&*t.operator) else {
            return;
        };
        let op = op.clone();
        let timers = &op.ussd.profile.timers;
        let hard = hard_deadline(t.received, timers.reply_deadline);
        let calls = call_deadline(t.received, timers.reply_deadline);
        let work = answer(core, &op, &t.mo, calls);
        if Instant::now() >= hard {
            // Waited too long in the queue: answering now would be too late
            // for the flow's screen, but "try again" still reaches the phone.
            tracing::warn!(
                waited_ms = t.received.elapsed().as_millis() as u64,
                "turn queued past its reply deadline"
            );
        } else {
            match tokio::time::timeout_at(hard, work).await {
                Ok(Ok(reply)) => {
                    if let Some((text, end)) = reply {
                        send(core, &op, &t.operator, &t.mo, &text, end).await;
                        metrics::get().ussd_step(&t.operator, t.received.elapsed());
                    }
                    return;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "turn failed; asking the citizen to try again")
                }
                Err(_) => tracing::warn!("reply deadline reached; asking the citizen to try again"),
            }
        }
        let lang = language_of(core, &t.mo.who).await;
        let (text, end) = notice(core, lang, Notice::TryAgain);
        send(core, &op, &t.operator, &t.mo, &text, end).await;
        metrics::get().ussd_step(&t.operator, t.received.elapsed());
    }
    .instrument(span)
    .await
}

/// The subscriber's remembered language for a runtime notice, if it can
/// be read at once (an in-memory read in sled; bounded so a slow store
/// never delays the notice).
pub async fn language_of<S: Store>(core: &Core<S>, who: &crate::msisdn::Msisdn) -> Option<Lang> {
    let read = conversation::remembered_language(&*core.store, who);
    match tokio::time::timeout(Duration::from_millis(50), read).await {
        Ok(Ok(lang)) => lang,
        _ => None,
    }
}

fn notice<S: Store>(core: &Core<S>, lang: Option<Lang>, n: Notice) -> (String, bool) {
    (
        n.text(lang.unwrap_or_else(|| core.default_lang()))
            .to_string(),
        true,
    )
}

/// Submits one screen on the operator the MO came from.
pub async fn send<S: Store>(
    core: &Core<S>,
    op: &config::Operator,
    name: &str,
    mo: &Mo,
    text: &str,
    end: bool,
) {
    let Some((_, operator)) = core.operators.get(name) else {
        return;
    };
    let sm = ussd::reply(op, &mo.reply_to, text, end);
    let wait = op.ussd.profile.timers.reply_deadline;
    // The interactive lane: a screen goes before any queued MT (bulk).
    match tokio::time::timeout(wait, operator.submit_interactive(sm, wait)).await {
        Ok(SubmitResult::Accepted { .. }) => tracing::debug!(end, "screen sent"),
        Ok(other) => tracing::warn!(result = ?other, "screen not accepted by the SMSC"),
        Err(_) => tracing::warn!("screen not submitted within the reply deadline"),
    }
}

/// The screen for this MO (None: nothing to send, e.g. after an abort).
async fn answer<S: Store>(
    core: &Arc<Core<S>>,
    op: &Arc<config::Operator>,
    mo: &Mo,
    calls: Instant,
) -> Result<Option<(String, bool)>, Error> {
    let now = core.now_ms();
    // Over a limit: refused before the store is read (a flood stays cheap).
    if let Action::Begin { dial } = &mo.action {
        let code = limits::service_code(&op.ussd.service_codes, dial);
        if let Verdict::Refused { .. } = core.limits.ussd_session(&mo.who, code, now) {
            tracing::info!("new dialogue over [security.limits]; refused");
            let lang = language_of(core, &mo.who).await;
            return Ok(Some(notice(core, lang, Notice::TooMany)));
        }
    }
    let key = conversation::ussd_key(&op.name, &mo.who);
    let mut l = conversation::load(&*core.store, key, &mo.who, Bearer::Ussd, now).await?;
    let timers = &op.ussd.profile.timers;
    let lang = l.record.session.language;
    let input = match &mo.action {
        Action::Begin { dial } => {
            if core.draining.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(Some(notice(core, lang, Notice::Busy)));
            }
            if l.record.session.is_finished() || l.record.session.status == Status::New {
                l.record = conversation::restart(&l.record, Bearer::Ussd, None, now);
            }
            l.record.dialogue = Some(mo.dialogue);
            l.record.started_ms = now;
            Input::Dial { code: dial.clone() }
        }
        Action::Reply { text } => {
            if l.version.is_none() || l.record.dialogue != Some(mo.dialogue) {
                tracing::info!("reply to a dialogue we do not hold");
                return Ok(Some(notice(core, lang, Notice::TryAgain)));
            }
            let idle = now.saturating_sub(l.record.session.last_activity_ms);
            let age = now.saturating_sub(l.record.started_ms);
            if idle > super::millis(timers.user_idle) || age > super::millis(timers.session_max) {
                tracing::info!(idle_ms = idle, age_ms = age, "dialogue timed out");
                step_and_save(core, op, (&mut l, &mo.who), Input::Timeout, now).await?;
                return Ok(Some(notice(core, lang, Notice::TryAgain)));
            }
            Input::Reply { text: text.clone() }
        }
        Action::Abort => {
            if l.version.is_some() && l.record.dialogue == Some(mo.dialogue) {
                tracing::info!("dialogue aborted by the network");
                step_and_save(core, op, (&mut l, &mo.who), Input::Abort, now).await?;
            }
            return Ok(None);
        }
    };
    let lock = core.pin_lock(&mo.who, now);
    let mut engine = core.engine_for(&mo.who);
    engine.lockout = Some(&lock);
    match engine
        .drive(&mut l, input, core.clock.as_ref(), Some(calls))
        .await
    {
        Driven::Done(fx) => {
            record_flow(&l);
            if let Some(lang) = fx.language {
                conversation::remember_language(&*core.store, &mo.who, lang).await?;
            }
            let from = core.short_code_for(Some(&op.name), &mo.who);
            for text in &fx.sms {
                core.send_sms(Some(&op.name), &mo.who, &from, text).await?;
            }
            let lang = l.record.session.language;
            let screen = fx.screens.last().cloned();
            let ended = fx.ended || l.record.session.is_finished();
            conversation::save(&*core.store, &mut l, expiry(core, op, now)).await?;
            let idle_at = now + super::millis(timers.user_idle);
            core.active
                .note(&l.key, (&op.name, "ussd"), !ended, idle_at);
            Ok(Some(match screen {
                Some((text, end)) => (text, end || ended),
                None => notice(core, lang, Notice::TryAgain),
            }))
        }
        Driven::Late {
            effects,
            pending,
            call,
        } => {
            record_flow(&l);
            tracing::info!(correlation_id = %pending.correlation_id, "back-end slower than the turn's budget; answer follows by SMS");
            let lang = l.record.session.language;
            let from = core.short_code_for(Some(&op.name), &mo.who);
            for text in &effects.sms {
                core.send_sms(Some(&op.name), &mo.who, &from, text).await?;
            }
            followup::promise(core, &op.name, &mo.who, from, l, pending, call).await?;
            Ok(Some(notice(core, lang, Notice::WillSms)))
        }
    }
}

fn record_flow(l: &Loaded) {
    if let Some(f) = &l.record.session.flow {
        tracing::Span::current().record("flow", f.id.as_str());
    }
}

async fn step_and_save<S: Store>(
    core: &Arc<Core<S>>,
    op: &config::Operator,
    (l, who): (&mut Loaded, &crate::msisdn::Msisdn),
    input: Input,
    now: u64,
) -> Result<(), Error> {
    let _ = core
        .engine_for(who)
        .drive(l, input, core.clock.as_ref(), None)
        .await;
    conversation::save(&*core.store, l, expiry(core, op, now)).await?;
    core.active.note(&l.key, (&op.name, "ussd"), false, 0);
    Ok(())
}

/// USSD state is kept past the dialogue for resume offers and support.
fn expiry<S: Store>(core: &Core<S>, op: &config::Operator, now: u64) -> Timestamp {
    let keep = core
        .config
        .store
        .retention
        .sessions
        .max(op.ussd.profile.timers.user_idle);
    Timestamp(now).after(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_keeps_calls_inside_the_reply_deadline() {
        let ms = Duration::from_millis;
        assert_eq!(margin(Duration::from_secs(8)), ms(2000));
        assert_eq!(margin(Duration::from_secs(2)), ms(500));
        assert_eq!(margin(Duration::from_secs(1)), ms(250));
        assert_eq!(margin(Duration::from_secs(60)), ms(2000));
        let t0 = Instant::now();
        for rd in [1, 2, 8, 30] {
            let rd = Duration::from_secs(rd);
            let calls = call_deadline(t0, rd);
            let hard = hard_deadline(t0, rd);
            assert!(calls < hard && hard < t0 + rd, "{rd:?}");
        }
    }
}
