//! Splitting outbound text and reassembling inbound parts: fixtures for
//! every mode and boundary, and the property that split-then-reassemble
//! gives back the original text in every mode.

use std::time::{Duration, Instant};

use bawaba::smpp::text::{
    decode, encode, inbound, parse_udh, split, Body, DataCodings, Encoded, Encoding, Error,
    Inbound, Outbound, Pushed, Reassembler, SplitConfig, SplitMode,
};
use proptest::prelude::*;

const ALL: &[Encoding] = &[Encoding::Gsm7, Encoding::Latin1, Encoding::Ucs2];
const MODES: [SplitMode; 4] = [
    SplitMode::Udh8,
    SplitMode::Udh16,
    SplitMode::Sar,
    SplitMode::Payload,
];

fn enc(text: &str) -> Encoded {
    encode(text, ALL, &DataCodings::default()).unwrap()
}

fn cfg(mode: SplitMode) -> SplitConfig {
    SplitConfig {
        mode,
        ..SplitConfig::default()
    }
}

fn parts(out: &Outbound) -> &[bawaba::smpp::text::Part] {
    match &out.body {
        Body::Parts(p) => p,
        Body::Payload(_) => panic!("expected parts"),
    }
}

/// Length of each part's text after its header, in the encoding's units.
fn text_lens(out: &Outbound) -> Vec<usize> {
    parts(out)
        .iter()
        .map(|p| match p.udhi {
            true => parse_udh(&p.short_message).unwrap().1.len(),
            false => p.short_message.len(),
        })
        .collect()
}

#[test]
fn part_sizes_per_encoding_and_mode() {
    let a160 = "a".repeat(160);
    let a161 = "a".repeat(161);
    let b70 = "ب".repeat(70);
    let b71 = "ب".repeat(71);
    let l140 = "ë".repeat(140);
    let l141 = "ë".repeat(141);
    let cases: &[(&str, SplitMode, &[usize])] = &[
        (&a160, SplitMode::Udh8, &[160]),
        (&a161, SplitMode::Udh8, &[153, 8]),
        (&a161, SplitMode::Udh16, &[152, 9]),
        (&a161, SplitMode::Sar, &[152, 9]),
        (&b70, SplitMode::Udh8, &[140]),
        (&b71, SplitMode::Udh8, &[134, 8]),
        (&b71, SplitMode::Udh16, &[132, 10]),
        (&l140, SplitMode::Udh8, &[140]),
        (&l141, SplitMode::Udh8, &[134, 7]),
        (&l141, SplitMode::Sar, &[133, 8]),
    ];
    for &(text, mode, want) in cases {
        let out = split(&enc(text), &cfg(mode), 7).unwrap();
        assert_eq!(text_lens(&out), want, "{mode:?} {}", text.chars().count());
    }
}

#[test]
fn udh8_parts_carry_the_header_and_udhi() {
    let out = split(&enc(&"x".repeat(200)), &cfg(SplitMode::Udh8), 0x1234).unwrap();
    let p = parts(&out);
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[0].short_message[..6],
        [0x05, 0x00, 0x03, 0x34, 0x02, 0x01]
    );
    assert_eq!(
        p[1].short_message[..6],
        [0x05, 0x00, 0x03, 0x34, 0x02, 0x02]
    );
    assert!(p.iter().all(|p| p.udhi && p.sar.is_none()));
    assert_eq!(p[0].short_message.len(), 159);
}

#[test]
fn udh16_and_sar_parts() {
    let text = "y".repeat(200);
    let out = split(&enc(&text), &cfg(SplitMode::Udh16), 0xBEEF).unwrap();
    assert_eq!(
        parts(&out)[1].short_message[..7],
        [0x06, 0x08, 0x04, 0xBE, 0xEF, 0x02, 0x02]
    );
    let out = split(&enc(&text), &cfg(SplitMode::Sar), 0xBEEF).unwrap();
    for (i, p) in parts(&out).iter().enumerate() {
        assert!(!p.udhi);
        let sar = p.sar.unwrap();
        assert_eq!((sar.ref_num, sar.total, sar.seq), (0xBEEF, 2, i as u8 + 1));
    }
}

#[test]
fn short_text_is_one_plain_part_in_every_mode() {
    for mode in MODES {
        let out = split(&enc("Hello"), &cfg(mode), 1).unwrap();
        let p = parts(&out);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].udhi, p[0].sar), (false, None));
        assert_eq!(p[0].short_message, b"Hello");
    }
}

#[test]
fn pairs_are_never_split() {
    // 152 septets then '€' (2 septets): the escape pair moves to part 2.
    let text = format!("{}€{}", "a".repeat(152), "z".repeat(10));
    let out = split(&enc(&text), &cfg(SplitMode::Udh8), 1).unwrap();
    assert_eq!(text_lens(&out), [152, 12]);
    // 66 Arabic letters then an emoji (2 units): the pair moves to part 2.
    let text = format!("{}😀{}", "ب".repeat(66), "ب".repeat(10));
    let out = split(&enc(&text), &cfg(SplitMode::Udh8), 1).unwrap();
    assert_eq!(text_lens(&out), [132, 24]);
    for p in parts(&out) {
        let body = parse_udh(&p.short_message).unwrap().1;
        assert!(!decode(0x08, body).contains('\u{FFFD}'));
    }
}

#[test]
fn payload_mode_sends_the_whole_text_up_to_the_cap() {
    let text = "ب".repeat(300);
    let out = split(&enc(&text), &cfg(SplitMode::Payload), 1).unwrap();
    assert_eq!(out.data_coding, 0x08);
    assert_eq!(out.body, Body::Payload(enc(&text).bytes));
    let long = "ب".repeat(701);
    assert_eq!(
        split(&enc(&long), &cfg(SplitMode::Payload), 1),
        Err(Error::PayloadTooLong {
            len: 1402,
            max: 1400
        })
    );
}

#[test]
fn part_count_is_bounded() {
    let text = "z".repeat(153 * 8 + 1);
    assert_eq!(
        split(&enc(&text), &cfg(SplitMode::Udh8), 1),
        Err(Error::TooManyParts { needed: 9, max: 8 })
    );
    let ok = "z".repeat(153 * 8);
    assert_eq!(
        parts(&split(&enc(&ok), &cfg(SplitMode::Udh8), 1).unwrap()).len(),
        8
    );
    let zero = SplitConfig {
        max_parts: 0,
        ..SplitConfig::default()
    };
    assert!(matches!(
        split(&enc("a"), &zero, 1),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn packed_parts_align_after_the_udh() {
    let text = "p".repeat(170);
    let e = encode(&text, &[Encoding::Gsm7Packed], &DataCodings::default()).unwrap();
    let out = split(&e, &cfg(SplitMode::Udh8), 9).unwrap();
    let p = parts(&out);
    assert_eq!(p.len(), 2);
    // 6 octets of UDH + 153 septets with 1 fill bit = 140 octets.
    assert_eq!(p[0].short_message.len(), 140);
    let septets = bawaba::smpp::text::gsm7::unpack(&p[0].short_message[6..], 1);
    assert_eq!(
        bawaba::smpp::text::gsm7::decode_unpacked(&septets[..153]),
        "p".repeat(153)
    );
}

/// Feeds every part of `out` through the reassembler, as the inbound side
/// would see them, and returns the text it completes.
fn reassemble(out: &Outbound, order: &[usize]) -> Option<String> {
    let parts = match &out.body {
        Body::Payload(bytes) => return Some(decode(out.data_coding, bytes)),
        Body::Parts(p) => p,
    };
    let mut r = Reassembler::new(4, Duration::from_secs(60));
    let now = Instant::now();
    let mut done = None;
    for &i in order {
        let p = &parts[i % parts.len()];
        let seg = match inbound(out.data_coding, p.udhi, p.sar, &p.short_message) {
            Inbound::Part(seg) => seg,
            Inbound::Whole {
                data_coding,
                payload,
            } => {
                done = Some(decode(data_coding, &payload));
                continue;
            }
        };
        match r.push("msisdn", seg, now).ok()? {
            Pushed::Complete(c) => done = Some(c.text()),
            Pushed::Duplicate | Pushed::Pending { evicted: None } => {}
            Pushed::Pending { evicted: Some(_) } => return None,
        }
    }
    done
}

fn mixed_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[a-zA-Z0-9 .,]{1,20}",
        "[€\\[\\]{}|~^\\\\]{1,4}",
        "[éèÇ£¥]{1,5}",
        "[ëïõ½]{1,5}",
        "[ابتثجحخدذرزسشصضطظعغفقكلمنهوي ]{1,30}",
        "[😀👍🇮🇶]{1,3}",
    ];
    proptest::collection::vec(pieces, 1..40).prop_map(|v| v.concat())
}

/// Texts that each stay in one encoding, long enough to need many parts,
/// dense in characters that must not be cut (escapes, surrogate pairs).
fn any_text() -> impl Strategy<Value = String> {
    let gsm = proptest::collection::vec(prop_oneof!["[a-z ]{1,10}", "[€\\[\\]{}|]{1,5}"], 1..60);
    let ucs2 = proptest::collection::vec(prop_oneof!["[ابت ]{1,10}", "[😀👍]{1,3}"], 1..40);
    let latin = proptest::collection::vec(prop_oneof!["[a-z ]{1,10}", "[ëï½]{1,5}"], 1..60);
    prop_oneof![
        mixed_text(),
        gsm.prop_map(|v| v.concat()),
        ucs2.prop_map(|v| v.concat()),
        latin.prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn split_then_reassemble_gives_the_text(text in any_text(), shuffle in any::<u64>(), reference in any::<u16>()) {
        for mode in MODES {
            let config = SplitConfig { mode, max_parts: 255, payload_max: 65_535 };
            let out = split(&enc(&text), &config, reference).unwrap();
            let n = match &out.body { Body::Parts(p) => p.len(), Body::Payload(_) => 1 };
            // Every part, in a rotated order, with the first part repeated.
            let start = (shuffle as usize) % n;
            let mut order: Vec<usize> = (0..n).map(|i| (i + start) % n).collect();
            order.insert(n.min(1), order[0]);
            prop_assert_eq!(reassemble(&out, &order), Some(text.clone()), "{:?}", mode);
        }
    }

    #[test]
    fn every_part_fits_and_decodes_alone(text in any_text()) {
        for mode in [SplitMode::Udh8, SplitMode::Udh16, SplitMode::Sar] {
            let config = SplitConfig { mode, max_parts: 255, payload_max: 0 };
            let out = split(&enc(&text), &config, 1).unwrap();
            let mut joined = String::new();
            for p in parts(&out) {
                let max = if out.encoding == Encoding::Gsm7 { 160 } else { 140 };
                prop_assert!(p.short_message.len() <= max);
                let body = if p.udhi { parse_udh(&p.short_message).unwrap().1 } else { &p.short_message[..] };
                joined.push_str(&decode(out.data_coding, body));
            }
            prop_assert_eq!(joined, text.clone());
        }
    }
}
