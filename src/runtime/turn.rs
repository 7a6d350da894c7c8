//! Drives the engine through one input: step, run back-end calls (feeding
//! their answers back as `Input::CallDone`), collect what the bearer must
//! deliver. With a deadline (USSD), a call still running when it passes is
//! handed back still running ([`Driven::Late`]) so it can become an SMS
//! follow-up; without one (SMS, follow-ups) calls run to their end.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::calls::{CallGate, Pending};
use super::clock::Clock;
use super::conversation::Loaded;
pub use super::lockout::Lockout;
use crate::backend::CallResult;
use crate::engine::model::NodeKind;
use crate::engine::{step_with, Effect, FlowSet, Input, Lang, Session, Status, StepContext, LANG};
use crate::metrics::{self, NodeEvent};

/// What the engine asked the bearer to deliver, in order.
#[derive(Debug, Default)]
pub struct Effects {
    /// Screens (`text`, `end`). USSD shows the last; SMS sends each.
    pub screens: Vec<(String, bool)>,
    /// `sms` effects: always through the outbox.
    pub sms: Vec<String>,
    /// A language to remember for the subscriber.
    pub language: Option<Lang>,
    /// The engine ended the conversation.
    pub ended: bool,
}

pub enum Driven {
    Done(Effects),
    /// The deadline passed during `pending`, which is still running.
    Late {
        effects: Effects,
        pending: Pending,
        call: BoxFuture<'static, CallResult>,
    },
}

/// The engine and what it needs, shared by every conversation.
pub struct Engine<'a> {
    pub flows: Arc<FlowSet>,
    pub ctx: &'a StepContext,
    pub gate: &'a CallGate,
    /// The subscriber's PIN lockout, consulted before a call that checks a
    /// secret and told its outcome (`None`: not counted, e.g. unit tests).
    pub lockout: Option<&'a dyn Lockout>,
}

impl Engine<'_> {
    /// One step, with calls run in place (at most `MAX_CALLS` per turn so a
    /// looping flow cannot hold a worker forever).
    pub async fn drive(
        &self,
        loaded: &mut Loaded,
        input: Input,
        clock: &dyn Clock,
        deadline: Option<Instant>,
    ) -> Driven {
        const MAX_CALLS: usize = 8;
        let mut fx = Effects::default();
        let mut input = input;
        for _ in 0..=MAX_CALLS {
            let Some(pending) = self.step(loaded, input, clock.now_ms(), &mut fx) else {
                return Driven::Done(fx);
            };
            let lockout = self.lockout.filter(|_| pending.check.is_some());
            if let Some(lock) = lockout {
                if lock.locked().await {
                    tracing::info!("secret check not sent: the subscriber is locked out");
                    locked_out(loaded, &mut fx);
                    return Driven::Done(fx);
                }
            }
            let mut call = self.gate.start(&pending);
            let result = match deadline {
                None => call.await,
                Some(d) => tokio::select! {
                    r = &mut call => r,
                    _ = tokio::time::sleep_until(d) => {
                        return Driven::Late { effects: fx, pending, call };
                    }
                },
            };
            if let (Some(lock), Some(check)) = (lockout, &pending.check) {
                lock.record(check.is_wrong(result.outcome)).await;
            }
            input = Input::CallDone {
                call_id: pending.call_id,
                outcome: result.outcome,
                data: result.data,
            };
        }
        tracing::warn!("flow made too many back-end calls in one turn");
        fx.ended = true;
        Driven::Done(fx)
    }

    /// Steps once; returns the call the engine asked for, if any.
    fn step(
        &self,
        loaded: &mut Loaded,
        input: Input,
        now: u64,
        fx: &mut Effects,
    ) -> Option<Pending> {
        let session = std::mem::replace(
            &mut loaded.record.session,
            Session::new(crate::engine::Bearer::Sms, None),
        );
        let before = waiting_at(&self.flows, &session);
        let ended_by = match &input {
            Input::Abort => Some(NodeEvent::Dropped),
            Input::Timeout => Some(NodeEvent::TimedOut),
            _ => None,
        };
        let (session, effects) = step_with(&self.flows, session, input, now, self.ctx);
        funnel(before, waiting_at(&self.flows, &session), ended_by);
        let secret_params = uses_secret(&self.flows, &session);
        loaded.record.session = session;
        let mut call = None;
        for e in effects {
            match e {
                Effect::Show { text, end } => {
                    fx.ended |= end;
                    fx.screens.push((text, end));
                }
                Effect::SendSms { text } => fx.sms.push(text),
                Effect::SetLanguage { lang } => fx.language = Some(lang),
                Effect::End => fx.ended = true,
                Effect::Call {
                    call_id,
                    backend,
                    operation,
                    params,
                    check,
                } => {
                    let mut p = self.gate.pending(
                        &loaded.key,
                        loaded.record.started_ms,
                        call_id,
                        backend,
                        operation,
                        params,
                    );
                    // Parameters may carry a secret (a PIN): they are kept in
                    // memory for this call only, never written to a follow-up.
                    p.redact = secret_params;
                    p.check = check;
                    call = Some(p);
                }
            }
        }
        call
    }
}

/// Ends the session with the lockout notice, its secrets wiped.
fn locked_out(loaded: &mut Loaded, fx: &mut Effects) {
    let s = &mut loaded.record.session;
    s.status = Status::Finished;
    s.vars.clear();
    s.secrets.clear();
    s.history.clear();
    s.pending.clear();
    s.prefill = None;
    let lang = s.language.unwrap_or(Lang::Ar);
    fx.screens
        .push((super::Notice::Locked.text(lang).to_string(), true));
    fx.ended = true;
}

/// The (flow, node) whose screen the session waits on an answer to.
fn waiting_at<'f>(flows: &'f FlowSet, s: &Session) -> Option<(&'f str, &'f str)> {
    if s.status != Status::Active {
        return None;
    }
    let r = s.flow.as_ref()?;
    let flow = flows.pinned(&r.id, r.version)?;
    let node = flow.node(s.at.node)?;
    Some((flow.id.as_str(), node.name.as_str()))
}

fn funnel(before: Option<(&str, &str)>, after: Option<(&str, &str)>, ended_by: Option<NodeEvent>) {
    if before == after {
        return;
    }
    let m = metrics::get();
    if let Some((flow, node)) = before {
        m.node(flow, node, ended_by.unwrap_or(NodeEvent::Completed));
    }
    if let Some((flow, node)) = after {
        m.node(flow, node, NodeEvent::Entered);
    }
}

fn uses_secret(flows: &FlowSet, s: &Session) -> bool {
    let Some(flow) = s.flow.as_ref().and_then(|r| flows.pinned(&r.id, r.version)) else {
        return true;
    };
    match flow.node(s.at.node).map(|n| &n.kind) {
        Some(NodeKind::Call { params, .. }) => params
            .iter()
            .flat_map(|(_, t)| t.variables())
            .any(|(name, _)| name != LANG && !s.vars.contains_key(&name)),
        _ => true,
    }
}
