//! Text as phones see it: GSM 03.38 (unpacked septets, with the extension table), Latin-1 and
//! UCS-2/UTF-16 (surrogate pairs included), plus concatenation UDHs. Written here, independently
//! of the gateway's own charset code, so the two cannot share a bug. Pure functions, no I/O.

use thiserror::Error;

/// GSM 03.38 default alphabet, indexed by septet. 0x1B is the escape to the extension table.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// GSM 03.38 extension table: (septet after 0x1B, character).
const GSM7_EXT: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

pub const DCS_GSM7: u8 = 0x00;
pub const DCS_LATIN1: u8 = 0x03;
pub const DCS_UCS2: u8 = 0x08;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    #[error("byte {0:#04x} is not a GSM 7-bit septet")]
    NotASeptet(u8),
    #[error("GSM 7-bit escape 0x1b followed by {0:?} has no extension character")]
    BadEscape(Option<u8>),
    #[error("UCS-2 text has an odd length {0}")]
    OddUcs2Length(usize),
    #[error("UCS-2 text has an unpaired surrogate")]
    LoneSurrogate,
    #[error("data_coding {0:#04x} is not a text encoding this simulator decodes")]
    UnsupportedDcs(u8),
    #[error("user data header is truncated or longer than the message")]
    BadUdh,
}

/// Which alphabet a data_coding value selects (SMPP 3.4 §5.2.19 and GSM 03.38 §4).
fn alphabet(dcs: u8) -> Result<Alphabet, TextError> {
    match dcs {
        0x00 | 0x01 | 0x0F => Ok(Alphabet::Gsm7),
        0x03 => Ok(Alphabet::Latin1),
        0x08 => Ok(Alphabet::Ucs2),
        d if d & 0xC0 == 0 => match (d >> 2) & 0x03 {
            0 => Ok(Alphabet::Gsm7),
            2 => Ok(Alphabet::Ucs2),
            _ => Err(TextError::UnsupportedDcs(d)),
        },
        d if d & 0xF0 == 0xF0 && d & 0x04 == 0 => Ok(Alphabet::Gsm7),
        d => Err(TextError::UnsupportedDcs(d)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alphabet {
    Gsm7,
    Latin1,
    Ucs2,
}

/// Decodes `bytes` (no UDH) sent with data_coding `dcs`.
pub fn decode(dcs: u8, bytes: &[u8]) -> Result<String, TextError> {
    match alphabet(dcs)? {
        Alphabet::Gsm7 => decode_gsm7(bytes),
        Alphabet::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        Alphabet::Ucs2 => decode_ucs2(bytes),
    }
}

pub fn decode_gsm7(septets: &[u8]) -> Result<String, TextError> {
    let mut out = String::with_capacity(septets.len());
    let mut it = septets.iter().copied();
    while let Some(s) = it.next() {
        if s > 0x7F {
            return Err(TextError::NotASeptet(s));
        }
        if s == 0x1B {
            let next = it.next();
            let ext = next.and_then(|n| GSM7_EXT.iter().find(|(k, _)| *k == n));
            match ext {
                Some((_, c)) => out.push(*c),
                None => return Err(TextError::BadEscape(next)),
            }
        } else {
            out.push(basic_char(s));
        }
    }
    Ok(out)
}

fn basic_char(septet: u8) -> char {
    GSM7_BASIC.chars().nth(usize::from(septet)).unwrap_or('?')
}

pub fn decode_ucs2(bytes: &[u8]) -> Result<String, TextError> {
    if bytes.len() % 2 != 0 {
        return Err(TextError::OddUcs2Length(bytes.len()));
    }
    let units = bytes
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| TextError::LoneSurrogate)
}

/// GSM 7-bit unpacked septets for `text`, or `None` if some character is not in GSM 03.38.
pub fn encode_gsm7(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c != '\u{1b}' {
            if let Some(i) = GSM7_BASIC.chars().position(|b| b == c) {
                out.push(i as u8);
                continue;
            }
        }
        let (code, _) = GSM7_EXT.iter().find(|(_, e)| *e == c)?;
        out.extend_from_slice(&[0x1B, *code]);
    }
    Some(out)
}

pub fn encode_ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Chooses like a phone does: GSM-7 when every character fits, UCS-2 otherwise.
/// Returns (data_coding, bytes).
pub fn encode_auto(text: &str) -> (u8, Vec<u8>) {
    match encode_gsm7(text) {
        Some(b) => (DCS_GSM7, b),
        None => (DCS_UCS2, encode_ucs2(text)),
    }
}

/// A concatenation reference taken from a UDH (IEI 0x00 or 0x08) or the SAR TLVs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
}

/// Splits a short_message with UDHI set into (concatenation info if any, body).
pub fn split_udh(sm: &[u8]) -> Result<(Option<Concat>, &[u8]), TextError> {
    let udhl = usize::from(*sm.first().ok_or(TextError::BadUdh)?);
    if sm.len() < 1 + udhl {
        return Err(TextError::BadUdh);
    }
    let (mut ies, body) = (&sm[1..1 + udhl], &sm[1 + udhl..]);
    let mut concat = None;
    while ies.len() >= 2 {
        let (iei, len) = (ies[0], usize::from(ies[1]));
        let data = ies.get(2..2 + len).ok_or(TextError::BadUdh)?;
        concat = match (iei, data) {
            (0x00, [r, t, s]) => Some(Concat {
                reference: u16::from(*r),
                total: *t,
                seq: *s,
            }),
            (0x08, [r1, r2, t, s]) => Some(Concat {
                reference: u16::from_be_bytes([*r1, *r2]),
                total: *t,
                seq: *s,
            }),
            _ => concat,
        };
        ies = &ies[2 + len..];
    }
    Ok((concat, body))
}

/// Splits an encoded text into parts of at most `max` bytes each, never cutting a GSM escape
/// pair or a UTF-16 surrogate pair in half.
pub fn split_parts(dcs: u8, bytes: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let mut cut = rest.len().min(max);
        if cut < rest.len() {
            if dcs == DCS_UCS2 {
                cut -= cut % 2;
                let unit = u16::from_be_bytes([rest[cut - 2], rest[cut - 1]]);
                if (0xD800..0xDC00).contains(&unit) {
                    cut -= 2;
                }
            } else if rest[cut - 1] == 0x1B {
                cut -= 1;
            }
        }
        parts.push(rest[..cut].to_vec());
        rest = &rest[cut..];
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_table_has_128_septets() {
        assert_eq!(GSM7_BASIC.chars().count(), 128);
        assert_eq!(basic_char(0x41), 'A');
        assert_eq!(basic_char(0x7F), 'à');
    }

    #[test]
    fn gsm7_round_trip_with_extension() {
        let text = "Hello {world} €5 @home";
        let bytes = encode_gsm7(text).unwrap();
        assert_eq!(decode_gsm7(&bytes).unwrap(), text);
        assert_eq!(encode_gsm7("مرحبا"), None);
        assert_eq!(decode_gsm7(&[0x80]), Err(TextError::NotASeptet(0x80)));
        assert_eq!(decode_gsm7(&[0x1B]), Err(TextError::BadEscape(None)));
    }

    #[test]
    fn ucs2_with_surrogate_pairs() {
        let text = "مرحبا 😀";
        assert_eq!(decode_ucs2(&encode_ucs2(text)).unwrap(), text);
        assert_eq!(decode_ucs2(&[0xD8, 0x3D]), Err(TextError::LoneSurrogate));
        assert_eq!(decode_ucs2(&[0x00]), Err(TextError::OddUcs2Length(1)));
    }

    #[test]
    fn dcs_selects_alphabet() {
        assert_eq!(decode(3, &[0xE9]).unwrap(), "é");
        assert_eq!(decode(0x08, &[0x06, 0x27]).unwrap(), "ا");
        assert!(decode(0x04, b"x").is_err());
    }

    #[test]
    fn udh_and_split() {
        let sm = [0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, b'h', b'i'];
        let (c, body) = split_udh(&sm).unwrap();
        assert_eq!(
            c,
            Some(Concat {
                reference: 0x2A,
                total: 2,
                seq: 1
            })
        );
        assert_eq!(body, b"hi");
        assert_eq!(split_udh(&[0x05, 0x00]), Err(TextError::BadUdh));
        let emoji = encode_ucs2("a😀");
        let parts = split_parts(DCS_UCS2, &emoji, 4);
        assert_eq!(parts, vec![emoji[..2].to_vec(), emoji[2..].to_vec()]);
        assert_eq!(
            split_parts(DCS_GSM7, &[1, 0x1B, 0x65], 2),
            vec![vec![1], vec![0x1B, 0x65]]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn decoders_never_panic(dcs in proptest::prelude::any::<u8>(), bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = decode(dcs, &bytes);
            let _ = split_udh(&bytes);
        }

        #[test]
        fn encode_decode_round_trips(s in "\\PC{0,80}") {
            let (dcs, bytes) = encode_auto(&s);
            proptest::prop_assert_eq!(decode(dcs, &bytes).unwrap(), s.clone());
            let parts = split_parts(dcs, &bytes, 67);
            let joined: String = parts.iter().map(|p| decode(dcs, p).unwrap()).collect();
            proptest::prop_assert_eq!(joined, s);
        }
    }
}
