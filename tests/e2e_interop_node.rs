//! The whole gateway (`bawaba serve`) against an SMSC nobody here wrote:
//! node-smpp via tests/interop/smsc.js. It binds with the configured
//! account, answers a USSD dial with the Arabic menu (UCS-2, op 2 and the
//! its_session_info echoed), follows the dialogue to a back-end answer from
//! the mock ministries, and unbinds on SIGTERM.

mod e2e_support;
mod node_support;

use bawaba_sim::ministries::{Ministries, MinistriesConfig};
use e2e_support::{write_config, Serve};
use node_support::NodeSmsc;
use serde_json::{json, Value};

const MSISDN: &str = "9647701234567";

fn ussd(op: u8, text: &str, session: &str) -> Value {
    json!({"cmd": "deliver_sm", "pdu": {
        "service_type": "USSD", "source_addr_ton": 1, "source_addr_npi": 1,
        "source_addr": MSISDN, "destination_addr": "123",
        "short_message": text, "ussd_service_op": op, "its_session_info_hex": session}})
}

/// Sends one turn; returns the gateway's submit_sm.
async fn turn(node: &mut NodeSmsc, op: u8, text: &str, session: &str) -> Value {
    node.send(ussd(op, text, session)).await;
    let resp = node.expect("deliver_sm_resp").await;
    assert_eq!(resp["status"], 0, "{resp}");
    let mt = node.expect("submit_sm").await;
    assert_eq!(mt["destination_addr"], MSISDN, "{mt}");
    mt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_against_node_smpp() {
    let mut node = NodeSmsc::start("bawaba", e2e_support::BIND_PASSWORD).await;
    let ministries = Ministries::start(MinistriesConfig::local()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let smsc = std::net::SocketAddr::from(([127, 0, 0, 1], node.port));
    let addrs = (smsc, ministries.local_addr());
    let config = write_config(
        dir.path(),
        addrs,
        &dir.path().join("store"),
        "text",
        e2e_support::DEBUG,
    );
    let mut gateway = Serve::spawn(&config, &dir.path().join("serve.log"));

    let bind = node.expect("bind_transceiver").await;
    assert_eq!(bind["password_ok"], true, "{bind}");
    assert_eq!(bind["system_id"], "bawaba");

    // The dial: the Arabic menu, UCS-2, "more to come", same dialogue.
    let menu = turn(&mut node, 1, "*123*1#", "0400").await;
    assert_eq!(menu["data_coding"], 8, "{menu}");
    assert_eq!(menu["ussd_service_op"], 2, "{menu}");
    assert_eq!(menu["its_session_info"], "0400", "{menu}");
    assert!(
        menu["text"]
            .as_str()
            .unwrap()
            .contains("أدخل رقم البطاقة التموينية"),
        "{menu}"
    );

    let choose = turn(&mut node, 18, "12345678", "0402").await;
    assert!(
        choose["text"].as_str().unwrap().contains("اختر الخدمة"),
        "{choose}"
    );
    assert_eq!(choose["ussd_service_op"], 2);

    // The balance from the mock ministries; the final screen ends the
    // dialogue: op 17 and the end bit of its_session_info.
    let done = turn(&mut node, 18, "1", "0404").await;
    assert!(done["text"].as_str().unwrap().contains("٤٠٬٠٠٠"), "{done}");
    assert_eq!(done["ussd_service_op"], 17, "{done}");
    assert_eq!(done["its_session_info"], "0405", "{done}");

    gateway.signal("TERM");
    node.expect("unbind").await;
    let status = gateway.wait(std::time::Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}\n{}", gateway.logs());
    node.send(json!({"cmd": "exit"})).await;
}
