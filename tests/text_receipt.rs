//! Delivery receipt text as several vendors write it, message_state values,
//! message id matching, and a never-panic property over arbitrary bytes.

use bawaba::smpp::receipt::{
    ids_match, normalize_message_id, parse, parse_bytes, Error, MessageState, Receipt, ReceiptDate,
    ReceiptStat,
};
use proptest::prelude::*;

fn date(s: &str) -> Option<ReceiptDate> {
    ReceiptDate::parse(s)
}

struct Case {
    name: &'static str,
    text: &'static str,
    id: &'static str,
    stat: Option<ReceiptStat>,
    sub: Option<u32>,
    dlvrd: Option<u32>,
    submit: Option<&'static str>,
    done: Option<&'static str>,
    err: Option<&'static str>,
    body: Option<&'static str>,
}

fn check(c: &Case) {
    let r: Receipt = parse(c.text).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    assert_eq!(r.id, c.id, "{}", c.name);
    assert_eq!(r.stat, c.stat, "{}", c.name);
    assert_eq!((r.submitted, r.delivered), (c.sub, c.dlvrd), "{}", c.name);
    assert_eq!(r.submit_date, c.submit.and_then(date), "{}", c.name);
    assert_eq!(r.done_date, c.done.and_then(date), "{}", c.name);
    if c.submit.is_some() {
        assert!(r.submit_date.is_some(), "{}: submit date", c.name);
    }
    assert_eq!(r.err.as_deref(), c.err, "{}", c.name);
    assert_eq!(r.text.as_deref(), c.body, "{}", c.name);
}

#[test]
fn vendor_formats() {
    use ReceiptStat::*;
    let full = |name, text, id, stat, body| Case {
        name,
        text,
        id,
        stat: Some(stat),
        sub: Some(1),
        dlvrd: Some(1),
        submit: Some("2301151230"),
        done: Some("2301151231"),
        err: Some("000"),
        body,
    };
    let cases = [
        full("SMPP 3.4 appendix B / Kannel", "id:0123456789 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:Hello world", "0123456789", Delivered, Some("Hello world")),
        full("Jasmin (UUID id)", "id:16fd2706-8baf-433b-82eb-8c7fada847da sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:PDS 12345678", "16fd2706-8baf-433b-82eb-8c7fada847da", Delivered, Some("PDS 12345678")),
        full("upper-case keys, lower-case stat", "ID:7A3F9C21 SUB:001 DLVRD:001 SUBMIT DATE:2301151230 DONE DATE:2301151231 STAT:delivrd ERR:000 TEXT:hi", "7A3F9C21", Delivered, Some("hi")),
        full("fields in another order", "stat:DELIVRD err:000 id:99 done date:2301151231 submit date:2301151230 dlvrd:001 sub:001 text:ok", "99", Delivered, Some("ok")),
        full("text before stat", "id:5 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 text:Your ration card is ready stat:DELIVRD err:000", "5", Delivered, Some("Your ration card is ready")),
        full("unknown extra fields", "id:5 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 mccmnc:41805 route:3 text:x", "5", Delivered, Some("x")),
        full("Arabic text", "id:5 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:مرحبا بكم", "5", Delivered, Some("مرحبا بكم")),
        full("spaces around values, leading and trailing", "   id: 5  sub: 001 dlvrd: 001 submit date: 2301151230 done date: 2301151231 stat: DELIVRD err: 000 text: hi   ", "5", Delivered, Some("hi")),
    ];
    for c in &cases {
        check(c);
    }
    let partial = [
        Case { name: "underscored dates with seconds, Text:", text: "id:1234567890 sub:001 dlvrd:000 submit_date:230115123045 done_date:230115123110 stat:UNDELIV err:001 Text:Your code", id: "1234567890", stat: Some(Undeliverable), sub: Some(1), dlvrd: Some(0), submit: Some("230115123045"), done: Some("230115123110"), err: Some("001"), body: Some("Your code") },
        Case { name: "missing fields", text: "id:42 stat:EXPIRED err:0", id: "42", stat: Some(Expired), sub: None, dlvrd: None, submit: None, done: None, err: Some("0"), body: None },
        Case { name: "empty err and text", text: "id:42 stat:REJECTD err: text:", id: "42", stat: Some(Rejected), sub: None, dlvrd: None, submit: None, done: None, err: None, body: None },
        Case { name: "no stat at all", text: "id:42 sub:001", id: "42", stat: None, sub: Some(1), dlvrd: None, submit: None, done: None, err: None, body: None },
        Case { name: "full-word and numeric stats", text: "id:a1 stat:DELIVERED", id: "a1", stat: Some(Delivered), sub: None, dlvrd: None, submit: None, done: None, err: None, body: None },
        Case { name: "message_state number as stat", text: "id:a1 stat:5", id: "a1", stat: Some(Undeliverable), sub: None, dlvrd: None, submit: None, done: None, err: None, body: None },
        Case { name: "vendor stat word", text: "id:a1 stat:FAILED err:0x0B", id: "a1", stat: Some(Other("FAILED".into())), sub: None, dlvrd: None, submit: None, done: None, err: Some("0x0B"), body: None },
        Case { name: "colon inside an id", text: "id:smsc1:000123 stat:DELIVRD", id: "smsc1:000123", stat: Some(Delivered), sub: None, dlvrd: None, submit: None, done: None, err: None, body: None },
        Case { name: "stray words", text: "DLR: id:77 garbage stat:ENROUTE", id: "77", stat: Some(Enroute), sub: None, dlvrd: None, submit: None, done: None, err: None, body: None },
        Case { name: "4-digit years", text: "id:1 submit date:202301151230 done date:20230115123159 stat:ACCEPTD", id: "1", stat: Some(Accepted), sub: None, dlvrd: None, submit: Some("202301151230"), done: Some("20230115123159"), err: None, body: None },
    ];
    for c in &partial {
        check(c);
    }
}

#[test]
fn dates_are_checked() {
    let d = date("230115123045").unwrap();
    assert_eq!(
        (d.year, d.month, d.day, d.hour, d.minute, d.second),
        (2023, 1, 15, 12, 30, 45)
    );
    let d = date("2301151230").unwrap();
    assert_eq!((d.year, d.second), (2023, 0));
    let d = date("202301151230").unwrap();
    assert_eq!((d.year, d.month, d.hour, d.minute), (2023, 1, 12, 30));
    for bad in [
        "",
        "23011512",
        "2313151230",
        "2301321230",
        "2301152530",
        "23011512a0",
        "٢٣٠١١٥١٢٣٠",
    ] {
        assert_eq!(date(bad), None, "{bad}");
    }
}

#[test]
fn err_codes() {
    let r = parse("id:1 err:0x0B").unwrap();
    assert_eq!(r.err_code(), Some(11));
    assert_eq!(parse("id:1 err:034").unwrap().err_code(), Some(34));
    assert_eq!(parse("id:1 err:abc").unwrap().err_code(), None);
}

#[test]
fn not_a_receipt() {
    assert_eq!(parse("Hello there, stat:DELIVRD"), Err(Error::MissingId));
    assert_eq!(parse(""), Err(Error::MissingId));
    assert_eq!(parse("id: stat:DELIVRD"), Err(Error::MissingId));
    assert_eq!(parse_bytes(b"id:9 stat:DELIVRD\xFF").unwrap().id, "9");
}

#[test]
fn message_state_values() {
    use ReceiptStat::*;
    let want = [
        Enroute,
        Delivered,
        Expired,
        Deleted,
        Undeliverable,
        Accepted,
        Unknown,
        Rejected,
    ];
    for (v, stat) in (1u8..=8).zip(want) {
        let state = MessageState::from_u8(v).unwrap();
        assert_eq!(state as u8, v);
        assert_eq!(ReceiptStat::from(state), stat);
    }
    assert_eq!(MessageState::from_u8(0), None);
    assert_eq!(MessageState::from_u8(9), None);
    assert!(ReceiptStat::Delivered.is_final() && ReceiptStat::Rejected.is_final());
    assert!(!ReceiptStat::Enroute.is_final() && !ReceiptStat::Other("X".into()).is_final());
}

#[test]
fn message_ids_match_across_renderings() {
    // submit_sm_resp said decimal, the receipt says hex (Kannel msg-id-type).
    assert!(ids_match("2050989089", "7A3F9C21"));
    assert!(ids_match("12345", "3039"));
    assert!(ids_match("12345", "0x3039"));
    assert!(ids_match("00012345", "12345"));
    assert!(ids_match("7a3f9c21", "7A3F9C21"));
    assert!(ids_match(" abc-DEF ", "abc-def"));
    assert!(!ids_match("12345", "12346"));
    assert!(!ids_match("16fd2706-8baf", "16fd2706-8bae"));
    assert_eq!(normalize_message_id("0x3039"), ["0x3039", "3039", "12345"]);
    assert_eq!(normalize_message_id("12345"), ["12345", "3039", "74565"]);
    assert_eq!(normalize_message_id("000"), ["000", "0"]);
    assert!(normalize_message_id("").is_empty());
}

#[test]
fn canonical_ids_per_operator_rendering() {
    use bawaba::smpp::receipt::{canonical_message_id, IdBase};
    // Operator answers submit_sm_resp in decimal and writes receipts in hex.
    let stored = canonical_message_id("2050989089", IdBase::Decimal);
    let receipt = parse("id:7A3F9C21 stat:DELIVRD").unwrap();
    assert_eq!(canonical_message_id(&receipt.id, IdBase::Hex), stored);
    // Without the configured rendering, 16 and 10 cannot be told apart.
    assert!(ids_match("16", "10"));
    assert_ne!(
        canonical_message_id("16", IdBase::Decimal),
        canonical_message_id("10", IdBase::Decimal)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_bytes(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = parse(s);
            let _ = normalize_message_id(s);
        }
    }

    #[test]
    fn receipt_like_text_never_panics(s in "((id|sub|dlvrd|submit date|done_date|stat|err|text|Text|x)[: ]{0,2}[0-9a-zA-Zé ب]{0,12} ?){0,12}") {
        if let Ok(r) = parse(&s) {
            prop_assert!(!r.id.is_empty());
        }
    }

    #[test]
    fn generated_receipts_parse_back(
        id in "[0-9a-f]{1,20}",
        sub in 0u32..1000,
        stat in proptest::sample::select(vec!["DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE"]),
        body in "[A-Za-z0-9 .]{0,20}",
    ) {
        let text = format!("id:{id} sub:{sub:03} dlvrd:{sub:03} submit date:2301151230 done date:2301151231 stat:{stat} err:000 text:{body}");
        let r = parse(&text).unwrap();
        prop_assert_eq!(r.id, id);
        prop_assert_eq!(r.submitted, Some(sub));
        prop_assert!(!matches!(r.stat, Some(ReceiptStat::Other(_)) | None));
        prop_assert_eq!(r.text.unwrap_or_default(), body.trim());
    }
}
