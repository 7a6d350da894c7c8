//! Compiling an input node's `validate:` into a `Rule`: exactly one rule,
//! sane ranges, and a regex that compiles within a size limit.

use regex::RegexBuilder;

use super::super::doc::{Format, Kind, NodeDoc, RangeDoc, Spanned};
use super::super::model::Rule;
use super::{loc, Diags};

/// The longest input any rule may accept (one screen's worth).
const MAX_INPUT: usize = 160;

fn range(r: &Spanned<RangeDoc>, d: &mut Diags) -> Option<(usize, usize)> {
    let min = r.value.min.as_ref().map_or(1, |m| m.value);
    let max = r.value.max.value;
    if max == 0 || min > max || max > MAX_INPUT {
        d.at(
            loc(r),
            format!(
                "invalid range min {min} max {max} (need 1 <= max, min <= max, max <= {MAX_INPUT})"
            ),
        );
        return None;
    }
    Some((min, max))
}

/// The validation rule of an input node (`None` for other kinds or on error).
pub(super) fn rule(n: &Spanned<NodeDoc>, d: &mut Diags) -> Option<Rule> {
    if n.value.kind.value != Kind::Input {
        return None;
    }
    let v = n.value.validate.as_ref()?;
    let set = [
        v.value.digits.is_some(),
        v.value.regex.is_some(),
        v.value.format.is_some(),
        v.value.text.is_some(),
    ];
    if set.iter().filter(|b| **b).count() != 1 {
        d.at(
            loc(v),
            "validate needs exactly one of digits, regex, format, text",
        );
        return None;
    }
    if v.value.max_len.is_some() && v.value.regex.is_none() {
        d.at(loc(v), "validate: max_len goes with regex only");
        return None;
    }
    if let Some(r) = &v.value.digits {
        let (min, max) = range(r, d)?;
        return Some(Rule::Digits { min, max });
    }
    if let Some(r) = &v.value.text {
        let (min, max) = range(r, d)?;
        return Some(Rule::Text { min, max });
    }
    if let Some(f) = &v.value.format {
        return Some(match f.value {
            Format::IraqiMobile => Rule::IraqiMobile,
            Format::Date => Rule::Date,
        });
    }
    let re = v.value.regex.as_ref()?;
    let Some(max_len) = v.value.max_len.as_ref().map(|m| m.value) else {
        d.at(
            loc(v),
            "validate: regex needs max_len (for the screen proof)",
        );
        return None;
    };
    if max_len == 0 || max_len > MAX_INPUT {
        d.at(loc(v), format!("validate: max_len must be 1..={MAX_INPUT}"));
        return None;
    }
    // Checked as written (so errors point into the author's pattern), then
    // anchored: `find` is leftmost-first, so `[0-9]{4}|[0-9]{8}` would find
    // the first four of eight digits and the whole reply would not match.
    // A pattern ending in an `(?x)` comment would swallow the closing `)$`:
    // then a newline (white space in that mode) ends the comment first.
    let build = |p: &str| RegexBuilder::new(p).size_limit(1 << 20).build();
    let anchored = |p: &str| {
        build(&format!("^(?:{p})$")).or_else(|e| build(&format!("^(?:{p}\n)$")).map_err(|_| e))
    };
    match build(&re.value).and_then(|_| anchored(&re.value)) {
        Ok(re) => Some(Rule::Regex { re, max_len }),
        Err(e) => {
            d.at(
                loc(re),
                format!(
                    "bad regex: {}",
                    e.to_string().lines().last().unwrap_or("invalid")
                ),
            );
            None
        }
    }
}
