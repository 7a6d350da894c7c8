//! The crash loop: `bawaba serve` (the real binary) under continuous load
//! (inbound SMS, USSD dialogues, notification API sends over HTTP) is
//! killed with SIGKILL at random moments, again and again, and restarted
//! each time on the same sled store. The simulator SMSC plays the SMSC's
//! part: an MO not answered ESME_ROK is sent again until it is, as an SMSC
//! does. Afterwards, and printed:
//!
//! * every MO answered ESME_ROK got its reply (the passport flow ran: the
//!   back-end was asked and the citizen answered by SMS);
//! * every MT answered 202 by the notification API reached the SMSC;
//! * no MO was processed twice (two replies *and* two back-end calls, at
//!   most as many as there are duplicate MTs, which look the same);
//! * duplicate MTs stay within one window per kill; the rate is printed
//!   (0.07 % measured with 3 to 6 s between kills: it is about one MT per
//!   kill, so it falls as the time between kills grows);
//! * every USSD dialogue either went on or ended with a screen, never hung.

mod e2e_support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bawaba_sim::ministries::{Ministries, MinistriesConfig, MinistriesHandle};
use bawaba_sim::rusmpp::pdus::DeliverSm;
use bawaba_sim::rusmpp::types::{COctetString, OctetString};
use bawaba_sim::rusmpp::values::{DataCoding, EsmClass, RegisteredDelivery};
use bawaba_sim::rusmpp::CommandStatus;
use bawaba_sim::{Smsc, SmscConfig, SmscHandle, Target};
use e2e_support::{edit_config, first_operator, write_config, Serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const KILLS: usize = 22;
const TOKEN: &str = "crash-loop-token-0123456789";
const SHORT_CODE: &str = "2150";

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// What the load saw; shared by the load tasks and the checks.
#[derive(Default)]
struct Ledger {
    /// MO sender -> the application number it asked about (acked ESME_ROK).
    mo_acked: BTreeMap<String, String>,
    /// MO attempts answered something else or not at all (sent again).
    mo_retried: u64,
    /// Texts answered 202 by the API.
    mt_accepted: BTreeSet<String>,
    /// Everything the SMSC was sent and accepted: (dest, text) -> copies
    /// (replies to different citizens may read the same); dest -> MTs.
    mt_seen: BTreeMap<(String, String), u32>,
    replies: BTreeMap<String, u32>,
    mt_texts: BTreeSet<String>,
    /// USSD dialogues: finished with the status screen, ended with another
    /// end screen, went on across a kill, or hung.
    ussd_done: u64,
    ussd_ended: u64,
    ussd_across_kill: u64,
    ussd_hung: Vec<String>,
}

impl Ledger {
    /// Acked MOs with no reply yet, and 202 MTs not at the SMSC yet.
    fn missing(&self) -> (Vec<String>, Vec<String>) {
        let no_reply = self
            .mo_acked
            .keys()
            .filter(|m| !self.replies.contains_key(*m));
        let lost = self
            .mt_accepted
            .iter()
            .filter(|t| !self.mt_texts.contains(*t));
        (no_reply.cloned().collect(), lost.cloned().collect())
    }
}

struct Load {
    smsc: SmscHandle,
    api: SocketAddr,
    ledger: Mutex<Ledger>,
    stop: AtomicBool,
}

impl Load {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap()
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// MOs `PASSPORT <number>`, each from its own number; one not acked is
/// sent again (an SMSC's retry) until it is, or the load stops.
async fn sms_load(load: Arc<Load>, lane: u64) {
    for i in 0u64.. {
        let msisdn = format!("96477{lane}{i:07}");
        let number = format!("20{lane}{i:07}");
        let text = format!("PASSPORT {number}");
        loop {
            if load.stopped() {
                return;
            }
            // A raw deliver_sm, not an SmsPhone: the reply must go to the
            // SMSC's queue (read by `collect`), never to a phone.
            let sent = load.smsc.deliver(Target::All, mo(&msisdn, &text)).await;
            match sent {
                Ok(CommandStatus::EsmeRok) => {
                    load.ledger()
                        .mo_acked
                        .insert(msisdn.clone(), number.clone());
                    break;
                }
                _ => {
                    load.ledger().mo_retried += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// `text` (GSM 7-bit, one part) from `msisdn` to the short code.
fn mo(msisdn: &str, text: &str) -> DeliverSm {
    DeliverSm::builder()
        .source_addr(COctetString::from_string(msisdn.to_string()).unwrap())
        .destination_addr(COctetString::from_string(SHORT_CODE.to_string()).unwrap())
        .esm_class(EsmClass::from(0x00))
        .registered_delivery(RegisteredDelivery::from(0))
        .data_coding(DataCoding::from(0))
        .short_message(OctetString::from_vec(text.as_bytes().to_vec()).unwrap())
        .build()
}

/// MTs through the notification API, each with its own text.
async fn api_load(load: Arc<Load>, lane: u64) {
    for i in 0u64.. {
        if load.stopped() {
            return;
        }
        let text = format!("notice {lane}-{i}");
        let body = serde_json::json!({ "to": format!("96478{lane}{:07}", i % 1000), "text": text });
        match post(load.api, &body.to_string()).await {
            Some(202) => {
                load.ledger().mt_accepted.insert(text);
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A bare HTTP/1.1 POST; the status, or None if the gateway is down.
async fn post(api: SocketAddr, body: &str) -> Option<u16> {
    let io = async {
        let mut s = TcpStream::connect(api).await.ok()?;
        let req = format!(
            "POST /v1/messages HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\
             Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        let text = String::from_utf8_lossy(&out);
        text.split(' ').nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(10), io)
        .await
        .ok()
        .flatten()
}

/// USSD dialogues on the passport service: dial, answer the number. A
/// step that gets no screen (the gateway died under it) is tried again
/// for up to 20 s; the dialogue must then go on or end with a screen.
async fn ussd_load(load: Arc<Load>, lane: u64) {
    for i in 0u64.. {
        if load.stopped() {
            return;
        }
        let mut phone = load.smsc.ussd(&format!("96479{lane}{i:07}"));
        let mut across = false;
        let mut input: Option<&str> = None;
        let outcome = loop {
            let started = Instant::now();
            let screen = loop {
                let r = match input {
                    None => phone.dial("*123*3#").await,
                    Some(a) => phone.reply(a).await,
                };
                match r {
                    Ok(s) => break Some(s),
                    Err(_) if started.elapsed() < Duration::from_secs(20) => {
                        across = true;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(_) => break None,
                }
            };
            match screen {
                None => break "hung",
                Some(s) if s.end && s.text.is_empty() => break "hung",
                Some(s) if s.end && is_notice(&s.text) => break "ended",
                Some(s) if s.end => break "done",
                // A prompt (the number, or continue/start over after a
                // restart): answer with the number, or "1" to continue.
                Some(s) if s.text.contains("1.") => input = Some("1"),
                Some(_) => input = Some("1122334455"),
            }
        };
        let mut l = load.ledger();
        match outcome {
            "done" => l.ussd_done += 1,
            "ended" => l.ussd_ended += 1,
            _ => l.ussd_hung.push(phone.msisdn().to_string()),
        }
        l.ussd_across_kill += u64::from(across);
    }
}

/// One of the gateway's own end screens (busy, try again, by SMS).
fn is_notice(text: &str) -> bool {
    use bawaba::engine::Lang;
    bawaba::runtime::Notice::ALL.iter().any(|n| {
        [Lang::Ar, Lang::Ckb, Lang::En]
            .iter()
            .any(|l| n.text(*l) == text)
    })
}

/// Reads every MT the SMSC accepted that no phone claimed (until aborted).
async fn collect(load: Arc<Load>) {
    loop {
        let Ok(Ok(mt)) =
            tokio::time::timeout(Duration::from_millis(200), load.smsc.next_submit()).await
        else {
            continue;
        };
        if mt.message_id.is_some() {
            let mut l = load.ledger();
            *l.replies.entry(mt.dest.clone()).or_default() += 1;
            l.mt_texts.insert(mt.text.clone());
            *l.mt_seen.entry((mt.dest, mt.text)).or_default() += 1;
        }
    }
}

struct Rig {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    api: SocketAddr,
    smsc: SmscHandle,
    ministries: MinistriesHandle,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut sc = SmscConfig::local("bawaba", e2e_support::BIND_PASSWORD);
    sc.observe_timeout = Duration::from_secs(5);
    sc.submit_queue = 200_000;
    let smsc = Smsc::start(sc).await.expect("SMSC");
    let mut mc = MinistriesConfig::local();
    mc.request_log = 100_000;
    let ministries = Ministries::start(mc).await.expect("ministries");
    let api = free_addr();
    let store = dir.path().join("store");
    let addrs = (smsc.local_addr(), ministries.local_addr());
    let config = write_config(dir.path(), addrs, &store, "text", "info");
    edit_config(&config, |doc| {
        let fast: toml::Table = toml::from_str(
            "reconnect = { min = \"100ms\", max = \"1s\" }\ntps = 1000\nwindow = 10",
        )
        .unwrap();
        first_operator(doc).extend(fast);
        let notify: toml::Table = toml::from_str(&format!(
            "listen = \"{api}\"\n[[clients]]\nname = \"loop\"\ntoken = \"{TOKEN}\"\n\
             rate = {{ per_second = 600, burst = 600 }}\n"
        ))
        .unwrap();
        doc.insert("notify".into(), notify.into());
    });
    Rig {
        dir,
        config,
        api,
        smsc,
        ministries,
    }
}

impl Rig {
    /// Starts `bawaba serve` and waits until it has bound (`binds` in all)
    /// and its API answers.
    async fn serve(&self, run: usize, binds: u64) -> Serve {
        let log = self.dir.path().join(format!("run-{run}.log"));
        let serve = Serve::spawn(&self.config, &log);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.smsc.stats().binds_accepted < binds
            || TcpStream::connect(self.api).await.is_err()
        {
            assert!(
                Instant::now() < deadline,
                "run {run}: not up within 60 s\n{}",
                serve.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        serve
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_nothing_acknowledged() {
    let rig = rig().await;
    let load = Arc::new(Load {
        smsc: rig.smsc.clone(),
        api: rig.api,
        ledger: Mutex::new(Ledger::default()),
        stop: AtomicBool::new(false),
    });
    let mut gateway = rig.serve(0, 1).await;
    let mut tasks = vec![tokio::spawn(collect(load.clone()))];
    for lane in 1..=2 {
        tasks.push(tokio::spawn(sms_load(load.clone(), lane)));
        tasks.push(tokio::spawn(api_load(load.clone(), lane)));
        tasks.push(tokio::spawn(ussd_load(load.clone(), lane)));
    }
    let started = Instant::now();
    for kill in 1..=KILLS {
        let up = Duration::from_millis(rand::random_range(3000..6000));
        tokio::time::sleep(up).await;
        gateway.signal("KILL");
        let status = gateway.wait(Duration::from_secs(20)).await;
        assert_eq!(status.code(), None, "kill {kill}: {status:?}");
        let binds = rig.smsc.stats().binds_accepted + 1;
        gateway = rig.serve(kill, binds).await;
    }
    let killing = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    load.stop.store(true, Ordering::Relaxed);
    for t in tasks.drain(1..) {
        tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .expect("load task ends")
            .unwrap();
    }

    // Everything acknowledged arrives, bounded: the outbox retries an MT
    // whose outcome the kill hid after a few seconds. The load offers more
    // than the bind's 1,000 MT/s (notification MTs up to the client's rate
    // of 600/s, plus USSD screens and SMS replies), so a backlog of
    // thousands of MTs is still draining at TPS when the load stops: the
    // wait goes on while MTs still come in, up to 120 s in all, and 45 s
    // with nothing arriving is the bound. (With no client rate the backlog
    // grew with the gateway's speed: 115 s of drain once the store got
    // faster.)
    let hard = Instant::now() + Duration::from_secs(120);
    let mut deadline = Instant::now() + Duration::from_secs(45);
    let mut seen = (0, 0);
    let missing = loop {
        let (no_reply, lost) = load.ledger().missing();
        let now_seen = (load.ledger().mt_texts.len(), rig.smsc.stats().submits);
        if now_seen != seen {
            seen = now_seen;
            deadline = deadline
                .max(Instant::now() + Duration::from_secs(10))
                .min(hard);
        }
        if (no_reply.is_empty() && lost.is_empty()) || Instant::now() > deadline {
            break (no_reply, lost);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let waited = hard.saturating_duration_since(Instant::now());
    let stats = rig.smsc.stats();
    let l = std::mem::take(&mut *load.ledger());
    let calls = backend_calls(&rig.ministries);
    // Two replies *and* two back-end calls: the flow may have run twice.
    // (Two replies and one call is the outbox resending a reply after a
    // kill; two calls and one reply, a first run the kill cut short.) From
    // outside, a run cut short whose reply was also in flight at the kill
    // looks the same (a replay queues no second reply, but the first one is
    // sent again), so these can be at most the MT duplicates; a gateway that
    // answers replayed MOs again (as before the fix) makes many more.
    let twice: Vec<(&String, u32, u32)> = l
        .mo_acked
        .iter()
        .map(|(m, n)| {
            let replies = l.replies.get(m).copied().unwrap_or(0);
            (m, replies, calls.get(n).copied().unwrap_or(0))
        })
        .filter(|(_, replies, calls)| *replies > 1 && *calls > 1)
        .collect();
    let mts: u32 = l.mt_seen.values().sum();
    let dups: u32 = l.mt_seen.values().map(|n| n - 1).sum();
    println!(
        "crash loop: {KILLS} kill -9 in {:.0} s; MO acked {} (attempts not acked and sent again: {}), \
         MO without reply {}, MO answered twice with two back-end calls {}; MT answered 202 {}, not at the SMSC {}; \
         MTs at the SMSC {mts}, duplicates {dups} ({:.3} %, {:.2} per kill); USSD dialogues finished {}, ended with \
         another screen {}, across a kill {}, hung {}; SMSC: submits {}, observer overflow {}; drain left {:.0} s of 120",
        killing.as_secs_f64(),
        l.mo_acked.len(),
        l.mo_retried,
        missing.0.len(),
        twice.len(),
        l.mt_accepted.len(),
        missing.1.len(),
        100.0 * f64::from(dups) / f64::from(mts.max(1)),
        f64::from(dups) / KILLS as f64,
        l.ussd_done,
        l.ussd_ended,
        l.ussd_across_kill,
        l.ussd_hung.len(),
        stats.submits,
        stats.observer_overflow,
        waited.as_secs_f64(),
    );
    let logs = || gateway.logs();
    assert!(
        l.mo_acked.len() >= 50,
        "too little SMS load to mean anything"
    );
    assert!(l.mt_accepted.len() >= 200, "too little API load");
    assert!(
        missing.0.is_empty(),
        "acked MOs without a reply: {:?}\n{}",
        missing.0,
        logs()
    );
    assert!(
        missing.1.is_empty(),
        "202 MTs never sent: {:?}\n{}",
        &missing.1[..missing.1.len().min(10)],
        logs()
    );
    assert!(
        twice.len() <= dups as usize,
        "MOs answered twice beyond the MT duplicates: {twice:?}"
    );
    // An MT the SMSC accepted in the last milliseconds before a kill (its
    // acceptance not yet on disk) is sent again: about one per kill here,
    // never more than the window (10) per kill. Under 0.1 % takes about
    // 1000 MTs between crashes: a kill every 3 to 6 s at ~240 MT/s gave
    // 0.073 %, a kill every ~1.5 s 0.2 to 0.35 % (README, Reliability).
    // The rate is printed, not asserted: on a loaded machine fewer MTs
    // pass between kills while the per-kill count stays.
    assert!(
        dups as usize <= KILLS * 10,
        "{dups} duplicates of {mts} MTs"
    );
    assert!(
        l.ussd_hung.is_empty(),
        "USSD dialogues that hung: {:?}",
        l.ussd_hung
    );
    assert!(l.ussd_done > 0);
    gateway.signal("TERM");
    assert!(gateway.wait(Duration::from_secs(20)).await.success());
    tasks[0].abort();
}

/// Back-end calls per passport application number.
fn backend_calls(m: &MinistriesHandle) -> BTreeMap<String, u32> {
    let mut calls = BTreeMap::new();
    for r in m.requests() {
        if let Some(rest) = r.path.strip_prefix("/passport/v1/applications/") {
            let number = rest.split('/').next().unwrap_or_default().to_string();
            *calls.entry(number).or_default() += 1;
        }
    }
    calls
}
