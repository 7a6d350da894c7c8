//! The conversation state the interpreter threads through `step`, and the
//! inputs and effects that cross the engine's edge.
//!
//! A `Session` is plain data: the runtime stores it (serialised) between
//! steps. Secret inputs live in a `#[serde(skip)]` field so they are never
//! written anywhere. No I/O, no clock here.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::lang::Lang;

/// How the citizen reaches us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bearer {
    /// A USSD dialogue: one screen per turn, the network times it out.
    Ussd,
    /// SMS to a short code: each screen is a text message.
    Sms,
}

/// One event the runtime feeds to `step`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// Full USSD dial string, e.g. `*123*1*12345678#`.
    Dial { code: String },
    /// An SMS that starts a conversation, e.g. `PDS 12345678`.
    Keyword { text: String },
    /// The citizen's reply (USSD or SMS), not yet normalised.
    Reply { text: String },
    /// The answer to an `Effect::Call` with the same `call_id`.
    CallDone {
        call_id: u64,
        outcome: Outcome,
        data: serde_json::Value,
    },
    /// The user idle timer or the operator's session timer expired.
    Timeout,
    /// The network or the user dropped the session.
    Abort,
}

/// How a back-end call ended. A failure is data a flow branches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    NotFound,
    Failed,
    Timeout,
}

impl Outcome {
    /// Every outcome, in the order `on:` lists them.
    pub const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::NotFound,
        Outcome::Failed,
        Outcome::Timeout,
    ];

    /// The key in a call node's `on:` map.
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotFound => "not_found",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
        }
    }

    /// Index into `[T; 4]` tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What the runtime must do after a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// One screen, always within the budget. `end` closes a USSD dialogue.
    Show { text: String, end: bool },
    /// Call a back-end; answer with `Input::CallDone { call_id, .. }`.
    Call {
        call_id: u64,
        backend: String,
        operation: String,
        params: BTreeMap<String, String>,
        /// Set when the call checks a secret (`verifies:`): the runtime
        /// counts wrong answers towards the PIN lockout.
        check: Option<SecretCheck>,
    },
    /// Queue an SMS to the citizen.
    SendSms { text: String },
    /// Remember this language for the citizen's next sessions.
    SetLanguage { lang: Lang },
    /// The session is over (also after `Show { end: true }`).
    End,
}

/// A call that checks a secret input (`verifies: pin`) with the back-end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretCheck {
    /// The secret input's variable.
    pub secret: String,
    /// Indexed by `Outcome::index()`: outcomes meaning the secret was wrong.
    pub wrong: [bool; 4],
}

impl SecretCheck {
    pub fn is_wrong(&self, outcome: Outcome) -> bool {
        self.wrong[outcome.index()]
    }
}

/// Tunables of the interpreter that the runtime owns (it reads them from
/// configuration). The clock itself is the `now_ms` argument of `step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepContext {
    /// A redial within this long after a drop offers "Continue / Start over".
    pub resume_window_ms: u64,
    /// An SMS conversation idle longer than this has expired.
    pub sms_idle_ms: u64,
    /// Most screens kept for "0. Back".
    pub history_limit: usize,
}

impl Default for StepContext {
    fn default() -> Self {
        StepContext {
            resume_window_ms: 120_000,
            sms_idle_ms: 15 * 60_000,
            history_limit: 16,
        }
    }
}

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing started yet (a fresh `Session::new`).
    New,
    /// Waiting for the citizen's reply to the current screen.
    Active,
    /// Waiting for `Input::CallDone` with this id.
    Calling { call_id: u64 },
    /// Showing "1. Continue / 2. Start over".
    ResumeOffer,
    /// Dropped by the network or a timeout; may be resumed within the window.
    Interrupted,
    /// Over; the next dial or keyword starts afresh.
    Finished,
}

/// A variable's value: text, or a list of records from a back-end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    List(Vec<BTreeMap<String, String>>),
}

/// A screen the citizen saw, kept for "0. Back".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub node: u32,
    pub page: u32,
}

/// The state of one citizen's conversation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// The flow being run and the version the session is pinned to.
    pub flow: Option<FlowRef>,
    /// The flow the citizen started (by dial or keyword) before any
    /// `goto: {flow}`: a redial of its code resumes the session, "Start
    /// over" starts it again, and `00` (home) goes back to its start.
    #[serde(default)]
    pub entry: Option<String>,
    /// Current node (index into the flow's nodes) and menu page.
    pub at: Frame,
    /// Screens to go back to, oldest first, bounded by `StepContext::history_limit`.
    pub history: Vec<Frame>,
    /// Non-secret variables.
    pub vars: BTreeMap<String, Value>,
    /// Secret inputs (PINs): memory only, wiped after the call that uses them.
    #[serde(skip)]
    pub secrets: Secrets,
    /// The citizen's language, if known.
    pub language: Option<Lang>,
    pub bearer: Bearer,
    pub status: Status,
    /// `now_ms` of the last input that reached this session.
    pub last_activity_ms: u64,
    /// Next id for `Effect::Call`.
    pub next_call_id: u64,
    /// Replies still to play (from a shortcut dial or an SMS keyword).
    pub pending: VecDeque<String>,
    /// Text to fill the first input reached (SMS keyword argument).
    pub prefill: Option<String>,
}

/// Secret inputs by variable name. Never serialised (the field is
/// `#[serde(skip)]`), and `Debug` prints `***` for every value so a logged
/// session cannot leak a PIN.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(BTreeMap<String, String>);

impl Secrets {
    pub fn get(&self, name: &str) -> Option<&String> {
        self.0.get(name)
    }
    pub fn insert(&mut self, name: String, value: String) {
        self.0.insert(name, value);
    }
    pub fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }
    pub fn clear(&mut self) {
        self.0.clear();
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "***")))
            .finish()
    }
}

/// A flow id and the version a session is pinned to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRef {
    pub id: String,
    pub version: u32,
}

impl Session {
    /// A session that has not started a flow yet.
    pub fn new(bearer: Bearer, language: Option<Lang>) -> Session {
        Session {
            flow: None,
            entry: None,
            at: Frame { node: 0, page: 0 },
            history: Vec::new(),
            vars: BTreeMap::new(),
            secrets: Secrets::default(),
            language,
            bearer,
            status: Status::New,
            last_activity_ms: 0,
            next_call_id: 1,
            pending: VecDeque::new(),
            prefill: None,
        }
    }

    /// True once the conversation is over.
    pub fn is_finished(&self) -> bool {
        self.status == Status::Finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_neither_serialised_nor_printed() {
        let mut s = Session::new(Bearer::Ussd, Some(Lang::En));
        s.secrets.insert("pin".into(), "4321".into());
        assert!(!serde_json::to_string(&s).unwrap().contains("4321"));
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("4321") && dbg.contains("\"pin\": \"***\""),
            "{dbg}"
        );
        let back: Session = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert!(back.secrets.is_empty());
    }
}
