//! A bulk send keeps to the operator's configured TPS (the session layer
//! meters it; the outbox must not defeat it). Measured, loosely asserted.

mod outbox_support;

use std::time::Duration;

use bawaba_sim::Behaviour;
use outbox_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_send_respects_the_configured_tps() {
    const N: u64 = 150;
    const TPS: u32 = 50;
    let op = Op {
        tps: TPS,
        ..Op::default()
    };
    let Rig { smsc, mut gw, .. } = rig(Behaviour::default(), op, |_| {}, false).await;
    for i in 0..N {
        let text = format!("campaign {i}");
        gw.enqueue("07801234567", &text, 2).await;
    }
    assert!(gw.operator.wait_bound(Duration::from_secs(10)).await);
    gw.start_sender();
    // The first submit starts the clock, so bind-up time does not count.
    smsc.wait_stats(|s| s.submits >= 1).await.unwrap();
    let start = tokio::time::Instant::now();
    // N / TPS = 3 s, well inside the simulator's 10 s observe timeout.
    smsc.wait_stats(|s| s.submits >= N).await.unwrap();
    let elapsed = start.elapsed();
    let rate = (N - 1) as f64 / elapsed.as_secs_f64();
    println!("{N} MTs at tps={TPS}: {elapsed:?}, {rate:.1}/s");
    assert!(
        rate <= f64::from(TPS) * 1.25,
        "{rate:.1}/s is over the configured {TPS}/s"
    );
    assert!(
        rate >= f64::from(TPS) * 0.5,
        "{rate:.1}/s: the outbox starves the bind"
    );
    gw.stop().await;
}
