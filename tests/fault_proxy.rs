//! Network faults between the gateway and the SMSC, through the fault
//! proxy (`bawaba_sim::proxy`): `bawaba serve` (the real binary) binds to
//! the simulator SMSC through it, back-ends send MTs over the notification
//! API while the link is broken, and every MT answered 202 must reach the
//! SMSC once the fault heals (at least once; duplicates are counted).
//!
//! The half-open test runs with the default link timers and measures how
//! long the gateway takes to notice (objective: 40 s) and to bind again
//! after the fault heals (objective: 30 s). The other faults use short
//! timers so they take seconds.

mod e2e_support;
mod notify_support;

use std::collections::BTreeMap;
use std::time::Duration;

use bawaba_sim::proxy::{self, Faults, Flow, ProxyHandle};
use bawaba_sim::{Smsc, SmscConfig, SmscHandle};
use e2e_support::{edit_config, first_operator, Serve};
use notify_support::{post, text_to, Op, Rig, DEMO};
use tokio::time::Instant;

const TO: &str = "9647701234567";

/// The operator's link timers.
enum Timers {
    /// Nothing set: what an operator gets who writes none.
    Defaults,
    /// Short, so a fault is found and healed in seconds.
    Fast,
}

struct Through {
    rig: Rig,
    smsc: SmscHandle,
    proxy: ProxyHandle,
    gateway: Serve,
}

/// The SMSC on a free port, the proxy on the port the configuration
/// names, the gateway bound through it.
async fn through_proxy(timers: Timers) -> Through {
    let rig = Rig::new(Op {
        tps: 1000,
        window: 10,
    });
    edit_config(&rig.config, |doc| {
        let op = first_operator(doc);
        for key in [
            "enquire_link",
            "reconnect",
            "bind_timeout",
            "response_timeout",
        ] {
            op.remove(key);
        }
        if let Timers::Fast = timers {
            let fast: toml::Table = toml::from_str(
                r#"
enquire_link = { idle = "1s", timeout = "1s" }
reconnect = { min = "100ms", max = "1s" }
bind_timeout = "1s"
response_timeout = "2s"
"#,
            )
            .unwrap();
            op.extend(fast);
        }
    });

    let mut cfg = SmscConfig::local("bawaba", e2e_support::BIND_PASSWORD);
    cfg.observe_timeout = Duration::from_secs(60);
    let smsc = Smsc::start(cfg).await.expect("SMSC");
    let proxy = proxy::start(rig.smsc_addr, smsc.local_addr())
        .await
        .expect("proxy on the configured port");
    let gateway = rig.serve("serve.log").await;
    smsc.wait_bound(1).await.expect("bound through the proxy");
    Through {
        rig,
        smsc,
        proxy,
        gateway,
    }
}

impl Through {
    /// Posts `n` MTs tagged `tag`; each must be answered 202.
    async fn post(&self, tag: &str, n: usize) -> Vec<String> {
        let mut texts = Vec::new();
        for i in 0..n {
            let text = format!("{tag} {i}");
            let r = post(self.rig.api, DEMO, None, &text_to(TO, &text)).await;
            assert_eq!(r.status, 202, "{}", r.body);
            texts.push(text);
        }
        texts
    }

    /// Waits until every text in `want` reached the SMSC; returns how many
    /// times each arrived (all MTs seen so far, so counts add up).
    async fn reached(&self, seen: &mut BTreeMap<String, u32>, want: &[String], within: Duration) {
        let deadline = Instant::now() + within;
        while !want.iter().all(|t| seen.contains_key(t)) {
            let left = deadline.saturating_duration_since(Instant::now());
            let missing: Vec<_> = want.iter().filter(|t| !seen.contains_key(*t)).collect();
            assert!(
                !left.is_zero(),
                "MTs answered 202 never reached the SMSC: {missing:?}\n{}",
                self.gateway.logs()
            );
            if let Ok(Ok(mt)) = tokio::time::timeout(left, self.smsc.next_submit()).await {
                if mt.message_id.is_some() {
                    *seen.entry(mt.text).or_default() += 1;
                }
            }
        }
    }

    /// Waits until the proxy has accepted more than `n` connections: the
    /// gateway gave the old link up and dialled again.
    async fn redialled(&self, n: u64, within: Duration) -> Duration {
        let t = Instant::now();
        while self.proxy.stats().accepted <= n {
            assert!(
                t.elapsed() < within,
                "no new connection within {within:?}: the fault went unnoticed\n{}",
                self.gateway.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        t.elapsed()
    }

    async fn rebound(&self, binds: u64, within: Duration) -> Duration {
        let t = Instant::now();
        while self.smsc.stats().binds_accepted < binds || self.smsc.binds().is_empty() {
            assert!(
                t.elapsed() < within,
                "not bound again within {within:?}\n{}",
                self.gateway.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        t.elapsed()
    }

    async fn stop(mut self) {
        self.gateway.signal("TERM");
        let status = self.gateway.wait(Duration::from_secs(20)).await;
        assert!(status.success(), "{status:?}\n{}", self.gateway.logs());
        self.proxy.shutdown();
    }
}

fn duplicates(seen: &BTreeMap<String, u32>) -> u32 {
    seen.values().map(|n| n - 1).sum()
}

/// Half-open link with the default timers: bytes stop both ways, both
/// sockets stay open. Then the SMSC is unreachable for a while (new
/// connections reset) so the reconnect backoff grows, then it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_link_is_found_within_40s_and_rebound_within_30s_of_healing() {
    let t = through_proxy(Timers::Defaults).await;
    let mut seen = BTreeMap::new();
    let before = t.post("before", 3).await;
    t.reached(&mut seen, &before, Duration::from_secs(15)).await;

    let accepted = t.proxy.stats().accepted;
    let binds = t.smsc.stats().binds_accepted;
    t.proxy.update(|f| f.blackhole = true);
    let during = t.post("half-open", 5).await;
    let detected = t.redialled(accepted, Duration::from_secs(45)).await;
    assert!(
        t.gateway.logs().contains("Dead"),
        "the link was not declared dead by enquire_link:\n{}",
        t.gateway.logs()
    );
    // Down for longer: connections are refused, the backoff grows.
    t.proxy.update(|f| f.refuse = true);
    t.proxy.reset();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let refused = t.proxy.stats().refused;
    t.proxy.heal();
    let rebound = t.rebound(binds + 1, Duration::from_secs(35)).await;
    t.reached(&mut seen, &during, Duration::from_secs(30)).await;
    println!(
        "half-open link (default timers): detected after {:.1} s (new connection), \
         {refused} reconnects refused while down, bound again {:.1} s after healing; \
         {} MTs queued during the fault all reached the SMSC, {} duplicates",
        detected.as_secs_f64(),
        rebound.as_secs_f64(),
        during.len(),
        duplicates(&seen)
    );
    assert!(detected < Duration::from_secs(40), "{detected:?}");
    assert!(rebound < Duration::from_secs(30), "{rebound:?}");
    t.stop().await;
}

/// Latency and jitter slow every PDU but break nothing: no false
/// "dead link" even with a 1 s enquire_link timeout, and a USSD dialogue
/// still gets its screens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_and_jitter_slow_the_link_but_break_nothing() {
    let t = through_proxy(Timers::Fast).await;
    t.proxy.set(Faults {
        latency: Duration::from_millis(150),
        jitter: Duration::from_millis(100),
        ..Faults::default()
    });
    let binds = t.smsc.stats().binds_accepted;
    let mut phone = t.smsc.ussd(TO);
    let started = Instant::now();
    let menu = phone.dial("*123#").await.expect("menu through a slow link");
    assert!(!menu.end, "{menu:?}");
    let slow = started.elapsed();
    let mut seen = BTreeMap::new();
    let texts = t.post("slow", 10).await;
    t.reached(&mut seen, &texts, Duration::from_secs(20)).await;
    // Several enquire_link rounds at 1 s idle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        t.smsc.stats().binds_accepted,
        binds,
        "a slow link was taken for a dead one"
    );
    assert_eq!(duplicates(&seen), 0, "{seen:?}");
    println!(
        "latency 150 ms + jitter 100 ms each way: USSD screen in {} ms, 10 MTs once each, no rebind",
        slow.as_millis()
    );
    t.stop().await;
}

/// Reset, close after N bytes and a one-way stall each way: the gateway
/// notices, binds again once the fault is gone, and every MT answered 202
/// during the fault reaches the SMSC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_close_after_n_bytes_and_one_way_stalls_lose_nothing() {
    let t = through_proxy(Timers::Fast).await;
    let mut seen = BTreeMap::new();
    let faults: [(&str, Faults); 4] = [
        ("reset", Faults::default()),
        (
            "close-after-400",
            Faults {
                close_after: Some(400),
                ..Faults::default()
            },
        ),
        (
            "stall-up",
            Faults {
                stall: Some(Flow::Up),
                ..Faults::default()
            },
        ),
        (
            "stall-down",
            Faults {
                stall: Some(Flow::Down),
                ..Faults::default()
            },
        ),
    ];
    let mut report = Vec::new();
    for (name, faults) in faults {
        let accepted = t.proxy.stats().accepted;
        let binds = t.smsc.stats().binds_accepted;
        t.proxy.set(faults);
        if name == "reset" {
            assert_eq!(t.proxy.reset(), 1);
        }
        let texts = t.post(name, 8).await;
        let detected = t.redialled(accepted, Duration::from_secs(15)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        t.proxy.heal();
        let rebound = t.rebound(binds + 1, Duration::from_secs(15)).await;
        t.reached(&mut seen, &texts, Duration::from_secs(30)).await;
        report.push(format!(
            "{name}: redialled after {} ms, bound {} ms after healing",
            detected.as_millis(),
            rebound.as_millis()
        ));
    }
    println!(
        "{}; 32 MTs reached the SMSC, {} duplicates (sent again after an unknown outcome)",
        report.join("; "),
        duplicates(&seen)
    );
    t.stop().await;
}
