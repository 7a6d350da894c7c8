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
