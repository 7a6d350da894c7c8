//! Single-octet alphabets: ISO-8859-1 (data_coding 3) and IA5/ASCII
//! (data_coding 1). Decoding never fails.

/// Encodes `text` in Latin-1, or returns the first character above U+00FF.
pub fn encode_latin1(text: &str) -> Result<Vec<u8>, char> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| c))
        .collect()
}

/// Decodes Latin-1: every octet is the code point of the same value.
pub fn decode_latin1(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

/// Encodes `text` in IA5 (ASCII), or returns the first non-ASCII character.
pub fn encode_ia5(text: &str) -> Result<Vec<u8>, char> {
    text.chars()
        .map(|c| if c.is_ascii() { Ok(c as u8) } else { Err(c) })
        .collect()
}

/// Decodes IA5. Octets above 0x7F are not IA5; they are read as Latin-1,
/// which is what SMSCs that misuse data_coding 1 usually mean.
pub fn decode_ia5(bytes: &[u8]) -> String {
    decode_latin1(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures() {
        assert_eq!(encode_latin1("Café ¿").unwrap(), b"Caf\xE9 \xBF");
        assert_eq!(decode_latin1(b"Caf\xE9 \xBF"), "Café ¿");
        assert_eq!(encode_latin1("5€"), Err('€'));
        assert_eq!(encode_ia5("PDS 123").unwrap(), b"PDS 123");
        assert_eq!(encode_ia5("é"), Err('é'));
        assert_eq!(decode_ia5(b"ok\xE9"), "oké");
    }
}
