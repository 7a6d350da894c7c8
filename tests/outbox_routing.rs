//! Two operators, each its own simulator SMSC: MTs go by MSISDN prefix (or
//! the operator named), and one operator being down does not hold up the
//! other.

mod outbox_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bawaba::config::Config;
use bawaba::outbox::{Outbox, SmsStatus};
use bawaba::smpp::session::Operator;
use bawaba_sim::SmscConfig;
use outbox_support::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);

fn two_operators(zain: SocketAddr, asia: SocketAddr) -> Arc<Config> {
    let op = |name: &str, addr: SocketAddr, prefix: &str| {
        format!(
            r#"
[[operators]]
name = "{name}"
host = "127.0.0.1"
port = {port}
system_id = "bawaba"
password = "secret"
reconnect = {{ min = "100ms", max = "1s", rejected_max = "1s" }}
msisdn_prefixes = ["{prefix}"]
"#,
            port = addr.port()
        )
    };
    let text = op("zain", zain, "96478") + &op("asiacell", asia, "96477");
    Arc::new(Config::from_str(&text, "/tmp/outbox-routing.toml").expect("valid"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mts_go_by_prefix_and_a_down_operator_does_not_hold_up_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let zain = smsc(SmscConfig::local("bawaba", "secret")).await;
    let asia_addr = free_addr(); // Asiacell's SMSC is down for now
    let config = two_operators(zain.local_addr(), asia_addr);
    let shutdown = CancellationToken::new();
    let (tx, rx) = mpsc::channel(256);
    let operators: BTreeMap<String, Operator> = config
        .operators
        .iter()
        .map(|o| {
            let op = Operator::start(Arc::new(o.clone()), tx.clone(), shutdown.clone());
            (o.name.clone(), op)
        })
        .collect();
    let store = open_store(dir.path()).await;
    let outbox = Outbox::with_settings(store, config.clone(), operators.clone(), settings(&config));
    let router = tokio::spawn(route_receipts(outbox.clone(), rx));
    let sender = outbox.spawn(shutdown.clone());

    let to_asia: Vec<_> = futures::future::try_join_all(
        (0..20).map(|i| outbox.enqueue(sms("07701234567", &format!("asia {i}"), 1))),
    )
    .await
    .unwrap();
    let to_zain = outbox.enqueue(sms("07801234567", "zain", 1)).await.unwrap();
    let mut named = sms("07701234567", "asia number, zain named", 1);
    named.operator = Some("zain".into());
    let named = outbox.enqueue(named).await.unwrap();
    for id in [to_zain, named] {
        wait_status(&outbox, id, WAIT, delivered).await;
    }
    let mut dests: Vec<String> = Vec::new();
    while let Some(mt) = zain.try_next_submit() {
        dests.push(mt.dest);
    }
    dests.sort();
    assert_eq!(
        dests,
        ["9647701234567", "9647801234567"],
        "only these two went to Zain"
    );
    for id in &to_asia {
        let s = outbox.try_status(*id).await.unwrap().unwrap();
        assert!(matches!(s, SmsStatus::Queued { attempts: 0, .. }), "{s:?}");
    }

    let asia = smsc(SmscConfig::new(asia_addr, "bawaba", "secret")).await;
    for id in &to_asia {
        wait_status(&outbox, *id, WAIT, delivered).await;
    }
    assert_eq!(asia.stats().submits, 20);
    assert_eq!(zain.stats().submits, 2);

    shutdown.cancel();
    sender.await.unwrap();
    for op in operators.values() {
        op.shutdown().await;
    }
    router.abort();
}
