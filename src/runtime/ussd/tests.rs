use super::*;
use crate::config::Config;

const CONFIG: &str = r#"
[gateway]
node = "t"
flows_dir = "flows"

[store]
path = "store"

[[operators]]
name = "zain"
host = "127.0.0.1"
port = 2775
system_id = "bawaba"
password = "x"
msisdn_prefixes = ["96478"]
sms = { short_codes = ["2150"] }

[operators.ussd]
service_codes = ["*123#"]
"#;

fn operator(extra: &str) -> config::Operator {
    let text = format!("{CONFIG}{extra}");
    let c = Config::from_str(&text, "/tmp/bawaba.toml").expect("config");
    c.operators[0].clone()
}

fn mo(op: u8, text: &str, its: Option<u16>, umr: Option<u16>) -> Sm {
    Sm {
        service_type: "USSD".into(),
        source: Address {
            ton: 1,
            npi: 1,
            addr: "9647801234567".into(),
        },
        dest: Address {
            ton: 0,
            npi: 0,
            addr: "123".into(),
        },
        short_message: Bytes::copy_from_slice(text.as_bytes()),
        tlvs: Tlvs {
            ussd_service_op: Some(op),
            its_session_info: its,
            user_message_reference: umr,
            ..Tlvs::default()
        },
        ..Sm::default()
    }
}

#[test]
fn begin_reply_abort_by_the_default_profile() {
    let op = operator("");
    let p = &op.ussd.profile;
    let m = parse(&mo(1, "*123*1#", Some(0x0700), None), 1, p).unwrap();
    assert_eq!(
        m.action,
        Action::Begin {
            dial: "*123*1#".into()
        }
    );
    assert_eq!(m.dialogue, DialogueId::Its(7));
    assert_eq!(m.who.as_str(), "9647801234567");
    let r = parse(&mo(18, "2", Some(0x0700), None), 18, p).unwrap();
    assert_eq!(r.action, Action::Reply { text: "2".into() });
    let a = parse(&mo(129, "", Some(0x0700), None), 129, p).unwrap();
    assert_eq!(a.action, Action::Abort);
    assert_eq!(
        parse(&mo(3, "", Some(1), None), 3, p).unwrap_err(),
        Reject::UnknownOp(3)
    );
    let no_its = parse(&mo(1, "*123#", None, None), 1, p).unwrap_err();
    assert_eq!(no_its, Reject::NoDialogueId("its_session_info"));
}

#[test]
fn replies_echo_the_dialogue_and_set_the_end_bit_only_at_the_end() {
    let op = operator("");
    let m = parse(&mo(1, "*123#", Some(0x0702), None), 1, &op.ussd.profile).unwrap();
    let menu = reply(&op, &m.reply_to, "1. PDS\n2. Electricity", false);
    assert_eq!(menu.tlvs.ussd_service_op, Some(2));
    assert_eq!(menu.tlvs.its_session_info, Some(0x0702));
    assert_eq!(menu.dest.addr, "9647801234567");
    assert_eq!(menu.source.addr, "123");
    assert_eq!(menu.service_type, "USSD");
    assert_eq!(menu.data_coding, 0);
    let done = reply(&op, &m.reply_to, "شكراً", true);
    assert_eq!(done.tlvs.ussd_service_op, Some(17));
    assert_eq!(done.tlvs.its_session_info, Some(0x0703));
    assert_eq!(done.data_coding, 8);
    assert_eq!(text::decode(8, &done.short_message), "شكراً");
}

#[test]
fn vendor_profiles_are_data() {
    let op = operator(
        r#"session_key = "user_message_reference"
dial_string = "destination_addr"
ops = { begin = 0, user_reply = 19, our_continue = 3, our_end = 16, abort = [130] }
"#,
    );
    let p = &op.ussd.profile;
    let mut sm = mo(0, "", None, Some(4242));
    sm.dest.addr = "*123*2#".into();
    let m = parse(&sm, 0, p).unwrap();
    assert_eq!(
        m.action,
        Action::Begin {
            dial: "*123*2#".into()
        }
    );
    assert_eq!(m.dialogue, DialogueId::Umr(4242));
    let r = reply(&op, &m.reply_to, "ok", true);
    assert_eq!(r.tlvs.ussd_service_op, Some(16));
    assert_eq!(r.tlvs.user_message_reference, Some(4242));
    assert_eq!(r.tlvs.its_session_info, None);
    assert_eq!(
        parse(&mo(130, "", None, Some(4242)), 130, p)
            .unwrap()
            .action,
        Action::Abort
    );
}

#[test]
fn an_over_long_screen_is_cut_to_the_budget() {
    let budget = crate::charset::Budget {
        gsm7: 182,
        ucs2: 80,
    };
    let long = "ب".repeat(100);
    let cut = fit(&long, &budget);
    assert_eq!(cut.chars().count(), 80);
    assert_eq!(fit("short", &budget), "short");
}
