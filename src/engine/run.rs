//! The interpreter's machinery for one step: entering nodes (running
//! calls, branches, gotos and SMS until a node waits for the citizen),
//! handling a reply on the current screen, and rendering that screen.

use super::compile::LANG;
use super::lang::{Lang, Ui};
use super::model::{Flow, FlowSet, Goto, NodeId, NodeKind};
use super::normalize;
use super::screen;
use super::session::{Effect, FlowRef, Frame, Session, Status, StepContext, Value};
use super::validate;

/// The most non-waiting nodes one step may pass through (a guard against
/// cross-flow goto loops the per-flow check cannot see).
const MAX_HOPS: usize = 64;

/// What the next screen shows above the current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    InvalidChoice,
    InputError,
}

pub(crate) struct Run<'f> {
    pub flows: &'f FlowSet,
    pub ctx: &'f StepContext,
    pub s: Session,
    pub fx: Vec<Effect>,
    pub notice: Option<Notice>,
}

impl<'f> Run<'f> {
    /// The session's flow, if it is still loaded at the pinned version.
    pub fn flow(&self) -> Option<&'f Flow> {
        let r = self.s.flow.as_ref()?;
        self.flows.pinned(&r.id, r.version)
    }

    pub fn lang(&self) -> Lang {
        match self.flow() {
            Some(f) => f.lang(self.s.language),
            None => self.s.language.unwrap_or(Lang::Ar),
        }
    }

    pub(crate) fn show(&mut self, text: String, end: bool) {
        let budget = self.flows.budget;
        debug_assert!(budget.fits(&text), "screen over budget: {text:?}");
        self.fx.push(Effect::Show {
            text: screen::clamp(text, &budget),
            end,
        });
        if end {
            self.fx.push(Effect::End);
        }
    }

    /// Ends the session with one built-in screen.
    pub fn end_with(&mut self, ui: Ui) {
        let text = ui.text(self.lang()).to_string();
        self.finish();
        self.show(text, true);
    }

    /// Marks the session over and forgets the citizen's data.
    pub fn finish(&mut self) {
        self.s.status = Status::Finished;
        self.s.vars.clear();
        self.s.secrets.clear();
        self.s.history.clear();
        self.s.pending.clear();
        self.s.prefill = None;
    }

    /// Starts flow `index` afresh, then plays `pending` replies.
    pub fn start(&mut self, index: usize, pending: Vec<String>, prefill: Option<String>) {
        let Some(flow) = self.flows.flows.get(index) else {
            return self.end_with(Ui::Unavailable);
        };
        self.finish();
        self.s.flow = Some(FlowRef {
            id: flow.id.clone(),
            version: flow.version,
        });
        self.s.entry = Some(flow.id.clone());
        self.s.pending = pending.into();
        self.s.prefill = prefill;
        self.enter(flow.start);
        self.settle();
    }

    pub(crate) fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |name: &str| match self.s.vars.get(name) {
            Some(Value::Text(t)) => Some(t.clone()),
            Some(Value::List(l)) => Some(l.len().to_string()),
            None if name == LANG => Some(self.lang().code().to_owned()),
            None => self.s.secrets.get(name).cloned(),
        }
    }

    /// Runs nodes from `node` until one waits for the citizen or a back-end.
    pub fn enter(&mut self, node: NodeId) {
        let mut cur = node;
        for _ in 0..MAX_HOPS {
            let Some(flow) = self.flow() else {
                return self.end_with(Ui::Unavailable);
            };
            let Some(n) = flow.node(cur) else {
                return self.end_with(Ui::Unavailable);
            };
            let lang = flow.lang(self.s.language);
            if n.is_interactive() {
                self.s.at = Frame { node: cur, page: 0 };
                self.s.status = Status::Active;
                return;
            }
            match &n.kind {
                NodeKind::Call {
                    backend,
                    operation,
                    params,
                    check,
                    ..
                } => {
                    // Back-ends get ASCII digits: render parameters in English.
                    let params = {
                        let look = self.lookup();
                        params
                            .iter()
                            .map(|(k, t)| (k.clone(), t.render(Lang::En, &look)))
                            .collect()
                    };
                    let used: Vec<String> = n_params_vars(&n.kind);
                    for v in used {
                        self.s.secrets.remove(&v);
                    }
                    let call_id = self.s.next_call_id;
                    self.s.next_call_id = call_id.wrapping_add(1);
                    self.s.at = Frame { node: cur, page: 0 };
                    self.s.status = Status::Calling { call_id };
                    self.fx.push(Effect::Call {
                        call_id,
                        backend: backend.clone(),
                        operation: operation.clone(),
                        params,
                        check: check.clone(),
                    });
                    return;
                }
                NodeKind::Message { text } => {
                    let text = text.get(lang).render(lang, &self.lookup());
                    self.finish();
                    return self.show(text, true);
                }
                NodeKind::Sms { text, next } => {
                    let text = text.get(lang).render(lang, &self.lookup());
                    self.fx.push(Effect::SendSms { text });
                    cur = *next;
                }
                NodeKind::Branch { cases, otherwise } => {
                    let look = self.lookup();
                    cur = cases
                        .iter()
                        .find(|(e, _)| e.eval(&look))
                        .map_or(*otherwise, |c| c.1);
                }
                NodeKind::Goto { to: Goto::Node(n) } => cur = *n,
                NodeKind::Goto { to: Goto::Flow(id) } => {
                    let Some(target) = self.flows.get(id) else {
                        return self.end_with(Ui::Unavailable);
                    };
                    self.switch_to(target);
                    cur = target.start;
                }
                _ => return self.end_with(Ui::Unavailable),
            }
        }
        self.end_with(Ui::Unavailable)
    }

    /// Moves the session into `target` (a `goto: {flow}`, or home to the
    /// entry flow): variables and back history belong to the flow left.
    fn switch_to(&mut self, target: &Flow) {
        self.s.flow = Some(FlowRef {
            id: target.id.clone(),
            version: target.version,
        });
        self.s.vars.clear();
        self.s.secrets.clear();
        self.s.history.clear();
    }

    /// Plays queued replies (shortcut dial, SMS keyword text), then shows
    /// the screen the session waits on.
    pub fn settle(&mut self) {
        while self.s.status == Status::Active && self.notice.is_none() {
            let is_input = self
                .flow()
                .and_then(|f| f.node(self.s.at.node))
                .is_some_and(|n| matches!(n.kind, NodeKind::Input { .. }));
            let next = match (is_input, self.s.prefill.is_some()) {
                (true, true) => self.s.prefill.take(),
                _ => self.s.pending.pop_front(),
            };
            let Some(text) = next else { break };
            self.reply(&text);
        }
        if self.notice.is_some() {
            self.s.pending.clear();
        }
        if self.s.status == Status::Active {
            let text = self.render();
            self.show(text, false);
        }
    }

    fn push_history(&mut self) {
        if self.s.history.len() >= self.ctx.history_limit.max(1) {
            self.s.history.remove(0);
        }
        self.s.history.push(self.s.at);
    }

    /// Handles navigation keys; true if `t` was one.
    fn navigate(&mut self, t: &str, has_more: bool) -> bool {
        let Some(flow) = self.flow() else {
            return false;
        };
        let nav = &flow.nav;
        if t == nav.more && has_more {
            self.s.at.page += 1;
        } else if t == nav.back {
            if self.s.at.page > 0 {
                self.s.at.page -= 1;
            } else if let Some(f) = self.s.history.pop() {
                self.s.at = f;
            } else {
                return false;
            }
        } else if t == nav.home {
            // Home is where the citizen started: the `*123#` menu they came
            // from through `goto: {flow}`, else this flow's start.
            let entry = self.s.entry.as_deref().filter(|e| *e != flow.id);
            match entry.and_then(|e| self.flows.get(e)) {
                Some(home) => {
                    self.switch_to(home);
                    self.enter(home.start);
                }
                None => {
                    self.s.history.clear();
                    self.enter(flow.start);
                }
            }
        } else {
            return false;
        }
        true
    }

    /// Handles the citizen's reply on the current screen.
    pub fn reply(&mut self, raw: &str) {
        let t = normalize::input(raw);
        let Some(flow) = self.flow() else {
            return self.end_with(Ui::Unavailable);
        };
        let Some(node) = flow.node(self.s.at.node) else {
            return self.end_with(Ui::Unavailable);
        };
        let lang = flow.lang(self.s.language);
        let page = self.s.at.page as usize;
        let choice = t
            .parse::<usize>()
            .ok()
            .filter(|_| t.bytes().all(|b| b.is_ascii_digit()));
        match &node.kind {
            NodeKind::Menu { options, pages, .. } => {
                let pages = &pages[lang.index()][usize::from(!self.s.history.is_empty())];
                // A page number from another pagination (history cut by its
                // limit) reads as the last page.
                let page = page.min(pages.len().saturating_sub(1));
                self.s.at.page = page as u32;
                if self.navigate(&t, page + 1 < pages.len()) {
                    return;
                }
                // Any option number counts, not only those on this page:
                // numbers are the same in every language and on every page,
                // so a shortcut (`*123*5#`) or a citizen who knows the number
                // does not depend on how the menu was paginated.
                match choice.filter(|n| (1..=options.len()).contains(n)) {
                    Some(n) => {
                        self.push_history();
                        self.enter(options[n - 1].next);
                    }
                    None => self.notice = Some(Notice::InvalidChoice),
                }
            }
            NodeKind::ListMenu {
                list,
                save,
                next,
                per_page,
                ..
            } => {
                let items = match self.s.vars.get(list) {
                    Some(Value::List(items)) => items.clone(),
                    _ => Vec::new(),
                };
                let per = per_page[lang.index()].max(1);
                let page = page.min(items.len().saturating_sub(1) / per);
                self.s.at.page = page as u32;
                if self.navigate(&t, (page + 1) * per < items.len()) {
                    return;
                }
                match choice.filter(|n| (1..=items.len()).contains(n)) {
                    Some(n) => {
                        if let Some(save) = save {
                            self.s.vars.insert(save.clone(), Value::Text(n.to_string()));
                            for (f, v) in &items[n - 1] {
                                self.s
                                    .vars
                                    .insert(format!("{save}.{f}"), Value::Text(v.clone()));
                            }
                        }
                        self.push_history();
                        self.enter(*next);
                    }
                    None => self.notice = Some(Notice::InvalidChoice),
                }
            }
            NodeKind::Language { next } => {
                if self.navigate(&t, false) {
                    return;
                }
                match choice
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| flow.languages.get(i))
                {
                    Some(&l) => {
                        self.s.language = Some(l);
                        self.fx.push(Effect::SetLanguage { lang: l });
                        self.push_history();
                        self.enter(*next);
                    }
                    None => self.notice = Some(Notice::InvalidChoice),
                }
            }
            NodeKind::Input {
                rule,
                save,
                secret,
                next,
                ..
            } => match validate::check(rule, &t) {
                Some(v) => {
                    if *secret {
                        self.s.secrets.insert(save.clone(), v);
                    } else {
                        self.s.vars.insert(save.clone(), Value::Text(v));
                    }
                    self.push_history();
                    self.enter(*next);
                }
                None if self.navigate(&t, false) => {}
                None => self.notice = Some(Notice::InputError),
            },
            _ => self.end_with(Ui::Unavailable),
        }
    }
}

/// Variables a call node's parameters use (secrets among them are wiped).
fn n_params_vars(kind: &NodeKind) -> Vec<String> {
    match kind {
        NodeKind::Call { params, .. } => params
            .iter()
            .flat_map(|(_, t)| t.variables())
            .map(|(n, _)| n)
            .collect(),
        _ => Vec::new(),
    }
}
