//! Text templates for screens and SMS: `{var}`, `{item.field}`,
//! `{var|filter}`, with `{{` and `}}` for literal braces.
//!
//! Parsing is pure and total (nom; errors carry a byte offset). Rendering
//! never fails: a missing variable renders as nothing, and a value a filter
//! cannot read (a `number` that is not a number) is shown as it is. Every
//! filter has a proven worst-case output length ([`Filter::max_output_len`])
//! so the compiler can prove a screen fits before any citizen sees it.

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, space0};
use nom::combinator::{opt, recognize};
use nom::multi::many0;
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::lang::Lang;
use super::normalize;

/// A filter applied to a variable's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Thousands separators (`25,000`; `٢٥٬٠٠٠` with Arabic-Indic digits in ar/ckb).
    Number,
    /// Arabic-Indic digits in ar/ckb, ASCII in en.
    Digits,
    /// `YYYY-MM-DD` (optionally followed by a time) -> `DD/MM/YYYY`, digits localised.
    Date,
    /// Upper case (only where one character maps to one character).
    Upper,
    /// All but the last four characters replaced by `*`.
    Mask,
}

impl Filter {
    pub const ALL: [Filter; 5] = [
        Filter::Number,
        Filter::Digits,
        Filter::Date,
        Filter::Upper,
        Filter::Mask,
    ];

    /// The name used in templates.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Number => "number",
            Filter::Digits => "digits",
            Filter::Date => "date",
            Filter::Upper => "upper",
            Filter::Mask => "mask",
        }
    }

    pub fn from_name(name: &str) -> Option<Filter> {
        Filter::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The most characters the filter can produce from a value of
    /// `input_len` characters. Only `number` grows its input (one separator
    /// per three digits); the others keep or shrink the length.
    pub fn max_output_len(self, input_len: usize) -> usize {
        match self {
            Filter::Number => input_len + input_len.saturating_sub(1) / 3,
            Filter::Digits | Filter::Date | Filter::Upper | Filter::Mask => input_len,
        }
    }

    /// Apply the filter to a value for a screen in `lang`.
    pub fn apply(self, value: &str, lang: Lang) -> String {
        match self {
            Filter::Number => number(value, lang).unwrap_or_else(|| value.to_string()),
            Filter::Digits => value.chars().map(|c| localise_digit(c, lang)).collect(),
            Filter::Date => date(value, lang).unwrap_or_else(|| value.to_string()),
            Filter::Upper => value
                .chars()
                .map(|c| {
                    let mut up = c.to_uppercase();
                    match (up.next(), up.next()) {
                        (Some(u), None) => u,
                        _ => c,
                    }
                })
                .collect(),
            Filter::Mask => {
                let n = value.chars().count();
                value
                    .chars()
                    .enumerate()
                    .map(|(i, c)| if i + 4 < n { '*' } else { c })
                    .collect()
            }
        }
    }
}

/// An ASCII or Arabic-Indic/Persian digit written the way `lang` writes digits.
fn localise_digit(c: char, lang: Lang) -> char {
    match normalize::ascii_digit(c) {
        Some(d) if lang.localises_digits() => {
            char::from_u32(0x0660 + (d as u32 - '0' as u32)).unwrap_or(d)
        }
        Some(d) => d,
        None => c,
    }
}

/// `-1234567.5` -> `-1,234,567.5` (ar/ckb: `-١٬٢٣٤٬٥٦٧٫٥`); `None` if not a number.
fn number(value: &str, lang: Lang) -> Option<String> {
    let ascii = normalize::input(value);
    let (sign, body) = match ascii.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", ascii.as_str()),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !frac.is_none_or(digits) {
        return None;
    }
    let (group, point) = if lang.localises_digits() {
        ('\u{066C}', '\u{066B}')
    } else {
        (',', '.')
    };
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(group);
        }
        out.push(localise_digit(c, lang));
    }
    if let Some(frac) = frac {
        out.push(point);
        out.extend(frac.chars().map(|c| localise_digit(c, lang)));
    }
    Some(out)
}

/// `2026-11-26` (or `2026-11-26T10:00:00Z`) -> `26/11/2026`, digits localised.
fn date(value: &str, lang: Lang) -> Option<String> {
    let ascii: String = value
        .trim()
        .chars()
        .map(|c| normalize::ascii_digit(c).unwrap_or(c))
        .collect();
    let head = ascii.get(..10)?;
    let tail_ok = ascii.len() == 10 || ascii[10..].starts_with(['T', ' ']);
    let b = head.as_bytes();
    let shape_ok = b.iter().enumerate().all(|(i, c)| {
        if i == 4 || i == 7 {
            *c == b'-'
        } else {
            c.is_ascii_digit()
        }
    });
    if !tail_ok || !shape_ok {
        return None;
    }
    let out = format!("{}/{}/{}", &head[8..10], &head[5..7], &head[..4]);
    Some(out.chars().map(|c| localise_digit(c, lang)).collect())
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Text shown as written (braces already unescaped).
    Literal(String),
    /// A variable, optionally filtered.
    Var {
        name: String,
        filter: Option<Filter>,
    },
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template did not parse; `offset` is a byte offset into the source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at offset {offset}: {message}")]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

fn name(i: &str) -> IResult<&str, &str> {
    let segment = || {
        recognize((
            take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
            take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
        ))
    };
    recognize((segment(), many0((char('.'), segment())))).parse(i)
}

fn literal(i: &str) -> IResult<&str, Part> {
    alt((
        tag("{{").map(|_| Part::Literal("{".into())),
        tag("}}").map(|_| Part::Literal("}".into())),
        take_while1(|c| c != '{' && c != '}').map(|s: &str| Part::Literal(s.into())),
    ))
    .parse(i)
}

/// `{ name [| filter] }` after the opening brace; errors are located by the caller.
fn placeholder(i: &str) -> Result<(&str, Part), (&str, String)> {
    let (i, _) = space0::<_, ()>(i).unwrap_or((i, ""));
    let (i, var) = name(i).map_err(|_| (i, "expected a variable name after '{'".to_string()))?;
    let (i, _) = space0::<_, ()>(i).unwrap_or((i, ""));
    let filter_name = preceded(
        (char::<_, ()>('|'), space0),
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    );
    let (i, filter) = match opt(filter_name).parse(i) {
        Ok((rest, Some(f))) => {
            let filter = Filter::from_name(f).ok_or_else(|| {
                let names: Vec<_> = Filter::ALL.iter().map(|f| f.name()).collect();
                (
                    i,
                    format!(
                        "unknown filter '{f}' (expected one of {})",
                        names.join(", ")
                    ),
                )
            })?;
            (rest, Some(filter))
        }
        _ if i.starts_with('|') => {
            return Err((&i[1..], "expected a filter name after '|'".into()))
        }
        _ => (i, None),
    };
    let (i, _) = space0::<_, ()>(i).unwrap_or((i, ""));
    let rest = i
        .strip_prefix('}')
        .ok_or((i, "expected '}' to close the variable".to_string()))?;
    Ok((
        rest,
        Part::Var {
            name: var.to_string(),
            filter,
        },
    ))
}

impl Template {
    /// Parse a template.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let at = |rest: &str, message: String| TemplateError {
            offset: src.len() - rest.len(),
            message,
        };
        let mut parts: Vec<Part> = Vec::new();
        let mut i = src;
        while !i.is_empty() {
            let (rest, part) = if let Ok(ok) = literal(i) {
                ok
            } else if let Some(after) = i.strip_prefix('{') {
                placeholder(after).map_err(|(rest, m)| at(rest, m))?
            } else {
                return Err(at(
                    i,
                    "unmatched '}' (write '}}' for a literal brace)".into(),
                ));
            };
            match (parts.last_mut(), part) {
                (Some(Part::Literal(prev)), Part::Literal(s)) => prev.push_str(&s),
                (_, part) => parts.push(part),
            }
            i = rest;
        }
        Ok(Template { parts })
    }

    /// The pieces, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Render for a screen in `lang`. `lookup` takes a dotted name ("holder",
    /// "item.name"); a missing value renders as nothing. Control characters
    /// in values (a back-end's stray newline) become spaces so a value can
    /// never reshape the screen.
    pub fn render(&self, lang: Lang, lookup: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Var { name, filter } => {
                    let value: String = lookup(name)
                        .unwrap_or_default()
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .collect();
                    match filter {
                        Some(f) => out.push_str(&f.apply(&value, lang)),
                        None => out.push_str(&value),
                    }
                }
            }
        }
        out
    }

    /// Every variable reference, one entry per occurrence (a variable used
    /// twice counts twice on the screen), in order.
    pub fn variables(&self) -> Vec<(String, Option<Filter>)> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Var { name, filter } => Some((name.clone(), *filter)),
                Part::Literal(_) => None,
            })
            .collect()
    }

    /// The literal text between variables (braces unescaped).
    pub fn literal_parts(&self) -> Vec<&str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Literal(s) => Some(s.as_str()),
                Part::Var { .. } => None,
            })
            .collect()
    }
}

/// Writes the template back as source (braces re-escaped).
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(s) => f.write_str(&s.replace('{', "{{").replace('}', "}}"))?,
                Part::Var { name, filter: None } => write!(f, "{{{name}}}")?,
                Part::Var {
                    name,
                    filter: Some(flt),
                } => write!(f, "{{{name}|{}}}", flt.name())?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
