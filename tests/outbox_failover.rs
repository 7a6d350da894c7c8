//! Failover between binds of one operator: MTs routed to an operator by
//! prefix go out on whichever of its binds is up. One of two binds drops
//! (and the SMSC refuses its rebind): every MT is still sent, on the
//! other bind, and delivered. Real path: simulator SMSC on loopback,
//! session `Operator`, sled in a temp dir.

mod outbox_support;

use std::sync::Arc;
use std::time::Duration;

use bawaba_sim::{SmscConfig, Target};
use outbox_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mts_fail_over_to_the_other_bind_of_the_operator() {
    let dir = tempfile::tempdir().unwrap();
    let smsc = smsc(SmscConfig::local("bawaba", "secret")).await;
    let mut config = (*config(smsc.local_addr(), &Op::default())).clone();
    config.operators[0].binds = 2;
    let config = Arc::new(config);
    let gw = Gateway::start(
        open_store(dir.path()).await,
        config.clone(),
        settings(&config),
        true,
    );
    let binds = smsc.wait_bound(2).await.expect("both binds");

    smsc.refuse_binds_for(Duration::from_secs(60));
    assert_eq!(smsc.drop_link(Target::Bind(binds[0].id)).await, 1);
    smsc.wait_bound_at_most(1).await.unwrap();
    let survivor = smsc.binds()[0].id;
    assert_ne!(survivor, binds[0].id);

    let mut ids = Vec::new();
    for i in 0..30 {
        // Routed by prefix (`964`), no operator named.
        let id = gw
            .outbox
            .enqueue(sms("07701234567", &format!("notice {i}"), 1));
        ids.push(id.await.unwrap());
    }
    for id in ids {
        wait_status(&gw.outbox, id, Duration::from_secs(15), delivered).await;
    }
    let mut on = Vec::new();
    while let Some(mt) = smsc.try_next_submit() {
        on.push(mt.bind);
    }
    assert_eq!(on.len(), 30, "each MT once");
    assert!(
        on.iter().all(|b| *b == survivor),
        "all on the bind still up: {on:?}"
    );
    gw.stop().await;
}
