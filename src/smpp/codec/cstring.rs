//! C-octet strings: NUL-terminated, with a maximum size that counts the NUL
//! (SMPP 3.4 §3.1). Bytes map to chars as Latin-1, so any input decodes and
//! re-encodes to the same bytes; SMPP strings are ASCII in practice.

use super::decode::{Fault, PResult};
use bytes::BufMut;

// Maximum sizes including the NUL (SMPP 3.4 §4).
pub const SYSTEM_ID: usize = 16;
pub const PASSWORD: usize = 9;
pub const SYSTEM_TYPE: usize = 13;
pub const ADDRESS_RANGE: usize = 41;
pub const SERVICE_TYPE: usize = 6;
/// 21 in submit_sm/deliver_sm, 65 in data_sm and alert_notification: we
/// take 65 everywhere, because a long alphanumeric sender from an operator
/// must not cost the message.
pub const ADDR: usize = 65;
pub const TIME: usize = 17;
pub const MESSAGE_ID: usize = 65;

/// Parse a C-octet string of at most `max` bytes including the NUL.
pub fn parse<'a>(input: &'a [u8], max: usize, field: &'static str) -> PResult<'a, String> {
    let window = &input[..input.len().min(max)];
    let Some(nul) = window.iter().position(|&b| b == 0) else {
        let why = if input.len() >= max {
            "longer than the SMPP maximum"
        } else {
            "not NUL-terminated"
        };
        return Err(nom::Err::Error(Fault::body(field, why)));
    };
    Ok((&input[nul + 1..], latin1(&input[..nul])))
}

pub fn latin1(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => s.to_owned(),
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Encoded size including the NUL.
pub fn len(s: &str) -> usize {
    if s.is_ascii() {
        s.len() + 1
    } else {
        s.chars().count() + 1
    }
}

pub fn put(out: &mut impl BufMut, s: &str) {
    if s.is_ascii() {
        out.put_slice(s.as_bytes());
    } else {
        for c in s.chars() {
            out.put_u8(u8::try_from(u32::from(c)).unwrap_or(b'?'));
        }
    }
    out.put_u8(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_the_nul() {
        assert_eq!(
            parse(b"abc\0rest", 4, "f").unwrap(),
            (&b"rest"[..], "abc".into())
        );
        assert!(parse(b"abcd\0", 4, "f").is_err());
        assert!(parse(b"abc", 9, "f").is_err());
        assert!(parse(b"", 9, "f").is_err());
        assert_eq!(parse(b"\0", 1, "f").unwrap().1, "");
    }

    #[test]
    fn latin1_round_trips() {
        let s = parse(b"caf\xe9\0", 9, "f").unwrap().1;
        assert_eq!(s, "café");
        let mut out = Vec::new();
        put(&mut out, &s);
        assert_eq!(out, b"caf\xe9\0");
        assert_eq!(len(&s), 5);
        let mut out = Vec::new();
        put(&mut out, "ع");
        assert_eq!(out, b"?\0");
    }
}
