//! Matching message ids between submit_sm_resp and receipts. SMSCs often
//! answer submit_sm_resp with one rendering (say decimal `12345`) and write
//! the receipt with another (hex `3039`, `0x3039`, upper case, leading
//! zeros); Kannel's `msg-id-type` exists for this. When the operator's
//! renderings are known, [`canonical_message_id`] gives one exact key; when
//! they are not, [`normalize_message_id`] gives every plausible form.

/// How an operator renders message ids in one place (submit_sm_resp, or
/// receipts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdBase {
    /// An opaque string (UUIDs and the like); compared case-insensitively.
    #[default]
    Text,
    /// A decimal number.
    Decimal,
    /// A hexadecimal number, with or without `0x`.
    Hex,
}

/// One exact key for `id` rendered in `base`: numbers become their decimal
/// value (so hex `3039` and decimal `012345` give `12345`); text, and a
/// number that does not parse, becomes trimmed lower case.
pub fn canonical_message_id(id: &str, base: IdBase) -> String {
    let trimmed = id.trim();
    let value = match base {
        IdBase::Text => None,
        IdBase::Decimal => trimmed.parse::<u128>().ok(),
        IdBase::Hex => {
            let digits = trimmed
                .strip_prefix("0x")
                .or_else(|| trimmed.strip_prefix("0X"))
                .unwrap_or(trimmed);
            u128::from_str_radix(digits, 16).ok()
        }
    };
    match value {
        Some(n) => n.to_string(),
        None => trimmed.to_ascii_lowercase(),
    }
}

/// Every form `id` may be matched under when the renderings are unknown:
/// the id as written (trimmed), its lower-case form without `0x` and
/// leading zeros, and, when it is all digits, its value re-rendered in the
/// other base. Two ids may be the same message when their candidates
/// intersect; short ids can collide (decimal 16 is hex 10), so prefer
/// [`canonical_message_id`] once the operator's renderings are configured.
pub fn normalize_message_id(id: &str) -> Vec<String> {
    let trimmed = id.trim();
    let (body, hex_only) = match trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
    {
        Some(hex) => (hex, true),
        None => (trimmed, false),
    };
    let mut out = vec![trimmed.to_string()];
    let lower = body.to_ascii_lowercase();
    let stripped = match lower.trim_start_matches('0') {
        "" if !lower.is_empty() => "0",
        s => s,
    };
    out.push(stripped.to_string());
    if !hex_only && !body.is_empty() && body.len() <= 38 && body.bytes().all(|b| b.is_ascii_digit())
    {
        if let Ok(n) = body.parse::<u128>() {
            out.push(format!("{n:x}"));
        }
    }
    if !body.is_empty() && body.len() <= 32 && body.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(n) = u128::from_str_radix(body, 16) {
            out.push(n.to_string());
        }
    }
    let mut unique = Vec::with_capacity(out.len());
    for c in out {
        if !c.is_empty() && !unique.contains(&c) {
            unique.push(c);
        }
    }
    unique
}

/// Whether two renderings of message ids may name the same message
/// (renderings unknown; see [`normalize_message_id`]).
pub fn ids_match(a: &str, b: &str) -> bool {
    let b = normalize_message_id(b);
    normalize_message_id(a).iter().any(|c| b.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keys() {
        let cases = [
            ("12345", IdBase::Decimal, "12345"),
            ("0012345", IdBase::Decimal, "12345"),
            ("3039", IdBase::Hex, "12345"),
            ("0x3039", IdBase::Hex, "12345"),
            ("7A3F9C21", IdBase::Hex, "2050989089"),
            (" 16FD2706-8BAF ", IdBase::Text, "16fd2706-8baf"),
            ("not-hex", IdBase::Hex, "not-hex"),
        ];
        for (id, base, want) in cases {
            assert_eq!(canonical_message_id(id, base), want, "{id}");
        }
    }
}
