//! USSD through the real path: simulator SMSC on loopback, the gateway's
//! binds, sled on disk, the shipped flows; canned back-end answers.

mod runtime_common;

use std::time::Duration;

use bawaba_sim::{DialField, UssdProfile};
use runtime_common::{pds_balance, Opts, Rig, MSISDN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_dialogue_through_the_language_menu_and_a_backend_call() {
    let calls = pds_balance(Duration::ZERO);
    let mut rig = Rig::new(Opts::default(), calls.clone()).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    let home = phone.dial("*123#").await.unwrap();
    assert!(!home.end, "{home:?}");
    assert!(
        home.text.contains("الخدمات"),
        "Arabic by default: {}",
        home.text
    );
    // Language (on the first page, or behind "98. More") -> English.
    let menu = if home.text.contains("اللغة") {
        home
    } else {
        phone.reply("98").await.unwrap()
    };
    assert!(menu.text.contains("اللغة"), "{}", menu.text);
    let langs = phone.reply(option_of(&menu.text, "اللغة")).await.unwrap();
    assert!(langs.text.contains("English"), "{}", langs.text);
    let main = phone
        .reply(option_of(&langs.text, "English"))
        .await
        .unwrap();
    assert!(main.text.contains("Government e-services"), "{}", main.text);
    let ask = phone.reply("1").await.unwrap();
    assert_eq!(ask.text, "Enter your ration card number");
    let menu = phone.reply("12345678").await.unwrap();
    assert!(menu.text.starts_with("Card 12345678"), "{}", menu.text);
    let done = phone.reply("1").await.unwrap();
    assert!(done.end, "the answer ends the dialogue");
    assert_eq!(done.op, Some(17));
    assert_eq!(
        done.submitted.its_session_info.map(|b| b[1] & 1),
        Some(1),
        "end bit"
    );
    assert!(done.text.contains("Balance: 25,000 IQD"), "{}", done.text);
    let seen = calls.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].params.get("card").map(String::as_str),
        Some("12345678")
    );
    assert!(!seen[0].correlation_id.is_empty() && !seen[0].idempotency_key.is_empty());

    // The language is remembered: the next dialogue opens in English.
    let again = phone.dial("*123#").await.unwrap();
    assert!(
        again.text.contains("Government e-services"),
        "{}",
        again.text
    );
    assert!(
        rig.smsc.protocol_errors().is_empty(),
        "{:?}",
        rig.smsc.protocol_errors()
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arabic_dialogue_with_arabic_indic_digits_and_a_shortcut_dial() {
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    let home = phone.dial("*123#").await.unwrap();
    assert!(home.text.contains("التموينية"), "{}", home.text);
    assert_eq!(home.submitted.data_coding, 8, "Arabic goes as UCS-2");
    let ask = phone.reply("١").await.unwrap();
    assert_eq!(ask.text, "أدخل رقم البطاقة التموينية");
    let menu = phone.reply("١٢٣٤٥٦٧٨").await.unwrap();
    assert!(menu.text.contains("الرصيد"), "{}", menu.text);
    let done = phone.reply("١").await.unwrap();
    assert!(done.end);
    assert!(runtime_common::shows_balance(&done.text), "{}", done.text);

    // Shortcut: straight to the balance from one dial string.
    let mut other = rig.smsc.ussd("9647809999999");
    let shot = other.dial("*123*1*12345678*1#").await.unwrap();
    assert!(shot.end, "{shot:?}");
    assert!(
        shot.text.contains("25,000") || shot.text.contains("٢٥"),
        "{}",
        shot.text
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_ends_the_dialogue_and_a_redial_offers_to_resume() {
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    phone.dial("*123*1#").await.unwrap();
    phone.reply("12345678").await.unwrap();
    phone.abort().await.unwrap();
    let back = phone.dial("*123*1#").await.unwrap();
    assert!(!back.end);
    assert!(
        back.text.contains("1. متابعة"),
        "resume offer: {}",
        back.text
    );
    let menu = phone.reply("1").await.unwrap();
    assert!(
        menu.text.contains("الرصيد"),
        "continued where it was: {}",
        menu.text
    );
    rig.stop().await;
}

/// The number of the option whose line contains `label` ("5. اللغة" -> "5").
pub fn option_of<'a>(screen: &'a str, label: &str) -> &'a str {
    let line = screen
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} in {screen:?}"));
    line.split('.').next().unwrap().trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_profile_keyed_by_msisdn_with_the_dial_in_destination_addr() {
    // A gateway that sends no its_session_info, puts the dialled string in
    // destination_addr and uses other op codes: all configuration.
    let opts = Opts {
        extra_ussd: r#"session_key = "msisdn_service_code"
dial_string = "destination_addr"
ops = { begin = 1, user_reply = 19, our_continue = 3, our_end = 16, abort = [130] }"#,
        ..Opts::default()
    };
    let mut rig = Rig::new(opts, pds_balance(Duration::ZERO)).await;
    let vendor = UssdProfile {
        dial_in: DialField::DestinationAddr,
        reply_op: 19,
        abort_op: 130,
        continue_ops: vec![3],
        end_ops: vec![16],
        its_session_info: false,
        ..UssdProfile::default()
    };
    let mut phone = rig.smsc.ussd_with(MSISDN, vendor);
    let ask = phone.dial("*123*1#").await.unwrap();
    assert_eq!(ask.op, Some(3));
    assert_eq!(ask.submitted.its_session_info, None);
    assert_eq!(ask.text, "أدخل رقم البطاقة التموينية");
    phone.reply("12345678").await.unwrap();
    let done = phone.reply("1").await.unwrap();
    assert!(done.end);
    assert_eq!(done.op, Some(16));
    assert!(runtime_common::shows_balance(&done.text), "{}", done.text);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_flows_serve_the_next_dialogue() {
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    let before = phone.dial("*123#").await.unwrap();
    assert!(
        before.text.starts_with("الخدمات الحكومية\n"),
        "{}",
        before.text
    );
    let edited = runtime_common::flows_edited(&rig.config, |path, text| {
        if path.ends_with("home.yaml") {
            text.replacen("ar: الخدمات الحكومية", "ar: خدمات بوابة", 1)
                .replacen("version: 1", "version: 2", 1)
        } else {
            text
        }
    });
    rig.gw.as_ref().unwrap().set_flows(edited).unwrap();
    let after = phone.dial("*123#").await.unwrap();
    assert!(after.text.starts_with("خدمات بوابة"), "{}", after.text);
    rig.stop().await;
}

/// pds.yaml as its next version: new wording, and the `choose` menu moved to the
/// end of the file, so every node index after it shifts.
fn pds_v2(v1: String) -> String {
    let at = v1.find("  choose:\n").unwrap();
    let end = at + v1[at..].find("  get_balance:\n").unwrap();
    let choose = v1[at..end].replacen("ar: اختر الخدمة", "ar: ماذا تريد؟", 1);
    let rest = format!("{}{}", &v1[..at], &v1[end..]);
    format!("{}\n{choose}", rest.trim_end())
        .replacen("version: 2", "version: 3", 1)
        .replacen(
            "ar: أدخل رقم البطاقة التموينية",
            "ar: رقم البطاقة التموينية؟",
            1,
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialogue_finishes_on_the_version_it_started_on() {
    let mut rig = Rig::new(Opts::default(), pds_balance(Duration::ZERO)).await;
    let mut started = rig.smsc.ussd(MSISDN);
    let ask = started.dial("*123*1#").await.unwrap();
    assert_eq!(ask.text, "أدخل رقم البطاقة التموينية");

    let v2 = runtime_common::flows_edited(&rig.config, |path, text| {
        if path.ends_with("pds.yaml") {
            pds_v2(text)
        } else {
            text
        }
    });
    let gw = rig.gw.as_ref().unwrap();
    gw.set_flows(v2).unwrap();

    // A new dialogue gets the new version...
    let mut fresh = rig.smsc.ussd("9647709876543");
    let ask2 = fresh.dial("*123*1#").await.unwrap();
    assert_eq!(ask2.text, "رقم البطاقة التموينية؟");
    // ...the one in progress goes on with the old one to the end.
    let menu = started.reply("12345678").await.unwrap();
    assert!(menu.text.starts_with("اختر الخدمة"), "{}", menu.text);
    let done = started.reply("1").await.unwrap();
    assert!(done.end, "{done:?}");
    assert!(runtime_common::shows_balance(&done.text), "{}", done.text);
    let menu2 = fresh.reply("12345678").await.unwrap();
    assert!(menu2.text.starts_with("ماذا تريد؟"), "{}", menu2.text);

    // Changed text under an unchanged version is refused whole: a pinned
    // session could not tell the two apart. The new version stays in force.
    let sneaky = runtime_common::flows_edited(&rig.config, |path, text| {
        if path.ends_with("pds.yaml") {
            pds_v2(text).replacen("ماذا تريد؟", "اختر", 1)
        } else {
            text
        }
    });
    let refused = gw.set_flows(sneaky).unwrap_err();
    assert_eq!(
        refused
            .iter()
            .map(|r| (r.id.as_str(), r.version))
            .collect::<Vec<_>>(),
        [("pds", 3)]
    );
    let mut third = rig.smsc.ussd("9647709876544");
    third.dial("*123*1#").await.unwrap();
    let menu3 = third.reply("12345678").await.unwrap();
    assert!(menu3.text.starts_with("ماذا تريد؟"), "{}", menu3.text);
    rig.stop().await;
}
