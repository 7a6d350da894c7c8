//! The gateway against the real mock ministries over HTTP, through
//! `backend::Backends`: a PIN-protected pension inquiry (the PIN reaches
//! the ministry and is never written to the store), and a slow ministry
//! whose answer arrives by SMS.

mod runtime_common;

use std::sync::Arc;
use std::time::Duration;

use bawaba::backend::Backends;
use bawaba::engine::Lang;
use bawaba::runtime::Notice;
use bawaba_sim::ministries::{Knobs, Ministries, MinistriesConfig, Scope, Service};
use bawaba_sim::SmscConfig;
use runtime_common::{config_text, Opts, Rig, MSISDN};

async fn rig(opts: Opts) -> (Rig, bawaba_sim::ministries::MinistriesHandle) {
    let m = Ministries::start(MinistriesConfig::local()).await.unwrap();
    let opts = Opts {
        backend_url: m.base_url(),
        ..opts
    };
    // The back-ends are built from the same configuration the gateway uses.
    let text = config_text(1, std::path::Path::new("/tmp/unused"), &opts);
    let cfg = bawaba::config::Config::from_str(&text, "/tmp/b.toml").unwrap();
    let backends = Arc::new(Backends::from_config(&cfg.backends).unwrap());
    // `Backends` is the runtime's production `Calls`.
    let rig = Rig::with_smsc(opts, backends, SmscConfig::local("bawaba", "secret")).await;
    (rig, m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pension_inquiry_with_a_pin_against_the_mock_ministry() {
    let (mut rig, m) = rig(Opts::default()).await;
    let mut phone = rig.smsc.ussd(MSISDN);
    let ask = phone.dial("*123*4#").await.unwrap();
    assert!(ask.text.contains("الرقم التقاعدي"), "{}", ask.text);
    phone.reply("123456").await.unwrap();
    let done = phone.reply("9355").await.unwrap();
    assert!(done.end, "{done:?}");
    assert!(done.text.contains("الراتب"), "{}", done.text);
    let sent = m.requests();
    let inquiry = sent
        .iter()
        .find(|r| r.path.contains("inquiry"))
        .expect("inquiry sent");
    assert!(
        inquiry.body.contains("9355"),
        "the PIN reaches the ministry"
    );
    assert!(
        inquiry
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("idempotency-key")),
        "{:?}",
        inquiry.headers
    );
    rig.stop().await;
    // The PIN was never written to the store (sessions keep secrets in memory).
    for e in walk(&rig.dir.path().join("store")) {
        let bytes = std::fs::read(&e).unwrap();
        assert!(
            !bytes.windows(4).any(|w| w == b"9355"),
            "PIN found on disk in {}",
            e.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_ministry_answers_by_sms() {
    let opts = Opts {
        reply_deadline: "2s",
        backend_timeout: "1900ms",
        ..Opts::default()
    };
    let (mut rig, m) = rig(opts).await;
    m.set_knobs(
        Scope::Only(Service::Pds),
        Knobs {
            latency: Duration::from_millis(1700),
            ..Knobs::default()
        },
    );
    let mut sms = rig.smsc.sms(MSISDN);
    let mut phone = rig.smsc.ussd(MSISDN);
    let screen = phone.dial("*123*1*12345678*1#").await.unwrap();
    assert!(screen.end);
    assert_eq!(screen.text, Notice::WillSms.text(Lang::Ar));
    let follow = sms.next_message().await.unwrap();
    assert_eq!(follow.source, "2150");
    assert!(!follow.text.is_empty());
    assert_ne!(follow.text, Notice::WillSms.text(Lang::Ar));
    rig.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
