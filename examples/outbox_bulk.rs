//! Bulk MT measurement: N MTs enqueued durably (64 callers at once, as HTTP
//! handlers would), then sent over one bind to the simulator SMSC, receipts
//! recorded. Prints enqueue rate, submit rate against the configured TPS,
//! and when every MT's status was `Delivered`.
//!
//! `cargo run --release --example outbox_bulk -- [N=10000] [window=10] [tps=10000]`
//! The store lives under target/tmp (the real disk, not tmpfs).
//!
//! Measured 2026-11-27 on the shared 2-vCPU VM (load 3-4 from other
//! builds), simulator in the same process, transceiver bind carrying the
//! receipts too:
//! * release: 10,000 enqueued durably in 203-208 ms (48-49k/s); submitted
//!   in 2.37-2.43 s (4.1-4.2k/s), every status `Delivered` 30 ms later;
//!   2,000 in 39 ms / 431 ms; at tps 1000, 5,000 took 5.03 s (995/s).
//! * debug: 10,000 enqueued in 431-466 ms (21-23k/s), submitted in 6-9 s
//!   (1.1-1.7k/s); at tps 500, 2,000 took 3.99 s (501/s).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bawaba::config::Config;
use bawaba::msisdn::Msisdn;
use bawaba::outbox::{receipts, OutboundSms, Outbox, Settings, SmsStatus};
use bawaba::smpp::pdu::CommandStatus;
use bawaba::smpp::session::{InboundPdu, Operator};
use bawaba::store::{OutboundId, SledConfig, SledStore};
use bawaba_sim::{Smsc, SmscConfig};
use futures::stream::{self, StreamExt};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const CALLERS: usize = 64;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (n, window, tps) = (arg(1, 10_000), arg(2, 10), arg(3, 10_000));

    let mut sc = SmscConfig::local("bawaba", "secret");
    sc.observe_timeout = Duration::from_secs(600);
    let smsc = Smsc::start(sc).await?;
    let config = Arc::new(Config::from_str(
        &format!(
            r#"
[[operators]]
name = "sim"
host = "127.0.0.1"
port = {port}
system_id = "bawaba"
password = "secret"
window = {window}
tps = {tps}
msisdn_prefixes = ["964"]
sms = {{ short_codes = ["2150"] }}
"#,
            port = smsc.local_addr().port()
        ),
        "bench.toml",
    )?);
    std::fs::create_dir_all("target/tmp")?;
    let dir = tempfile::tempdir_in("target/tmp")?;
    let store = Arc::new(SledStore::open(SledConfig::new(dir.path().join("store"))).await?);

    let shutdown = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel(1024);
    let operator = Operator::start(Arc::new(config.operators[0].clone()), tx, shutdown.clone());
    let operators = BTreeMap::from([("sim".to_string(), operator.clone())]);
    let mut settings = Settings::from_config(&config);
    settings.poll = Duration::from_millis(20);
    let outbox = Outbox::with_settings(store.clone(), config.clone(), operators, settings);
    // Receipts as the runtime should take them: a task each, 256 at most.
    let router = outbox.clone();
    let slots = Arc::new(Semaphore::new(256));
    tokio::spawn(async move {
        while let Some(inbound) = rx.recv().await {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let outbox = router.clone();
            tokio::spawn(async move {
                if let InboundPdu::Deliver(sm) = &inbound.pdu {
                    if receipts::is_receipt(sm.esm_class) {
                        let op = inbound.operator.clone();
                        return outbox.take_receipt(&op, sm, inbound.responder).await;
                    }
                }
                inbound.responder.respond(CommandStatus::ESME_ROK);
                drop(slot);
            });
        }
    });

    let to = Msisdn::parse("9647801234567")?;
    let t = Instant::now();
    let ids: Vec<OutboundId> = stream::iter(0..n)
        .map(|i| {
            let sms = OutboundSms {
                to: to.clone(),
                from: "2150".into(),
                text: format!("Bulk notice {i}: your electricity bill is ready."),
                operator: None,
                priority: 2,
            };
            let outbox = outbox.clone();
            async move { outbox.enqueue(sms).await }
        })
        .buffered(CALLERS)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let enq = t.elapsed();
    println!(
        "enqueue: {n} MTs durable in {enq:?} ({:.0}/s, {CALLERS} callers)",
        n as f64 / enq.as_secs_f64()
    );

    anyhow::ensure!(
        operator.wait_bound(Duration::from_secs(10)).await,
        "no bind"
    );
    let sender = outbox.spawn(shutdown.clone());
    let t = Instant::now();
    smsc.wait_stats(|s| s.submit_resps_sent >= n).await?;
    let sent = t.elapsed();
    println!(
        "submit: {n} MTs over 1 bind (window {window}, tps {tps}) in {sent:?} ({:.0}/s)",
        n as f64 / sent.as_secs_f64()
    );
    // Receipts trail the submits: count until all are in, or 30 s passed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut delivered = 0;
    while delivered < ids.len() && Instant::now() < deadline {
        delivered = 0;
        for id in &ids {
            if matches!(outbox.status(*id).await, Some(SmsStatus::Delivered { .. })) {
                delivered += 1;
            }
        }
    }
    let stats = smsc.stats();
    println!(
        "delivered: {delivered}/{n} with receipts recorded, {:?} after the sender started; \
         smsc: {} submits, {} receipts sent, {} deliver_sm_resp received",
        t.elapsed(),
        stats.submits,
        stats.receipts_sent,
        stats.deliver_sm_resps_received,
    );
    shutdown.cancel();
    sender.await?;
    operator.shutdown().await;
    Ok(())
}
