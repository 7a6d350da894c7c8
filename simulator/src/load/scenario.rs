//! Dialogue scripts for the load generator: what a virtual subscriber sends and the screen it
//! must see after each step. Plain data, no I/O. A step passes only when the screen holds the
//! step's distinctive fragment and ends (or not) as the flow does, so "service unavailable" or
//! "try again" is an error, never a success.
//!
//! The shipped scripts follow flows/*.yaml for the deterministic fake citizens of the mock
//! ministries (simulator/README.md "Fake citizens"), in Arabic: a fresh MSISDN has not chosen a
//! language, and Arabic is the gateway's default.

use std::fmt;

/// How a step reaches the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Send {
    /// Opens a USSD dialogue with this dial string.
    Dial(String),
    /// Answers the current USSD screen.
    Reply(String),
    /// An SMS to a short code; the answer is the next SMS to this phone.
    Sms { to: String, text: String },
}

/// One turn and the screen it must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub send: Send,
    /// A fragment the answer must contain.
    pub expect: String,
    /// Whether the answer must end the USSD dialogue (ignored for SMS).
    pub end: bool,
}

/// A named dialogue script. The first step of a USSD script is a [`Send::Dial`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Whether this script talks SMS (it cannot be aborted or left to time out).
    pub fn is_sms(&self) -> bool {
        self.steps
            .first()
            .is_some_and(|s| matches!(s.send, Send::Sms { .. }))
    }
}

fn step(send: Send, expect: &str, end: bool) -> Step {
    Step {
        send,
        expect: expect.to_owned(),
        end,
    }
}
fn dial(code: &str, expect: &str) -> Step {
    step(Send::Dial(code.to_owned()), expect, false)
}
fn reply(text: &str, expect: &str, end: bool) -> Step {
    step(Send::Reply(text.to_owned()), expect, end)
}
fn sms(text: &str, expect: &str) -> Step {
    let to = "2150".to_owned();
    step(
        Send::Sms {
            to,
            text: text.to_owned(),
        },
        expect,
        false,
    )
}

/// The `expect` of an SMS step that passes on an ESME_ROK deliver_sm_resp alone.
pub const ACK_ONLY: &str = "";

/// The scripts `--mix` can name, as demo/*-ar.script walks them.
pub fn shipped(name: &str) -> Option<Scenario> {
    let steps = match name {
        "pds" => vec![
            dial("*123*1#", "أدخل رقم البطاقة التموينية"),
            reply("12345678", "اختر الخدمة", false),
            reply("1", "الرصيد: ٤٠٬٠٠٠ دينار", true),
        ],
        "electricity" => vec![
            dial("*123*2#", "أدخل رقم حساب الكهرباء"),
            reply("123456", "المبلغ: ٢٠٬٠٠٠ دينار", true),
        ],
        "passport" => vec![
            dial("*123*3#", "أدخل رقم طلب الجواز"),
            reply("1122334455", "جوازك جاهز", true),
        ],
        "pension" => vec![
            dial("*123*4#", "أدخل الرقم التقاعدي"),
            reply("123456", "أدخل الرمز السري", false),
            reply("9355", "الراتب: ٥٣٠٬٠٠٠ دينار", true),
        ],
        "sms" => vec![
            sms("تموينية ١٢٣٤٥٦٧٨", "اختر الخدمة"),
            sms("1", "الرصيد: ٤٠٬٠٠٠ دينار"),
        ],
        // The Kannel comparison's job: one keyword SMS, one back-end call, one reply
        // (simulator/bench/kannel/flows/keyword.yaml, or Kannel's sms-service get-url).
        "keyword" => vec![sms("PDS 12345678", "Card 12345678: balance 40000 IQD")],
        // Durable SMS intake: an MO counts once the gateway acknowledged it (its
        // deliver_sm_resp comes only after the MO is on disk); the reply (the fallback for
        // a text no keyword matches) is not waited for.
        "intake" => vec![step(
            Send::Sms {
                to: "2150".to_owned(),
                text: "STATUS".to_owned(),
            },
            ACK_ONLY,
            false,
        )],
        "echo" => echo().steps,
        "echo-sms" => vec![sms("hello", "echo hello"), sms("0", "echo 0")],
        _ => return None,
    };
    Some(Scenario {
        name: name.to_owned(),
        steps,
    })
}

/// Three turns against [`super::echo::EchoEsme`], which answers `echo INPUT` and ends on `0`.
pub fn echo() -> Scenario {
    Scenario {
        name: "echo".into(),
        steps: vec![
            dial("*500#", "echo *500#"),
            reply("1", "echo 1", false),
            reply("0", "echo 0", true),
        ],
    }
}

/// A weighted choice of scenarios, as `--mix pds=40,sms=10` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    pub entries: Vec<(Scenario, u32)>,
}

impl Mix {
    /// The scenario for a number drawn uniformly from `0..self.total()`.
    pub fn pick(&self, mut n: u32) -> &Scenario {
        for (s, w) in &self.entries {
            if n < *w {
                return s;
            }
            n -= w;
        }
        &self.entries[self.entries.len() - 1].0
    }
    pub fn total(&self) -> u32 {
        self.entries.iter().map(|(_, w)| w).sum()
    }
}

impl std::str::FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("--mix {part:?}: want NAME=WEIGHT"))?;
            let scenario = shipped(name).ok_or_else(|| {
                format!("--mix: unknown scenario {name:?} (pds, electricity, passport, pension, sms, keyword, intake, echo, echo-sms)")
            })?;
            let weight: u32 = weight
                .parse()
                .ok()
                .filter(|w| (1..=1_000_000).contains(w))
                .ok_or_else(|| format!("--mix {part:?}: weight must be 1..=1000000"))?;
            if entries
                .iter()
                .any(|(e, _): &(Scenario, u32)| e.name == name)
            {
                return Err(format!("--mix: {name:?} given twice"));
            }
            entries.push((scenario, weight));
        }
        if entries.is_empty() {
            return Err("--mix: no scenario".into());
        }
        Ok(Self { entries })
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<_> = self
            .entries
            .iter()
            .map(|(s, w)| format!("{}={w}", s.name))
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let m: Mix = "pds=3,sms=1".parse().unwrap();
        assert_eq!(m.total(), 4);
        assert_eq!(m.pick(0).name, "pds");
        assert_eq!(m.pick(2).name, "pds");
        assert_eq!(m.pick(3).name, "sms");
        assert!(m.pick(3).is_sms());
        assert_eq!(m.to_string(), "pds=3,sms=1");
    }

    #[test]
    fn bad_mixes_are_refused() {
        for bad in ["", "pds", "nope=1", "pds=0", "pds=x", "pds=1,pds=2"] {
            assert!(bad.parse::<Mix>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_ussd_script_dials_first_and_ends_last() {
        for name in ["pds", "electricity", "passport", "pension", "echo"] {
            let s = shipped(name).unwrap();
            assert!(matches!(s.steps[0].send, Send::Dial(_)), "{name}");
            assert!(s.steps.last().unwrap().end, "{name}");
            assert!(
                s.steps[..s.steps.len() - 1].iter().all(|s| !s.end),
                "{name}"
            );
        }
    }
}
