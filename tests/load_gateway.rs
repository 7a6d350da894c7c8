//! The load generator (`bawaba_sim::load`) against the real gateway (`bawaba serve`, the
//! shipped flows, config/demo.toml) and the mock ministries: every shipped script's screens
//! are what the flows show (no step error), and a slow ministry shows up in the step
//! latencies exactly where the flow calls it, and a failing one is an error, never a success.

mod e2e_support;

use std::time::Duration;

use bawaba_sim::load::report::{DialogueEnd, StepOutcome};
use bawaba_sim::load::scenario::Mix;
use bawaba_sim::load::{self, Arrivals, LoadConfig};
use bawaba_sim::ministries::{Knobs, Scope};
use e2e_support::Rig;

fn config(mix: &str, dialogues: u64) -> LoadConfig {
    // Numbers of their own per run: an SMS one run's flow sends later (the
    // electricity receipt) must not land on the next run's phone.
    static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut c = LoadConfig::new(mix.parse::<Mix>().expect("mix"));
    c.msisdn_prefix = format!("96477{run:02}");
    c.arrivals = Arrivals::Closed { concurrency: 4 };
    c.max_dialogues = Some(dialogues);
    c.duration = Duration::from_secs(30);
    c
}

#[tokio::test]
async fn shipped_scripts_pass_and_a_slow_ministry_is_measured() {
    let rig = Rig::start("text", "warn").await;
    let _serve = rig.serve("serve.log", 1).await;
    let smsc = &rig.peers.smsc;

    // Every shipped script, three dialogues each: the screens match the flows.
    for name in ["pds", "electricity", "passport", "pension", "sms"] {
        let r = load::run(smsc, &config(&format!("{name}=1"), 3)).await;
        assert_eq!(r.started, 3, "{}", r.summary());
        assert_eq!(r.all.step_errors(), 0, "{}", r.summary());
        assert_eq!(
            r.all.dialogues(DialogueEnd::Completed),
            3,
            "{}",
            r.summary()
        );
    }

    // Passport: the dial shows a prompt (no call); the reply calls the ministry.
    let latency = Duration::from_millis(200);
    rig.peers.ministries.set_knobs(
        Scope::All,
        Knobs {
            latency,
            ..Knobs::default()
        },
    );
    let r = load::run(smsc, &config("passport=1", 6)).await;
    assert_eq!(r.all.steps(StepOutcome::Ok), 12, "{}", r.summary());
    let slow = latency.as_micros() as u64;
    let steps = &r.by_scenario["passport"].by_step;
    assert_eq!(steps.len(), 2, "{}", r.summary());
    assert!(
        steps[0].max() < slow,
        "the dials do not wait on the ministry\n{}",
        r.summary()
    );
    assert!(
        steps[1].min() >= slow && steps[1].len() == 6,
        "every reply waits on it\n{}",
        r.summary()
    );
    assert!(steps[1].max() < slow * 3, "about once\n{}", r.summary());

    // A ministry that fails: the gateway shows its "try later" screen, never a success.
    rig.peers.ministries.set_knobs(
        Scope::All,
        Knobs {
            error_rate: 1.0,
            ..Knobs::default()
        },
    );
    let r = load::run(smsc, &config("passport=1", 3)).await;
    assert_eq!(r.all.steps(StepOutcome::WrongScreen), 3, "{}", r.summary());
    assert_eq!(r.all.dialogues(DialogueEnd::Completed), 0);
    assert_eq!(r.all.steps(StepOutcome::Ok), 3, "only the dials pass");
}

/// The Bawaba side of simulator/bench/kannel_side_by_side.sh, small: its one-flow directory
/// (`PDS <card>` -> one back-end call -> one reply SMS) and the load generator's `keyword`
/// script, whose expected reply is the text the Kannel side gets from the mock back-end.
#[tokio::test]
async fn the_kannel_comparison_job_runs_on_the_gateway() {
    let rig = Rig::start("text", "warn").await;
    let flows =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("simulator/bench/kannel/flows");
    let text = std::fs::read_to_string(&rig.config).expect("config");
    let line = text
        .lines()
        .find(|l| l.starts_with("flows_dir"))
        .expect("flows_dir in the config");
    let text = text.replace(
        line,
        &format!("flows_dir = {:?}", flows.display().to_string()),
    );
    std::fs::write(&rig.config, text).expect("config");
    let _serve = rig.serve("serve.log", 1).await;
    let r = load::run(&rig.peers.smsc, &config("keyword=1", 20)).await;
    assert_eq!(r.all.step_errors(), 0, "{}", r.summary());
    assert_eq!(
        r.all.dialogues(DialogueEnd::Completed),
        20,
        "{}",
        r.summary()
    );
    // The replies came through the back-end (demo.toml's PDS cache is on here: at least once).
    let calls = rig
        .peers
        .ministries
        .requests()
        .iter()
        .filter(|q| q.path == "/pds/v1/cards/12345678/balance")
        .count();
    assert!(calls >= 1, "the flow calls the back-end");
}
