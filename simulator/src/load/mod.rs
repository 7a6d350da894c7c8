//! The load generator: many virtual subscribers on one simulated SMSC, each playing a dialogue
//! script ([`scenario`]) against the gateway bound to it, arriving open loop (a target rate,
//! whatever the completions) or closed loop (a fixed number of subscribers back to back).
//!
//! A step's latency is the time around [`UssdPhone::dial`]/[`UssdPhone::reply`] (or an SMS
//! send plus the wait for the next SMS): from handing our deliver_sm to the bind's session to
//! the matching submit_sm routed back to the phone, the gateway's deliver_sm_resp included.
//! Think time is not in it. Everything is bounded: dialogues in flight (`max_in_flight`;
//! open-loop arrivals over it are shed and counted), the run (`duration`, `max_dialogues`,
//! then at most `drain` for the dialogues in flight), and the histograms (fixed size).

pub mod echo;
pub mod report;
pub mod scenario;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusmpp::CommandStatus;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::smsc::{lock, SimError, Target};
use crate::{SmscHandle, UssdPhone};
use report::{DialogueEnd, Report, StepOutcome, Tally};
use scenario::{Mix, Scenario, Send, Step};

/// How dialogues arrive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrivals {
    /// New dialogues per second, on schedule whatever the gateway does (missed ticks burst).
    Open { per_sec: f64 },
    /// This many subscribers, each starting its next dialogue when the last one ends.
    Closed { concurrency: usize },
}

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub arrivals: Arrivals,
    /// No new dialogue starts after this.
    pub duration: Duration,
    /// No new dialogue starts after this many.
    pub max_dialogues: Option<u64>,
    /// Dialogues running at once, at most.
    pub max_in_flight: usize,
    /// Think time before each answer, uniform in this range.
    pub think: (Duration, Duration),
    pub mix: Mix,
    /// Share of USSD dialogues that hang up (abort op) after the first screen.
    pub abort_share: f64,
    /// Share of USSD dialogues that go silent after the first screen.
    pub timeout_share: f64,
    /// After the run, how long dialogues in flight may take to finish before they are cut.
    pub drain: Duration,
    /// Subscriber numbers are this prefix and 8 digits of the dialogue's number.
    pub msisdn_prefix: String,
    pub seed: u64,
    /// A progress line on stderr every second.
    pub progress: bool,
}

impl LoadConfig {
    /// One dialogue per second of `mix` for a second, no think time: a base for tests.
    pub fn new(mix: Mix) -> Self {
        Self {
            arrivals: Arrivals::Open { per_sec: 1.0 },
            duration: Duration::from_secs(1),
            max_dialogues: None,
            max_in_flight: 1000,
            think: (Duration::ZERO, Duration::ZERO),
            mix,
            abort_share: 0.0,
            timeout_share: 0.0,
            drain: Duration::from_secs(15),
            msisdn_prefix: "96477".into(),
            seed: 1,
            progress: false,
        }
    }
}

/// How long a closed-loop subscriber waits after the gateway refused its message (a non-zero
/// deliver_sm_resp such as ESME_RX_T_APPN) before its next dialogue.
const RETRY_LATER: Duration = Duration::from_millis(100);

/// At most this many wrong screens are kept as samples for the report.
const SAMPLES: usize = 10;

/// Counters the dialogues update as they go; the progress line reads the atomics.
#[derive(Default)]
struct Live {
    report: Mutex<Report>,
    started: AtomicU64,
    done: AtomicU64,
    ok_steps: AtomicU64,
    bad_steps: AtomicU64,
    shed: AtomicU64,
}

impl Live {
    fn step(&self, scenario: &str, index: usize, outcome: StepOutcome, latency: Option<Duration>) {
        let counter = match outcome {
            StepOutcome::Ok => &self.ok_steps,
            _ => &self.bad_steps,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut r = lock(&self.report);
        r.all.step(outcome, latency);
        tally(&mut r, scenario).step_at(index, outcome, latency);
    }
    fn dialogue(&self, scenario: &str, end: DialogueEnd) {
        self.done.fetch_add(1, Ordering::Relaxed);
        let mut r = lock(&self.report);
        r.all.dialogue(end);
        tally(&mut r, scenario).dialogue(end);
    }
    fn sample(&self, line: String) {
        let mut r = lock(&self.report);
        if r.samples.len() < SAMPLES {
            r.samples.push(line);
        }
    }
}

fn tally<'a>(r: &'a mut Report, scenario: &str) -> &'a mut Tally {
    if !r.by_scenario.contains_key(scenario) {
        r.by_scenario.insert(scenario.to_owned(), Tally::default());
    }
    r.by_scenario.get_mut(scenario).expect("inserted above")
}

/// Plays `config` against the gateway bound to `smsc` and returns what it measured.
pub async fn run(smsc: &SmscHandle, config: &LoadConfig) -> Report {
    let live = Arc::new(Live::default());
    let config = Arc::new(config.clone());
    let start = Instant::now();
    let progress = config
        .progress
        .then(|| tokio::spawn(progress(live.clone(), start)));
    let mut tasks = JoinSet::new();
    match config.arrivals {
        Arrivals::Open { per_sec } => open_loop(smsc, &config, &live, per_sec, &mut tasks).await,
        Arrivals::Closed { concurrency } => {
            for _ in 0..concurrency.min(config.max_in_flight) {
                let (smsc, config, live) = (smsc.clone(), config.clone(), live.clone());
                tasks.spawn(async move {
                    while let Some(n) = next_dialogue(&config, &live, start) {
                        if dialogue(&smsc, &config, &live, n).await {
                            // As an SMSC does after "retry later": not at once, or a closed
                            // loop turns into a flood of refusals that measures nothing.
                            tokio::time::sleep(RETRY_LATER).await;
                        }
                    }
                });
            }
            // The subscribers start dialogues until `duration`; the drain begins after it.
            let _ = tokio::time::timeout_at(start + config.duration, async {
                while tasks.join_next().await.is_some() {}
            })
            .await;
        }
    }
    let drained = tokio::time::timeout(config.drain, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    let cut = if drained.is_err() { tasks.len() } else { 0 };
    tasks.abort_all();
    if let Some(p) = progress {
        p.abort();
    }
    let mut report = std::mem::take(&mut *lock(&live.report));
    report.elapsed = start.elapsed();
    report.started = live.started.load(Ordering::Relaxed);
    report.shed = live.shed.load(Ordering::Relaxed);
    report.cut = cut as u64;
    report.settings = settings(&config);
    report
}

/// The next dialogue's number, or `None` when the run is over (time or count).
fn next_dialogue(config: &LoadConfig, live: &Live, start: Instant) -> Option<u64> {
    if start.elapsed() >= config.duration {
        return None;
    }
    let n = live.started.fetch_add(1, Ordering::Relaxed);
    if config.max_dialogues.is_some_and(|max| n >= max) {
        live.started.fetch_sub(1, Ordering::Relaxed);
        return None;
    }
    Some(n)
}

async fn open_loop(
    smsc: &SmscHandle,
    config: &Arc<LoadConfig>,
    live: &Arc<Live>,
    per_sec: f64,
    tasks: &mut JoinSet<()>,
) {
    let start = Instant::now();
    let slots = Arc::new(Semaphore::new(config.max_in_flight));
    let period = Duration::from_secs_f64(1.0 / per_sec.max(1e-3));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let end = tokio::time::sleep(config.duration);
    tokio::pin!(end);
    loop {
        tokio::select! {
            _ = &mut end => return,
            _ = tick.tick() => {}
        }
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            live.shed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let Some(n) = next_dialogue(config, live, start) else {
            return;
        };
        let (smsc, config, live) = (smsc.clone(), config.clone(), live.clone());
        tasks.spawn(async move {
            dialogue(&smsc, &config, &live, n).await;
            drop(permit);
        });
    }
}

/// How the subscriber means to end this dialogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Complete,
    Abort,
    GoSilent,
}

/// Dialogue `n`'s random source and scenario: a function of the seed and `n` alone.
fn draw(config: &LoadConfig, n: u64) -> (StdRng, &Scenario) {
    let mut rng = StdRng::seed_from_u64(config.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let scenario = config.mix.pick(rng.random_range(0..config.mix.total()));
    (rng, scenario)
}

/// Plays dialogue `n`; true if the gateway refused a message of it (asked to retry later).
async fn dialogue(smsc: &SmscHandle, config: &LoadConfig, live: &Live, n: u64) -> bool {
    let (mut rng, scenario) = draw(config, n);
    let msisdn = format!("{}{:08}", config.msisdn_prefix, n % 100_000_000);
    let roll: f64 = rng.random();
    let plan = if scenario.is_sms() {
        Plan::Complete
    } else if roll < config.abort_share {
        Plan::Abort
    } else if roll < config.abort_share + config.timeout_share {
        Plan::GoSilent
    } else {
        Plan::Complete
    };
    let target = spread(smsc, n);
    let mut player = Player {
        config,
        live,
        scenario,
        rng,
        refused: false,
    };
    let end = if scenario.is_sms() {
        player.sms(smsc.sms(&msisdn).on(target)).await
    } else {
        player.ussd(smsc.ussd(&msisdn).on(target), plan).await
    };
    live.dialogue(&scenario.name, end);
    player.refused
}

/// Dialogue `n`'s bind: the receiving binds in turn, as an SMSC spreads subscribers.
fn spread(smsc: &SmscHandle, n: u64) -> Target {
    let binds: Vec<_> = smsc
        .binds()
        .into_iter()
        .filter(|b| b.kind.can_receive())
        .collect();
    match binds.len() {
        0 => Target::All,
        len => Target::Bind(binds[(n % len as u64) as usize].id),
    }
}

/// One subscriber playing one scenario.
struct Player<'a> {
    config: &'a LoadConfig,
    live: &'a Live,
    scenario: &'a Scenario,
    rng: StdRng,
    /// A step got a non-zero deliver_sm_resp.
    refused: bool,
}

impl Player<'_> {
    async fn think(&mut self) {
        let (lo, hi) = self.config.think;
        let d = if hi > lo {
            self.rng.random_range(lo..=hi)
        } else {
            lo
        };
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    /// Records a step; true if the dialogue may go on.
    fn record(
        &mut self,
        i: usize,
        step: &Step,
        answer: Result<(String, bool), SimError>,
        t: Duration,
    ) -> bool {
        let (outcome, latency) = match answer {
            Ok((text, end)) if end == step.end && text.contains(&step.expect) => {
                (StepOutcome::Ok, Some(t))
            }
            Ok((text, end)) => {
                self.live.sample(format!(
                    "{} step {}: want {:?} (end {}), got {:?} (end {end})",
                    self.scenario.name,
                    i + 1,
                    step.expect,
                    step.end,
                    text
                ));
                (StepOutcome::WrongScreen, Some(t))
            }
            Err(SimError::Timeout(..)) => (StepOutcome::Timeout, None),
            Err(SimError::DeliverRejected(_)) => (StepOutcome::Rejected, None),
            Err(e) => {
                self.live
                    .sample(format!("{} step {}: {e}", self.scenario.name, i + 1));
                (StepOutcome::Failed, None)
            }
        };
        self.live.step(&self.scenario.name, i, outcome, latency);
        self.refused |= outcome == StepOutcome::Rejected;
        outcome == StepOutcome::Ok
    }

    async fn ussd(&mut self, mut phone: UssdPhone, plan: Plan) -> DialogueEnd {
        for (i, step) in self.scenario.steps.iter().enumerate() {
            if i > 0 {
                self.think().await;
                match plan {
                    Plan::Abort => {
                        return match phone.abort().await {
                            Ok(CommandStatus::EsmeRok) => DialogueEnd::Aborted,
                            _ => DialogueEnd::Failed,
                        };
                    }
                    Plan::GoSilent => return DialogueEnd::Abandoned,
                    Plan::Complete => {}
                }
            }
            let t0 = Instant::now();
            let answer = match &step.send {
                Send::Dial(code) => phone.dial(code).await,
                Send::Reply(text) => phone.reply(text).await,
                Send::Sms { .. } => Err(SimError::Text("an SMS step in a USSD script".into())),
            };
            let answer = answer.map(|s| (s.text, s.end));
            if !self.record(i, step, answer, t0.elapsed()) {
                return DialogueEnd::Failed;
            }
        }
        DialogueEnd::Completed
    }

    async fn sms(&mut self, mut phone: crate::SmsPhone) -> DialogueEnd {
        for (i, step) in self.scenario.steps.iter().enumerate() {
            if i > 0 {
                self.think().await;
            }
            let Send::Sms { to, text } = &step.send else {
                return DialogueEnd::Failed;
            };
            let t0 = Instant::now();
            // Until the reply's (last) submit_sm reached the SMSC, which
            // may be before the MO's deliver_sm_resp (a gateway may work
            // on an MO while it makes it durable); an `intake` step, until
            // the deliver_sm_resp.
            let mut replied = None;
            let answer = async {
                let statuses = phone.send(to, text).await?;
                if let Some(s) = statuses.into_iter().find(|s| *s != CommandStatus::EsmeRok) {
                    return Err(SimError::DeliverRejected(s));
                }
                if step.expect == scenario::ACK_ONLY {
                    return Ok((String::new(), step.end));
                }
                let m = phone.next_message().await?;
                replied = m.parts.iter().map(|p| p.received).max();
                Ok((m.text, step.end))
            }
            .await;
            let took = replied.map_or_else(
                || t0.elapsed(),
                |at| at.saturating_duration_since(t0.into_std()),
            );
            if !self.record(i, step, answer, took) {
                return DialogueEnd::Failed;
            }
        }
        DialogueEnd::Completed
    }
}

fn settings(c: &LoadConfig) -> std::collections::BTreeMap<&'static str, String> {
    let mut s = std::collections::BTreeMap::new();
    match c.arrivals {
        Arrivals::Open { per_sec } => s.insert("rate", format!("{per_sec}/s")),
        Arrivals::Closed { concurrency } => s.insert("concurrency", concurrency.to_string()),
    };
    s.insert("duration", format!("{:?}", c.duration));
    if let Some(m) = c.max_dialogues {
        s.insert("max_dialogues", m.to_string());
    }
    s.insert("max_in_flight", c.max_in_flight.to_string());
    s.insert("think", format!("{:?}..{:?}", c.think.0, c.think.1));
    s.insert("mix", c.mix.to_string());
    s.insert("abort_share", c.abort_share.to_string());
    s.insert("timeout_share", c.timeout_share.to_string());
    s
}

async fn progress(live: Arc<Live>, start: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await;
    let mut last_ok = 0;
    loop {
        tick.tick().await;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (started, done, ok) = (get(&live.started), get(&live.done), get(&live.ok_steps));
        eprintln!(
            "[{:>4.0}s] in flight {:>5}  done {:>7}  step errors {:>5}  shed {:>5}  ok steps/s {:>6}",
            start.elapsed().as_secs_f64(),
            started.saturating_sub(done),
            done,
            get(&live.bad_steps),
            get(&live.shed),
            ok - last_ok
        );
        last_ok = ok;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_drawn_by_weight() {
        let c = LoadConfig::new(
            "pds=1,electricity=1,passport=1,pension=1,sms=1"
                .parse()
                .unwrap(),
        );
        let mut counts = std::collections::BTreeMap::new();
        for n in 0..10_000 {
            *counts.entry(draw(&c, n).1.name.clone()).or_insert(0) += 1;
        }
        let first: Vec<_> = (0..30).map(|n| draw(&c, n).1.name.clone()).collect();
        assert!(
            counts.values().all(|&k| (1800..=2200).contains(&k)),
            "{counts:?} {first:?}"
        );
    }
}
