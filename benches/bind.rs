//! One bind's submit throughput against the simulated SMSC on loopback,
//! with window 1, 10 and 50, in submits per second (`cargo bench --bench
//! bind`). The SMSC runs in the same process (it answers at once); the
//! operator's TPS limit is set far above what loopback reaches, so the
//! window and the two ends' per-PDU cost are what is measured.
//!
//! Env: BIND_BENCH_SUBMITS (default 200000 per window), BIND_BENCH_WINDOWS
//! (default "1,10,50").

use std::sync::Arc;
use std::time::{Duration, Instant};

use bawaba::config::Config;
use bawaba::smpp::pdu::{Address, Sm};
use bawaba::smpp::session::{Operator, SubmitResult};
use bawaba_sim::{Smsc, SmscConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn run(window: u32, submits: usize) -> f64 {
    let mut sim = SmscConfig::local("bench", "bench");
    sim.submit_queue = 1; // nobody reads the MTs; overflow is only counted
    let smsc = Smsc::start(sim).await.expect("simulator");
    let addr = smsc.local_addr();
    let toml = format!(
        "[[operators]]\nname = \"bench\"\nhost = \"127.0.0.1\"\nport = {}\nsystem_id = \"bench\"\npassword = \"bench\"\nwindow = {window}\n",
        addr.port()
    );
    let mut cfg = Config::from_str(&toml, "bench.toml")
        .unwrap()
        .operators
        .remove(0);
    cfg.tps = 100_000_000;
    let (tx, _rx) = mpsc::channel(16);
    let shutdown = CancellationToken::new();
    let op = Operator::start(Arc::new(cfg), tx, shutdown.clone());
    assert!(op.wait_bound(Duration::from_secs(10)).await, "bind");
    let sm = Sm {
        source: Address::new(0, 0, "2150"),
        dest: Address::new(1, 1, "9647701234567"),
        short_message: bytes::Bytes::from_static(
            b"Your PDS balance is 12 items. Reply 1 for details.",
        ),
        ..Sm::default()
    };
    let callers = (window as usize * 2).max(4);
    let per = submits / callers;
    let batch = |n: usize| {
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let (op, sm) = (op.clone(), sm.clone());
                tokio::spawn(async move {
                    for _ in 0..n {
                        let r = op.submit(sm.clone()).await;
                        assert!(matches!(r, SubmitResult::Accepted { .. }), "{r:?}");
                    }
                })
            })
            .collect();
        async move {
            for t in tasks {
                t.await.unwrap();
            }
        }
    };
    batch(per / 10 + 1).await; // warm-up
    let t0 = Instant::now();
    batch(per).await;
    let rate = (per * callers) as f64 / t0.elapsed().as_secs_f64();
    op.shutdown().await;
    smsc.shutdown().await;
    rate
}

fn main() {
    // `cargo test --benches` runs bench binaries with no args: keep that fast.
    let quick = !std::env::args().any(|a| a == "--bench");
    let submits: usize = env("BIND_BENCH_SUBMITS", if quick { "2000" } else { "200000" })
        .parse()
        .expect("BIND_BENCH_SUBMITS");
    let windows: Vec<u32> = env("BIND_BENCH_WINDOWS", "1,10,50")
        .split(',')
        .map(|w| w.trim().parse().expect("BIND_BENCH_WINDOWS"))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for window in windows {
        let rate = rt.block_on(run(window, submits));
        println!("bind/submit window={window:<3} {rate:>10.0} submits/s ({submits} submits)");
    }
}
