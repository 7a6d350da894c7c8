//! The compiled, checked flow graph the interpreter runs: node names are
//! resolved to indices and every screen is proven to fit the budget, so the
//! interpreter never does a lookup that can fail on a well-formed session.

use super::lang::Lang;

/// Every loaded flow, indexed by id, service code and keyword.
#[derive(Clone, Debug, Default)]
pub struct FlowSet {
    pub(crate) flows: Vec<Flow>,
}

/// One compiled flow.
#[derive(Clone, Debug)]
pub struct Flow {
    pub(crate) id: String,
    pub(crate) version: u32,
    pub(crate) languages: Vec<Lang>,
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

    /// The languages the flow is written in; the first is the fallback.
    pub fn languages(&self) -> &[Lang] {
        &self.languages
    }
}

impl FlowSet {
    /// Every flow, in load order.
    pub fn flows(&self) -> impl Iterator<Item = &Flow> {
        self.flows.iter()
    }

    /// The flow with this id.
    pub fn get(&self, id: &str) -> Option<&Flow> {
        self.flows.iter().find(|f| f.id == id)
    }

    /// The flow whose service code is the longest prefix of `dial`, with
    /// the shortcut replies that follow it (`*123*1*42#` -> `["1", "42"]`).
    pub fn by_service_code(&self, dial: &str) -> Option<(&Flow, Vec<String>)> {
        let _ = dial; // skeleton: filled in with the compiler
        None
    }

    /// The flow whose SMS keyword starts `sms_text`, with the rest of the text.
    pub fn by_keyword(&self, sms_text: &str) -> Option<(&Flow, String)> {
        let _ = sms_text; // skeleton: filled in with the compiler
        None
    }
}
