//! Plays transcript conversations against compiled flows through the real
//! interpreter (`engine::step_with`), answering calls from the canned queue.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use super::{CannedAnswer, Check, Conversation, Event, StepKind, Transcript};
use crate::engine::lang::Lang;
use crate::engine::session::{Bearer, Effect, Input, Session, Status, StepContext};
use crate::engine::{step_with, FlowSet};

/// Clock at the start of every conversation, and its tick per input.
const START_MS: u64 = 1_000_000;
const TICK_MS: u64 = 1_000;

/// One line of a transcript that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub line: usize,
    pub conversation: String,
    pub message: String,
    pub expected: String,
    pub actual: String,
}

/// `LINE: [conversation] message` and the expected and actual text below;
/// a caller prefixes the file path.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: [{}] {}", self.line, self.conversation, self.message)?;
        for (label, text) in [("expected", &self.expected), ("actual", &self.actual)] {
            writeln!(f, "  {label}:")?;
            for l in text.split('\n') {
                writeln!(f, "    | {l}")?;
            }
        }
        Ok(())
    }
}

/// The outcome of a whole transcript file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<Failure>,
}

/// Run every conversation of a transcript.
pub fn run(flows: &FlowSet, transcript: &Transcript, ctx: &StepContext) -> Report {
    let mut report = Report::default();
    for conv in &transcript.conversations {
        let failures = run_conversation(flows, conv, ctx);
        if failures.is_empty() {
            report.passed += 1;
        } else {
            report.failed += 1;
            report.failures.extend(failures);
        }
    }
    report
}

/// Run one conversation on a fresh session; every failing line is returned.
pub fn run_conversation(flows: &FlowSet, conv: &Conversation, ctx: &StepContext) -> Vec<Failure> {
    let mut player = Player {
        flows,
        ctx,
        conv,
        session: Some(Session::new(conv.bearer, conv.lang)),
        now_ms: START_MS,
        answers: VecDeque::new(),
        screen: None,
        ended: false,
        sms: Vec::new(),
        language: None,
        last_call: None,
        failures: Vec::new(),
    };
    for step in &conv.steps {
        let going = match &step.kind {
            StepKind::Answer(a) => {
                player.answers.push_back((step.line, a.clone()));
                true
            }
            StepKind::Send(text) => player.send(step.line, text),
            StepKind::Event(e) => player.event(step.line, e),
            StepKind::Expect(lines) => {
                player.expect(step.line, lines);
                true
            }
            StepKind::Check(c) => {
                player.check(step.line, c);
                true
            }
        };
        if !going {
            return player.failures;
        }
    }
    for (line, a) in std::mem::take(&mut player.answers) {
        player.fail(
            line,
            "canned answer never used",
            format!("a call to {}.{}", a.backend, a.operation),
            "no such call",
        );
    }
    player.failures
}

type Call = (String, String, BTreeMap<String, String>);

struct Player<'a> {
    flows: &'a FlowSet,
    ctx: &'a StepContext,
    conv: &'a Conversation,
    /// `None` only while a step is running.
    session: Option<Session>,
    now_ms: u64,
    answers: VecDeque<(usize, CannedAnswer)>,
    /// The last screen shown since the previous input or event.
    screen: Option<String>,
    ended: bool,
    sms: Vec<String>,
    language: Option<Lang>,
    last_call: Option<Call>,
    failures: Vec<Failure>,
}

impl Player<'_> {
    fn fail(
        &mut self,
        line: usize,
        message: &str,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        self.failures.push(Failure {
            line,
            conversation: self.conv.name.clone(),
            message: message.to_string(),
            expected: expected.into(),
            actual: actual.into(),
        });
    }

    fn status(&self) -> Status {
        self.session.as_ref().map_or(Status::Finished, |s| s.status)
    }

    fn send(&mut self, line: usize, text: &str) -> bool {
        let text = text.to_string();
        let input = match (self.status(), self.conv.bearer) {
            // A USSD dialogue that dropped can only come back by a new dial;
            // an SMS conversation just goes on with the next message.
            (Status::New | Status::Finished | Status::Interrupted, Bearer::Ussd) => {
                Input::Dial { code: text }
            }
            (Status::New | Status::Finished, Bearer::Sms) => Input::Keyword { text },
            _ => Input::Reply { text },
        };
        self.feed(line, input)
    }

    fn event(&mut self, line: usize, event: &Event) -> bool {
        match event {
            Event::Timeout => self.feed(line, Input::Timeout),
            Event::Abort => self.feed(line, Input::Abort),
            Event::Wait(secs) => {
                self.now_ms = self.now_ms.saturating_add(secs.saturating_mul(1000));
                true
            }
        }
    }

    /// Step with `input`, then answer calls from the queue until the engine
    /// waits for the citizen. `false` stops the conversation.
    fn feed(&mut self, line: usize, input: Input) -> bool {
        self.screen = None;
        self.ended = false;
        self.sms.clear();
        let mut next = Some(input);
        while let Some(input) = next.take() {
            self.now_ms += TICK_MS;
            let Some(session) = self.session.take() else {
                return false;
            };
            let (session, effects) = step_with(self.flows, session, input, self.now_ms, self.ctx);
            self.ended |= session.is_finished();
            self.session = Some(session);
            for effect in effects {
                match effect {
                    Effect::Show { text, end } => {
                        self.screen = Some(text);
                        self.ended |= end;
                    }
                    Effect::End => self.ended = true,
                    Effect::SendSms { text } => self.sms.push(text),
                    Effect::SetLanguage { lang } => self.language = Some(lang),
                    Effect::Call {
                        call_id,
                        backend,
                        operation,
                        params,
                        ..
                    } => {
                        let Some(answer) = self.answer(line, &backend, &operation) else {
                            return false;
                        };
                        self.last_call = Some((backend, operation, params));
                        next = Some(Input::CallDone {
                            call_id,
                            outcome: answer.outcome,
                            data: answer.data,
                        });
                    }
                }
            }
        }
        true
    }

    fn answer(&mut self, line: usize, backend: &str, operation: &str) -> Option<CannedAnswer> {
        let called = format!("{backend}.{operation}");
        match self.answers.pop_front() {
            None => {
                self.fail(
                    line,
                    "call with no canned answer (add a `=` line before this input)",
                    "an `=` answer",
                    called,
                );
                None
            }
            Some((_, a)) if a.backend == backend && a.operation == operation => Some(a),
            Some((answer_line, a)) => {
                self.fail(
                    answer_line,
                    "canned answer is for another call",
                    format!("{}.{}", a.backend, a.operation),
                    called,
                );
                None
            }
        }
    }

    fn expect(&mut self, line: usize, lines: &[String]) {
        let expected = lines.join("\n");
        let Some(actual) = self.screen.clone() else {
            self.fail(line, "no screen was shown", expected, "(nothing)");
            return;
        };
        if actual == expected {
            return;
        }
        let actual_lines: Vec<&str> = actual.split('\n').collect();
        let first_diff = lines
            .iter()
            .zip(&actual_lines)
            .position(|(e, a)| e != a)
            .unwrap_or(lines.len().min(actual_lines.len()));
        let at = line + first_diff.min(lines.len().saturating_sub(1));
        self.fail(at, "screen differs", expected, actual);
    }

    fn check(&mut self, line: usize, check: &Check) {
        match check {
            Check::End if !self.ended => {
                self.fail(line, "session should have ended", "end", "continue")
            }
            Check::Continue if self.ended => {
                self.fail(line, "session should go on", "continue", "end")
            }
            Check::Sms(text) if !self.sms.contains(text) => {
                let actual = if self.sms.is_empty() {
                    "(no SMS)".to_string()
                } else {
                    self.sms.join("\n---\n")
                };
                self.fail(line, "SMS not queued", text.clone(), actual);
            }
            Check::NoSms if !self.sms.is_empty() => {
                self.fail(line, "unexpected SMS", "(no SMS)", self.sms.join("\n---\n"))
            }
            Check::Language(lang) if self.language != Some(*lang) => {
                let actual = self
                    .language
                    .map_or("(none)".to_string(), |l| l.to_string());
                self.fail(line, "language not remembered", lang.to_string(), actual);
            }
            Check::Call {
                backend,
                operation,
                params,
            } => self.check_call(line, backend, operation, params),
            _ => {}
        }
    }

    fn check_call(
        &mut self,
        line: usize,
        backend: &str,
        operation: &str,
        params: &[(String, String)],
    ) {
        let expected = {
            let kv: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{backend}.{operation} {}", kv.join(" "))
                .trim_end()
                .to_string()
        };
        let Some((b, o, p)) = self.last_call.clone() else {
            self.fail(line, "no call was made", expected, "(no call)");
            return;
        };
        let matches =
            b == backend && o == operation && params.iter().all(|(k, v)| p.get(k) == Some(v));
        if !matches {
            let kv: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.fail(
                line,
                "call differs",
                expected,
                format!("{b}.{o} {}", kv.join(" ")).trim_end().to_string(),
            );
        }
    }
}
