//! Demo scripts: a conversation played on a phone without a human, its
//! screens printed, with checks. The phone lines are the terminal phone's
//! (`bawaba_sim::terminal`); `?` lines are ours.
//!
//! ```text
//! # a comment (hash, space); blank lines are skipped
//! *123#                 dial (when no USSD dialogue is open)
//! 5                     any other line while a dialogue is open: the reply
//! ? Government          check: the last answer contains this text
//! sms 2150 PDS 12345678 send an SMS to a short code (waits until the SMSC has it)
//! wait-sms              wait for the next SMS to this phone (or take one that came already)
//! abort                 hang up the open dialogue
//! quit                  stop here
//! ```
//!
//! The "last answer" is the screen of the last dial or reply (its framed
//! text, then `[reply]` or `[session ended]`), or the SMS `wait-sms` took.
//! `? [session ended]` checks that the dialogue ended.

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use bawaba_sim::control::{Event, Request};
use bawaba_sim::link::PhoneLink;
use bawaba_sim::terminal::{parse_command, render, Command};

/// Why a script stopped early; `line` is 1-based.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("line {line}: expected {expected:?} in the last answer:\n{last}")]
    Expectation {
        line: usize,
        expected: String,
        last: String,
    },
    #[error("line {line}: timed out after {after:?} waiting for {what}")]
    Timeout {
        line: usize,
        after: Duration,
        what: &'static str,
    },
    #[error("line {line}: {message}")]
    Failed { line: usize, message: String },
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// One script line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Expect(String),
    Phone(Command),
}

fn parse(raw: &str, open: bool) -> Step {
    let t = raw.trim();
    match t.strip_prefix('?') {
        Some(rest) if rest.is_empty() || rest.starts_with(' ') => Step::Expect(rest.trim().into()),
        _ => Step::Phone(parse_command(t, open)),
    }
}

/// What the player waits for after a request.
#[derive(Clone, Copy)]
enum Awaited {
    Screen,
    SmsSent,
    Aborted,
    Sms,
}

impl Awaited {
    fn what(self) -> &'static str {
        match self {
            Awaited::Screen => "a screen",
            Awaited::SmsSent => "the SMSC to take the SMS",
            Awaited::Aborted => "the abort",
            Awaited::Sms => "an SMS",
        }
    }
    fn is(self, e: &Event) -> bool {
        matches!(
            (self, e),
            (Awaited::Screen, Event::Screen { .. })
                | (Awaited::SmsSent, Event::SmsSent { .. })
                | (Awaited::Aborted, Event::Aborted)
                | (Awaited::Sms, Event::SmsReceived { .. })
        )
    }
}

/// Plays `script` on `link`, echoing each line as `> line` and printing
/// every event to `out`. Stops at the first failed check, error event or
/// timeout (`step_timeout` per line).
pub async fn play<L: PhoneLink>(
    link: &mut L,
    script: &str,
    out: &mut impl Write,
    step_timeout: Duration,
) -> Result<(), ScriptError> {
    let mut player = Player {
        open: false,
        last: String::new(),
        inbox: VecDeque::new(),
    };
    for (i, raw) in script.lines().enumerate() {
        let line = i + 1;
        let cmd = match parse(raw, player.open) {
            Step::Expect(expected) => {
                player.check(line, expected)?;
                continue;
            }
            Step::Phone(cmd) => cmd,
        };
        let (awaited, request) = match cmd {
            Command::Skip => continue,
            Command::Quit => return Ok(()),
            Command::Unknown(hint) => {
                return Err(ScriptError::Failed {
                    line,
                    message: hint,
                })
            }
            Command::Dial(code) => (Awaited::Screen, Some(Request::Dial { code })),
            Command::Reply(text) => (Awaited::Screen, Some(Request::Reply { text })),
            Command::Sms { to, text } => (Awaited::SmsSent, Some(Request::SmsSend { to, text })),
            Command::Abort => (Awaited::Aborted, Some(Request::Abort)),
            Command::WaitSms => (Awaited::Sms, None),
        };
        writeln!(out, "> {}", raw.trim())?;
        if let Some(request) = request {
            link.send(request).await.map_err(|e| ScriptError::Failed {
                line,
                message: e.to_string(),
            })?;
        } else if let Some(sms) = player.inbox.pop_front() {
            player.last = sms;
            continue;
        }
        let wait = player.wait(link, out, line, awaited);
        tokio::time::timeout(step_timeout, wait)
            .await
            .map_err(|_| ScriptError::Timeout {
                line,
                after: step_timeout,
                what: awaited.what(),
            })??;
    }
    Ok(())
}

struct Player {
    /// A USSD dialogue is open (a line is a reply, not a dial).
    open: bool,
    /// The awaited answer, rendered.
    last: String,
    /// SMS that arrived while something else was awaited, for `wait-sms`.
    inbox: VecDeque<String>,
}

impl Player {
    fn check(&self, line: usize, expected: String) -> Result<(), ScriptError> {
        if self.last.contains(&expected) {
            return Ok(());
        }
        Err(ScriptError::Expectation {
            line,
            expected,
            last: self.last.clone(),
        })
    }

    async fn wait<L: PhoneLink>(
        &mut self,
        link: &mut L,
        out: &mut impl Write,
        line: usize,
        awaited: Awaited,
    ) -> Result<(), ScriptError> {
        loop {
            let event = link.next_event().await.map_err(|e| ScriptError::Failed {
                line,
                message: e.to_string(),
            })?;
            let mut shown = Vec::new();
            render(&mut shown, &event)?;
            out.write_all(&shown)?;
            let shown = String::from_utf8_lossy(&shown).into_owned();
            match &event {
                Event::Screen { end, .. } => self.open = !end,
                Event::Aborted => self.open = false,
                Event::Error { message, .. } => {
                    return Err(ScriptError::Failed {
                        line,
                        message: message.clone(),
                    })
                }
                _ => {}
            }
            if awaited.is(&event) {
                self.last = shown;
                return Ok(());
            }
            if let Event::SmsReceived { .. } = event {
                self.inbox.push_back(shown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bawaba_sim::link::LinkError;

    /// Answers each request with the next canned events.
    struct Canned {
        answers: VecDeque<Vec<Event>>,
        pending: VecDeque<Event>,
        sent: Vec<Request>,
    }

    impl PhoneLink for Canned {
        async fn send(&mut self, req: Request) -> Result<(), LinkError> {
            self.sent.push(req);
            let next = self.answers.pop_front().unwrap_or_default();
            self.pending.extend(next);
            Ok(())
        }
        async fn next_event(&mut self) -> Result<Event, LinkError> {
            match self.pending.pop_front() {
                Some(e) => Ok(e),
                None => std::future::pending().await,
            }
        }
    }

    fn screen(text: &str, end: bool) -> Event {
        Event::Screen {
            text: text.into(),
            end,
        }
    }

    fn canned(answers: Vec<Vec<Event>>) -> Canned {
        Canned {
            answers: answers.into(),
            pending: VecDeque::new(),
            sent: Vec::new(),
        }
    }

    async fn run(link: &mut Canned, script: &str) -> (Result<(), ScriptError>, String) {
        let mut out = Vec::new();
        let r = play(link, script, &mut out, Duration::from_millis(200)).await;
        (r, String::from_utf8(out).unwrap())
    }

    #[tokio::test]
    async fn a_dialogue_with_checks_and_an_early_sms() {
        let mut link = canned(vec![
            vec![screen("Menu\n1. Bill", false)],
            vec![
                Event::SmsReceived {
                    from: "2150".into(),
                    text: "receipt 55,000".into(),
                },
                screen("Amount due", true),
            ],
        ]);
        let script =
            "# bill\n*123#\n? 1. Bill\n? [reply]\n1\n? [session ended]\nwait-sms\n? 55,000\n";
        let (r, out) = run(&mut link, script).await;
        r.unwrap();
        assert!(out.contains("> *123#\n"), "{out}");
        assert!(out.contains("[sms from 2150] receipt 55,000"), "{out}");
        assert_eq!(
            link.sent,
            vec![
                Request::Dial {
                    code: "*123#".into()
                },
                Request::Reply { text: "1".into() }
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_check_names_its_line() {
        let mut link = canned(vec![vec![screen("Menu", false)]]);
        let (r, _) = run(&mut link, "*123#\n\n? Balance\n").await;
        match r {
            Err(ScriptError::Expectation { line, expected, .. }) => {
                assert_eq!((line, expected.as_str()), (3, "Balance"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn silence_is_a_timeout_and_an_error_event_fails() {
        let mut link = canned(vec![]);
        let (r, _) = run(&mut link, "*123#\n").await;
        assert!(
            matches!(r, Err(ScriptError::Timeout { line: 1, .. })),
            "{r:?}"
        );
        let mut link = canned(vec![vec![Event::error("no bind", Some("dial"))]]);
        let (r, _) = run(&mut link, "*123#\n").await;
        assert!(
            matches!(r, Err(ScriptError::Failed { line: 1, .. })),
            "{r:?}"
        );
    }

    #[test]
    fn question_lines_are_checks_even_in_a_dialogue() {
        assert_eq!(parse("? x y", true), Step::Expect("x y".into()));
        assert_eq!(parse("?", true), Step::Expect(String::new()));
        assert_eq!(parse("?5", true), Step::Phone(Command::Reply("?5".into())));
        assert_eq!(parse("1", true), Step::Phone(Command::Reply("1".into())));
    }
}
