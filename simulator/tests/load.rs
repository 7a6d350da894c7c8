//! The load generator's own correctness, against the trivial echo ESME: the latencies it
//! reports are the ESME's delay, a wrong screen is never a success, the planned endings are
//! counted as such, and open-loop arrivals over the in-flight bound are shed.

use std::time::Duration;

use bawaba_sim::load::report::{DialogueEnd, StepOutcome};
use bawaba_sim::load::scenario::{self, Mix, Scenario, Send, Step};
use bawaba_sim::load::{self, echo, Arrivals, LoadConfig};
use bawaba_sim::{Smsc, SmscConfig, SmscHandle};

/// An SMSC with `binds` echo ESMEs bound to it, each answering after `delay`.
async fn rig(binds: usize, delay: Duration) -> SmscHandle {
    let smsc = Smsc::start(SmscConfig::local("bawaba", "secret"))
        .await
        .expect("start SMSC");
    for _ in 0..binds {
        echo::start(smsc.local_addr(), "bawaba", "secret", delay)
            .await
            .expect("echo ESME binds");
    }
    smsc.wait_bound(binds).await.expect("binds up");
    smsc
}

fn echo_mix() -> Mix {
    Mix {
        entries: vec![(scenario::echo(), 1)],
    }
}

#[tokio::test]
async fn reports_the_latency_of_a_slow_esme() {
    let delay = Duration::from_millis(60);
    let smsc = rig(2, delay).await;
    let mut c = LoadConfig::new(echo_mix());
    c.arrivals = Arrivals::Open { per_sec: 40.0 };
    c.max_dialogues = Some(20);
    c.duration = Duration::from_secs(5);
    let r = load::run(&smsc, &c).await;
    assert_eq!(r.started, 20, "{}", r.summary());
    assert_eq!(
        r.all.dialogues(DialogueEnd::Completed),
        20,
        "{}",
        r.summary()
    );
    assert_eq!(r.all.steps(StepOutcome::Ok), 60);
    assert_eq!(r.all.step_errors(), 0);
    let min = Duration::from_micros(r.all.latency.min());
    assert!(min >= delay, "a step faster than the ESME's delay: {min:?}");
    // Loopback and a debug build add little; a generator that lost the timing adds a lot.
    let p50 = r.all.quantile(0.5);
    assert!(p50 < delay * 2, "p50 {p50:?}\n{}", r.summary());
    let j = r.json();
    assert_eq!(j["all"]["latency"]["count"], 60);
    assert!(j["all"]["latency"]["p50_ms"].as_f64().unwrap() >= 60.0);
}

#[tokio::test]
async fn a_wrong_screen_or_a_wrong_end_is_an_error() {
    let smsc = rig(1, Duration::ZERO).await;
    let dial = |expect: &str| Step {
        send: Send::Dial("*500#".into()),
        expect: expect.into(),
        end: false,
    };
    let reply = |text: &str, expect: &str, end| Step {
        send: Send::Reply(text.into()),
        expect: expect.into(),
        end,
    };
    let mix = Mix {
        entries: vec![
            // The ESME answers `fail` with "service unavailable".
            (
                Scenario {
                    name: "unavailable".into(),
                    steps: vec![dial("echo *500#"), reply("fail", "echo fail", false)],
                },
                1,
            ),
            // The right text, but the dialogue goes on where the script expects an end.
            (
                Scenario {
                    name: "no-end".into(),
                    steps: vec![dial("echo *500#"), reply("1", "echo 1", true)],
                },
                1,
            ),
        ],
    };
    let mut c = LoadConfig::new(mix);
    c.arrivals = Arrivals::Closed { concurrency: 4 };
    c.max_dialogues = Some(20);
    c.duration = Duration::from_secs(5);
    let r = load::run(&smsc, &c).await;
    assert_eq!(r.started, 20);
    assert_eq!(r.all.dialogues(DialogueEnd::Failed), 20, "{}", r.summary());
    assert_eq!(r.all.dialogues(DialogueEnd::Completed), 0);
    assert_eq!(r.all.steps(StepOutcome::Ok), 20, "only the dials pass");
    assert_eq!(r.all.steps(StepOutcome::WrongScreen), 20);
    assert!(r.by_scenario["unavailable"].steps(StepOutcome::WrongScreen) > 0);
    assert!(r.by_scenario["no-end"].steps(StepOutcome::WrongScreen) > 0);
    assert!(r.samples.iter().any(|s| s.contains("service unavailable")));
}

#[tokio::test]
async fn aborts_and_silences_end_dialogues_as_planned() {
    let smsc = rig(1, Duration::ZERO).await;
    let mut c = LoadConfig::new(echo_mix());
    c.arrivals = Arrivals::Closed { concurrency: 5 };
    c.max_dialogues = Some(40);
    c.duration = Duration::from_secs(5);
    c.abort_share = 0.3;
    c.timeout_share = 0.3;
    let r = load::run(&smsc, &c).await;
    let (done, aborted, silent) = (
        r.all.dialogues(DialogueEnd::Completed),
        r.all.dialogues(DialogueEnd::Aborted),
        r.all.dialogues(DialogueEnd::Abandoned),
    );
    assert_eq!(done + aborted + silent, 40, "{}", r.summary());
    assert!(aborted > 0 && silent > 0 && done > 0, "{}", r.summary());
    assert_eq!(r.all.step_errors(), 0);
    // Aborted and silent dialogues stop after their first screen.
    assert_eq!(r.all.steps(StepOutcome::Ok), done * 3 + aborted + silent);
    // The ESME saw the aborts (deliver_sm with no answer).
    let s = smsc.stats();
    assert_eq!(s.deliver_sms_sent, done * 3 + aborted * 2 + silent);
}

#[tokio::test]
async fn open_loop_sheds_arrivals_over_the_bound() {
    let smsc = rig(1, Duration::from_millis(300)).await;
    let mut c = LoadConfig::new(echo_mix());
    c.arrivals = Arrivals::Open { per_sec: 100.0 };
    c.duration = Duration::from_millis(500);
    c.max_in_flight = 3;
    let r = load::run(&smsc, &c).await;
    // Each dialogue takes about 900 ms: the first 3 arrivals run, the rest are shed.
    assert_eq!(r.started, 3, "{}", r.summary());
    assert!(r.shed >= 30, "{}", r.summary());
    assert_eq!(r.all.dialogues(DialogueEnd::Completed), 3);
}

#[tokio::test]
async fn a_silent_gateway_is_a_timeout() {
    let mut config = SmscConfig::local("bawaba", "secret");
    config.observe_timeout = Duration::from_millis(200);
    let smsc = Smsc::start(config).await.unwrap();
    // Bound, but slower than the step timeout.
    echo::start(
        smsc.local_addr(),
        "bawaba",
        "secret",
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    smsc.wait_bound(1).await.unwrap();
    let mut c = LoadConfig::new(echo_mix());
    c.max_dialogues = Some(2);
    c.arrivals = Arrivals::Closed { concurrency: 2 };
    let r = load::run(&smsc, &c).await;
    assert_eq!(r.all.steps(StepOutcome::Timeout), 2, "{}", r.summary());
    assert_eq!(r.all.dialogues(DialogueEnd::Failed), 2);
    assert_eq!(r.all.latency.len(), 0, "a timeout has no latency");
}

#[tokio::test]
async fn closed_loop_runs_for_its_duration_then_drains() {
    let smsc = rig(1, Duration::from_millis(20)).await;
    let mut c = LoadConfig::new(echo_mix());
    c.arrivals = Arrivals::Closed { concurrency: 3 };
    c.duration = Duration::from_millis(400);
    c.drain = Duration::from_millis(200);
    let r = load::run(&smsc, &c).await;
    assert_eq!(r.cut, 0, "{}", r.summary());
    assert!(r.elapsed >= c.duration, "{}", r.summary());
    // About 400 ms / 60 ms per dialogue, three subscribers.
    assert!(r.started >= 9, "{}", r.summary());
    assert_eq!(r.all.dialogues(DialogueEnd::Completed), r.started);
}
