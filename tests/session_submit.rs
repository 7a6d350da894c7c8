//! Submitting through real TCP against the simulated SMSC: the window,
//! sequence wrap, spreading over binds, throttling (pause and AIMD),
//! queue-full, temporary and permanent refusals, the response timer.

mod session_support;

use std::time::Duration;

use bawaba::smpp::pdu::CommandStatus;
use bawaba::smpp::session::{Options, SubmitResult, MAX_SEQUENCE};
use bawaba_sim::rusmpp::CommandStatus as SimStatus;
use bawaba_sim::Behaviour;
use session_support::*;
use tokio::time::Instant;

fn accepted(r: &SubmitResult) -> bool {
    matches!(r, SubmitResult::Accepted { message_id } if !message_id.is_empty())
}

async fn submit_all(run: &Running, n: usize) -> Vec<SubmitResult> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let op = run.operator.clone();
            tokio::spawn(async move { op.submit(sm("9647701234567", &format!("msg {i}"))).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_window_is_never_exceeded_and_is_used_in_full() {
    let slow = Behaviour {
        submit_resp_delay: Duration::from_millis(150),
        ..Behaviour::default()
    };
    let (smsc, run) = bound(slow, |c| c.window = 5).await;
    let results = submit_all(&run, 40).await;
    assert!(results.iter().all(accepted), "{results:?}");
    let s = smsc.stats();
    assert_eq!(s.submits, 40);
    assert_eq!(
        s.max_submits_in_flight, 5,
        "window 5 must be filled, never exceeded"
    );
    run.operator.shutdown().await;
}

#[tokio::test]
async fn submits_spread_over_every_bind_with_room() {
    let slow = Behaviour {
        submit_resp_delay: Duration::from_millis(100),
        ..Behaviour::default()
    };
    let (smsc, run) = bound(slow, |c| {
        c.binds = 3;
        c.window = 2;
    })
    .await;
    let results = submit_all(&run, 30).await;
    assert!(results.iter().all(accepted));
    assert_eq!(smsc.stats().max_submits_in_flight, 6, "3 binds x window 2");
    let mut binds = std::collections::BTreeSet::new();
    while let Some(s) = smsc.try_next_submit() {
        binds.insert(s.bind);
    }
    assert_eq!(binds.len(), 3, "every bind carried submits");
    run.operator.shutdown().await;
}

#[tokio::test]
async fn sequence_numbers_wrap_at_0x7fffffff_to_1() {
    let smsc = smsc(Behaviour::default()).await;
    let cfg = operator_cfg(smsc.local_addr(), PASSWORD);
    let options = Options {
        first_sequence: MAX_SEQUENCE - 3,
        ..Options::default()
    };
    let run = start(cfg, 4, options);
    assert!(run.operator.wait_bound(WAIT).await);
    // The bind itself used MAX - 3.
    for i in 0..6 {
        let r = run
            .operator
            .submit(sm("9647701234567", &format!("w{i}")))
            .await;
        assert!(accepted(&r), "{r:?}");
    }
    let mut seqs = Vec::new();
    for _ in 0..6 {
        seqs.push(smsc.next_submit().await.unwrap().sequence);
    }
    assert_eq!(
        seqs,
        [MAX_SEQUENCE - 2, MAX_SEQUENCE - 1, MAX_SEQUENCE, 1, 2, 3]
    );
    assert!(smsc.protocol_errors().is_empty());
    run.operator.shutdown().await;
}

#[tokio::test]
async fn throttled_pauses_the_bind_halves_the_rate_and_retries_the_same_submit() {
    let throttling = Behaviour {
        throttle_every: Some(10),
        ..Behaviour::default()
    };
    let (smsc, run) = bound(throttling, |c| c.tps = 100).await;
    let t0 = Instant::now();
    let mut results = Vec::new();
    for i in 0..15 {
        results.push(
            run.operator
                .submit(sm("9647701234567", &format!("t{i}")))
                .await,
        );
    }
    let elapsed = t0.elapsed();
    assert!(
        results.iter().all(accepted),
        "the throttled one is retried: {results:?}"
    );
    let s = smsc.stats();
    assert_eq!((s.submits, s.throttled), (16, 1), "one resend");
    assert!(
        elapsed >= Duration::from_secs(1),
        "the bind must pause 1 s: {elapsed:?}"
    );
    let stats = &run.operator.stats()[0];
    assert_eq!(stats.throttled, 1);
    // Halved to 50/s, then additive increase (5/s per second) back toward 100.
    assert!((50.0..70.0).contains(&stats.rate), "rate {}", stats.rate);
    // Submits go on at the reduced rate: 20 more take at least ~0.3 s.
    smsc.update_behaviour(|b| b.throttle_every = None);
    let t1 = Instant::now();
    for i in 0..20 {
        assert!(accepted(
            &run.operator
                .submit(sm("9647701234567", &format!("r{i}")))
                .await
        ));
    }
    assert!(
        t1.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t1.elapsed()
    );
    let after = run.operator.stats()[0].rate;
    assert!(
        after > stats.rate,
        "the rate grows back: {} -> {after}",
        stats.rate
    );
    run.operator.shutdown().await;
}

#[tokio::test]
async fn queue_full_delays_only_that_message() {
    let full = Behaviour {
        queue_full_every: Some(3),
        ..Behaviour::default()
    };
    let (smsc, run) = bound(full, |_| {}).await;
    let mut results = Vec::new();
    for i in 0..6 {
        results.push(
            run.operator
                .submit(sm("9647701234567", &format!("q{i}")))
                .await,
        );
    }
    let queue_full = SubmitResult::Rejected {
        status: CommandStatus::ESME_RMSGQFUL,
        temporary: true,
    };
    for (i, r) in results.iter().enumerate() {
        if i % 3 == 2 {
            assert_eq!(*r, queue_full, "#{i}");
            assert_eq!(r.retry_after(), Some(Duration::from_secs(180)));
        } else {
            assert!(accepted(r), "#{i}: {r:?}");
        }
    }
    let stats = &run.operator.stats()[0];
    assert_eq!(
        (stats.queue_full, stats.throttled),
        (2, 0),
        "the bind was not paused"
    );
    assert_eq!(smsc.stats().submits, 6, "no automatic resend");
    run.operator.shutdown().await;
}

#[tokio::test]
async fn temporary_and_permanent_refusals_are_told_apart() {
    let (smsc, run) = bound(Behaviour::default(), |_| {}).await;
    let cases = [
        (SimStatus::EsmeRsyserr, CommandStatus::ESME_RSYSERR, true),
        (SimStatus::EsmeRxTAppn, CommandStatus::ESME_RX_T_APPN, true),
        (SimStatus::EsmeRinvdstadr, CommandStatus(0x0B), false),
        (SimStatus::EsmeRxPAppn, CommandStatus::ESME_RX_P_APPN, false),
    ];
    for (sim, ours, temporary) in cases {
        smsc.update_behaviour(|b| b.nack_instead_of_resp = Some(sim));
        let r = run.operator.submit(sm("9647701234567", "refused")).await;
        assert_eq!(
            r,
            SubmitResult::Rejected {
                status: ours,
                temporary
            },
            "{sim:?}"
        );
        assert_eq!(r.retry_after().is_some(), temporary);
    }
    assert_eq!(CommandStatus(0x0B).name(), "ESME_RINVDSTADR");
    assert_eq!(smsc.stats().binds_accepted, 1);
    run.operator.shutdown().await;
}

#[tokio::test]
async fn response_timer_reports_unknown_and_frees_the_slot() {
    let silent = Behaviour {
        never_respond: true,
        ..Behaviour::default()
    };
    let (smsc, run) = bound(silent, |c| {
        c.window = 1;
        c.response_timeout = Duration::from_millis(300);
    })
    .await;
    let r = run
        .operator
        .submit(sm("9647701234567", "into the void"))
        .await;
    assert_eq!(r, SubmitResult::Unknown);
    smsc.set_behaviour(Behaviour::default());
    let r = run
        .operator
        .submit(sm("9647701234567", "window free again"))
        .await;
    assert!(accepted(&r), "{r:?}");
    assert_eq!(smsc.stats().binds_accepted, 1);
    run.operator.shutdown().await;
}

#[tokio::test]
async fn data_sm_is_submitted_like_submit_sm() {
    use bawaba::smpp::pdu::{Address, DataSm, Tlvs};
    let (smsc, run) = bound(Behaviour::default(), |_| {}).await;
    let sm = DataSm {
        source: Address::new(0, 0, "2150"),
        dest: Address::new(1, 1, "9647701234567"),
        tlvs: Tlvs {
            message_payload: Some(bytes::Bytes::from_static(b"hello via data sm")),
            ..Tlvs::default()
        },
        ..DataSm::default()
    };
    let r = run.operator.submit_data(sm).await;
    assert!(accepted(&r), "{r:?}");
    let got = smsc.next_submit().await.unwrap();
    assert_eq!(got.kind, bawaba_sim::SubmitKind::DataSm);
    assert_eq!(got.text, "hello via data sm");
    assert!(
        smsc.protocol_errors().is_empty(),
        "{:?}",
        smsc.protocol_errors()
    );
    run.operator.shutdown().await;
}
