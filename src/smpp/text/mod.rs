//! Message text on the wire: GSM 03.38 (unpacked and packed septets),
//! IA5, Latin-1 and UCS-2/UTF-16; choosing the cheapest encoding an operator
//! allows; splitting long text into UDH/SAR/message_payload parts; and
//! reassembling inbound concatenated SMS.
//!
//! Pure: no I/O, no clock (time is passed in), no dependency on the PDU
//! types. It takes and returns plain bytes, `u8` data_coding values and
//! small structs of its own; the PDU layer wires them into `submit_sm` and
//! `deliver_sm`. Decoding never fails and never panics: what an SMSC sends
//! always becomes some text. The GSM tables live in `crate::charset`.

pub mod gsm7;
pub mod latin1;
mod reassembly;
mod split;
pub mod ucs2;
mod udh;

pub use reassembly::{
    inbound, Complete, Inbound, Partial, Pushed, Reassembler, Segment, SegmentError,
};
pub use split::{split, Body, Outbound, Part, SplitConfig, SplitMode};
pub use udh::{parse_udh, Concat, Sar, Udh};

/// An alphabet an operator may accept, cheapest first in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// GSM 03.38 default alphabet, one octet per septet (SMPP's usual form).
    Gsm7,
    /// GSM 03.38 septets packed eight to seven octets (some USSD gateways).
    Gsm7Packed,
    /// IA5 / ASCII, one octet per character.
    Ia5,
    /// ISO-8859-1, one octet per character.
    Latin1,
    /// UCS-2 / UTF-16BE, two octets per code unit.
    Ucs2,
}

/// The data_coding value each encoding is sent with. Operators differ
/// (UCS-2 is 0x08 for most, 0x18 on some USSD gateways), so this is per
/// operator configuration; `Default` is the SMPP 3.4 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataCodings {
    pub gsm7: u8,
    pub ia5: u8,
    pub latin1: u8,
    pub ucs2: u8,
}

impl Default for DataCodings {
    fn default() -> Self {
        DataCodings {
            gsm7: 0x00,
            ia5: 0x01,
            latin1: 0x03,
            ucs2: 0x08,
        }
    }
}

impl DataCodings {
    /// The data_coding value to send `encoding` with.
    pub fn of(&self, encoding: Encoding) -> u8 {
        match encoding {
            Encoding::Gsm7 | Encoding::Gsm7Packed => self.gsm7,
            Encoding::Ia5 => self.ia5,
            Encoding::Latin1 => self.latin1,
            Encoding::Ucs2 => self.ucs2,
        }
    }
}

/// Text encoded for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub data_coding: u8,
    pub bytes: Vec<u8>,
    pub encoding: Encoding,
}

/// Why text could not be made into something an operator accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the operator allows no encoding")]
    NoEncoding,
    #[error("no allowed encoding holds the character U+{:04X}", u32::from(*.0))]
    Unencodable(char),
    #[error("the text needs {needed} parts but at most {max} are allowed")]
    TooManyParts { needed: usize, max: usize },
    #[error("the text is {len} octets but message_payload is capped at {max}")]
    PayloadTooLong { len: usize, max: usize },
    #[error("invalid split configuration: {0}")]
    InvalidConfig(&'static str),
}

/// Encodes `text` in the cheapest of the `allowed` encodings that holds it
/// (GSM-7 < IA5 < Latin-1 < UCS-2), with the data_coding from `codings`.
pub fn encode(text: &str, allowed: &[Encoding], codings: &DataCodings) -> Result<Encoded, Error> {
    let mut candidates = allowed.to_vec();
    candidates.sort_unstable();
    candidates.dedup();
    let mut last_err = Error::NoEncoding;
    for encoding in candidates {
        match encode_as(text, encoding) {
            Ok(bytes) => {
                return Ok(Encoded {
                    data_coding: codings.of(encoding),
                    bytes,
                    encoding,
                })
            }
            Err(c) => last_err = Error::Unencodable(c),
        }
    }
    Err(last_err)
}

/// Encodes `text` in exactly `encoding`, or returns the first character it
/// cannot hold. Packed GSM-7 uses the USSD CR filler rule.
pub fn encode_as(text: &str, encoding: Encoding) -> Result<Vec<u8>, char> {
    match encoding {
        Encoding::Gsm7 => gsm7::encode_unpacked(text),
        Encoding::Gsm7Packed => gsm7::encode_unpacked(text).map(|s| gsm7::pack_ussd(&s)),
        Encoding::Ia5 => latin1::encode_ia5(text),
        Encoding::Latin1 => latin1::encode_latin1(text),
        Encoding::Ucs2 => Ok(ucs2::encode(text)),
    }
}

/// Decodes bytes known to be in `encoding`. Never fails.
pub fn decode_as(encoding: Encoding, bytes: &[u8]) -> String {
    match encoding {
        Encoding::Gsm7 => gsm7::decode_unpacked(bytes),
        Encoding::Gsm7Packed => gsm7::decode_unpacked(&gsm7::unpack_ussd(bytes)),
        Encoding::Ia5 => latin1::decode_ia5(bytes),
        Encoding::Latin1 => latin1::decode_latin1(bytes),
        Encoding::Ucs2 => ucs2::decode(bytes),
    }
}

/// Decodes a short_message or message_payload by its data_coding, leniently.
/// GSM-7 that carries octets above 0x7F cannot be unpacked septets, so it
/// is read as packed septets instead (some USSD gateways pack).
pub fn decode(data_coding: u8, bytes: &[u8]) -> String {
    match encoding_of(data_coding) {
        Encoding::Gsm7 if bytes.iter().any(|&b| b > 0x7F) => decode_as(Encoding::Gsm7Packed, bytes),
        encoding => decode_as(encoding, bytes),
    }
}

/// The best guess at the alphabet of a data_coding value. 0x00..=0x0F follow
/// SMPP 3.4 §5.2.19, except 0x0F, which USSD gateways use for the GSM 03.38
/// "language unspecified" DCS; higher values follow the GSM 03.38 coding
/// groups (so 0x18 is UCS-2). National alphabets SMPP names (JIS, Cyrillic,
/// Hebrew, KS C) and binary fall back to Latin-1: readable, never a panic.
pub fn encoding_of(data_coding: u8) -> Encoding {
    match data_coding {
        0x00 | 0x0F => Encoding::Gsm7,
        0x01 => Encoding::Ia5,
        0x08 => Encoding::Ucs2,
        0x02..=0x0E => Encoding::Latin1,
        0x10..=0x7F => match (data_coding >> 2) & 0x03 {
            0 => Encoding::Gsm7,
            2 => Encoding::Ucs2,
            _ => Encoding::Latin1,
        },
        0xC0..=0xDF => Encoding::Gsm7,
        0xE0..=0xEF => Encoding::Ucs2,
        0xF0..=0xFF if data_coding & 0x04 == 0 => Encoding::Gsm7,
        _ => Encoding::Latin1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Encoding] = &[Encoding::Ucs2, Encoding::Latin1, Encoding::Gsm7];

    #[test]
    fn cheapest_allowed_encoding_wins() {
        let dc = DataCodings::default();
        let cases: &[(&str, &[Encoding], Encoding, u8)] = &[
            ("Hello", ALL, Encoding::Gsm7, 0x00),
            ("5€", ALL, Encoding::Gsm7, 0x00),
            ("Ça va? ë", ALL, Encoding::Latin1, 0x03),
            ("مرحبا", ALL, Encoding::Ucs2, 0x08),
            ("Hello", &[Encoding::Ucs2], Encoding::Ucs2, 0x08),
            (
                "Hello",
                &[Encoding::Ia5, Encoding::Ucs2],
                Encoding::Ia5,
                0x01,
            ),
        ];
        for &(text, allowed, want, want_dc) in cases {
            let e = encode(text, allowed, &dc).unwrap();
            assert_eq!((e.encoding, e.data_coding), (want, want_dc), "{text}");
            assert_eq!(decode(e.data_coding, &e.bytes), text);
        }
    }

    #[test]
    fn ucs2_data_coding_is_per_operator() {
        let dc = DataCodings {
            ucs2: 0x18,
            ..DataCodings::default()
        };
        let e = encode("سلام", ALL, &dc).unwrap();
        assert_eq!(e.data_coding, 0x18);
        assert_eq!(e.bytes, [0x06, 0x33, 0x06, 0x44, 0x06, 0x27, 0x06, 0x45]);
        assert_eq!(decode(0x18, &e.bytes), "سلام");
    }

    #[test]
    fn unencodable_names_the_character() {
        let dc = DataCodings::default();
        let only_gsm = [Encoding::Gsm7];
        assert_eq!(encode("aب", &only_gsm, &dc), Err(Error::Unencodable('ب')));
        assert_eq!(encode("a", &[], &dc), Err(Error::NoEncoding));
    }

    #[test]
    fn data_coding_classes() {
        let cases = [
            (0x00, Encoding::Gsm7),
            (0x01, Encoding::Ia5),
            (0x03, Encoding::Latin1),
            (0x04, Encoding::Latin1),
            (0x08, Encoding::Ucs2),
            (0x0F, Encoding::Gsm7),
            (0x11, Encoding::Gsm7),
            (0x18, Encoding::Ucs2),
            (0x48, Encoding::Ucs2),
            (0xE1, Encoding::Ucs2),
            (0xF0, Encoding::Gsm7),
            (0xF4, Encoding::Latin1),
        ];
        for (dc, want) in cases {
            assert_eq!(encoding_of(dc), want, "{dc:#04x}");
        }
    }

    #[test]
    fn packed_gsm7_is_recognised_by_its_high_bits() {
        assert_eq!(decode(0x0F, &[0xAA, 0x18, 0x0C, 0x36, 0x02]), "*100#");
        assert_eq!(decode(0x00, &[0xC8, 0x32, 0x9B, 0xFD, 0x06]), "Hello");
        let packed = encode("Hello", &[Encoding::Gsm7Packed], &DataCodings::default()).unwrap();
        assert_eq!(packed.bytes, [0xC8, 0x32, 0x9B, 0xFD, 0x06]);
        assert_eq!(decode_as(Encoding::Gsm7Packed, &packed.bytes), "Hello");
    }
}
