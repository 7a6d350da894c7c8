//! UCS-2 as SMSCs really carry it: big-endian UTF-16. Characters outside the
//! BMP (emoji) go out as surrogate pairs; a lone surrogate or an odd trailing
//! octet comes in as U+FFFD. Never panics on input.

/// Encodes `text` as big-endian UTF-16 code units.
pub fn encode(text: &str) -> Vec<u8> {
    // Sized up front: a flat_map collect grew the vector a step at a time.
    // UTF-16 never takes more than twice the UTF-8 bytes (ASCII: 1 -> 2).
    let mut out = Vec::with_capacity(2 * text.len());
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out
}

/// Decodes big-endian UTF-16, replacing lone surrogates and a dangling odd
/// octet with U+FFFD.
pub fn decode(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    let mut out: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    if bytes.len() % 2 == 1 {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out
}

/// Whether the code unit is the first half of a surrogate pair (a split
/// must never fall right after one).
pub fn is_high_surrogate(unit: u16) -> bool {
    (0xD800..=0xDBFF).contains(&unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures() {
        let cases: &[(&str, &[u8])] = &[
            ("Hi", &[0x00, 0x48, 0x00, 0x69]),
            (
                "مرحبا",
                &[0x06, 0x45, 0x06, 0x31, 0x06, 0x2D, 0x06, 0x28, 0x06, 0x27],
            ),
            ("😀", &[0xD8, 0x3D, 0xDE, 0x00]),
            ("ڕ", &[0x06, 0x95]),
        ];
        for &(text, bytes) in cases {
            assert_eq!(encode(text), bytes, "{text}");
            assert_eq!(decode(bytes), text);
        }
    }

    #[test]
    fn broken_input_is_replaced() {
        assert_eq!(decode(&[0xD8, 0x3D, 0x00, 0x41]), "\u{FFFD}A");
        assert_eq!(decode(&[0xDE, 0x00]), "\u{FFFD}");
        assert_eq!(decode(&[0x00, 0x41, 0x42]), "A\u{FFFD}");
        assert_eq!(decode(&[]), "");
    }
}
