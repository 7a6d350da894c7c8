//! Subscriber numbers: one canonical form for keys and routing, and one
//! masked form for logs.
//!
//! Operators send MSISDNs as `9647701234567`, `+9647701234567`,
//! `009647701234567` or nationally as `07701234567`; the gateway keys
//! sessions, profiles and queues on the international digits only
//! (`9647701234567`). Logs never carry the full number: [`Msisdn`]'s
//! `Display` and `Debug` print the country code and the last two digits
//! (`964********67`), enough to follow one citizen through a log without
//! identifying them.

use std::fmt;

/// Iraq's country code, used to widen national numbers (`07..`).
pub const IRAQ: &str = "964";

/// A subscriber number in international digits, without `+`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(String);

/// Why a string is not a subscriber number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsisdnError {
    #[error("empty number")]
    Empty,
    #[error("a number has only digits, after an optional '+' or '00'")]
    NotDigits,
    #[error("a number has 7 to 15 digits (E.164), this one has {0}")]
    Length(usize),
}

impl Msisdn {
    /// Canonicalise `raw` (`+964..`, `00964..`, `0770..` national, or
    /// `964..`). National numbers are widened with [`IRAQ`].
    pub fn parse(raw: &str) -> Result<Msisdn, MsisdnError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(MsisdnError::Empty);
        }
        let digits = if let Some(rest) = raw.strip_prefix('+') {
            rest.to_string()
        } else if let Some(rest) = raw.strip_prefix("00") {
            rest.to_string()
        } else if let Some(rest) = raw.strip_prefix('0') {
            format!("{IRAQ}{rest}")
        } else {
            raw.to_string()
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MsisdnError::NotDigits);
        }
        if !(7..=15).contains(&digits.len()) {
            return Err(MsisdnError::Length(digits.len()));
        }
        Ok(Msisdn(digits))
    }

    /// The international digits, e.g. `9647701234567`. Not for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The masked form logs use, e.g. `964********67`.
    pub fn masked(&self) -> Masked<'_> {
        Masked(&self.0)
    }
}

/// A number printed for logs: see [`mask`].
pub struct Masked<'a>(&'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_masked(f, self.0)
    }
}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_masked(f, self.0)
    }
}

/// Mask any address-like string for logging (raw SMPP addresses included):
/// keep the first three and last two characters of numbers longer than
/// six, star the rest; shorter strings (short codes such as `2150`) are
/// not personal and print as they are.
pub fn mask(raw: &str) -> Masked<'_> {
    Masked(raw)
}

fn write_masked(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let n = s.chars().count();
    if n <= 6 {
        return f.write_str(s);
    }
    for (i, c) in s.chars().enumerate() {
        if i < 3 || i >= n - 2 {
            write!(f, "{c}")?;
        } else {
            f.write_str("*")?;
        }
    }
    Ok(())
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_masked(f, &self.0)
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msisdn({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_common_spelling_is_one_number() {
        for raw in [
            "9647701234567",
            "+9647701234567",
            "009647701234567",
            "07701234567",
        ] {
            assert_eq!(Msisdn::parse(raw).unwrap().as_str(), "9647701234567");
        }
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert_eq!(Msisdn::parse(" "), Err(MsisdnError::Empty));
        assert_eq!(Msisdn::parse("96477O1234567"), Err(MsisdnError::NotDigits));
        assert_eq!(Msisdn::parse("12345"), Err(MsisdnError::Length(5)));
        assert_eq!(
            Msisdn::parse("1234567890123456"),
            Err(MsisdnError::Length(16))
        );
    }

    #[test]
    fn logs_see_only_country_code_and_last_two_digits() {
        let m = Msisdn::parse("9647701234567").unwrap();
        assert_eq!(m.to_string(), "964********67");
        assert_eq!(format!("{m:?}"), "Msisdn(964********67)");
        assert_eq!(mask("2150").to_string(), "2150");
    }
}
