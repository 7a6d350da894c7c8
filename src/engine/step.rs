//! `step`: one input in, the next session state and effects out. Pure: the
//! clock is the `now_ms` argument and every effect is returned as data.
//!
//! Dispatch by input: a dial or keyword starts (or offers to resume) a
//! flow, a reply drives the current screen, a call answer resumes a
//! waiting session, a timeout or abort interrupts it.

use super::lang::Ui;
use super::model::{FlowSet, NodeKind};
use super::results;
use super::run::Run;
use super::session::{Bearer, Effect, Input, Outcome, Session, Status, StepContext};

/// Advances a session by one input (with the default `StepContext`).
pub fn step(
    flows: &FlowSet,
    session: Session,
    input: Input,
    now_ms: u64,
) -> (Session, Vec<Effect>) {
    step_with(flows, session, input, now_ms, &StepContext::default())
}

/// Advances a session by one input. Pure: the clock is `now_ms`.
pub fn step_with(
    flows: &FlowSet,
    session: Session,
    input: Input,
    now_ms: u64,
    ctx: &StepContext,
) -> (Session, Vec<Effect>) {
    let mut run = Run {
        flows,
        ctx,
        s: session,
        fx: Vec::new(),
        notice: None,
    };
    match input {
        Input::Dial { code } => dial(&mut run, &code, now_ms),
        Input::Keyword { text } => keyword(&mut run, &text),
        Input::Reply { text } => reply(&mut run, &text, now_ms),
        Input::CallDone {
            call_id,
            outcome,
            data,
        } => call_done(&mut run, call_id, outcome, &data),
        Input::Timeout | Input::Abort => dropped(&mut run),
    }
    run.s.last_activity_ms = now_ms;
    (run.s, run.fx)
}

/// True if a redial of `code` now should offer "Continue / Start over".
fn resumable(run: &Run, code: &str, now_ms: u64) -> bool {
    let live = matches!(
        run.s.status,
        Status::Active | Status::Calling { .. } | Status::Interrupted | Status::ResumeOffer
    );
    let Some(flow) = run.flow() else { return false };
    // The code of the flow the citizen is in, or of the one they started
    // from (`*123#` home menu, then `goto` into a service).
    let same = run
        .flows
        .by_service_code(code)
        .is_some_and(|(f, _)| f.id == flow.id || run.s.entry.as_deref() == Some(f.id.as_str()));
    live && same
        && flow.resume
        && run.s.bearer == Bearer::Ussd
        && now_ms.saturating_sub(run.s.last_activity_ms) <= run.ctx.resume_window_ms
}

fn dial(run: &mut Run, code: &str, now_ms: u64) {
    if resumable(run, code, now_ms) {
        // "Start over" starts the flow this redial names.
        run.s.entry = run.flows.by_service_code(code).map(|(f, _)| f.id.clone());
        run.s.status = Status::ResumeOffer;
        run.s.pending.clear();
        return run.show_resume(false);
    }
    match run.flows.by_service_code(code) {
        Some((flow, parts)) => {
            let index = run.flows.index_of(&flow.id).unwrap_or(usize::MAX);
            run.start(index, parts, None);
        }
        None => run.end_with(Ui::Unavailable),
    }
}

fn keyword(run: &mut Run, text: &str) {
    match run.flows.by_keyword(text) {
        Some((flow, rest)) => {
            let index = run.flows.index_of(&flow.id).unwrap_or(usize::MAX);
            run.start(index, Vec::new(), (!rest.is_empty()).then_some(rest));
        }
        None => run.end_with(Ui::Unavailable),
    }
}

fn reply(run: &mut Run, text: &str, now_ms: u64) {
    match run.s.status {
        Status::New | Status::Finished if run.s.bearer == Bearer::Sms => keyword(run, text),
        Status::New | Status::Finished => run.end_with(Ui::Unavailable),
        Status::Calling { .. } => {}
        Status::ResumeOffer => resume_choice(run, text),
        Status::Active | Status::Interrupted => {
            let idle = now_ms.saturating_sub(run.s.last_activity_ms);
            if run.s.bearer == Bearer::Sms && idle > run.ctx.sms_idle_ms {
                if run.flows.by_keyword(text).is_some() {
                    return keyword(run, text);
                }
                return run.end_with(Ui::Expired);
            }
            // An SMS keyword sent mid-conversation (not as an answer to a
            // question) starts that service again.
            let at_input = run
                .flow()
                .and_then(|f| f.node(run.s.at.node))
                .is_some_and(|n| matches!(n.kind, NodeKind::Input { .. }));
            if run.s.bearer == Bearer::Sms && !at_input && run.flows.by_keyword(text).is_some() {
                return keyword(run, text);
            }
            run.s.status = Status::Active;
            run.reply(text);
            run.settle();
        }
    }
}

fn resume_choice(run: &mut Run, text: &str) {
    let Some(flow) = run.flow() else {
        return run.end_with(Ui::Unavailable);
    };
    match super::normalize::input(text).as_str() {
        "1" => {
            run.s.status = Status::Active;
            let waiting = flow.node(run.s.at.node).is_some_and(|n| n.is_interactive());
            if !waiting {
                // Dropped during a call: its answer is gone; go back to the
                // last screen the citizen saw rather than repeat the call.
                match run.s.history.pop() {
                    Some(f) => run.s.at = f,
                    None => run.enter(flow.start),
                }
            }
            run.settle();
        }
        "2" => {
            let id = run.s.entry.as_deref().unwrap_or(&flow.id);
            let index = run.flows.index_of(id).unwrap_or(usize::MAX);
            run.start(index, Vec::new(), None);
        }
        _ => run.show_resume(true),
    }
}

fn call_done(run: &mut Run, call_id: u64, outcome: Outcome, data: &serde_json::Value) {
    if run.s.status != (Status::Calling { call_id }) {
        return; // A late or duplicate answer: nothing waits for it.
    }
    let Some(flow) = run.flow() else {
        return run.end_with(Ui::Unavailable);
    };
    let Some(NodeKind::Call {
        results: names, on, ..
    }) = flow.node(run.s.at.node).map(|n| &n.kind)
    else {
        return run.end_with(Ui::Unavailable);
    };
    results::apply(names, &flow.vars, data, &mut run.s.vars);
    run.enter(on[outcome.index()]);
    run.settle();
}

fn dropped(run: &mut Run) {
    run.s.secrets.clear();
    run.s.pending.clear();
    run.s.prefill = None;
    let live = matches!(
        run.s.status,
        Status::Active | Status::Calling { .. } | Status::ResumeOffer
    );
    match run.flow() {
        Some(f) if live && f.resume => run.s.status = Status::Interrupted,
        _ if run.s.status == Status::Finished || run.s.status == Status::New => {}
        _ => {
            run.finish();
            run.fx.push(Effect::End);
        }
    }
}
