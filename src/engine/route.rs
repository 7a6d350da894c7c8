//! What the runtime asks of the loaded flows outside `step`: which flow a
//! dial or an SMS belongs to (`FlowSet::by_service_code`,
//! `FlowSet::by_keyword` in `model.rs`), the SMS listing of services for a
//! message that matches no keyword, and which call parameters carry a
//! secret (so a follow-up or a log never keeps them). Pure lookups.

use std::collections::BTreeSet;

use super::lang::{Lang, Ui};
use super::model::{Flow, FlowSet, NodeKind};
use super::session::{Session, Status};

impl Flow {
    /// The USSD service codes that start this flow, as written.
    pub fn service_codes(&self) -> &[String] {
        &self.codes
    }

    /// The SMS keywords that start this flow, as written.
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// Variables filled by `secret: true` inputs.
    fn secret_vars(&self) -> BTreeSet<&str> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Input {
                    save, secret: true, ..
                } => Some(save.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl FlowSet {
    /// The names of the parameters of the call `session` waits on whose
    /// value comes from a secret input (a PIN): the runtime must keep them
    /// in memory only, never in a stored follow-up or a log line. Empty
    /// when the session waits on no call.
    pub fn secret_params(&self, session: &Session) -> BTreeSet<String> {
        let flow = session
            .flow
            .as_ref()
            .and_then(|r| self.get(&r.id).filter(|f| f.version == r.version));
        let Some(flow) = flow.filter(|_| matches!(session.status, Status::Calling { .. })) else {
            return BTreeSet::new();
        };
        let secret = flow.secret_vars();
        match flow.node(session.at.node).map(|n| &n.kind) {
            Some(NodeKind::Call { params, .. }) => params
                .iter()
                .filter(|(_, t)| {
                    t.variables()
                        .iter()
                        .any(|(v, _)| secret.contains(v.as_str()))
                })
                .map(|(k, _)| k.clone())
                .collect(),
            _ => BTreeSet::new(),
        }
    }

    /// The reply to an SMS that matches no keyword, in `lang`: a heading,
    /// then one line per flow with keywords, `KEYWORD - title`. Keywords
    /// are those written in the language's script (Latin for English,
    /// Arabic script for Arabic and Kurdish), or all of them when the flow
    /// has none in that script. Not bound by the USSD screen budget (the
    /// SMS layer splits long messages).
    pub fn sms_help(&self, lang: Lang) -> String {
        let mut lines = vec![Ui::SmsHelp.text(lang).to_string()];
        for flow in self.flows.iter().filter(|f| !f.keywords.is_empty()) {
            let mut words: Vec<&String> = flow
                .keywords
                .iter()
                .filter(|k| script_of(k) == lang)
                .collect();
            if words.is_empty() {
                words = flow.keywords.iter().collect();
            }
            let words: Vec<&str> = words.into_iter().map(String::as_str).collect();
            lines.push(format!("{} - {}", words.join(" / "), flow.title(lang)));
        }
        lines.join("\n")
    }
}

/// The language a keyword is written for: Latin script is English; Arabic
/// script with a letter Sorani has and Arabic does not (ە ۆ ێ ڕ ڵ ڤ ی ک
/// گ پ چ ژ) is Kurdish; other Arabic script is Arabic.
fn script_of(keyword: &str) -> Lang {
    const SORANI: &[char] = &[
        '\u{06D5}', '\u{06C6}', '\u{06CE}', '\u{0695}', '\u{06B5}', '\u{06A4}', '\u{06CC}',
        '\u{06A9}', '\u{06AF}', '\u{067E}', '\u{0686}', '\u{0698}',
    ];
    if keyword.is_ascii() {
        Lang::En
    } else if keyword.contains(SORANI) {
        Lang::Ckb
    } else {
        Lang::Ar
    }
}
