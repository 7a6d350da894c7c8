//! What a load run counted: step latencies in HDR histograms (microseconds, 1 µs to 10 min,
//! 3 significant digits: a fixed few tens of KiB whatever the run length), step and dialogue
//! outcomes, and the summary (text for humans, JSON for scripts). No I/O beyond formatting.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

const MAX_MICROS: u64 = 600_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("static histogram bounds are valid")
}

/// How one step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// The screen held the expected fragment and ended (or not) as the flow does.
    Ok,
    /// An answer came, but not the screen the flow shows here (an error screen, a wrong end).
    WrongScreen,
    /// No answer within the step timeout.
    Timeout,
    /// The gateway refused the deliver_sm (a non-zero deliver_sm_resp).
    Rejected,
    /// Anything else: no bind, the bind closed, text that does not fit.
    Failed,
}

/// How a dialogue ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogueEnd {
    /// Every step answered with the expected screen.
    Completed,
    /// The subscriber hung up after the first screen, as planned.
    Aborted,
    /// The subscriber went silent after the first screen, as planned (the gateway times out).
    Abandoned,
    /// A step did not pass; the dialogue stopped there.
    Failed,
}

/// Steps of a script that get a histogram of their own.
const MAX_STEPS: usize = 16;

/// Counts for one scenario (or all of them).
#[derive(Debug, Clone)]
pub struct Tally {
    pub latency: Histogram<u64>,
    /// The latency of each step of the script (first step first), in a scenario's tally.
    pub by_step: Vec<Histogram<u64>>,
    pub steps: BTreeMap<&'static str, u64>,
    pub dialogues: BTreeMap<&'static str, u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            latency: histogram(),
            by_step: Vec::new(),
            steps: BTreeMap::new(),
            dialogues: BTreeMap::new(),
        }
    }
}

impl StepOutcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::WrongScreen => "wrong_screen",
            Self::Timeout => "timeout",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }
}

impl DialogueEnd {
    pub fn name(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Aborted => "aborted",
            Self::Abandoned => "abandoned",
            Self::Failed => "failed",
        }
    }
}

impl Tally {
    /// Records a step; only answered steps (ok or wrong screen) carry a latency.
    pub fn step(&mut self, outcome: StepOutcome, latency: Option<Duration>) {
        *self.steps.entry(outcome.name()).or_default() += 1;
        if let Some(d) = latency {
            let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
            self.latency.saturating_record(us.clamp(1, MAX_MICROS));
        }
    }
    /// Records step `index` (0-based) of a script: in the totals and in that step's histogram.
    pub fn step_at(&mut self, index: usize, outcome: StepOutcome, latency: Option<Duration>) {
        self.step(outcome, latency);
        let Some(d) = latency.filter(|_| index < MAX_STEPS) else {
            return;
        };
        while self.by_step.len() <= index {
            self.by_step.push(histogram());
        }
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.by_step[index].saturating_record(us.clamp(1, MAX_MICROS));
    }
    pub fn dialogue(&mut self, end: DialogueEnd) {
        *self.dialogues.entry(end.name()).or_default() += 1;
    }
    pub fn steps(&self, outcome: StepOutcome) -> u64 {
        self.steps.get(outcome.name()).copied().unwrap_or(0)
    }
    pub fn dialogues(&self, end: DialogueEnd) -> u64 {
        self.dialogues.get(end.name()).copied().unwrap_or(0)
    }
    /// Steps that did not pass.
    pub fn step_errors(&self) -> u64 {
        self.steps.values().sum::<u64>() - self.steps(StepOutcome::Ok)
    }
    /// A latency quantile (0.5, 0.99...) of answered steps.
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(q))
    }
    fn latency_json(&self) -> Value {
        histogram_json(&self.latency)
    }
    fn json(&self) -> Value {
        let by_step: Vec<_> = self.by_step.iter().map(histogram_json).collect();
        json!({
            "steps": self.steps,
            "dialogues": self.dialogues,
            "latency": self.latency_json(),
            "latency_by_step": by_step,
        })
    }
}

fn histogram_json(h: &Histogram<u64>) -> Value {
    let ms = |us: u64| us as f64 / 1000.0;
    json!({
        "count": h.len(),
        "min_ms": ms(h.min()),
        "mean_ms": h.mean() / 1000.0,
        "p50_ms": ms(h.value_at_quantile(0.5)),
        "p90_ms": ms(h.value_at_quantile(0.9)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p999_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
    })
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub elapsed: Duration,
    pub all: Tally,
    pub by_scenario: BTreeMap<String, Tally>,
    /// Dialogues started.
    pub started: u64,
    /// Open-loop arrivals dropped because `max_in_flight` dialogues were already running.
    pub shed: u64,
    /// Dialogues still running when the drain deadline passed (cancelled, not counted above).
    pub cut: u64,
    /// Settings, for the record (rate, mix...).
    pub settings: BTreeMap<&'static str, String>,
    /// The first few wrong screens and failures, to see what went wrong.
    pub samples: Vec<String>,
    /// CPU seconds (user + system) the peer under test used during the run, when measured.
    pub peer_cpu_s: Option<f64>,
    /// CPU seconds the load generator itself used during the run, when measured.
    pub own_cpu_s: Option<f64>,
}

impl Report {
    pub fn steps_per_sec(&self) -> f64 {
        let ok = self.all.steps(StepOutcome::Ok) as f64;
        ok / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU time per ok step in microseconds (`cpu_s` over this run's ok steps).
    pub fn cpu_per_ok_step_us(&self, cpu_s: Option<f64>) -> Option<f64> {
        let ok = self.all.steps(StepOutcome::Ok);
        cpu_s.filter(|_| ok > 0).map(|c| c * 1e6 / ok as f64)
    }

    pub fn json(&self) -> Value {
        let scenarios: BTreeMap<_, _> = self
            .by_scenario
            .iter()
            .map(|(k, t)| (k.clone(), t.json()))
            .collect();
        json!({
            "settings": self.settings,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "started": self.started,
            "shed": self.shed,
            "cut": self.cut,
            "ok_steps_per_s": self.steps_per_sec(),
            "all": self.all.json(),
            "scenarios": scenarios,
            "samples": self.samples,
            "peer_cpu_s": self.peer_cpu_s,
            "peer_cpu_us_per_ok_step": self.cpu_per_ok_step_us(self.peer_cpu_s),
            "own_cpu_s": self.own_cpu_s,
            "own_cpu_us_per_ok_step": self.cpu_per_ok_step_us(self.own_cpu_s),
        })
    }

    /// The human summary, several lines.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let settings: Vec<_> = self
            .settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(s, "load: {}", settings.join(" "));
        let _ = writeln!(
            s,
            "{:.1}s: {} dialogues started, {} shed, {} cut at the end; {:.1} ok steps/s",
            self.elapsed.as_secs_f64(),
            self.started,
            self.shed,
            self.cut,
            self.steps_per_sec()
        );
        let _ = writeln!(
            s,
            "{:<12} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9} {:>9}",
            "scenario",
            "dialogs",
            "failed",
            "steps",
            "errors",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms"
        );
        let mut line = |name: &str, t: &Tally| {
            let ms = |q: f64| t.quantile(q).as_secs_f64() * 1000.0;
            let _ = writeln!(
                s,
                "{:<12} {:>8} {:>8} {:>7} {:>7} {:>8.2} {:>8.2} {:>9.2} {:>9.2} {:>9.2}",
                name,
                t.dialogues.values().sum::<u64>(),
                t.dialogues(DialogueEnd::Failed),
                t.steps.values().sum::<u64>(),
                t.step_errors(),
                ms(0.5),
                ms(0.9),
                ms(0.99),
                ms(0.999),
                Duration::from_micros(t.latency.max()).as_secs_f64() * 1000.0,
            );
        };
        for (name, t) in &self.by_scenario {
            line(name, t);
        }
        line("all", &self.all);
        for (name, t) in &self.by_scenario {
            let ms = |h: &Histogram<u64>, q| h.value_at_quantile(q) as f64 / 1000.0;
            let steps: Vec<_> = t
                .by_step
                .iter()
                .map(|h| format!("{:.2}/{:.2}", ms(h, 0.5), ms(h, 0.99)))
                .collect();
            let _ = writeln!(s, "  {name} by step, p50/p99 ms: {}", steps.join("  "));
        }
        let counts = |m: &BTreeMap<&str, u64>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(s, "steps: {}", counts(&self.all.steps));
        let _ = writeln!(s, "dialogues: {}", counts(&self.all.dialogues));
        for sample in &self.samples {
            let _ = writeln!(s, "  e.g. {sample}");
        }
        let wall = self.elapsed.as_secs_f64().max(1e-9);
        for (who, cpu) in [
            ("peer", self.peer_cpu_s),
            ("load generator", self.own_cpu_s),
        ] {
            let Some(c) = cpu else { continue };
            let per = self
                .cpu_per_ok_step_us(cpu)
                .map_or(String::new(), |us| format!(", {us:.1} µs per ok step"));
            let _ = writeln!(
                s,
                "{who} cpu: {c:.2}s user+sys over {wall:.1}s ({:.0}% of one core){per}",
                100.0 * c / wall
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_recorded_latencies() {
        let mut t = Tally::default();
        for ms in 1..=1000 {
            t.step(StepOutcome::Ok, Some(Duration::from_millis(ms)));
        }
        t.step(StepOutcome::Timeout, None);
        let p50 = t.quantile(0.5).as_millis();
        assert!((499..=501).contains(&p50), "{p50}");
        assert!(t.quantile(0.999).as_millis() >= 998);
        assert_eq!(t.steps(StepOutcome::Ok), 1000);
        assert_eq!(t.step_errors(), 1);
        assert_eq!(t.latency.len(), 1000, "a timeout has no latency");
    }

    #[test]
    fn each_step_has_its_own_histogram() {
        let mut t = Tally::default();
        t.step_at(0, StepOutcome::Ok, Some(Duration::from_millis(1)));
        t.step_at(1, StepOutcome::Ok, Some(Duration::from_millis(200)));
        t.step_at(1, StepOutcome::Timeout, None);
        t.step_at(99, StepOutcome::Ok, Some(Duration::from_millis(5)));
        assert_eq!(
            t.by_step.len(),
            2,
            "steps past the cap go to the totals only"
        );
        assert_eq!(t.by_step[1].len(), 1);
        assert!(t.by_step[1].min() >= 199_000);
        assert_eq!(t.latency.len(), 3);
    }

    #[test]
    fn json_and_summary_carry_the_counts() {
        let mut r = Report {
            elapsed: Duration::from_secs(2),
            started: 3,
            ..Report::default()
        };
        r.all.step(StepOutcome::Ok, Some(Duration::from_millis(5)));
        r.all
            .step(StepOutcome::WrongScreen, Some(Duration::from_millis(7)));
        r.all.dialogue(DialogueEnd::Failed);
        let j = r.json();
        assert_eq!(j["all"]["steps"]["wrong_screen"], 1);
        assert_eq!(j["all"]["dialogues"]["failed"], 1);
        assert_eq!(j["ok_steps_per_s"], 0.5);
        assert!(r.summary().contains("wrong_screen 1"));
    }
}
