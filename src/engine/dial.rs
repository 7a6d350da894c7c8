//! USSD dial strings: `*123#`, `*123*4#`, `*123*1*12345678#`, `#123#`.
//!
//! A dial string is a prefix (`*` or `#`), a service code, optional
//! `*`-separated parts, and a closing `#`. Arabic-Indic and Persian digits
//! are normalised first, so `*١٢٣#` is `*123#`. Parsing is pure and bounded:
//! anything longer than one USSD string (182 characters) is rejected before
//! it is looked at.

use nom::bytes::complete::take_while1;
use nom::character::complete::{char, one_of};
use nom::combinator::{eof, opt};
use nom::multi::many0;
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::normalize;

/// The longest dial string accepted: one USSD string of 182 GSM-7 characters.
pub const MAX_LEN: usize = 182;

/// A parsed dial string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    /// The service code in canonical form with its prefix and closing `#`,
    /// e.g. `*123#` for `*123*1*12345678#`.
    pub code: String,
    /// The `*`-separated parts after the service code, e.g. `["1", "12345678"]`.
    pub parts: Vec<String>,
}

impl Dial {
    /// The whole dial string in canonical form, e.g. `*123*1*12345678#`.
    pub fn canonical(&self) -> String {
        let mut s = self.code.trim_end_matches('#').to_string();
        for part in &self.parts {
            s.push('*');
            s.push_str(part);
        }
        s.push('#');
        s
    }
}

/// Why a dial string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    #[error("empty dial string")]
    Empty,
    #[error("dial string longer than {MAX_LEN} characters")]
    TooLong,
    #[error("dial string must start with '*' or '#'")]
    NoPrefix,
    #[error("empty part at offset {offset} (two '*' in a row?)")]
    EmptyPart { offset: usize },
    #[error("unexpected character at offset {offset}")]
    Junk { offset: usize },
}

fn digits(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_digit()).parse(i)
}

fn dial_string(i: &str) -> IResult<&str, (char, &str, Vec<&str>)> {
    let (i, prefix) = one_of("*#").parse(i)?;
    let (i, code) = digits(i)?;
    let (i, parts) = many0(preceded(char('*'), digits)).parse(i)?;
    let (i, _) = opt(char('#')).parse(i)?;
    let (i, _) = eof(i)?;
    Ok((i, (prefix, code, parts)))
}

/// Parse a dial string. Surrounding spaces and invisible bidi marks are
/// ignored and a missing closing `#` is tolerated (some USSD centres strip
/// it); everything else must be digits, `*` and `#`.
pub fn parse(raw: &str) -> Result<Dial, DialError> {
    if raw.len() > MAX_LEN * 4 || raw.chars().count() > MAX_LEN {
        return Err(DialError::TooLong);
    }
    let text: String = raw
        .trim()
        .chars()
        .filter(|c| !normalize::is_invisible(*c))
        .map(|c| normalize::ascii_digit(c).unwrap_or(c))
        .collect();
    if text.is_empty() {
        return Err(DialError::Empty);
    }
    if !text.starts_with(['*', '#']) {
        return Err(DialError::NoPrefix);
    }
    // The canonical form adds a missing closing '#': it must fit too, or a
    // service code accepted here could never be routed to (routing parses
    // the canonical form again).
    if text.chars().count() + usize::from(!text.ends_with('#')) > MAX_LEN {
        return Err(DialError::TooLong);
    }
    match dial_string(&text) {
        Ok((_, (prefix, code, parts))) => Ok(Dial {
            code: format!("{prefix}{code}#"),
            parts: parts.into_iter().map(str::to_string).collect(),
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(locate(&text, e.input)),
        Err(nom::Err::Incomplete(_)) => Err(DialError::Junk { offset: text.len() }),
    }
}

/// Turn the unparsed rest into a precise error about where it went wrong.
fn locate(text: &str, rest: &str) -> DialError {
    let offset = text.len() - rest.len();
    let empty_or_separator = |s: &str| s.is_empty() || s.starts_with(['*', '#']);
    if offset == 1 {
        // No service code after the prefix.
        return if empty_or_separator(rest) {
            DialError::EmptyPart { offset }
        } else {
            DialError::Junk { offset }
        };
    }
    match rest.strip_prefix('*') {
        // A '*' the part parser gave back: what follows it is not a digit.
        Some(after) if empty_or_separator(after) => DialError::EmptyPart { offset: offset + 1 },
        Some(_) => DialError::Junk { offset: offset + 1 },
        None => DialError::Junk { offset },
    }
}

/// If `dial` starts with the service code `service_code` (both dial
/// strings, compared part by part), the extra parts the citizen typed after
/// it: `split_shortcut("*123*1*12345678#", "*123*1#") == Some(["12345678"])`.
/// `None` when either does not parse or the codes differ.
pub fn split_shortcut(dial: &str, service_code: &str) -> Option<Vec<String>> {
    let dial = parse(dial).ok()?;
    let service = parse(service_code).ok()?;
    if dial.code != service.code || dial.parts.len() < service.parts.len() {
        return None;
    }
    let (head, tail) = dial.parts.split_at(service.parts.len());
    (head == service.parts.as_slice()).then(|| tail.to_vec())
}

/// How many of `dial`'s parts a service code in canonical form (as
/// [`Dial::canonical`] writes it) takes, when `dial` starts with it:
/// `*123*1#` takes one part of `*123*1*42#`. Parses and allocates nothing;
/// the same answer as [`split_shortcut`] for a canonical code.
pub fn parts_taken(dial: &Dial, service_code: &str) -> Option<usize> {
    let body = service_code.strip_suffix('#')?;
    let prefix = body.get(..1)?;
    let mut fields = body[1..].split('*');
    let code = fields.next()?;
    let same_code = dial.code.len() == code.len() + 2
        && dial.code.starts_with(prefix)
        && dial.code[1..].starts_with(code)
        && dial.code.ends_with('#');
    if !same_code {
        return None;
    }
    let mut taken = 0;
    for part in fields {
        if dial.parts.get(taken).map(String::as_str) != Some(part) {
            return None;
        }
        taken += 1;
    }
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dial(code: &str, parts: &[&str]) -> Dial {
        Dial {
            code: code.into(),
            parts: parts.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn parses_the_usual_shapes() {
        assert_eq!(parse("*123#"), Ok(dial("*123#", &[])));
        assert_eq!(parse("*123*4#"), Ok(dial("*123#", &["4"])));
        assert_eq!(
            parse("*123*1*12345678#"),
            Ok(dial("*123#", &["1", "12345678"]))
        );
        assert_eq!(parse("#123#"), Ok(dial("#123#", &[])));
        assert_eq!(parse(" *123# "), Ok(dial("*123#", &[])));
        assert_eq!(parse("*123"), Ok(dial("*123#", &[])));
    }

    #[test]
    fn arabic_digits_are_normalised() {
        assert_eq!(
            parse("*١٢٣*١*١٢٣٤٥٦٧٨#"),
            Ok(dial("*123#", &["1", "12345678"]))
        );
        assert_eq!(parse("*۱۲۳#"), Ok(dial("*123#", &[])));
    }

    #[test]
    fn canonical_round_trips() {
        for s in ["*123#", "*123*4#", "#123#", "*123*1*12345678#"] {
            assert_eq!(parse(s).unwrap().canonical(), s);
        }
    }

    #[test]
    fn rejects_empty_parts_and_junk() {
        assert_eq!(parse(""), Err(DialError::Empty));
        assert_eq!(parse("   "), Err(DialError::Empty));
        assert_eq!(parse("123#"), Err(DialError::NoPrefix));
        assert!(matches!(
            parse("*123**4#"),
            Err(DialError::EmptyPart { .. })
        ));
        assert!(matches!(parse("**123#"), Err(DialError::EmptyPart { .. })));
        assert!(matches!(parse("*123*#"), Err(DialError::EmptyPart { .. })));
        assert!(matches!(parse("*#"), Err(DialError::EmptyPart { .. })));
        assert!(matches!(
            parse("*12a3#"),
            Err(DialError::Junk { offset: 3 })
        ));
        assert!(matches!(parse("*123#4"), Err(DialError::Junk { .. })));
        assert!(matches!(parse("*123##"), Err(DialError::Junk { .. })));
        assert!(matches!(
            parse("#"),
            Err(DialError::EmptyPart { offset: 1 })
        ));
        assert_eq!(
            parse(&format!("*{}#", "1".repeat(200))),
            Err(DialError::TooLong)
        );
    }

    #[test]
    fn shortcut_split() {
        let v = |s: &[&str]| Some(s.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        assert_eq!(
            split_shortcut("*123*1*12345678#", "*123#"),
            v(&["1", "12345678"])
        );
        assert_eq!(
            split_shortcut("*123*1*12345678#", "*123*1#"),
            v(&["12345678"])
        );
        assert_eq!(split_shortcut("*123*1#", "*123*1#"), v(&[]));
        assert_eq!(split_shortcut("*123*12#", "*123*1#"), None);
        assert_eq!(split_shortcut("*123#", "*123*1#"), None);
        assert_eq!(split_shortcut("*1234#", "*123#"), None);
        assert_eq!(split_shortcut("#123#", "*123#"), None);
        assert_eq!(split_shortcut("*١٢٣*٢#", "*123#"), v(&["2"]));
        assert_eq!(split_shortcut("junk", "*123#"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = parse(&s);
            let _ = split_shortcut(&s, "*123#");
        }

        #[test]
        fn never_panics_on_dial_alphabet(s in "[*#0-9\u{0660}-\u{0669} ]{0,30}") {
            if let Ok(d) = parse(&s) {
                prop_assert_eq!(parse(&d.canonical()), Ok(d));
            }
        }

        #[test]
        fn parts_taken_agrees_with_split_shortcut(
            dial in "[*#][1-3]{1,2}(\\*[1-3]{1,2}){0,3}#?",
            code in "[*#][1-3]{1,2}(\\*[1-3]{1,2}){0,2}#",
        ) {
            let Ok(d) = parse(&dial) else { return Ok(()) };
            let canon = parse(&code).unwrap().canonical();
            let want = split_shortcut(&dial, &canon);
            let got = parts_taken(&d, &canon).map(|n| d.parts[n..].to_vec());
            prop_assert_eq!(got, want);
        }

        #[test]
        fn valid_dials_round_trip(code in "[0-9]{1,4}", parts in proptest::collection::vec("[0-9]{1,10}", 0..5)) {
            let d = Dial { code: format!("*{code}#"), parts };
            prop_assert_eq!(parse(&d.canonical()), Ok(d));
        }
    }
}
