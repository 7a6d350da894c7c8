//! "Nobody let in", through the real binary, the simulator SMSC over
//! SMPP, the mock ministries over HTTP and sled on disk:
//! * rate limits per MSISDN (`[security.limits]`) answer with the
//!   translated "too many requests" notice, over USSD and SMS, and leave
//!   other numbers alone; a per-code limit counts every number together;
//! * wrong PINs lock the number out (`[security.pin_lockout]`) and the lock
//!   survives a restart, while another number with the right PIN passes;
//! * no PIN typed in any of it is in the store's files, though a pension
//!   number typed just before a PIN prompt is (the scan reads the data).
//!
//! Every gateway's debug log is scanned for the PINs and numbers typed
//! (e2e_support's `sensitive`, checked when `Serve` drops).

mod e2e_support;

use std::time::Duration;

use bawaba_sim::ministries::citizens;
use e2e_support::{sensitive, Rig, DEBUG};

const TOO_MANY_AR: &str = "طلبات كثيرة جداً";
const LOCKED_AR: &str = "محاولات خاطئة كثيرة";
const WRONG_AR: &str = "الرقم التقاعدي أو الرمز السري غير صحيح";

/// A pension number the mock ministries know, its PIN, and a wrong PIN.
fn pensioner() -> (String, String, String) {
    let (n, pin) = (200_000..300_000)
        .map(|n| n.to_string())
        .find_map(|n| citizens::pension_pin(&n).map(|pin| (n, pin)))
        .expect("a known pension number");
    let wrong = if pin == "1357" { "2468" } else { "1357" }.to_string();
    for s in [&n, &pin, &wrong] {
        sensitive(s);
    }
    (n, pin, wrong)
}

fn table(pairs: &[(&str, toml::Value)]) -> toml::Value {
    let mut t = toml::Table::new();
    for (k, v) in pairs {
        t.insert((*k).into(), v.clone());
    }
    t.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_per_number_answer_too_many_requests_over_ussd_and_sms() {
    let rig = Rig::start("text", DEBUG).await;
    rig.edit(|doc| {
        let limits = table(&[
            ("ussd_sessions_per_minute", 2.into()),
            ("sms_per_minute", 2.into()),
        ]);
        doc.insert("security".into(), table(&[("limits", limits)]));
    });
    let gateway = rig.serve("serve.log", 1).await;
    let smsc = &rig.peers.smsc;

    let mut phone = smsc.ussd("9647701110001");
    for _ in 0..2 {
        let menu = phone.dial("*123#").await.unwrap();
        assert!(menu.text.contains("1. التموينية"), "{menu:?}");
    }
    let refused = phone.dial("*123#").await.unwrap();
    assert!(
        refused.end && refused.text.contains(TOO_MANY_AR),
        "{refused:?}"
    );
    let other = smsc.ussd("9647701110002").dial("*123#").await.unwrap();
    assert!(
        other.text.contains("1. التموينية"),
        "another number: {other:?}"
    );

    // Texts differ: the same text again within `sms.dedupe_window` would
    // be taken for the SMSC resending it.
    let mut sms = smsc.sms("9647701110003");
    for text in ["HELP", "help"] {
        sms.send("2150", text).await.unwrap();
        let reply = sms.next_message().await.unwrap();
        assert!(!reply.text.contains(TOO_MANY_AR), "{reply:?}");
    }
    sms.send("2150", "Help").await.unwrap();
    let notice = sms.next_message().await.unwrap();
    assert!(notice.text.contains(TOO_MANY_AR), "{notice:?}");
    // A flood gets one notice per minute, not one reply per message.
    sms.send("2150", "HeLp").await.unwrap();
    let more = tokio::time::timeout(Duration::from_secs(2), sms.next_message()).await;
    assert!(more.is_err(), "a second reply to the flood: {more:?}");
    drop(gateway);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_limit_counts_every_number_together() {
    let rig = Rig::start("text", DEBUG).await;
    rig.edit(|doc| {
        let limits = table(&[("code_per_minute", 3.into())]);
        doc.insert("security".into(), table(&[("limits", limits)]));
    });
    let gateway = rig.serve("serve.log", 1).await;
    let smsc = &rig.peers.smsc;
    for n in 1..=3 {
        let menu = smsc
            .ussd(&format!("964770111002{n}"))
            .dial("*123#")
            .await
            .unwrap();
        assert!(menu.text.contains("1. التموينية"), "{menu:?}");
    }
    let fourth = smsc.ussd("9647701110024").dial("*123*4#").await.unwrap();
    assert!(
        fourth.end && fourth.text.contains(TOO_MANY_AR),
        "under *123#: {fourth:?}"
    );
    // SMS to the short code is another code, with its own count.
    let mut sms = smsc.sms("9647701110025");
    sms.send("2150", "HELP").await.unwrap();
    let reply = sms.next_message().await.unwrap();
    assert!(!reply.text.contains(TOO_MANY_AR), "{reply:?}");
    drop(gateway);
}

/// Dials the pension service as `msisdn` and answers `number`, then `pin`.
async fn pension(rig: &Rig, msisdn: &str, number: &str, pin: &str) -> String {
    let mut phone = rig.peers.smsc.ussd(msisdn);
    phone.dial("*123*4#").await.unwrap();
    phone.reply(number).await.unwrap();
    let shown = phone.reply(pin).await.unwrap();
    assert!(shown.end, "{shown:?}");
    shown.text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pins_lock_the_number_out_across_a_restart_and_no_pin_is_stored() {
    let (number, pin, wrong) = pensioner();
    let holder = citizens::pension(&number, citizens::Lang::Ar).unwrap()["holder"]
        .as_str()
        .unwrap()
        .to_string();
    let rig = Rig::start("text", DEBUG).await;
    rig.edit(|doc| {
        let lockout = table(&[("attempts", 2.into()), ("lock_for", "10m".into())]);
        doc.insert("security".into(), table(&[("pin_lockout", lockout)]));
    });
    let mut gateway = rig.serve("serve.log", 1).await;
    let (me, other) = ("9647701110011", "9647701110012");
    for _ in 0..2 {
        assert!(pension(&rig, me, &number, &wrong).await.contains(WRONG_AR));
    }
    let locked = pension(&rig, me, &number, &pin).await;
    assert!(
        locked.contains(LOCKED_AR),
        "the right PIN after the lock: {locked}"
    );
    assert!(!locked.contains(&holder));
    let fine = pension(&rig, other, &number, &pin).await;
    assert!(fine.contains(&holder), "another number, right PIN: {fine}");

    gateway.signal("TERM");
    assert!(gateway.wait(Duration::from_secs(20)).await.success());
    drop(gateway);
    let mut gateway = rig.serve("serve2.log", 2).await;
    let locked = pension(&rig, me, &number, &pin).await;
    assert!(
        locked.contains(LOCKED_AR),
        "still locked after a restart: {locked}"
    );

    // Left at the PIN prompt: the pension number is in the session record.
    let mut waiting = rig.peers.smsc.ussd("9647701110013");
    waiting.dial("*123*4#").await.unwrap();
    let prompt = waiting.reply(&number).await.unwrap();
    assert!(!prompt.end, "{prompt:?}");
    gateway.signal("TERM");
    assert!(gateway.wait(Duration::from_secs(20)).await.success());
    drop(gateway);

    let found = |secret: &str| store_holds(&rig.dir.path().join("store"), secret);
    assert!(
        found(&number),
        "the scan reads the store: the pension number is there"
    );
    assert!(!found(&pin), "the PIN was written to the store");
    assert!(!found(&wrong), "a wrong PIN was written to the store");
}

/// Whether any key or value of any tree of the sled database at `path`,
/// or any byte of its inbound journal (`path/journal/*.log`), holds
/// `digits` as a whole run of ASCII digits.
fn store_holds(path: &std::path::Path, digits: &str) -> bool {
    let runs = |bytes: &[u8]| {
        bytes
            .split(|b| !b.is_ascii_digit())
            .any(|run| run == digits.as_bytes())
    };
    let journal = std::fs::read_dir(path.join("journal")).expect("the inbound journal");
    let segments: Vec<_> = journal.map(|e| e.expect("entry").path()).collect();
    assert!(!segments.is_empty(), "no journal segment in {path:?}");
    if segments
        .iter()
        .any(|seg| runs(&std::fs::read(seg).expect("read a segment")))
    {
        return true;
    }
    let db = sled::open(path).expect("open the store");
    db.tree_names().into_iter().any(|name| {
        let tree = db.open_tree(&name).expect("tree");
        tree.iter().any(|kv| {
            let (k, v) = kv.expect("read");
            runs(&k) || runs(&v)
        })
    })
}
