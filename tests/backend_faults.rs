//! Slow and failing back-ends under load, through `bawaba serve` (the real
//! binary), the simulator SMSC and the mock ministries over HTTP: the PDS
//! service never answers, the pension service answers 500 every time, the
//! passport service is healthy. Many citizens dial at once for a few
//! seconds. Checked and printed: every USSD step is answered within the
//! operator's reply deadline (the hung ones with the flow's "unavailable"
//! screen or the "by SMS" notice), citizens of the healthy service are
//! served as fast as before (no worker starves behind a hung call), and
//! the gateway's memory stays bounded (RSS before and after).

mod e2e_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bawaba_sim::ministries::{Hang, Knobs, Scope, Service};
use bawaba_sim::SmscHandle;
use e2e_support::{edit_config, first_operator, write_config, Peers, Serve};
use tokio::time::Instant;

const REPLY_DEADLINE: Duration = Duration::from_secs(4);
const RUN: Duration = Duration::from_secs(8);

/// Per service: steps answered and the slowest answer.
#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    steps: u32,
    dialogues: u32,
    slowest: Duration,
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Dialogues for `run`: `steps` are the dial and the answers; every
/// screen must come within the reply deadline, the last one must end it.
async fn dialogues(
    smsc: SmscHandle,
    (who, run): (String, Duration),
    steps: &'static [&'static str],
    tally: Arc<Mutex<Tally>>,
) {
    let until = Instant::now() + run;
    let mut n = 0u32;
    while Instant::now() < until {
        let mut phone = smsc.ussd(&format!("{who}{n:04}"));
        n += 1;
        for (i, step) in steps.iter().enumerate() {
            let t = Instant::now();
            let screen = if i == 0 {
                phone.dial(step).await
            } else {
                phone.reply(step).await
            };
            let took = t.elapsed();
            let screen = screen.unwrap_or_else(|e| panic!("{who}: step {i} got no screen: {e}"));
            let mut t = tally.lock().unwrap();
            t.steps += 1;
            t.slowest = t.slowest.max(took);
            if screen.end {
                t.dialogues += 1;
                break;
            }
            assert!(
                i + 1 < steps.len(),
                "{who}: no end after {steps:?}: {}",
                screen.text
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_and_a_failing_backend_starve_nobody_and_deadlines_hold() {
    let peers = Peers::start().await;
    let dir = tempfile::tempdir().unwrap();
    let addrs = (peers.smsc.local_addr(), peers.ministries.local_addr());
    let config = write_config(dir.path(), addrs, &dir.path().join("store"), "text", "info");
    edit_config(&config, |doc| {
        let ussd: toml::Table = toml::from_str(&format!(
            "service_codes = [\"*123#\"]\ntimers = {{ reply_deadline = \"{}s\" }}",
            REPLY_DEADLINE.as_secs()
        ))
        .unwrap();
        first_operator(doc).insert("ussd".into(), ussd.into());
    });
    let mut gateway = Serve::spawn(&config, &dir.path().join("serve.log"));
    peers.wait_binds(1).await;
    let pid = gateway.pid().expect("running");

    // Healthy first: how fast the passport service answers undisturbed.
    let calm = Arc::new(Mutex::new(Tally::default()));
    const PASSPORT: &[&str] = &["*123*3#", "1122334455"];
    const PDS: &[&str] = &["*123*1*12345678*1#"];
    const PENSION: &[&str] = &["*123*4#", "123456", "9355"];
    let alone = ("96475000".to_string(), Duration::from_secs(2));
    dialogues(peers.smsc.clone(), alone, PASSPORT, calm.clone()).await;
    let rss_before = rss_kib(pid);

    let ministries = &peers.ministries;
    let hang = Knobs {
        hang: Hang::Never,
        ..Knobs::default()
    };
    ministries.set_knobs(Scope::Only(Service::Pds), hang);
    let fail = Knobs {
        error_rate: 1.0,
        ..Knobs::default()
    };
    ministries.set_knobs(Scope::Only(Service::Pension), fail);

    let (hung, failing, healthy) = Default::default();
    let tallies: [&Arc<Mutex<Tally>>; 3] = [&hung, &failing, &healthy];
    let mut tasks = Vec::new();
    for i in 0..24 {
        let smsc = peers.smsc.clone();
        let (who, steps, tally) = match i % 6 {
            0..=3 => (format!("964760{i:02}"), PDS, tallies[0].clone()),
            4 => (format!("964770{i:02}"), PENSION, tallies[1].clone()),
            _ => (format!("964780{i:02}"), PASSPORT, tallies[2].clone()),
        };
        tasks.push(tokio::spawn(dialogues(smsc, (who, RUN), steps, tally)));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rss_after = rss_kib(pid);
    let [hung, failing, healthy, calm] =
        [&hung, &failing, &healthy, &calm].map(|t| *t.lock().unwrap());
    println!(
        "back-ends: PDS hung {hung:?}; pension failing {failing:?}; passport healthy {healthy:?} \
         (alone before: {calm:?}); reply deadline {REPLY_DEADLINE:?}; RSS {} -> {} MiB",
        rss_before >> 10,
        rss_after >> 10
    );
    for (name, t) in [("hung", hung), ("failing", failing), ("healthy", healthy)] {
        assert!(t.dialogues > 0, "{name}: no dialogue finished");
        assert!(
            t.slowest <= REPLY_DEADLINE + Duration::from_secs(1),
            "{name}: a screen took {:?}, past the reply deadline (+1 s for transit on a loaded machine)",
            t.slowest
        );
    }
    // Nobody waits behind the hung calls: the healthy service stays quick.
    assert!(
        healthy.slowest < Duration::from_secs(2),
        "healthy service starved: {healthy:?}"
    );
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
    gateway.signal("TERM");
    let status = gateway.wait(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}\n{}", gateway.logs());
}
