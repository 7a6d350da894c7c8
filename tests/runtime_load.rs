//! Throughput: N concurrent USSD dialogues through the simulator SMSC, the
//! gateway and sled on disk (canned back-end, no delay). Ignored by
//! default; run with
//! `cargo test --release --test runtime_load -- --ignored --nocapture`
//! (BAWABA_LOAD_PHONES, BAWABA_LOAD_ROUNDS to change the load).

mod runtime_common;

use std::time::{Duration, Instant};

use runtime_common::{pds_balance, Opts, Rig};
use tokio::task::JoinSet;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Four workers, deep queues and a TPS cap out of the way, over `binds` binds.
async fn load_rig(binds: u32) -> Rig {
    let opts = Opts {
        workers: 4,
        worker_queue: 1024,
        tps: 10_000,
        binds,
        ..Opts::default()
    };
    Rig::new(opts, pds_balance(Duration::ZERO)).await
}

/// Every turn's latency, sorted, and the time the whole load took.
struct Latencies {
    all: Vec<Duration>,
    elapsed: Duration,
}

impl Latencies {
    /// Waits for every task; `started` is when the load began.
    async fn collect(mut tasks: JoinSet<Vec<Duration>>, started: Instant) -> Self {
        let mut all = Vec::new();
        while let Some(r) = tasks.join_next().await {
            all.extend(r.unwrap());
        }
        let elapsed = started.elapsed();
        all.sort();
        Latencies { all, elapsed }
    }

    fn pct(&self, p: f64) -> Duration {
        self.all[((self.all.len() as f64 * p) as usize).min(self.all.len() - 1)]
    }

    fn per_second(&self) -> f64 {
        self.all.len() as f64 / self.elapsed.as_secs_f64()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load measurement; run explicitly"]
async fn turns_per_second_with_concurrent_dialogues() {
    let phones = env("BAWABA_LOAD_PHONES", 50);
    let rounds = env("BAWABA_LOAD_ROUNDS", 10);
    let mut rig = load_rig(env("BAWABA_LOAD_BINDS", 1) as u32).await;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
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
    let l = Latencies::collect(tasks, started).await;
    println!(
        "{phones} concurrent dialogues x {rounds} rounds: {} turns in {:.2?} = {:.0} turns/s; turn latency p50 {:.1?} p99 {:.1?} max {:.1?}",
        l.all.len(),
        l.elapsed,
        l.per_second(),
        l.pct(0.5),
        l.pct(0.99),
        l.pct(1.0)
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load measurement; run explicitly"]
async fn sms_turns_per_second_with_concurrent_conversations() {
    let phones = env("BAWABA_LOAD_PHONES", 50);
    let rounds = env("BAWABA_LOAD_ROUNDS", 5);
    let mut rig = load_rig(1).await;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
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
    let l = Latencies::collect(tasks, started).await;
    println!(
        "{phones} concurrent SMS conversations x {rounds} rounds: {} MO->MT turns in {:.2?} = {:.0} turns/s; p50 {:.1?} p99 {:.1?}",
        l.all.len(),
        l.elapsed,
        l.per_second(),
        l.pct(0.5),
        l.pct(0.99),
    );
    rig.stop().await;
}
