//! The compiled, checked flow graph the interpreter runs: node names are
//! resolved to indices, menus are paginated, and every screen is proven to
//! fit the budget, so the interpreter never does a lookup that can fail on
//! a session it produced itself. Built only by `compile`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::dial;
use super::expr::Expr;
use super::lang::Lang;
use super::normalize;
use super::template::Template;
use crate::charset::Budget;

/// Index of a node in its flow.
pub type NodeId = u32;

/// Every loaded flow, indexed by id, service code and keyword.
pub struct FlowSet {
    /// The flows new sessions start on (shared with the sets that follow,
    /// so a session pinned to one keeps it across reloads).
    pub(crate) flows: Vec<Arc<Flow>>,
    /// Earlier versions replaced by a reload, kept for the sessions that
    /// started on them, with when they were replaced (ms).
    pub(crate) retired: Vec<(Arc<Flow>, u64)>,
    /// (canonical service code, flow index).
    pub(crate) codes: Vec<(String, usize)>,
    /// normalised keyword -> flow index.
    pub(crate) keywords: BTreeMap<String, usize>,
    pub(crate) budget: Budget,
}

/// One compiled flow.
pub struct Flow {
    pub(crate) id: String,
    pub(crate) version: u32,
    /// SHA-256 of the flow file's text: what a version is pinned to.
    pub(crate) checksum: [u8; 32],
    pub(crate) title: Texts,
    pub(crate) languages: Vec<Lang>,
    pub(crate) resume: bool,
    /// `entry.ussd` and `entry.sms` as written (for listings; routing uses
    /// the `FlowSet` indexes).
    pub(crate) codes: Vec<String>,
    pub(crate) keywords: Vec<String>,
    pub(crate) nav: Navigation,
    pub(crate) vars: BTreeMap<String, VarSpec>,
    pub(crate) start: NodeId,
    pub(crate) nodes: Vec<Node>,
}

/// A text in every language. Languages the flow lacks hold the fallback's
/// template, so `get` cannot fail.
pub struct Texts(pub(crate) [Template; 3]);

impl Texts {
    pub fn get(&self, lang: Lang) -> &Template {
        &self.0[lang.index()]
    }
}

/// Navigation keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Navigation {
    pub back: String,
    pub home: String,
    pub more: String,
}

impl Default for Navigation {
    fn default() -> Self {
        Navigation {
            back: "0".into(),
            home: "00".into(),
            more: "98".into(),
        }
    }
}

/// Which characters a value can hold (for the worst-case screen length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CharClass {
    /// ASCII digits and GSM punctuation only: one GSM-7 septet each.
    Gsm1,
    /// Anything in the Basic Multilingual Plane: two septets (extension
    /// table) or one UCS-2 unit each; may force UCS-2.
    Any,
}

/// A declared (or input-implied) variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarSpec {
    Text {
        max_len: usize,
        class: CharClass,
    },
    List {
        max_items: usize,
        fields: BTreeMap<String, usize>,
    },
}

/// One node.
pub struct Node {
    pub(crate) name: String,
    pub(crate) kind: NodeKind,
}

impl Node {
    /// The name the flow file gives the node.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True for nodes that wait for the citizen.
    pub fn is_interactive(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::Menu { .. }
                | NodeKind::ListMenu { .. }
                | NodeKind::Language { .. }
                | NodeKind::Input { .. }
        )
    }
}

/// A menu's pages: `(first, end)` option index ranges, end exclusive.
pub type Pages = Vec<(usize, usize)>;

/// A static menu option.
pub struct MenuOption {
    pub(crate) label: Texts,
    pub(crate) next: NodeId,
}

/// How an input is validated.
#[derive(Clone, Debug)]
pub enum Rule {
    Digits { min: usize, max: usize },
    Regex { re: Regex, max_len: usize },
    IraqiMobile,
    Date,
    Text { min: usize, max: usize },
}

impl Rule {
    /// The longest value the rule lets through, and which characters it may hold.
    pub fn bound(&self) -> (usize, CharClass) {
        match self {
            Rule::Digits { max, .. } => (*max, CharClass::Gsm1),
            Rule::Regex { max_len, .. } => (*max_len, CharClass::Any),
            Rule::IraqiMobile => (13, CharClass::Gsm1),
            Rule::Date => (10, CharClass::Gsm1),
            Rule::Text { max, .. } => (*max, CharClass::Any),
        }
    }
}

/// Where a `goto` leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Goto {
    Node(NodeId),
    /// The id of a flow of the same set: its version in force when the
    /// session gets there (a retired flow's jumps stay valid).
    Flow(String),
}

/// What a node does.
pub enum NodeKind {
    Menu {
        text: Texts,
        options: Vec<MenuOption>,
        /// Per language, then per back history (`[0]` shown with none,
        /// `[1]` with some: it adds `0. Back`/`00. Home` lines, so pages may
        /// hold fewer options): the options on each page, as index ranges.
        pages: [[Pages; 2]; 3],
    },
    ListMenu {
        text: Texts,
        list: String,
        label: Texts,
        save: Option<String>,
        next: NodeId,
        /// Per language: how many items fit on one page.
        per_page: [usize; 3],
    },
    Language {
        next: NodeId,
    },
    Input {
        prompt: Texts,
        error: Texts,
        rule: Rule,
        save: String,
        secret: bool,
        next: NodeId,
    },
    Call {
        backend: String,
        operation: String,
        params: Vec<(String, Template)>,
        results: Vec<String>,
        /// Indexed by `Outcome::index()`.
        on: [NodeId; 4],
        /// `verifies:`: the call checks a secret input with the back-end.
        check: Option<super::session::SecretCheck>,
        /// `personal: true`: the answer is personal data (see
        /// `compile::guard`: it needs a verified secret on every path).
        personal: bool,
    },
    Message {
        text: Texts,
    },
    Sms {
        text: Texts,
        next: NodeId,
    },
    Branch {
        cases: Vec<(Expr, NodeId)>,
        otherwise: NodeId,
    },
    Goto {
        to: Goto,
    },
}

impl Flow {
    /// The flow id (`pds`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The version sessions are pinned to.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// SHA-256 of the flow file, lower-case hex.
    pub fn checksum(&self) -> String {
        self.checksum.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The languages the flow is written in; the first is the fallback.
    pub fn languages(&self) -> &[Lang] {
        &self.languages
    }

    /// The flow's title in `lang` (titles hold no variables).
    pub fn title(&self, lang: Lang) -> String {
        self.title
            .get(self.lang(Some(lang)))
            .render(lang, &|_| None)
    }

    /// Whether a dropped session may be resumed.
    pub fn resumable(&self) -> bool {
        self.resume
    }

    /// The navigation keys.
    pub fn navigation(&self) -> &Navigation {
        &self.nav
    }

    /// The node names, in file order (index = `NodeId`).
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.name.as_str())
    }

    /// The language a citizen who prefers `wanted` is served in.
    pub fn lang(&self, wanted: Option<Lang>) -> Lang {
        match wanted {
            Some(l) if self.languages.contains(&l) => l,
            _ => self.languages[0],
        }
    }

    pub(crate) fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize)
    }
}

/// Why a set of flows may not replace the one in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("flow `{id}` changed but is still version {version}: raise its `version:` to publish the change (sessions in progress are pinned to version {version} as it was)")]
pub struct SameVersionChanged {
    pub id: String,
    pub version: u32,
}

impl FlowSet {
    /// Every flow new sessions start on, in load order.
    pub fn flows(&self) -> impl Iterator<Item = &Flow> {
        self.flows.iter().map(|f| &**f)
    }

    /// The flow with this id that new sessions start on.
    pub fn get(&self, id: &str) -> Option<&Flow> {
        self.flows.iter().find(|f| f.id == id).map(|f| &**f)
    }

    /// The flow a session started on: this exact version, in force or
    /// retired by a reload but still kept.
    pub fn pinned(&self, id: &str, version: u32) -> Option<&Flow> {
        let current = self.flows.iter();
        let retired = self.retired.iter().map(|(f, _)| f);
        current
            .chain(retired)
            .find(|f| f.id == id && f.version == version)
            .map(|f| &**f)
    }

    /// Versions kept for sessions that started on them: (id, version).
    pub fn retired(&self) -> impl Iterator<Item = (&str, u32)> {
        self.retired.iter().map(|(f, _)| (f.id.as_str(), f.version))
    }

    /// Makes `self` (freshly compiled) the successor of `previous`, the set
    /// in force: every version `previous` serves that `self` does not is
    /// kept for `keep_ms` from `now_ms` (the longest a session can last),
    /// so sessions finish on the version they started on; versions retired
    /// longer ago than that are dropped. A flow whose text changed while
    /// its version did not is refused: a pinned session could not tell the
    /// two apart.
    pub fn succeed(
        mut self,
        previous: &FlowSet,
        now_ms: u64,
        keep_ms: u64,
    ) -> Result<FlowSet, Vec<SameVersionChanged>> {
        let mut refused = Vec::new();
        for f in &mut self.flows {
            let before = previous.pinned(&f.id, f.version);
            match before {
                Some(b) if b.checksum != f.checksum => refused.push(SameVersionChanged {
                    id: f.id.clone(),
                    version: f.version,
                }),
                Some(_) => {}
                None => continue,
            }
        }
        if !refused.is_empty() {
            return Err(refused);
        }
        let serves = |set: &FlowSet, f: &Flow| {
            set.flows
                .iter()
                .any(|g| g.id == f.id && g.version == f.version)
        };
        let replaced = previous.flows.iter().map(|f| (f.clone(), now_ms));
        let still_kept = previous
            .retired
            .iter()
            .filter(|(_, since)| now_ms.saturating_sub(*since) < keep_ms)
            .cloned();
        let mut retired: Vec<(Arc<Flow>, u64)> = Vec::new();
        for (f, since) in replaced.chain(still_kept) {
            let dup = retired
                .iter()
                .any(|(g, _)| g.id == f.id && g.version == f.version);
            if !serves(&self, &f) && !dup {
                retired.push((f, since));
            }
        }
        self.retired = retired;
        Ok(self)
    }

    /// The screen budget every screen was proven against.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        self.flows.iter().position(|f| f.id == id)
    }

    /// The flow whose service code is the longest prefix of `dial`, with
    /// the shortcut replies that follow it (`*123*1*42#` -> `["1", "42"]`).
    /// The dial is parsed once; the codes are compared as stored.
    pub fn by_service_code(&self, dial: &str) -> Option<(&Flow, Vec<String>)> {
        let dial = dial::parse(dial).ok()?;
        // (code length, flow index, parts the code takes); the last of the
        // longest wins, as `max_by_key` chose before.
        let mut best: Option<(usize, usize, usize)> = None;
        for (code, i) in &self.codes {
            let Some(taken) = dial::parts_taken(&dial, code) else {
                continue;
            };
            if best.is_none_or(|(len, _, _)| code.len() >= len) {
                best = Some((code.len(), *i, taken));
            }
        }
        let (_, i, taken) = best?;
        Some((&*self.flows[i], dial.parts[taken..].to_vec()))
    }

    /// The flow whose SMS keyword is the first word of `sms_text`, with the
    /// rest of the text (normalised, possibly empty).
    pub fn by_keyword(&self, sms_text: &str) -> Option<(&Flow, String)> {
        let text = normalize::input(sms_text);
        let (word, rest) = text.split_once(' ').unwrap_or((text.as_str(), ""));
        let i = *self.keywords.get(&normalize::keyword(word))?;
        Some((&*self.flows[i], rest.trim().to_string()))
    }
}

impl fmt::Debug for FlowSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowSet")
            .field(
                "flows",
                &self
                    .flows
                    .iter()
                    .map(|fl| (&fl.id, fl.version))
                    .collect::<Vec<_>>(),
            )
            .field("retired", &self.retired().collect::<Vec<_>>())
            .field("budget", &self.budget)
            .finish()
    }
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flow")
            .field("id", &self.id)
            .field("version", &self.version)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}
