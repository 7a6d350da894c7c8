//! Bind lifecycle through real TCP against the simulated SMSC: bind modes,
//! refused binds and their backoff, enquire_link both ways, dead links,
//! unbind from either side, framing errors, malformed PDUs, link drops
//! with submits in flight.

mod session_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bawaba::config::BindMode;
use bawaba::smpp::session::{Options, SubmitResult};
use bawaba_sim::rusmpp::CommandStatus as SimStatus;
use bawaba_sim::{Behaviour, BindKind, SmscConfig, Target};
use session_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

#[tokio::test]
async fn transceiver_binds_several_per_account() {
    let (smsc, run) = bound(Behaviour::default(), |c| c.binds = 3).await;
    let binds = smsc.binds();
    assert_eq!(binds.len(), 3);
    assert!(binds
        .iter()
        .all(|b| b.kind == BindKind::Transceiver && b.interface_version == 0x34));
    assert!(run.operator.is_bound());
    let stats = run.operator.stats();
    assert_eq!(stats.len(), 3);
    assert!(stats
        .iter()
        .all(|s| s.bound && s.binds == 1 && s.kind == "transceiver"));
    run.operator.shutdown().await;
    smsc.wait_bound_at_most(0).await.unwrap();
}

#[tokio::test]
async fn tx_rx_mode_opens_a_transmitter_and_a_receiver_per_bind() {
    let (smsc, run) = bound(Behaviour::default(), |c| {
        c.binds = 2;
        c.bind_mode = BindMode::TxRx;
    })
    .await;
    let kinds: Vec<_> = smsc.binds().iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == BindKind::Transmitter)
            .count(),
        2
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == BindKind::Receiver).count(),
        2
    );
    // Submits go out on transmitters (the SMSC refuses them on receivers).
    for i in 0..4 {
        let r = run
            .operator
            .submit(sm("9647701234567", &format!("m{i}")))
            .await;
        assert!(matches!(r, SubmitResult::Accepted { .. }), "{r:?}");
    }
    assert!(
        smsc.protocol_errors().is_empty(),
        "{:?}",
        smsc.protocol_errors()
    );
    run.operator.shutdown().await;
}

/// Captures this crate's log output for the password check.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn wrong_password_backs_off_and_never_shows_the_password() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("bawaba_sim=off,bawaba=trace")
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let smsc = smsc(Behaviour::default()).await;
    let wrong = "Wr0ngPw!";
    let mut cfg = operator_cfg(smsc.local_addr(), wrong);
    cfg.reconnect.min = Duration::from_millis(100);
    assert!(
        !format!("{cfg:?}").contains(wrong),
        "config Debug shows the password"
    );
    let run = start(cfg, 4, Options::default());
    let t0 = Instant::now();
    smsc.wait_stats(|s| s.binds_refused >= 4).await.unwrap();
    // Equal jitter: the gaps are at least 50, 100 and 200 ms.
    assert!(
        t0.elapsed() >= Duration::from_millis(350),
        "no backoff: {:?}",
        t0.elapsed()
    );
    assert!(!run.operator.is_bound());
    let r = run
        .operator
        .submit_within(sm("9647701234567", "x"), Duration::from_millis(50))
        .await;
    assert_eq!(r, SubmitResult::NotBound);
    assert!(run.operator.stats()[0].rejected_binds >= 4);
    assert!(!format!("{:?}", run.operator).contains(wrong));
    run.operator.shutdown().await;
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("refus"), "the refusal was not logged: {text}");
    let leaks: Vec<_> = text.lines().filter(|l| l.contains(wrong)).collect();
    assert!(leaks.is_empty(), "log lines show the password: {leaks:#?}");
}

#[tokio::test]
async fn enquire_link_both_ways_keeps_the_bind() {
    let mut config = SmscConfig::local(SYSTEM_ID, PASSWORD);
    // The SMSC asks every 300 ms; we ask after 100 ms of silence, so both
    // directions happen (any PDU received resets our idle timer).
    config.enquire_link_interval = Some(Duration::from_millis(300));
    let smsc = bawaba_sim::Smsc::start(config).await.unwrap();
    let mut cfg = operator_cfg(smsc.local_addr(), PASSWORD);
    cfg.enquire_link.idle = Duration::from_millis(100);
    let run = start(cfg, 4, Options::default());
    let s = smsc
        .wait_stats(|s| s.enquire_links_received >= 2 && s.enquire_link_resps_received >= 2)
        .await
        .unwrap();
    assert_eq!(s.binds_accepted, 1, "the link must not be re-made");
    assert!(smsc.protocol_errors().is_empty());
    run.operator.shutdown().await;
}

/// A peer that binds, then never answers anything: the ESME must send
/// enquire_link after the idle time and reconnect when it goes unanswered.
#[tokio::test]
async fn unanswered_enquire_link_means_a_dead_link_and_a_new_bind() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = operator_cfg(listener.local_addr().unwrap(), PASSWORD);
    cfg.enquire_link.idle = Duration::from_millis(200);
    cfg.enquire_link.timeout = Duration::from_millis(300);
    let run = start(cfg, 4, Options::default());

    let (mut sock, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let bind = read_frame(&mut sock).await.expect("bind");
    assert_eq!(command_id(&bind), 0x0000_0009);
    sock.write_all(&bind_resp(seq(&bind))).await.unwrap();
    assert!(run.operator.wait_bound(WAIT).await);
    let t0 = Instant::now();
    let el = read_frame(&mut sock).await.expect("enquire_link");
    assert_eq!(command_id(&el), 0x0000_0015);
    // Not answered: the ESME closes the link...
    if let Some(f) = read_frame(&mut sock).await {
        panic!(
            "expected the ESME to close, got command_id {:#x}",
            command_id(&f)
        );
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "closed before the timeout"
    );
    // ...and binds again.
    let (mut again, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    let bind = read_frame(&mut again).await.expect("second bind");
    assert_eq!(command_id(&bind), 0x0000_0009);
    run.shutdown.cancel();
}

async fn read_frame(sock: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    tokio::time::timeout(WAIT, sock.read_exact(&mut len))
        .await
        .ok()?
        .ok()?;
    let n = u32::from_be_bytes(len) as usize;
    let mut rest = vec![0u8; n - 4];
    sock.read_exact(&mut rest).await.ok()?;
    let mut frame = len.to_vec();
    frame.extend(rest);
    Some(frame)
}

fn command_id(f: &[u8]) -> u32 {
    u32::from_be_bytes(f[4..8].try_into().unwrap())
}

fn seq(f: &[u8]) -> u32 {
    u32::from_be_bytes(f[12..16].try_into().unwrap())
}

fn bind_resp(seq: u32) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(21u32.to_be_bytes());
    f.extend(0x8000_0009u32.to_be_bytes());
    f.extend(0u32.to_be_bytes());
    f.extend(seq.to_be_bytes());
    f.extend(b"fake\0");
    f
}

#[tokio::test]
async fn smsc_unbind_is_answered_and_the_bind_comes_back() {
    let (smsc, run) = bound(Behaviour::default(), |_| {}).await;
    assert_eq!(smsc.send_unbind(Target::All).await, 1);
    let s = smsc.wait_stats(|s| s.binds_accepted >= 2).await.unwrap();
    assert_eq!(s.unbinds_sent, 1);
    assert!(
        smsc.protocol_errors().is_empty(),
        "{:?}",
        smsc.protocol_errors()
    );
    assert!(run.operator.wait_bound(WAIT).await);
    let r = run
        .operator
        .submit(sm("9647701234567", "after unbind"))
        .await;
    assert!(matches!(r, SubmitResult::Accepted { .. }), "{r:?}");
    run.operator.shutdown().await;
}

async fn framing_error_then_rebind(send: impl AsyncFnOnce(&bawaba_sim::SmscHandle) -> usize) {
    let (smsc, run) = bound(Behaviour::default(), |_| {}).await;
    assert_eq!(send(&smsc).await, 1);
    let s = smsc.wait_stats(|s| s.binds_accepted >= 2).await.unwrap();
    assert_eq!(s.generic_nacks_received, 1);
    let nack = smsc.nacks_received()[0];
    assert_eq!(nack.status, SimStatus::EsmeRinvcmdlen);
    assert!(run.operator.wait_bound(WAIT).await);
    let r = run.operator.submit(sm("9647701234567", "after")).await;
    assert!(matches!(r, SubmitResult::Accepted { .. }), "{r:?}");
    run.operator.shutdown().await;
}

#[tokio::test]
async fn garbage_from_the_smsc_is_nacked_and_the_link_remade() {
    framing_error_then_rebind(async |s| s.send_garbage(Target::All).await).await;
}

#[tokio::test]
async fn oversized_command_length_is_nacked_before_allocating() {
    framing_error_then_rebind(async |s| s.send_oversized(Target::All, 0xFFFF_FFF0).await).await;
}

#[tokio::test]
async fn malformed_body_and_unknown_command_are_answered_and_the_bind_carries_on() {
    let (smsc, run) = bound(Behaviour::default(), |_| {}).await;
    // An unknown command_id: generic_nack ESME_RINVCMDID, same sequence.
    let mut unknown = Vec::new();
    for w in [16u32, 0x0000_0999, 0, 0x7000_0001] {
        unknown.extend(w.to_be_bytes());
    }
    smsc.send_raw(Target::All, &unknown).await;
    smsc.wait_until("nack", |_, s| s.generic_nacks_received >= 1)
        .await
        .unwrap();
    let nack = smsc.nacks_received()[0];
    assert_eq!(
        (nack.status, nack.sequence),
        (SimStatus::EsmeRinvcmdid, 0x7000_0001)
    );
    // A deliver_sm whose body stops inside service_type (no NUL).
    let mut bad = Vec::new();
    for w in [19u32, 0x0000_0005, 0, 0x7000_0002] {
        bad.extend(w.to_be_bytes());
    }
    bad.extend(b"USS");
    smsc.send_raw(Target::All, &bad).await;
    let r = run
        .operator
        .submit(sm("9647701234567", "still bound"))
        .await;
    assert!(matches!(r, SubmitResult::Accepted { .. }), "{r:?}");
    assert_eq!(smsc.stats().binds_accepted, 1, "the link must survive");
    assert!(run.operator.stats()[0].malformed >= 1);
    run.operator.shutdown().await;
}

#[tokio::test]
async fn link_drop_reports_in_flight_submits_unknown_then_rebinds() {
    let slow = Behaviour {
        submit_resp_delay: Duration::from_secs(30),
        ..Behaviour::default()
    };
    let (smsc, run) = bound(slow, |c| c.window = 10).await;
    let mut pending = Vec::new();
    for i in 0..5 {
        let op = run.operator.clone();
        pending.push(tokio::spawn(async move {
            op.submit(sm("9647701234567", &format!("in flight {i}")))
                .await
        }));
    }
    smsc.wait_stats(|s| s.submits >= 5).await.unwrap();
    assert_eq!(smsc.drop_link(Target::All).await, 1);
    for p in pending {
        assert_eq!(p.await.unwrap(), SubmitResult::Unknown);
    }
    smsc.set_behaviour(Behaviour::default());
    smsc.wait_stats(|s| s.binds_accepted >= 2).await.unwrap();
    assert!(run.operator.wait_bound(WAIT).await);
    assert_eq!(run.operator.stats()[0].unknown, 5);
    let r = run
        .operator
        .submit(sm("9647701234567", "after the drop"))
        .await;
    assert!(matches!(r, SubmitResult::Accepted { .. }), "{r:?}");
    run.operator.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_unbinds_and_refuses_new_submits() {
    let (smsc, run) = bound(Behaviour::default(), |c| c.binds = 2).await;
    let t0 = Instant::now();
    run.operator.shutdown().await;
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        t0.elapsed()
    );
    let s = smsc.wait_stats(|s| s.unbinds_received >= 2).await.unwrap();
    assert_eq!(s.unbinds_received, 2);
    smsc.wait_bound_at_most(0).await.unwrap();
    assert!(!run.operator.is_bound());
    assert_eq!(
        run.operator.submit(sm("9647701234567", "late")).await,
        SubmitResult::NotBound
    );
    assert!(
        smsc.protocol_errors().is_empty(),
        "{:?}",
        smsc.protocol_errors()
    );
}

/// Every submit ends in exactly one answer across repeated link drops:
/// accepted ones are really at the SMSC, the rest are Unknown, none lost.
#[tokio::test]
async fn link_drops_under_load_lose_nothing() {
    let slow = Behaviour {
        submit_resp_delay: Duration::from_millis(20),
        ..Behaviour::default()
    };
    let (smsc, run) = bound(slow, |c| c.binds = 2).await;
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let op = run.operator.clone();
            tokio::spawn(async move { op.submit(sm("9647701234567", &format!("load {i}"))).await })
        })
        .collect();
    for at in [50, 150] {
        smsc.wait_stats(|s| s.submits >= at).await.unwrap();
        assert!(smsc.drop_link(Target::All).await >= 1);
    }
    let mut accepted = std::collections::BTreeSet::new();
    let mut unknown = 0;
    for t in tasks {
        match t.await.unwrap() {
            SubmitResult::Accepted { message_id } => assert!(accepted.insert(message_id)),
            SubmitResult::Unknown => unknown += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        unknown >= 1,
        "drops with submits in flight must show as Unknown"
    );
    assert_eq!(accepted.len() + unknown, 300);
    let mut at_smsc = std::collections::BTreeSet::new();
    while let Some(s) = smsc.try_next_submit() {
        at_smsc.extend(s.message_id);
    }
    assert!(
        accepted.is_subset(&at_smsc),
        "an Accepted id the SMSC never gave out"
    );
    let lost: u64 = run.operator.stats().iter().map(|s| s.unknown).sum();
    assert_eq!(lost, unknown as u64);
    run.operator.shutdown().await;
}
