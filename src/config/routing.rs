//! What routes to which operator: names, USSD service codes, SMS short
//! codes and MSISDN prefixes — each well formed, and each pointing to one
//! operator only.

use std::collections::BTreeMap;
use std::ops::Range;

use super::check::Ctx;
use super::operators::Parsed;

/// Names, codes and prefixes must each point to one operator.
pub(crate) fn unique_across(cx: &mut Ctx, parsed: &[Parsed]) {
    let ussd_code = regex::Regex::new(r"^[*#][0-9]+(\*[0-9]+)*#$").expect("static regex");
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut prefixes: BTreeMap<&str, usize> = BTreeMap::new();
    for p in parsed {
        let i = p.index;
        let r = &p.raw;
        if let Some(name) = &r.name {
            if let Some(&first) = names.get(name.get_ref().as_str()) {
                let msg = format!(
                    "{:?} is already the name of operators[{first}]",
                    name.get_ref()
                );
                cx.err(name.span(), &format!("operators[{i}].name"), msg);
            } else {
                names.insert(name.get_ref(), i);
            }
        }
        let ussd = r.ussd.as_ref().and_then(|u| u.service_codes.as_ref());
        let sms = r.sms.as_ref().and_then(|s| s.short_codes.as_ref());
        let lists = [
            ("ussd.service_codes", ussd, true),
            ("sms.short_codes", sms, false),
        ];
        for (field, list, is_ussd) in lists {
            for (j, c) in list.into_iter().flatten().enumerate() {
                let key = format!("operators[{i}].{field}[{j}]");
                let s = c.get_ref().as_str();
                let well_formed = if is_ussd {
                    ussd_code.is_match(s) && s.len() <= 32
                } else {
                    (2..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
                };
                if !well_formed {
                    let want = if is_ussd {
                        "a USSD code such as \"*123#\""
                    } else {
                        "2 to 15 digits"
                    };
                    cx.err(c.span(), &key, format!("must be {want}, got {s:?}"));
                }
                claim(cx, &mut codes, parsed, s, i, c.span(), &key, "served");
            }
        }
        for (j, pfx) in r.msisdn_prefixes.iter().flatten().enumerate() {
            let key = format!("operators[{i}].msisdn_prefixes[{j}]");
            let s = pfx.get_ref().as_str();
            if !(1..=15).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
                let msg = format!("must be 1 to 15 digits in international format without '+' (e.g. \"96478\"), got {s:?}");
                cx.err(pfx.span(), &key, msg);
            }
            claim(cx, &mut prefixes, parsed, s, i, pfx.span(), &key, "routed");
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn claim<'a>(
    cx: &mut Ctx,
    seen: &mut BTreeMap<&'a str, usize>,
    parsed: &[Parsed],
    value: &'a str,
    i: usize,
    span: Range<usize>,
    key: &str,
    verb: &str,
) {
    match seen.get(value).copied() {
        Some(first) if first == i => cx.err(span, key, format!("{value:?} is listed twice")),
        Some(first) => {
            let owner = parsed
                .iter()
                .find(|p| p.index == first)
                .and_then(|p| p.raw.name.as_ref())
                .map_or("", |n| n.get_ref().as_str());
            cx.err(
                span,
                key,
                format!("{value:?} is already {verb} by operators[{first}] ({owner})"),
            );
        }
        None => {
            seen.insert(value, i);
        }
    }
}
