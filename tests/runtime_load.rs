//! Throughput: N concurrent USSD dialogues through the simulator SMSC, the
//! gateway and sled on disk (canned back-end, no delay). Ignored by
//! default; run with
//! `cargo test --release --test runtime_load -- --ignored --nocapture`
//! (BAWABA_LOAD_PHONES, BAWABA_LOAD_ROUNDS to change the load).

mod runtime_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bawaba::engine::Outcome;
use runtime_common::{Canned, Opts, Rig};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load measurement; run explicitly"]
async fn turns_per_second_with_concurrent_dialogues() {
    let phones = env("BAWABA_LOAD_PHONES", 50);
    let rounds = env("BAWABA_LOAD_ROUNDS", 10);
    let calls = Arc::new(Canned::default());
    calls.answer(
        "pds",
        "balance",
        Outcome::Ok,
        json!({"holder": "Ali Hassan Jasim", "members": "6", "balance": "25000"}),
        Duration::ZERO,
    );
    let opts = Opts {
        workers: 4,
        worker_queue: 1024,
        tps: 10_000,
        binds: env("BAWABA_LOAD_BINDS", 1) as u32,
        ..Opts::default()
    };
    let mut rig = Rig::new(opts, calls).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..phones {
        let mut phone = rig.smsc.ussd(&format!("96478{:08}", i));
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..rounds {
                for step in ["*123*1#", "12345678", "1"] {
                    let t = Instant::now();
                    let screen = if step.starts_with('*') {
                        phone.dial(step).await
                    } else {
                        phone.reply(step).await
                    }
                    .expect("screen");
                    latencies.push(t.elapsed());
                    if step == "1" {
                        assert!(screen.end, "{screen:?}");
                    }
                }
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{phones} concurrent dialogues x {rounds} rounds: {} turns in {:.2?} = {:.0} turns/s; turn latency p50 {:.1?} p99 {:.1?} max {:.1?}",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        all[all.len() - 1]
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load measurement; run explicitly"]
async fn sms_turns_per_second_with_concurrent_conversations() {
    let phones = env("BAWABA_LOAD_PHONES", 50);
    let rounds = env("BAWABA_LOAD_ROUNDS", 5);
    let calls = Arc::new(Canned::default());
    calls.answer(
        "pds",
        "balance",
        Outcome::Ok,
        json!({"holder": "Ali Hassan Jasim", "members": "6", "balance": "25000"}),
        Duration::ZERO,
    );
    let opts = Opts {
        workers: 4,
        worker_queue: 1024,
        tps: 10_000,
        ..Opts::default()
    };
    let mut rig = Rig::new(opts, calls).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..phones {
        // A fresh subscriber per round: the same text from the same number
        // within [sms] dedupe_window is (by design) taken as the SMSC
        // resending it, and answered without being run again.
        let numbers: Vec<String> = (0..rounds).map(|r| format!("9647{r:03}{i:06}")).collect();
        let phones: Vec<_> = numbers.iter().map(|n| rig.smsc.sms(n)).collect();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            for mut phone in phones {
                for text in ["PDS 12345678", "1"] {
                    let t = Instant::now();
                    phone.send("2150", text).await.expect("acked");
                    phone.next_message().await.expect("reply");
                    latencies.push(t.elapsed());
                }
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{phones} concurrent SMS conversations x {rounds} rounds: {} MO->MT turns in {:.2?} = {:.0} turns/s; p50 {:.1?} p99 {:.1?}",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
    );
    rig.stop().await;
}
