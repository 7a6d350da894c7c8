//! The JSON logs of a real run (`bawaba serve`, `[log] format = "json"`,
//! bawaba at debug) hold no full MSISDN and no PIN at any level, and no
//! message body or citizen input at info and above: a USSD pension inquiry
//! with its PIN and an SMS ration-card conversation are walked, the
//! gateway stopped with SIGTERM, and every line of its stderr inspected.

mod e2e_support;

use std::time::Duration;

use bawaba_sim::ministries::citizens::{self, Lang};
use e2e_support::Rig;
use serde_json::Value;

const MSISDN: &str = "9647809876543";
const CARD: &str = "12345678";

/// A pension number the mock ministries know, and its PIN.
fn pensioner() -> (String, String) {
    (100_000..200_000)
        .map(|n| n.to_string())
        .find_map(|n| citizens::pension_pin(&n).map(|pin| (n, pin)))
        .expect("a known pension number")
}

/// Every string and number in `v` except the timestamp, as text.
fn values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|v| values(v, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| k.as_str() != "timestamp")
            .for_each(|(_, v)| values(v, out)),
        _ => {}
    }
}

/// Whether `digits` stands in `text` as a whole run of digits.
fn has_digit_run(text: &str, digits: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run == digits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_of_a_real_dialogue_hold_no_number_pin_or_body() {
    let (pension_no, pin) = pensioner();
    let holder = citizens::pension(&pension_no, Lang::Ar).unwrap()["holder"]
        .as_str()
        .unwrap()
        .to_string();
    // Scanned again, all levels, when the gateway drops (e2e_support).
    for s in [pension_no.as_str(), pin.as_str(), CARD] {
        e2e_support::sensitive(s);
    }
    let rig = Rig::start("json", e2e_support::DEBUG).await;
    let peers = &rig.peers;
    let mut gateway = rig.serve("serve.jsonl", 1).await;

    let mut phone = peers.smsc.ussd(MSISDN);
    phone.dial("*123*4#").await.unwrap();
    phone.reply(&pension_no).await.unwrap();
    let shown = phone.reply(&pin).await.unwrap();
    assert!(shown.end && shown.text.contains(&holder), "{shown:?}");

    let mut sms = peers.smsc.sms(MSISDN);
    sms.send("2150", &format!("PDS {CARD}")).await.unwrap();
    let menu = sms.next_message().await.unwrap();
    assert!(menu.text.contains("اختر الخدمة"), "{menu:?}");

    gateway.signal("TERM");
    assert!(gateway.wait(Duration::from_secs(20)).await.success());
    let logs = gateway.logs();

    let mut lines = 0;
    for line in logs.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        lines += 1;
        let level = v["level"].as_str().unwrap_or_default().to_string();
        let mut vals = Vec::new();
        values(&v, &mut vals);
        for val in &vals {
            for secret in [MSISDN, &MSISDN[3..], &pin] {
                assert!(!has_digit_run(val, secret), "{secret} logged: {line}");
            }
            if level != "DEBUG" && level != "TRACE" {
                for body in [pension_no.as_str(), CARD] {
                    assert!(
                        !has_digit_run(val, body),
                        "input {body} logged at {level}: {line}"
                    );
                }
                for text in [holder.as_str(), "أدخل", "اختر الخدمة", "PDS "] {
                    assert!(
                        !val.contains(text),
                        "body {text:?} logged at {level}: {line}"
                    );
                }
            }
        }
    }
    assert!(lines >= 5, "only {lines} log lines:\n{logs}");
    assert!(
        logs.contains("964********43"),
        "the masked MSISDN never appears, so the dialogue was not logged at all:\n{logs}"
    );
}
