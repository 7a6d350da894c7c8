//! USSD first: while a bulk send drains through the operator at its full
//! TPS, a citizen's USSD screen does not wait behind the queued MTs (the
//! session layer's interactive lane). Real path: `bawaba serve`, the
//! simulator SMSC, sled, the notification API over HTTP.

mod e2e_support;
mod notify_support;

use std::time::Duration;

use notify_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ussd_screen_is_not_queued_behind_a_bulk_send() {
    const N: usize = 400;
    const TPS: i64 = 20;
    let rig = Rig::new(Op {
        tps: TPS,
        window: 10,
    });
    let _serve = rig.serve("gw.log").await;
    // Queued while the SMSC is down: the drain starts with a full queue.
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..8 {
        let api = rig.api;
        tasks.spawn(async move {
            for i in (c..N).step_by(8) {
                let body = text_to(&format!("96478{i:08}"), &format!("campaign {i}"));
                let r = post(api, BULK, None, &body).await;
                assert_eq!(r.status, 202, "{}", r.body);
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
    let smsc = rig.smsc().await;
    smsc.wait_stats(|s| s.submits >= 2 * TPS as u64)
        .await
        .unwrap();

    let mut worst = Duration::ZERO;
    for n in 0..5 {
        let mut phone = smsc.ussd(&format!("96477012345{n:02}"));
        let t0 = tokio::time::Instant::now();
        let screen = phone.dial("*123#").await.expect("the menu");
        let took = t0.elapsed();
        assert!(!screen.end, "{screen:?}");
        worst = worst.max(took);
        println!("USSD menu {n} while bulk drains: {took:?}");
        phone.abort().await.expect("abort");
    }
    let s = smsc.stats();
    assert!(
        s.submits < N as u64,
        "the bulk send was still draining: {s:?}"
    );
    // Behind the queue a screen would wait for the MTs ahead of it: the
    // outbox keeps about a second of TPS in flight (20 at 20/s), plus the
    // operator queue, so well over a second.
    assert!(
        worst < Duration::from_millis(600),
        "a USSD screen waited {worst:?} behind bulk MTs"
    );
}
