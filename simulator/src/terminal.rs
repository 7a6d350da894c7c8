//! A phone for humans: reads lines, drives a [`PhoneLink`], prints screens framed like a
//! feature phone's display and incoming SMS as they arrive. Works the same over an in-process
//! [`crate::link::LocalLink`] (`bawaba demo`) and a [`crate::link::RemoteLink`]
//! (`bawaba-sim phone`). Text is printed as UTF-8 unchanged (Arabic, Kurdish); what the user
//! types is sent as typed, Arabic-Indic digits included.
//!
//! Input lines: `*123#` (any dial string: starts with `*` or `#`, ends with `#`) dials; while a
//! USSD session is open any other line is the reply; `sms SHORTCODE TEXT` sends an SMS;
//! `abort`; `quit`. In a script, `wait-sms` waits for an incoming SMS, and blank lines and
//! lines starting with `# ` (hash, space) are skipped.

use std::io::Write;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::control::{Event, Request};
use crate::link::{LinkError, PhoneLink};

#[derive(Debug, Error)]
pub enum TerminalError {
    #[error(transparent)]
    Link(#[from] LinkError),
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

/// One input line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Dial(String),
    Reply(String),
    Sms {
        to: String,
        text: String,
    },
    Abort,
    Quit,
    WaitSms,
    Skip,
    /// Not understood; the text says what would be.
    Unknown(String),
}

/// Reads a line in the light of whether a USSD dialogue is open. Pure.
pub fn parse_command(line: &str, ussd_open: bool) -> Command {
    let t = line.trim();
    if t.is_empty() || t.starts_with("# ") {
        return Command::Skip;
    }
    match t {
        "quit" | "exit" => return Command::Quit,
        "abort" => return Command::Abort,
        "wait-sms" => return Command::WaitSms,
        _ => {}
    }
    if let Some(rest) = t.strip_prefix("sms ") {
        return match rest.trim_start().split_once(' ') {
            Some((to, text)) if !to.is_empty() => Command::Sms {
                to: to.to_owned(),
                text: text.trim().to_owned(),
            },
            _ => Command::Unknown("usage: sms SHORTCODE TEXT".into()),
        };
    }
    if ussd_open {
        return Command::Reply(t.to_owned());
    }
    if (t.starts_with('*') || t.starts_with('#')) && t.ends_with('#') && t.len() > 1 {
        return Command::Dial(t.to_owned());
    }
    Command::Unknown("no USSD session open: dial (e.g. *123#), sms SHORTCODE TEXT, or quit".into())
}

const RULE: &str = "+--------------------------------+";

/// Writes one event the way a phone would show it.
pub fn render(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    match event {
        Event::Screen { text, end } => {
            writeln!(out, "{RULE}")?;
            for l in text.lines() {
                writeln!(out, "| {l}")?;
            }
            writeln!(out, "{RULE}")?;
            writeln!(out, "{}", if *end { "[session ended]" } else { "[reply]" })?;
        }
        Event::SmsReceived { from, text } => writeln!(out, "[sms from {from}] {text}")?,
        Event::SmsSent { parts } => writeln!(out, "[sms sent, {parts} part(s)]")?,
        Event::Aborted => writeln!(out, "[session aborted]")?,
        Event::Ready { msisdn } => writeln!(out, "[phone {msisdn} ready]")?,
        Event::Error { message, .. } => writeln!(out, "[error] {message}")?,
    }
    out.flush()
}

/// Tracks whether a USSD dialogue is open, from the events seen.
fn open_after(open: bool, event: &Event) -> bool {
    match event {
        Event::Screen { end, .. } => !end,
        Event::Aborted => false,
        Event::Error { request, .. } if request.as_deref() == Some("dial") => false,
        _ => open,
    }
}

fn request_of(cmd: &Command) -> Option<Request> {
    Some(match cmd {
        Command::Dial(code) => Request::Dial { code: code.clone() },
        Command::Reply(text) => Request::Reply { text: text.clone() },
        Command::Sms { to, text } => Request::SmsSend {
            to: to.clone(),
            text: text.clone(),
        },
        Command::Abort => Request::Abort,
        _ => return None,
    })
}

/// Interactive: prints events as they arrive while reading `input`, until `quit` or EOF.
pub async fn interactive<L: PhoneLink, R: AsyncBufRead + Unpin>(
    link: &mut L,
    input: R,
    out: &mut impl Write,
) -> Result<(), TerminalError> {
    let mut lines = input.lines();
    let mut open = false;
    writeln!(out, "dial a code (*123#), sms SHORTCODE TEXT, abort, quit")?;
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let Some(line) = line? else { return Ok(()) };
                let cmd = parse_command(&line, open);
                match (&cmd, request_of(&cmd)) {
                    (Command::Quit, _) => return Ok(()),
                    (Command::Unknown(hint), _) => writeln!(out, "[?] {hint}")?,
                    (_, Some(req)) => {
                        if let Err(e) = link.send(req).await {
                            writeln!(out, "[error] {e}")?;
                        }
                    }
                    _ => {}
                }
            }
            event = link.next_event() => {
                let event = event?;
                open = open_after(open, &event);
                render(out, &event)?;
            }
        }
    }
}

/// Plays `script` line by line, waiting up to `step_timeout` for each answer and printing it.
/// Fails on the first error event or timeout.
pub async fn script<L: PhoneLink>(
    link: &mut L,
    script: &str,
    out: &mut impl Write,
    step_timeout: Duration,
) -> Result<(), TerminalError> {
    let mut open = false;
    for (i, raw) in script.lines().enumerate() {
        let line = i + 1;
        let cmd = parse_command(raw, open);
        let (what, done): (&'static str, fn(&Event) -> bool) = match &cmd {
            Command::Skip => continue,
            Command::Quit => return Ok(()),
            Command::Unknown(hint) => {
                return Err(TerminalError::Failed {
                    line,
                    message: hint.clone(),
                })
            }
            Command::Dial(_) | Command::Reply(_) => {
                ("a screen", |e| matches!(e, Event::Screen { .. }))
            }
            Command::Sms { .. } => ("sms-sent", |e| matches!(e, Event::SmsSent { .. })),
            Command::Abort => ("aborted", |e| matches!(e, Event::Aborted)),
            Command::WaitSms => ("an SMS", |e| matches!(e, Event::SmsReceived { .. })),
        };
        writeln!(out, "> {}", raw.trim())?;
        if let Some(req) = request_of(&cmd) {
            link.send(req).await?;
        }
        let wait = async {
            loop {
                let event = link.next_event().await?;
                open = open_after(open, &event);
                render(out, &event)?;
                if let Event::Error { message, .. } = event {
                    return Err(TerminalError::Failed { line, message });
                }
                if done(&event) {
                    return Ok(());
                }
            }
        };
        tokio::time::timeout(step_timeout, wait)
            .await
            .map_err(|_| TerminalError::Timeout {
                line,
                after: step_timeout,
                what,
            })??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_understood_by_state() {
        assert_eq!(parse_command("*123#", false), Command::Dial("*123#".into()));
        assert_eq!(parse_command("#100#", false), Command::Dial("#100#".into()));
        assert_eq!(parse_command("١", true), Command::Reply("١".into()));
        assert_eq!(parse_command("*123#", true), Command::Reply("*123#".into()));
        assert!(matches!(parse_command("1", false), Command::Unknown(_)));
        assert_eq!(
            parse_command("sms 4455 PDS ١٢٣٤", true),
            Command::Sms {
                to: "4455".into(),
                text: "PDS ١٢٣٤".into()
            }
        );
        assert!(matches!(
            parse_command("sms 4455", false),
            Command::Unknown(_)
        ));
        assert_eq!(parse_command("# a comment", false), Command::Skip);
        assert_eq!(parse_command("  ", true), Command::Skip);
        assert_eq!(parse_command("abort", true), Command::Abort);
        assert_eq!(parse_command("quit", true), Command::Quit);
    }

    #[test]
    fn screens_are_framed() {
        let mut out = Vec::new();
        let e = Event::Screen {
            text: "بطاقة\n1) رصيد".into(),
            end: false,
        };
        render(&mut out, &e).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s, format!("{RULE}\n| بطاقة\n| 1) رصيد\n{RULE}\n[reply]\n"));
    }
}
