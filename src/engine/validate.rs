//! Input validation rules, applied to a normalised reply. Each returns the
//! value to store (canonical form) or `None`: an invalid input is a screen,
//! never an error.

use super::model::Rule;
use super::screen::sanitise;

/// The value to store if `input` (already normalised) passes `rule`.
pub fn check(rule: &Rule, input: &str) -> Option<String> {
    match rule {
        Rule::Digits { min, max } => {
            let n = input.len();
            (input.bytes().all(|b| b.is_ascii_digit()) && n >= *min && n <= *max)
                .then(|| input.to_string())
        }
        Rule::Text { min, max } => {
            let n = input.chars().count();
            (n >= *min && n <= *max).then(|| sanitise(input, *max))
        }
        // Length first: the (linear) search never runs over a long reply.
        // The compiler anchors the pattern, so that a whole-reply match is
        // found even where an unanchored leftmost one would be shorter.
        Rule::Regex { re, max_len } => {
            let whole = || {
                re.find(input)
                    .is_some_and(|m| m.start() == 0 && m.end() == input.len())
            };
            (input.chars().count() <= *max_len && whole()).then(|| sanitise(input, *max_len))
        }
        Rule::IraqiMobile => iraqi_mobile(input),
        Rule::Date => date(input),
    }
}

/// `07XXXXXXXXX`, `9647XXXXXXXXX`, `+9647…` or `009647…` (spaces and dashes
/// allowed) -> `9647XXXXXXXXX`.
fn iraqi_mobile(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let rest = digits
        .strip_prefix("+964")
        .or_else(|| digits.strip_prefix("00964"))
        .or_else(|| digits.strip_prefix("964"))
        .map(|r| r.to_string())
        .or_else(|| digits.strip_prefix('0').map(|r| r.to_string()))?;
    (rest.len() == 10 && rest.starts_with('7') && rest.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("964{rest}"))
}

/// `DD-MM-YYYY` or `DD/MM/YYYY`, a real calendar date in 1900..=2100 ->
/// `YYYY-MM-DD` (what the `date` filter reads).
fn date(input: &str) -> Option<String> {
    let parts: Vec<&str> = input.split(['-', '/']).collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    if d.len() != 2 || m.len() != 2 || y.len() != 4 || !input.is_ascii() {
        return None;
    }
    let (d, m, y): (u32, u32, u32) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1900..=2100).contains(&y) && d >= 1 && d <= days).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_text() {
        let r = Rule::Digits { min: 8, max: 12 };
        assert_eq!(check(&r, "12345678").as_deref(), Some("12345678"));
        assert_eq!(check(&r, "1234567"), None);
        assert_eq!(check(&r, "1234567a"), None);
        let t = Rule::Text { min: 1, max: 3 };
        assert_eq!(check(&t, "علي").as_deref(), Some("علي"));
        assert_eq!(check(&t, "abcd"), None);
        assert_eq!(check(&t, ""), None);
    }

    #[test]
    fn regex_must_match_whole() {
        let r = Rule::Regex {
            re: regex::Regex::new("[A-Z][0-9]{3}").unwrap(),
            max_len: 4,
        };
        assert!(check(&r, "A123").is_some());
        assert!(check(&r, "xA123").is_none());
        assert!(check(&r, "A1234").is_none());
    }

    #[test]
    fn mobiles() {
        for ok in [
            "07701234567",
            "9647701234567",
            "+964 770 123 4567",
            "009647701234567",
        ] {
            assert_eq!(
                check(&Rule::IraqiMobile, ok).as_deref(),
                Some("9647701234567"),
                "{ok}"
            );
        }
        for bad in ["0770123456", "08701234567", "96477012345678", "abc"] {
            assert_eq!(check(&Rule::IraqiMobile, bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(
            check(&Rule::Date, "29/02/2024").as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(
            check(&Rule::Date, "01-12-1990").as_deref(),
            Some("1990-12-01")
        );
        for bad in [
            "29/02/2023",
            "31-04-2020",
            "1-1-2020",
            "00/01/2020",
            "2020-01-01",
            "12/13/2020",
        ] {
            assert_eq!(check(&Rule::Date, bad), None, "{bad}");
        }
    }
}
