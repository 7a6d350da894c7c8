//! GSM 03.38 default alphabet on the wire: unpacked septets (one octet per
//! septet, as SMPP carries data_coding 0) and packed septets (eight septets
//! in seven octets, as some operators want for USSD).
//!
//! The tables live in `crate::charset`; this module only moves septets.
//! Decoding never fails: whatever the SMSC sends becomes some text.

use crate::charset::{self, Septet, ESCAPE};

/// Carriage return: the 3GPP 23.038 filler for a packed USSD string whose
/// last octet would otherwise leave seven spare bits that read as '@'.
const CR: u8 = 0x0D;

/// Encodes `text` as unpacked septets, or returns the first character the
/// default alphabet and its extension table lack.
pub fn encode_unpacked(text: &str) -> Result<Vec<u8>, char> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match charset::septet(c) {
            Some(Septet::Basic(s)) => out.push(s),
            Some(Septet::Extended(s)) => out.extend_from_slice(&[ESCAPE, s]),
            None => return Err(c),
        }
    }
    Ok(out)
}

/// Decodes unpacked septets. The top bit of each octet is ignored; ESC
/// followed by a code the extension table lacks shows the basic-table
/// character (3GPP 23.038 §6.2.1.1); ESC ESC and a trailing ESC show a space.
pub fn decode_unpacked(septets: &[u8]) -> String {
    let mut out = String::with_capacity(septets.len());
    let mut iter = septets.iter().map(|b| b & 0x7F);
    while let Some(s) = iter.next() {
        if s != ESCAPE {
            out.push(charset::basic_char(s).unwrap_or(' '));
            continue;
        }
        match iter.next() {
            Some(ESCAPE) | None => out.push(' '),
            Some(e) => out.push(
                charset::extension_char(e)
                    .or_else(|| charset::basic_char(e))
                    .unwrap_or(' '),
            ),
        }
    }
    out
}

/// Packs septets (values 0..=0x7F) into octets, LSB first, after
/// `fill_bits` zero bits (0..=6; used to align text after a UDH).
pub fn pack(septets: &[u8], fill_bits: usize) -> Vec<u8> {
    let fill = fill_bits % 7;
    let total_bits = fill + septets.len() * 7;
    let mut out = vec![0u8; total_bits.div_ceil(8)];
    for (i, s) in septets.iter().enumerate() {
        let bit = fill + i * 7;
        let (byte, shift) = (bit / 8, bit % 8);
        let v = u16::from(s & 0x7F) << shift;
        out[byte] |= v as u8;
        if shift > 1 {
            out[byte + 1] |= (v >> 8) as u8;
        }
    }
    out
}

/// Unpacks octets into septets, skipping `fill_bits` leading bits. Reads
/// every whole septet the octets hold.
pub fn unpack(octets: &[u8], fill_bits: usize) -> Vec<u8> {
    let fill = fill_bits % 7;
    let bits = (octets.len() * 8).saturating_sub(fill);
    let count = bits / 7;
    (0..count)
        .map(|i| {
            let bit = fill + i * 7;
            let (byte, shift) = (bit / 8, bit % 8);
            let lo = u16::from(octets[byte]);
            let hi = octets.get(byte + 1).copied().map_or(0, u16::from);
            (((hi << 8 | lo) >> shift) & 0x7F) as u8
        })
        .collect()
}

/// Packs septets the USSD way: when the last octet would carry seven spare
/// bits, they hold CR rather than zero, so the receiver does not read an
/// extra '@'; and a wanted final CR on an octet boundary is doubled so the
/// receiver does not drop it as filler (3GPP 23.038 §6.1.2.3.1).
pub fn pack_ussd(septets: &[u8]) -> Vec<u8> {
    if septets.len() % 8 == 0 && septets.last() == Some(&CR) {
        let mut doubled = septets.to_vec();
        doubled.push(CR);
        return pack(&doubled, 0);
    }
    pack_padded(septets, 0)
}

/// Packs septets after `fill_bits`, putting CR in the last octet when it
/// would otherwise carry seven spare bits that read as '@'.
pub fn pack_padded(septets: &[u8], fill_bits: usize) -> Vec<u8> {
    if (fill_bits % 7 + septets.len() * 7) % 8 == 1 {
        let mut padded = septets.to_vec();
        padded.push(CR);
        return pack(&padded, fill_bits);
    }
    pack(septets, fill_bits)
}

/// Unpacks a USSD string packed by [`pack_ussd`]: a final CR that fills
/// the spare bits of the last octet is filler, not text.
pub fn unpack_ussd(octets: &[u8]) -> Vec<u8> {
    let mut septets = unpack(octets, 0);
    if octets.len() % 7 == 0 && septets.last() == Some(&CR) {
        septets.pop();
    }
    septets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacked_fixtures() {
        let cases: &[(&str, &[u8])] = &[
            ("Hello", &[0x48, 0x65, 0x6C, 0x6C, 0x6F]),
            ("€", &[0x1B, 0x65]),
            ("@£$", &[0x00, 0x01, 0x02]),
            ("[1]", &[0x1B, 0x3C, 0x31, 0x1B, 0x3E]),
            ("Ñoño\n", &[0x5D, 0x6F, 0x7D, 0x6F, 0x0A]),
        ];
        for &(text, bytes) in cases {
            assert_eq!(encode_unpacked(text).unwrap(), bytes, "{text}");
            assert_eq!(decode_unpacked(bytes), text);
        }
        assert_eq!(encode_unpacked("Ünë"), Err('ë'));
        assert_eq!(encode_unpacked("مرحبا"), Err('م'));
    }

    #[test]
    fn lenient_decoding() {
        // Unknown extension code shows the basic character; lone ESC a space.
        assert_eq!(decode_unpacked(&[0x1B, 0x41]), "A");
        assert_eq!(decode_unpacked(&[0x41, 0x1B]), "A ");
        assert_eq!(decode_unpacked(&[0x1B, 0x1B, 0x41]), " A");
        assert_eq!(decode_unpacked(&[0xC8]), "H");
    }

    #[test]
    fn packed_fixtures() {
        let hello = encode_unpacked("Hello").unwrap();
        assert_eq!(pack(&hello, 0), [0xC8, 0x32, 0x9B, 0xFD, 0x06]);
        assert_eq!(unpack(&[0xC8, 0x32, 0x9B, 0xFD, 0x06], 0), hello);
        // "*100#" as operators send it in a USSD string.
        let code = encode_unpacked("*100#").unwrap();
        assert_eq!(pack(&code, 0), [0xAA, 0x18, 0x0C, 0x36, 0x02]);
        // Seven septets: the spare bits carry CR, and unpacking drops it.
        let seven = encode_unpacked("1234567").unwrap();
        let packed = pack_ussd(&seven);
        assert_eq!(packed.len(), 7);
        assert_eq!(packed[6] >> 1, CR);
        assert_eq!(unpack_ussd(&packed), seven);
        assert_eq!(unpack(&packed, 0).len(), 8);
        // A wanted CR ending on an octet boundary arrives (doubled), not lost.
        let eight = encode_unpacked("1234567\r").unwrap();
        let packed = pack_ussd(&eight);
        assert_eq!(decode_unpacked(&unpack_ussd(&packed)), "1234567\r\r");
    }

    #[test]
    fn fill_bits_align_after_udh() {
        let s = encode_unpacked("abc").unwrap();
        let packed = pack(&s, 1);
        assert_eq!(packed[0] & 1, 0);
        assert_eq!(unpack(&packed, 1)[..3], s[..]);
    }
}
