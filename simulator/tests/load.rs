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

fn mix_of(name: &str) -> Mix {
    name.parse().expect("a shipped scenario")
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

/// Two delays, two runs: each run's percentiles sit on its own delay (within a tolerance a
/// loaded CI machine keeps), so the latency follows the ESME rather than the generator.
#[tokio::test]
async fn percentiles_follow_the_injected_delay() {
    for delay in [Duration::from_millis(40), Duration::from_millis(160)] {
        let smsc = rig(1, delay).await;
        let mut c = LoadConfig::new(mix_of("echo-sms=1"));
        c.arrivals = Arrivals::Open { per_sec: 50.0 };
        c.max_dialogues = Some(15);
        c.duration = Duration::from_secs(5);
        let r = load::run(&smsc, &c).await;
        assert_eq!(r.all.steps(StepOutcome::Ok), 30, "{}", r.summary());
        let (p50, p99) = (r.all.quantile(0.5), r.all.quantile(0.99));
        let min = Duration::from_micros(r.all.latency.min());
        assert!(min >= delay, "{delay:?}: min {min:?}\n{}", r.summary());
        assert!(
            p50 < delay + Duration::from_millis(30),
            "{delay:?}: p50 {p50:?}\n{}",
            r.summary()
        );
        assert!(
            p99 < delay + Duration::from_millis(150),
            "{delay:?}: p99 {p99:?}\n{}",
            r.summary()
        );
    }
}

/// The `intake` script counts an MO at its deliver_sm_resp: against an ESME that acknowledges
/// at once and answers 300 ms later, every step completes well before the answer would.
#[tokio::test]
async fn intake_counts_the_acknowledgement_not_the_reply() {
    let delay = Duration::from_millis(300);
    let smsc = rig(1, delay).await;
    let mut c = LoadConfig::new(mix_of("intake=1"));
    c.arrivals = Arrivals::Closed { concurrency: 4 };
    c.max_dialogues = Some(20);
    c.duration = Duration::from_secs(5);
    let r = load::run(&smsc, &c).await;
    assert_eq!(r.all.steps(StepOutcome::Ok), 20, "{}", r.summary());
    assert_eq!(r.all.step_errors(), 0);
    let p99 = r.all.quantile(0.99);
    assert!(
        p99 < delay / 2,
        "waited for the reply: p99 {p99:?}\n{}",
        r.summary()
    );
    assert_eq!(smsc.stats().deliver_sms_sent, 20);
}

/// An SMS step lasts until the reply reaches the SMSC, even when the MO's deliver_sm_resp
/// comes later (a gateway that answers while it makes the MO durable); the step still waits
/// for the acknowledgement, and only an OK one makes it a success.
#[tokio::test]
async fn an_sms_step_ends_at_the_reply_even_when_the_ack_comes_later() {
    let ack_delay = Duration::from_millis(300);
    let smsc = Smsc::start(SmscConfig::local("bawaba", "secret"))
        .await
        .expect("start SMSC");
    echo::start_acking_late(smsc.local_addr(), "bawaba", "secret", ack_delay)
        .await
        .expect("echo ESME binds");
    smsc.wait_bound(1).await.expect("bound");
    let mut c = LoadConfig::new(mix_of("echo-sms=1"));
    c.arrivals = Arrivals::Closed { concurrency: 4 };
    c.max_dialogues = Some(8);
    c.duration = Duration::from_secs(10);
    let started = std::time::Instant::now();
    let r = load::run(&smsc, &c).await;
    assert_eq!(r.all.steps(StepOutcome::Ok), 16, "{}", r.summary());
    assert_eq!(r.all.step_errors(), 0);
    // Closed loop, 4 at a time, each step held until its late ack: 16 steps take 4 rounds.
    assert!(
        started.elapsed() >= ack_delay * 4,
        "{:?}",
        started.elapsed()
    );
    let p99 = r.all.quantile(0.99);
    assert!(
        p99 < ack_delay / 2,
        "counted the acknowledgement, not the reply: p99 {p99:?}\n{}",
        r.summary()
    );
}

#[tokio::test]
async fn sms_conversations_complete_and_a_wrong_sms_is_an_error() {
    let smsc = rig(2, Duration::ZERO).await;
    let mut c = LoadConfig::new(mix_of("echo-sms=1"));
    c.arrivals = Arrivals::Closed { concurrency: 4 };
    c.max_dialogues = Some(12);
    c.duration = Duration::from_secs(5);
    let r = load::run(&smsc, &c).await;
    assert_eq!(
        r.all.dialogues(DialogueEnd::Completed),
        12,
        "{}",
        r.summary()
    );
    assert_eq!(r.all.steps(StepOutcome::Ok), 24);
    assert_eq!(r.by_scenario["echo-sms"].by_step.len(), 2);
    // Each MO went out and its reply came back on the binds, nothing left over.
    let s = smsc.stats();
    assert_eq!(s.deliver_sms_sent, 24);
    assert_eq!(s.submits, 24);

    // An SMS whose reply is "service unavailable" is a wrong screen, and stops the conversation.
    let sms = |text: &str, expect: &str| Step {
        send: Send::Sms {
            to: "2150".into(),
            text: text.into(),
        },
        expect: expect.into(),
        end: false,
    };
    let mix = Mix {
        entries: vec![(
            Scenario {
                name: "sms-fail".into(),
                steps: vec![sms("fail", "echo fail"), sms("0", "echo 0")],
            },
            1,
        )],
    };
    let mut c = LoadConfig::new(mix);
    c.arrivals = Arrivals::Closed { concurrency: 2 };
    c.max_dialogues = Some(4);
    let r = load::run(&smsc, &c).await;
    assert_eq!(r.all.steps(StepOutcome::WrongScreen), 4, "{}", r.summary());
    assert_eq!(r.all.steps(StepOutcome::Ok), 0);
    assert_eq!(r.all.dialogues(DialogueEnd::Failed), 4);
    assert!(r.samples.iter().any(|s| s.contains("service unavailable")));
}

/// Open loop: new dialogues arrive on schedule whatever the ESME does. Each dialogue here takes
/// 0.6 s, so a closed loop of any size below 60 would start fewer than 60 in 0.6 s.
#[tokio::test]
async fn open_loop_arrives_at_the_target_rate() {
    let smsc = rig(1, Duration::from_millis(200)).await;
    let mut c = LoadConfig::new(echo_mix());
    c.arrivals = Arrivals::Open { per_sec: 100.0 };
    c.duration = Duration::from_millis(600);
    let r = load::run(&smsc, &c).await;
    // 100/s for 0.6 s: 60 arrivals (the first tick is at once), a burst catching up at most.
    assert!((55..=62).contains(&r.started), "{}", r.summary());
    assert_eq!(r.shed, 0);
    assert_eq!(r.all.dialogues(DialogueEnd::Completed), r.started);
    // The last arrivals started about 0.6 s in and took 0.6 s: the run waited for them.
    assert!(r.elapsed >= Duration::from_millis(1100), "{}", r.summary());
}

/// Bounded: a run stops starting dialogues at `duration`, waits at most `drain` for those in
/// flight, then cuts them and says how many it cut.
#[tokio::test]
async fn a_run_is_bounded_in_time_even_when_the_esme_is_slow() {
    let smsc = rig(1, Duration::from_secs(5)).await;
    let mut c = LoadConfig::new(echo_mix());
    c.arrivals = Arrivals::Open { per_sec: 20.0 };
    c.duration = Duration::from_millis(300);
    c.drain = Duration::from_millis(300);
    let t0 = std::time::Instant::now();
    let r = load::run(&smsc, &c).await;
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}\n{}", r.summary());
    assert!(r.started >= 5, "{}", r.summary());
    assert_eq!(r.cut, r.started, "every dialogue was still waiting");
    assert_eq!(
        r.all.steps.values().sum::<u64>(),
        0,
        "cut steps are not counted"
    );
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
