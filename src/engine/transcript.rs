//! Transcript tests: golden USSD/SMS conversations (`flows/<id>.test`)
//! played against compiled flows with canned back-end answers.
//!
//! ```text
//! ## happy path in English          a conversation starts with "## name"
//! @lang en                          settings: @lang ar|ckb|en, @bearer ussd|sms
//! = pds.balance ok {"holder": "Ali"}  canned answer for the next call (JSON optional)
//! > *123*1#                         citizen input (Dial/Keyword to start, then Reply)
//! < Ration card                     expected screen, one line each
//! ! end                             assertions and events (see [`Check`] and [`Event`])
//! # a comment
//! ```
//!
//! Pure: this module parses text and drives `engine::step`; reading files is
//! the CLI's business. Nothing here panics on a malformed file; every
//! problem is reported with its line.

mod run;

use super::lang::Lang;
use super::session::{Bearer, Outcome};

pub use run::{run, run_conversation, Failure, Report};

/// A parsed `.test` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    pub conversations: Vec<Conversation>,
}

/// One conversation: a fresh session, then its steps in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    pub name: String,
    /// Line of the `## name` header.
    pub line: usize,
    pub lang: Option<Lang>,
    pub bearer: Bearer,
    pub steps: Vec<Step>,
}

/// One step and the line it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub line: usize,
    pub kind: StepKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// `= backend.op outcome {json}`: answer the next call with this.
    Answer(CannedAnswer),
    /// `> text`: the citizen sends this.
    Send(String),
    /// `< line...`: consecutive lines, the screen expected after the last event.
    Expect(Vec<String>),
    /// `! end`, `! sms ...`: something to check.
    Check(Check),
    /// `! timeout`, `! abort`, `! wait N`: something that happens.
    Event(Event),
}

/// A canned back-end answer.
#[derive(Clone, Debug, PartialEq)]
pub struct CannedAnswer {
    pub backend: String,
    pub operation: String,
    pub outcome: Outcome,
    pub data: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// `! end`: the last screen closed the session.
    End,
    /// `! continue`: the last screen waits for a reply.
    Continue,
    /// `! sms TEXT`: an SMS with this text (`\n` for a line break) was queued
    /// since the previous input or event.
    Sms(String),
    /// `! no sms`: no SMS was queued since the previous input or event.
    NoSms,
    /// `! language ar`: the citizen's language choice was remembered.
    Language(Lang),
    /// `! call backend.op [key=value ...]`: the last call's back-end,
    /// operation and (some of its) parameters.
    Call {
        backend: String,
        operation: String,
        params: Vec<(String, String)>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `! timeout`: the idle or operator timer expired.
    Timeout,
    /// `! abort`: the network dropped the session.
    Abort,
    /// `! wait SECONDS`: the clock moves on.
    Wait(u64),
}

/// A problem in the `.test` file itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl Transcript {
    /// Parse a transcript; every problem is reported, each with its line.
    pub fn parse(text: &str) -> Result<Transcript, Vec<ParseError>> {
        let mut conversations: Vec<Conversation> = Vec::new();
        let mut errors = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let err = |message: String| ParseError { line, message };
            if let Some(name) = raw.strip_prefix("##") {
                conversations.push(Conversation {
                    name: name.trim().to_string(),
                    line,
                    lang: None,
                    bearer: Bearer::Ussd,
                    steps: Vec::new(),
                });
                continue;
            }
            if raw.trim().is_empty() || raw.starts_with('#') {
                continue;
            }
            let Some(conv) = conversations.last_mut() else {
                errors.push(err("expected a `## name` line before the first step".into()));
                continue;
            };
            if let Err(message) = parse_line(conv, raw, line) {
                errors.push(err(message));
            }
        }
        if errors.is_empty() {
            Ok(Transcript { conversations })
        } else {
            Err(errors)
        }
    }
}

/// The text after a one-character marker: `> 1` and `>1` both give "1".
fn payload(raw: &str) -> &str {
    let rest = &raw[1..];
    rest.strip_prefix(' ').unwrap_or(rest)
}

fn parse_line(conv: &mut Conversation, raw: &str, line: usize) -> Result<(), String> {
    let marker = raw.chars().next().unwrap_or(' ');
    let kind = match marker {
        '@' => return parse_setting(conv, payload(raw)),
        '=' => StepKind::Answer(parse_answer(payload(raw))?),
        '>' => StepKind::Send(payload(raw).to_string()),
        '<' => {
            let text = payload(raw).to_string();
            if let Some(Step {
                kind: StepKind::Expect(lines),
                ..
            }) = conv.steps.last_mut()
            {
                lines.push(text);
                return Ok(());
            }
            StepKind::Expect(vec![text])
        }
        '!' => parse_bang(payload(raw).trim())?,
        _ => {
            return Err(format!(
                "unknown line `{}` (lines start with ## @ = > < ! or #)",
                clip(raw)
            ))
        }
    };
    let started = conv
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Send(_)));
    if matches!(kind, StepKind::Expect(_)) && !started {
        return Err("`<` before any `>` input".into());
    }
    conv.steps.push(Step { line, kind });
    Ok(())
}

fn parse_setting(conv: &mut Conversation, text: &str) -> Result<(), String> {
    if !conv.steps.is_empty() {
        return Err("settings (@) must come before the conversation's first step".into());
    }
    let (key, value) = text
        .split_once(' ')
        .map(|(k, v)| (k, v.trim()))
        .unwrap_or((text, ""));
    match key {
        "lang" => conv.lang = Some(value.parse::<Lang>()?),
        "bearer" => {
            conv.bearer = match value {
                "ussd" => Bearer::Ussd,
                "sms" => Bearer::Sms,
                _ => return Err(format!("unknown bearer `{value}` (expected ussd or sms)")),
            }
        }
        _ => {
            return Err(format!(
                "unknown setting `@{key}` (expected @lang or @bearer)"
            ))
        }
    }
    Ok(())
}

fn parse_outcome(s: &str) -> Result<Outcome, String> {
    Outcome::ALL
        .into_iter()
        .find(|o| o.key() == s)
        .ok_or_else(|| format!("unknown outcome `{s}` (expected ok, not_found, failed or timeout)"))
}

fn parse_target(s: &str) -> Result<(String, String), String> {
    match s.split_once('.') {
        Some((b, o)) if !b.is_empty() && !o.is_empty() => Ok((b.to_string(), o.to_string())),
        _ => Err(format!("expected backend.operation, found `{}`", clip(s))),
    }
}

fn parse_answer(text: &str) -> Result<CannedAnswer, String> {
    let mut words = text.splitn(3, ' ');
    let (backend, operation) = parse_target(words.next().unwrap_or(""))?;
    let outcome = parse_outcome(words.next().unwrap_or("").trim())?;
    let json = words.next().unwrap_or("").trim();
    let data = if json.is_empty() {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_str(json).map_err(|e| format!("bad JSON in canned answer: {e}"))?
    };
    Ok(CannedAnswer {
        backend,
        operation,
        outcome,
        data,
    })
}

fn parse_bang(text: &str) -> Result<StepKind, String> {
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    Ok(match (word, rest.trim()) {
        ("end", "") => StepKind::Check(Check::End),
        ("continue", "") => StepKind::Check(Check::Continue),
        ("timeout", "") => StepKind::Event(Event::Timeout),
        ("abort", "") => StepKind::Event(Event::Abort),
        ("no", "sms") => StepKind::Check(Check::NoSms),
        ("sms", _) => StepKind::Check(Check::Sms(rest.replace("\\n", "\n"))),
        ("language", lang) => StepKind::Check(Check::Language(lang.parse::<Lang>()?)),
        ("wait", secs) => StepKind::Event(Event::Wait(
            secs.trim_end_matches('s').parse().map_err(|_| format!("`! wait` takes seconds, found `{}`", clip(secs)))?,
        )),
        ("call", spec) => {
            let mut words = spec.split_whitespace();
            let (backend, operation) = parse_target(words.next().unwrap_or(""))?;
            let params = words
                .map(|w| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect::<Option<Vec<_>>>()
                .ok_or("`! call` parameters are key=value")?;
            StepKind::Check(Check::Call { backend, operation, params })
        }
        _ => {
            return Err(format!(
                "unknown `! {}` (expected end, continue, sms, no sms, language, call, timeout, abort or wait)",
                clip(text)
            ))
        }
    })
}

/// At most 40 characters of something quoted in an error.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests;
