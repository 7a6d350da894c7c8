//! Interop with a peer nobody here wrote: node-smpp 0.5.1 (npm `smpp`,
//! pinned in tests/interop/package.json) as the SMSC, scripted by
//! tests/interop/smsc.js over stdin/stdout JSON lines. Our ESME binds,
//! answers a USSD deliver_sm, replies with a UCS-2 Arabic submit_sm that
//! node checks byte for byte, sends a long SMS (UDH parts and
//! message_payload), trades enquire_links, and unbinds.
//!
//! Fails (never skips) when node is missing (tests/node_support).

mod node_support;

use std::sync::Arc;
use std::time::Duration;

use bawaba::config::Config;
use bawaba::smpp::pdu::{Address, CommandStatus, Sm, Tlvs};
use bawaba::smpp::session::{InboundPdu, Operator, SubmitResult};
use bawaba::smpp::text::{self, DataCodings, Encoding, SplitConfig, SplitMode};
use node_support::NodeSmsc;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(15);
const PASSWORD: &str = "n0de!pw";

fn operator(port: u16) -> bawaba::config::Operator {
    let toml = format!(
        "[[operators]]\nname = \"node\"\nhost = \"127.0.0.1\"\nport = {port}\nsystem_id = \"bawaba\"\npassword = \"{PASSWORD}\"\nenquire_link = {{ idle = \"1s\", timeout = \"5s\" }}\n"
    );
    Config::from_str(&toml, "interop.toml")
        .unwrap()
        .operators
        .remove(0)
}

fn ucs2_hex(text: &str) -> String {
    text.encode_utf16()
        .flat_map(|u| u.to_be_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn reply(to: &str, data_coding: u8, short_message: Vec<u8>, tlvs: Tlvs) -> Sm {
    Sm {
        service_type: "USSD".into(),
        source: Address::new(0, 0, "123"),
        dest: Address::new(1, 1, to),
        data_coding,
        short_message: short_message.into(),
        tlvs,
        ..Sm::default()
    }
}

#[tokio::test]
async fn node_smpp_smsc_ussd_dialogue_arabic_long_sms_enquire_link_unbind() {
    let mut node = NodeSmsc::start("bawaba", PASSWORD).await;
    let port = node.port;
    let (tx, mut inbound) = mpsc::channel(8);
    let shutdown = CancellationToken::new();
    let op = Operator::start(Arc::new(operator(port)), tx, shutdown.clone());

    // Bind.
    let bind = node.expect("bind_transceiver").await;
    assert_eq!(bind["system_id"], "bawaba");
    assert_eq!(bind["password_ok"], true);
    assert_eq!(bind["interface_version"], 0x34);
    assert!(op.wait_bound(WAIT).await);

    // A USSD dial from the phone: deliver_sm with ussd_service_op 1 and its_session_info.
    node.send(json!({"cmd": "deliver_sm", "pdu": {
        "service_type": "USSD", "source_addr_ton": 1, "source_addr_npi": 1,
        "source_addr": "9647701234567", "destination_addr": "123",
        "short_message": "*123#", "ussd_service_op": 1, "its_session_info_hex": "0a00"}}))
        .await;
    let mo = tokio::time::timeout(WAIT, inbound.recv())
        .await
        .unwrap()
        .unwrap();
    let InboundPdu::Deliver(sm) = &mo.pdu else {
        panic!("{:?}", mo.pdu)
    };
    assert_eq!(sm.service_type, "USSD");
    assert_eq!(sm.source.addr, "9647701234567");
    assert_eq!(&sm.short_message[..], b"*123#");
    assert_eq!(sm.tlvs.ussd_service_op, Some(1));
    assert_eq!(sm.tlvs.its_session_info, Some(0x0a00));
    mo.responder.respond(CommandStatus::ESME_ROK);
    let resp = node.expect("deliver_sm_resp").await;
    assert_eq!(resp["status"], 0);

    // Our menu: UCS-2 Arabic, ussd_service_op 2 (USSR request), its_session_info echoed.
    let menu = "مرحبا بكم\n1) الرصيد\n2) الفاتورة";
    let tlvs = Tlvs {
        ussd_service_op: Some(2),
        its_session_info: Some(0x0a00),
        ..Tlvs::default()
    };
    let bytes: Vec<u8> = menu.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    let r = op.submit(reply("9647701234567", 8, bytes, tlvs)).await;
    assert!(
        matches!(r, SubmitResult::Accepted { ref message_id } if message_id.starts_with("node-")),
        "{r:?}"
    );
    let mt = node.expect("submit_sm").await;
    assert_eq!(mt["data_coding"], 8);
    assert_eq!(mt["short_message_hex"], ucs2_hex(menu), "byte-exact UCS-2");
    assert_eq!(mt["text"], menu, "node-smpp's own UCS-2 decoding");
    assert_eq!(mt["ussd_service_op"], 2);
    assert_eq!(mt["its_session_info"], "0a00");
    assert_eq!(mt["destination_addr"], "9647701234567");
    assert_eq!(mt["esm_class"], 0);

    // A long Arabic SMS as UDH parts, then as one message_payload.
    let long = "هذه رسالة طويلة من بوابة الخدمات الإلكترونية. ".repeat(4);
    let encoded = text::encode(&long, &[Encoding::Ucs2], &DataCodings::default()).unwrap();
    let split = SplitConfig {
        mode: SplitMode::Udh8,
        ..SplitConfig::default()
    };
    let text::Body::Parts(parts) = text::split(&encoded, &split, 0x42).unwrap().body else {
        panic!("expected UDH parts")
    };
    assert!(parts.len() >= 3);
    for part in &parts {
        let mut sm = reply(
            "9647701234567",
            8,
            part.short_message.clone(),
            Tlvs::default(),
        );
        sm.service_type = String::new();
        sm.esm_class = if part.udhi { 0x40 } else { 0 };
        assert!(matches!(op.submit(sm).await, SubmitResult::Accepted { .. }));
    }
    let mut joined = String::new();
    for (i, part) in parts.iter().enumerate() {
        let got = node.expect("submit_sm").await;
        assert_eq!(got["esm_class"], 0x40);
        assert_eq!(
            got["short_message_hex"],
            hex(&part.short_message),
            "part {i}"
        );
        let udh = format!("0003{:02x}{:02x}{:02x}", 0x42, parts.len(), i + 1);
        assert_eq!(got["udh"][0], udh, "node-smpp reads our UDH");
        joined.push_str(got["text"].as_str().unwrap());
    }
    assert_eq!(
        joined, long,
        "the parts join back into the text on the node side"
    );
    let payload = Tlvs {
        message_payload: Some(encoded.bytes.clone().into()),
        ..Tlvs::default()
    };
    let r = op
        .submit(reply("9647701234567", 8, Vec::new(), payload))
        .await;
    assert!(matches!(r, SubmitResult::Accepted { .. }), "{r:?}");
    let got = node.expect("submit_sm").await;
    assert_eq!(got["message_payload_hex"], hex(&encoded.bytes));
    assert_eq!(got["payload_text"], long);

    // enquire_link both ways: node asks, we answer; we ask after 1 s idle.
    node.send(json!({"cmd": "enquire_link"})).await;
    let el = node.expect("enquire_link_resp").await;
    assert_eq!(el["status"], 0);
    let ours = node.expect("enquire_link").await;
    assert!(ours["seq"].as_u64().unwrap() >= 1);

    // Graceful unbind.
    op.shutdown().await;
    node.expect("unbind").await;
    node.expect("closed").await;
    assert!(!op.is_bound());
    node.send(json!({"cmd": "exit"})).await;
}
