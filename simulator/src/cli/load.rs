//! `bawaba-sim load` (flags -> a checked plan, every error at once; then an SMSC, optionally the
//! mock ministries, a bounded run and its summary) and `bawaba-sim echo-esme` (the trivial
//! ESME that measures the load generator's own ceiling).

use std::net::SocketAddr;
use std::time::Duration;

use bawaba_sim::load::scenario::Mix;
use bawaba_sim::load::{self, Arrivals, LoadConfig};
use bawaba_sim::ministries::{Knobs, Ministries, MinistriesConfig, Scope};
use bawaba_sim::{Smsc, SmscConfig};
use clap::Args;

use crate::{keep, listen_addr, parse_accounts, parse_duration};

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Where the SMSC listens for the gateway's binds.
    #[arg(long, default_value = "127.0.0.1:2775")]
    listen: String,
    /// SYSTEM_ID:PASSWORD the gateway binds with, repeatable.
    #[arg(long = "account", required = true)]
    accounts: Vec<String>,
    /// Wait for this many binds before the first dialogue (up to --bind-wait).
    #[arg(long, default_value_t = 1)]
    binds: usize,
    #[arg(long, default_value = "60s")]
    bind_wait: String,
    /// Also serve the mock ministries here (e.g. 127.0.0.1:8090).
    #[arg(long)]
    ministries: Option<String>,
    /// The mock ministries' delay before every answer.
    #[arg(long, default_value = "0ms")]
    backend_latency: String,
    /// Plus a uniform random delay up to this.
    #[arg(long, default_value = "0ms")]
    backend_jitter: String,
    /// New dialogues per second, open loop (the default, 10/s).
    #[arg(long, conflicts_with = "concurrency")]
    rate: Option<f64>,
    /// Subscribers playing dialogues back to back (closed loop) instead of --rate.
    #[arg(long)]
    concurrency: Option<usize>,
    /// No new dialogue after this (then up to --drain for those in flight).
    #[arg(long, default_value = "10s")]
    duration: String,
    /// No new dialogue after this many.
    #[arg(long)]
    max_dialogues: Option<u64>,
    /// Dialogues in flight at most; open-loop arrivals beyond it are shed.
    #[arg(long, default_value_t = 2000)]
    max_in_flight: usize,
    /// Think time before each answer: 500ms, or a uniform range 200ms..2s.
    #[arg(long, default_value = "0ms")]
    think: String,
    /// Scenarios and weights: pds, electricity, passport, pension, sms, echo.
    #[arg(
        long,
        default_value = "pds=40,electricity=20,passport=20,pension=10,sms=10"
    )]
    mix: String,
    /// Share of USSD dialogues that hang up after the first screen (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    abort_share: f64,
    /// Share of USSD dialogues that go silent after the first screen.
    #[arg(long, default_value_t = 0.0)]
    timeout_share: f64,
    /// A step without an answer after this is a timeout.
    #[arg(long, default_value = "10s")]
    step_timeout: String,
    #[arg(long, default_value = "15s")]
    drain: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Subscriber n is this prefix followed by n in 8 digits. Give each run against one
    /// gateway its own prefix: the gateway drops an SMS the same number sent with the same
    /// text within its dedupe window (`[sms] dedupe_window`) as an SMSC resend.
    #[arg(long, default_value = "96477")]
    msisdn_prefix: String,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<String>,
    /// No progress line on stderr.
    #[arg(long)]
    quiet: bool,
    /// Also measure this process's CPU time (utime + stime, /proc) over the run, repeatable:
    /// the peer under test (the gateway, or Kannel's bearerbox and smsbox).
    #[arg(long = "cpu-pid")]
    cpu_pids: Vec<u32>,
}

pub struct LoadPlan {
    smsc: SmscConfig,
    binds: usize,
    bind_wait: Duration,
    ministries: Option<(SocketAddr, Knobs)>,
    load: LoadConfig,
    json: Option<String>,
    cpu_pids: Vec<u32>,
}

/// "500ms" or "200ms..2s".
fn parse_think(s: &str) -> Result<(Duration, Duration), String> {
    let (lo, hi) = match s.split_once("..") {
        Some((lo, hi)) => (parse_duration(lo)?, parse_duration(hi)?),
        None => (parse_duration(s)?, parse_duration(s)?),
    };
    if lo > hi {
        return Err(format!("--think {s:?}: the range runs backwards"));
    }
    Ok((lo, hi))
}

fn share(name: &str, v: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("--{name} {v}: want 0.0 to 1.0"))
    }
}

pub fn build_load(a: &LoadArgs) -> Result<LoadPlan, Vec<String>> {
    let mut e = Vec::new();
    let listen = keep(&mut e, listen_addr(&a.listen));
    let accounts = parse_accounts(&mut e, &a.accounts);
    let bind_wait = keep(&mut e, parse_duration(&a.bind_wait));
    let ministries = a.ministries.as_deref().map(|m| {
        keep(
            &mut e,
            m.parse::<SocketAddr>()
                .map_err(|err| format!("--ministries {m:?}: {err}")),
        )
    });
    let latency = keep(&mut e, parse_duration(&a.backend_latency));
    let jitter = keep(&mut e, parse_duration(&a.backend_jitter));
    let arrivals = match (a.rate, a.concurrency) {
        (_, Some(0)) => keep(&mut e, Err("--concurrency must be at least 1".to_owned())),
        (_, Some(c)) => Some(Arrivals::Closed { concurrency: c }),
        (Some(r), None) if !(r > 0.0 && r <= 1e6) => keep(
            &mut e,
            Err(format!("--rate {r}: want more than 0, at most 1e6")),
        ),
        (r, None) => Some(Arrivals::Open {
            per_sec: r.unwrap_or(10.0),
        }),
    };
    let duration = keep(&mut e, parse_duration(&a.duration));
    let think = keep(&mut e, parse_think(&a.think));
    let mix = keep(&mut e, a.mix.parse::<Mix>());
    let abort = keep(&mut e, share("abort-share", a.abort_share));
    let timeout = keep(&mut e, share("timeout-share", a.timeout_share));
    if a.abort_share + a.timeout_share > 1.0 {
        e.push("--abort-share plus --timeout-share is over 1.0".into());
    }
    let step_timeout = keep(&mut e, parse_duration(&a.step_timeout));
    let drain = keep(&mut e, parse_duration(&a.drain));
    if a.max_in_flight == 0 {
        e.push("--max-in-flight must be at least 1".into());
    }
    let p = &a.msisdn_prefix;
    if p.is_empty() || p.len() > 7 || !p.bytes().all(|b| b.is_ascii_digit()) {
        e.push(format!("--msisdn-prefix {p:?}: want 1 to 7 digits"));
    }
    let (Some(listen), Some(bind_wait), Some(arrivals), Some(duration), Some(think), Some(mix)) =
        (listen, bind_wait, arrivals, duration, think, mix)
    else {
        return Err(e);
    };
    if !e.is_empty() {
        return Err(e);
    }
    let mut smsc = SmscConfig::new(listen, "", "");
    smsc.accounts = accounts;
    smsc.observe_timeout = step_timeout.unwrap_or(smsc.observe_timeout);
    // Electricity receipts and other MTs no phone claims: count them, keep few.
    smsc.submit_queue = 64;
    let knobs = Knobs {
        latency: latency.unwrap_or_default(),
        jitter: jitter.unwrap_or_default(),
        ..Knobs::default()
    };
    let mut load = LoadConfig::new(mix);
    load.arrivals = arrivals;
    load.duration = duration;
    load.max_dialogues = a.max_dialogues;
    load.max_in_flight = a.max_in_flight;
    load.think = think;
    load.abort_share = abort.unwrap_or_default();
    load.timeout_share = timeout.unwrap_or_default();
    load.drain = drain.unwrap_or(load.drain);
    load.seed = a.seed;
    load.msisdn_prefix = a.msisdn_prefix.clone();
    load.progress = !a.quiet;
    Ok(LoadPlan {
        smsc,
        binds: a.binds,
        bind_wait,
        ministries: ministries.flatten().map(|m| (m, knobs)),
        load,
        json: a.json.clone(),
        cpu_pids: a.cpu_pids.clone(),
    })
}

pub async fn run_load(plan: LoadPlan) -> anyhow::Result<()> {
    let _ministries = match plan.ministries {
        Some((listen, knobs)) => {
            let m = Ministries::start(MinistriesConfig {
                listen,
                ..MinistriesConfig::local()
            })
            .await?;
            m.set_knobs(Scope::All, knobs);
            eprintln!(
                "bawaba-sim ministries listening on http://{}",
                m.local_addr()
            );
            Some(m)
        }
        None => None,
    };
    let smsc = Smsc::start(plan.smsc).await?;
    eprintln!(
        "bawaba-sim load SMSC listening on {}; waiting for {} bind(s)",
        smsc.local_addr(),
        plan.binds
    );
    let want = plan.binds;
    let bound = tokio::time::timeout(plan.bind_wait, async {
        loop {
            if smsc.wait_bound(want).await.is_ok() {
                return;
            }
        }
    });
    tokio::select! {
        r = bound => r.map_err(|_| anyhow::anyhow!("fewer than {want} binds after {:?}", plan.bind_wait))?,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted while waiting for binds"),
    }
    let peers_before = cpu_seconds(&plan.cpu_pids);
    let own_before = own_cpu();
    let mut report = tokio::select! {
        r = load::run(&smsc, &plan.load) => r,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
    };
    if let (Some(before), Some(after)) = (peers_before, cpu_seconds(&plan.cpu_pids)) {
        report.peer_cpu_s = Some(after - before);
    }
    if let (Some(before), Some(after)) = (own_before, own_cpu()) {
        report.own_cpu_s = Some(after - before);
    }
    print!("{}", report.summary());
    let stats = smsc.stats();
    println!(
        "smsc: {} deliver_sm sent, {} answered, {} submits, {} MTs no phone claimed (beyond 64 kept), {} protocol errors",
        stats.deliver_sms_sent,
        stats.deliver_sm_resps_received,
        stats.submits,
        stats.observer_overflow,
        stats.protocol_errors
    );
    if let Some(path) = plan.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report.json())?)?;
    }
    smsc.shutdown().await;
    Ok(())
}

/// This process's CPU time (user + system) in seconds, from /proc (Linux; None elsewhere).
fn own_cpu() -> Option<f64> {
    proc_cpu("/proc/self/stat")
}

/// The summed CPU time of `pids`; None if there are none or one cannot be read (it exited).
fn cpu_seconds(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|p| proc_cpu(&format!("/proc/{p}/stat")))
        .sum()
}

fn proc_cpu(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux we run on.
    Some(ticks / 100.0)
}

#[derive(Args, Debug)]
pub struct EchoArgs {
    /// The SMSC to bind to (a `bawaba-sim load` with --mix echo=1).
    #[arg(long, default_value = "127.0.0.1:2775")]
    smsc: String,
    /// SYSTEM_ID:PASSWORD.
    #[arg(long, default_value = "bawaba:demo")]
    account: String,
    /// Transceiver binds to open.
    #[arg(long, default_value_t = 1)]
    binds: usize,
    /// Hold each answer this long.
    #[arg(long, default_value = "0ms")]
    delay: String,
}

pub async fn run_echo(a: EchoArgs) -> anyhow::Result<()> {
    let smsc: SocketAddr = a.smsc.parse()?;
    let delay = parse_duration(&a.delay).map_err(anyhow::Error::msg)?;
    let (id, pw) = a
        .account
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("--account: want SYSTEM_ID:PASSWORD"))?;
    for _ in 0..a.binds {
        load::echo::start(smsc, id, pw, delay).await?;
    }
    eprintln!("echo ESME: {} bind(s) to {smsc}", a.binds);
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct T {
        #[command(flatten)]
        a: LoadArgs,
    }
    fn parse(extra: &[&str]) -> Result<LoadPlan, Vec<String>> {
        let mut v = vec!["load", "--account", "gw:pw"];
        v.extend_from_slice(extra);
        build_load(&<T as clap::Parser>::parse_from(v).a)
    }

    #[test]
    fn load_flags() {
        let p = parse(&[
            "--rate",
            "250",
            "--think",
            "200ms..2s",
            "--mix",
            "pds=1",
            "--abort-share",
            "0.1",
        ])
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.load.arrivals, Arrivals::Open { per_sec: 250.0 });
        assert_eq!(
            p.load.think,
            (Duration::from_millis(200), Duration::from_secs(2))
        );
        assert_eq!(p.load.abort_share, 0.1);
        let p = parse(&["--concurrency", "8"]).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.load.arrivals, Arrivals::Closed { concurrency: 8 });
    }

    #[test]
    fn every_bad_load_flag_is_reported() {
        let errors = parse(&[
            "--rate",
            "0",
            "--think",
            "2s..1s",
            "--mix",
            "tax=1",
            "--abort-share",
            "2",
            "--duration",
            "1h",
        ])
        .err()
        .expect("bad flags");
        assert_eq!(errors.len(), 6, "{errors:?}");
    }
}
