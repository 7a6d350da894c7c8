//! Wire encodings: byte fixtures, round-trip and never-panic properties,
//! and a cross-check of our encoders against rusmpp 0.4.0's `extra`.

use bawaba::charset::{self, BASIC, ESCAPE, EXTENSION};
use bawaba::smpp::text::{
    decode, decode_as, encode, encode_as, gsm7, parse_udh, ucs2, DataCodings, Encoding,
};
use proptest::prelude::*;
use rusmpp::extra::encoding::{gsm7bit::Gsm7BitUnpacked, ucs2::Ucs2};

const ALL: &[Encoding] = &[
    Encoding::Gsm7,
    Encoding::Ia5,
    Encoding::Latin1,
    Encoding::Ucs2,
];

#[test]
fn byte_fixtures() {
    let cases: &[(&str, Encoding, u8, &[u8])] = &[
        ("Hello", Encoding::Gsm7, 0x00, b"Hello"),
        ("€", Encoding::Gsm7, 0x00, &[0x1B, 0x65]),
        (
            "{ok}",
            Encoding::Gsm7,
            0x00,
            &[0x1B, 0x28, b'o', b'k', 0x1B, 0x29],
        ),
        ("£5 @ 10:00", Encoding::Gsm7, 0x00, b"\x015 \x00 10:00"),
        ("Noël ½", Encoding::Latin1, 0x03, b"No\xEBl \xBD"),
        (
            "مرحبا بكم",
            Encoding::Ucs2,
            0x08,
            &[
                0x06, 0x45, 0x06, 0x31, 0x06, 0x2D, 0x06, 0x28, 0x06, 0x27, 0x00, 0x20, 0x06, 0x28,
                0x06, 0x43, 0x06, 0x45,
            ],
        ),
        // Sorani: RE WITH SMALL V BELOW (U+0695), OE (U+06C6).
        ("ڕۆ", Encoding::Ucs2, 0x08, &[0x06, 0x95, 0x06, 0xC6]),
        // Arabic-Indic digits 1 2 3.
        (
            "١٢٣",
            Encoding::Ucs2,
            0x08,
            &[0x06, 0x61, 0x06, 0x62, 0x06, 0x63],
        ),
        ("👍", Encoding::Ucs2, 0x08, &[0xD8, 0x3D, 0xDC, 0x4D]),
        (
            "ok 😀",
            Encoding::Ucs2,
            0x08,
            &[0, b'o', 0, b'k', 0, b' ', 0xD8, 0x3D, 0xDE, 0x00],
        ),
    ];
    let dc = DataCodings::default();
    for &(text, encoding, data_coding, bytes) in cases {
        let e = encode(text, ALL, &dc).unwrap();
        assert_eq!(e.encoding, encoding, "{text}");
        assert_eq!(e.data_coding, data_coding, "{text}");
        assert_eq!(e.bytes, bytes, "{text}");
        assert_eq!(decode(data_coding, bytes), text);
    }
}

#[test]
fn inbound_oddities_decode_without_panicking() {
    let cases: &[(u8, &[u8], &str)] = &[
        (0x08, &[0xD8, 0x3D], "\u{FFFD}"), // lone high surrogate
        (0x08, &[0xDC, 0x4D, 0x00, 0x41], "\u{FFFD}A"), // lone low surrogate
        (0x08, &[0x06, 0x45, 0x06], "م\u{FFFD}"), // odd length
        (0x00, &[0x1B], " "),              // trailing escape
        (0x01, b"PDS 123", "PDS 123"),     // IA5
        (0x04, b"\x41\xFF", "A\u{FF}"),    // binary, best effort
        (0x18, &[0x06, 0x27], "ا"),        // UCS-2 as some USSD GWs
        (0xF0, b"Hi", "Hi"),               // GSM class 0
        (0x0F, &[0xAA, 0x18, 0x0C, 0x36, 0x02], "*100#"), // packed USSD
        (0x00, &[0xC8, 0x32, 0x9B, 0xFD, 0x06], "Hello"), // packed in dc 0
    ];
    for &(dc, bytes, want) in cases {
        assert_eq!(decode(dc, bytes), want, "dc {dc:#04x} {bytes:02X?}");
    }
}

#[test]
fn packed_ussd_fixture() {
    // "*123#" from a handset, packed as the air interface carries it.
    let septets = gsm7::encode_unpacked("*123#").unwrap();
    let packed = gsm7::pack_ussd(&septets);
    assert_eq!(packed, [0xAA, 0x98, 0x6C, 0x36, 0x02]);
    assert_eq!(decode_as(Encoding::Gsm7Packed, &packed), "*123#");
}

#[test]
fn rusmpp_extra_encoders_agree_with_ours() {
    let gsm = [
        "Hello",
        "€5 [x] {y} ~|^\\",
        "Çà ñ Ü §¿¡ Δ_ΦΓΛΩΠΨΣΘΞ",
        "1. Ration card\n2. Passport\n0. Back",
        "@£$¥èéùìòØøÅåÆæßÉ",
    ];
    for s in gsm {
        let theirs = Gsm7BitUnpacked::new().encode_to_vec(s).unwrap();
        assert_eq!(encode_as(s, Encoding::Gsm7).unwrap(), theirs, "{s}");
    }
    // 3GPP 23.038 has FORM FEED as ESC 0x0A; rusmpp 0.4.0 cannot encode it.
    assert_eq!(encode_as("\u{C}", Encoding::Gsm7).unwrap(), [0x1B, 0x0A]);
    assert!(Gsm7BitUnpacked::new().encode_to_vec("\u{C}").is_err());
    // rusmpp's UCS-2 encoder is BMP-only, so the check stays in the BMP.
    let bmp = [
        "Hello",
        "مرحبا بكم في البوابة",
        "ڕێگای کوردی",
        "١٢٣ ۱۲۳",
        "Grüße €",
    ];
    for s in bmp {
        let theirs = Ucs2::new().encode_to_vec(s).unwrap();
        assert_eq!(encode_as(s, Encoding::Ucs2).unwrap(), theirs, "{s}");
    }
}

/// Any character of the default alphabet or its extension table.
fn gsm_char() -> impl Strategy<Value = char> {
    let mut chars: Vec<char> = BASIC
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != usize::from(ESCAPE))
        .map(|(_, &c)| c)
        .collect();
    chars.extend(EXTENSION.iter().map(|&(_, c)| c));
    proptest::sample::select(chars)
}

fn gsm_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(gsm_char(), 0..400).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn gsm7_round_trips(s in gsm_string()) {
        let e = encode(&s, ALL, &DataCodings::default()).unwrap();
        prop_assert_eq!(e.encoding, Encoding::Gsm7);
        prop_assert_eq!(e.bytes.len(), charset::gsm7_len(&s).unwrap());
        prop_assert_eq!(decode(e.data_coding, &e.bytes), s.clone());
    }

    #[test]
    fn packed_gsm7_round_trips(s in gsm_string()) {
        // A final CR on an octet boundary is ambiguous by design (23.038).
        prop_assume!(!s.ends_with('\r'));
        let packed = encode_as(&s, Encoding::Gsm7Packed).unwrap();
        prop_assert_eq!(packed.len(), (charset::gsm7_len(&s).unwrap() * 7).div_ceil(8));
        prop_assert_eq!(decode_as(Encoding::Gsm7Packed, &packed), s);
    }

    #[test]
    fn ucs2_round_trips_any_string(s in any::<String>()) {
        let bytes = ucs2::encode(&s);
        prop_assert_eq!(bytes.len(), 2 * charset::ucs2_len(&s));
        prop_assert_eq!(ucs2::decode(&bytes), s.clone());
        let e = encode(&s, &[Encoding::Ucs2], &DataCodings::default()).unwrap();
        prop_assert_eq!(decode(e.data_coding, &e.bytes), s);
    }

    #[test]
    fn latin1_round_trips(s in "[\\x20-\\x7E\\u{A0}-\\u{FF}]{0,200}") {
        let e = encode(&s, &[Encoding::Latin1], &DataCodings::default()).unwrap();
        prop_assert_eq!(e.bytes.len(), s.chars().count());
        prop_assert_eq!(decode(e.data_coding, &e.bytes), s);
    }

    #[test]
    fn the_cheapest_allowed_encoding_holds_the_text(s in any::<String>()) {
        let e = encode(&s, ALL, &DataCodings::default()).unwrap();
        prop_assert_eq!(decode(e.data_coding, &e.bytes), s.clone());
        if charset::gsm7_len(&s).is_some() {
            prop_assert_eq!(e.encoding, Encoding::Gsm7);
        }
    }

    #[test]
    fn decode_never_panics(dc in any::<u8>(), bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(dc, &bytes);
        for e in [Encoding::Gsm7, Encoding::Gsm7Packed, Encoding::Ia5, Encoding::Latin1, Encoding::Ucs2] {
            let _ = decode_as(e, &bytes);
        }
    }

    #[test]
    fn parse_udh_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Some((udh, rest)) = parse_udh(&bytes) {
            prop_assert_eq!(udh.len + rest.len(), bytes.len());
        }
    }

    #[test]
    fn rusmpp_agrees_on_gsm7(s in gsm_string()) {
        // rusmpp 0.4.0's extension table lacks FORM FEED (ESC 0x0A).
        prop_assume!(!s.contains('\u{C}'));
        let theirs = Gsm7BitUnpacked::new().encode_to_vec(&s).unwrap();
        prop_assert_eq!(encode_as(&s, Encoding::Gsm7).unwrap(), theirs);
    }
}
