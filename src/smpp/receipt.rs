//! Delivery receipts: the `id:… sub:… dlvrd:… submit date:… done date:…
//! stat:… err:… text:…` text of SMPP 3.4 Appendix B as real SMSCs vary it,
//! the message_state TLV, and matching receipt ids to submit_sm_resp ids.
//!
//! Pure and total: parsing takes text and returns a value or a typed error,
//! never panics, never logs (receipt text quotes the citizen's message).

use nom::branch::alt;
use nom::bytes::complete::{tag_no_case, take_till, take_while1};
use nom::character::complete::{char, space0};
use nom::sequence::terminated;
use nom::{IResult, Parser};

mod message_id;
pub use message_id::{canonical_message_id, ids_match, normalize_message_id, IdBase};

/// Why a text is not a delivery receipt we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("receipt has no id field")]
    MissingId,
}

/// The final (or interim) state a receipt reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReceiptStat {
    Delivered,
    Expired,
    Deleted,
    Undeliverable,
    Accepted,
    Unknown,
    Rejected,
    Enroute,
    /// A vendor word we do not know, as sent.
    Other(String),
}

/// The SMPP 3.4 message_state TLV (0x0427) values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    Enroute = 1,
    Delivered = 2,
    Expired = 3,
    Deleted = 4,
    Undeliverable = 5,
    Accepted = 6,
    Unknown = 7,
    Rejected = 8,
}

impl MessageState {
    /// The state for a TLV value, or `None` outside 1..=8.
    pub fn from_u8(value: u8) -> Option<Self> {
        use MessageState::*;
        [
            Enroute,
            Delivered,
            Expired,
            Deleted,
            Undeliverable,
            Accepted,
            Unknown,
            Rejected,
        ]
        .get(usize::from(value).checked_sub(1)?)
        .copied()
    }
}

impl From<MessageState> for ReceiptStat {
    fn from(state: MessageState) -> Self {
        match state {
            MessageState::Enroute => ReceiptStat::Enroute,
            MessageState::Delivered => ReceiptStat::Delivered,
            MessageState::Expired => ReceiptStat::Expired,
            MessageState::Deleted => ReceiptStat::Deleted,
            MessageState::Undeliverable => ReceiptStat::Undeliverable,
            MessageState::Accepted => ReceiptStat::Accepted,
            MessageState::Unknown => ReceiptStat::Unknown,
            MessageState::Rejected => ReceiptStat::Rejected,
        }
    }
}

impl ReceiptStat {
    /// Reads a stat word, in any case, in its 7-letter or full spelling, or
    /// as a message_state number.
    pub fn parse(word: &str) -> Self {
        match word.to_ascii_uppercase().as_str() {
            "DELIVRD" | "DELIVERED" => ReceiptStat::Delivered,
            "EXPIRED" => ReceiptStat::Expired,
            "DELETED" => ReceiptStat::Deleted,
            "UNDELIV" | "UNDELIVERABLE" | "UNDELIVERED" => ReceiptStat::Undeliverable,
            "ACCEPTD" | "ACCEPTED" => ReceiptStat::Accepted,
            "UNKNOWN" => ReceiptStat::Unknown,
            "REJECTD" | "REJECTED" => ReceiptStat::Rejected,
            "ENROUTE" => ReceiptStat::Enroute,
            _ => match word.parse().ok().and_then(MessageState::from_u8) {
                Some(state) => state.into(),
                None => ReceiptStat::Other(word.to_string()),
            },
        }
    }

    /// Whether no further receipt is expected (every SMPP state but
    /// ENROUTE is final; an unknown vendor word is not assumed final).
    pub fn is_final(&self) -> bool {
        !matches!(self, ReceiptStat::Enroute | ReceiptStat::Other(_))
    }
}

/// A receipt timestamp as the SMSC wrote it (its local time, no zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReceiptDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl ReceiptDate {
    /// Reads `YYMMDDhhmm`, `YYMMDDhhmmss`, `YYYYMMDDhhmm` or
    /// `YYYYMMDDhhmmss`; `None` if it is none of those or out of range.
    pub fn parse(s: &str) -> Option<Self> {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = |i: usize, len: usize| s.get(i..i + len)?.parse::<u16>().ok();
        let from = |century: bool| {
            let (year, at) = if century {
                (n(0, 4)?, 4)
            } else {
                (2000 + n(0, 2)?, 2)
            };
            let has_seconds = s.len() == at + 10;
            let date = ReceiptDate {
                year,
                month: n(at, 2)? as u8,
                day: n(at + 2, 2)? as u8,
                hour: n(at + 4, 2)? as u8,
                minute: n(at + 6, 2)? as u8,
                second: if has_seconds { n(at + 8, 2)? as u8 } else { 0 },
            };
            date.is_valid().then_some(date)
        };
        match s.len() {
            10 => from(false),
            12 => from(false).or_else(|| from(true)),
            14 => from(true),
            _ => None,
        }
    }

    fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
    }
}

/// A parsed delivery receipt. Fields the SMSC left out are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The message id as written (see [`normalize_message_id`]).
    pub id: String,
    pub submitted: Option<u32>,
    pub delivered: Option<u32>,
    pub submit_date: Option<ReceiptDate>,
    pub done_date: Option<ReceiptDate>,
    /// `None` when the text has no stat; the message_state TLV may say.
    pub stat: Option<ReceiptStat>,
    /// The err field as written (vendor-specific: "000", "0x0B", "1234").
    pub err: Option<String>,
    pub text: Option<String>,
}

impl Receipt {
    /// The err field as a number (decimal, or hex with a `0x` prefix).
    pub fn err_code(&self) -> Option<u32> {
        let err = self.err.as_deref()?;
        match err.strip_prefix("0x").or_else(|| err.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => err.parse().ok(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    Sub,
    Dlvrd,
    SubmitDate,
    DoneDate,
    Stat,
    Err,
    Text,
    Unknown,
}

impl Key {
    fn of(word: &str) -> Key {
        let folded: String = word
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match folded.as_str() {
            "id" | "msgid" | "messageid" => Key::Id,
            "sub" => Key::Sub,
            "dlvrd" | "dlvd" => Key::Dlvrd,
            "submitdate" => Key::SubmitDate,
            "donedate" => Key::DoneDate,
            "stat" | "status" => Key::Stat,
            "err" | "error" => Key::Err,
            "text" | "txt" => Key::Text,
            _ => Key::Unknown,
        }
    }
}

/// `name:` where the name may be `submit date` / `done date` with a space.
fn key(input: &str) -> IResult<&str, Key> {
    let word = take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let name = alt((tag_no_case("submit date"), tag_no_case("done date"), word));
    terminated(name, (space0, char(':')))
        .map(Key::of)
        .parse(input)
}

/// A field value: the next word. After `name: ` (with a space) the next
/// word may be the following field instead, meaning this value is empty.
fn value(input: &str) -> (&str, &str) {
    let trimmed = input.trim_start();
    if trimmed.len() != input.len() && key(trimmed).is_ok() {
        return ("", input);
    }
    let parsed: IResult<&str, &str> = take_till(char::is_whitespace).parse(trimmed);
    match parsed {
        Ok((rest, word)) => (word, rest),
        Err(_) => ("", ""),
    }
}

/// The text field runs to the end, or to a known field not yet seen (some
/// SMSCs put `text:` before `stat:`/`err:`).
fn text_value<'a>(input: &'a str, seen: &[Key]) -> (&'a str, &'a str) {
    let boundary = input.char_indices().find_map(|(i, c)| {
        let after = &input[i + c.len_utf8()..];
        let stop = c.is_whitespace()
            && matches!(key(after), Ok((_, k)) if k != Key::Unknown && k != Key::Text && !seen.contains(&k));
        stop.then_some(i)
    });
    let end = boundary.unwrap_or(input.len());
    (input[..end].trim(), &input[end..])
}

/// Parses receipt text. Only `id` is required; fields come in any order
/// and case, unknown fields and stray words are skipped.
pub fn parse(input: &str) -> Result<Receipt, Error> {
    let mut r = Receipt {
        id: String::new(),
        submitted: None,
        delivered: None,
        submit_date: None,
        done_date: None,
        stat: None,
        err: None,
        text: None,
    };
    let mut seen: Vec<Key> = Vec::new();
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        let Ok((after, k)) = key(rest) else {
            // A stray word: skip it.
            let cut = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = rest[cut..].trim_start();
            continue;
        };
        let (v, next) = if k == Key::Text {
            text_value(after, &seen)
        } else {
            value(after)
        };
        if !seen.contains(&k) {
            apply(&mut r, k, v);
            seen.push(k);
        }
        rest = next.trim_start();
    }
    if r.id.is_empty() {
        return Err(Error::MissingId);
    }
    Ok(r)
}

/// Parses receipt octets (ASCII in practice; anything else is read leniently).
pub fn parse_bytes(bytes: &[u8]) -> Result<Receipt, Error> {
    parse(&String::from_utf8_lossy(bytes))
}

fn apply(r: &mut Receipt, k: Key, v: &str) {
    let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
    match k {
        Key::Id => r.id = v.to_string(),
        Key::Sub => r.submitted = v.parse().ok(),
        Key::Dlvrd => r.delivered = v.parse().ok(),
        Key::SubmitDate => r.submit_date = ReceiptDate::parse(v),
        Key::DoneDate => r.done_date = ReceiptDate::parse(v),
        Key::Stat => r.stat = (!v.is_empty()).then(|| ReceiptStat::parse(v)),
        Key::Err => r.err = some(v),
        Key::Text => r.text = some(v),
        Key::Unknown => {}
    }
}
