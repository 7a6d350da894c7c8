//! Graph checks and the screen-budget proof.
//!
//! Every screen a flow can show is measured in every language at its worst
//! case: each variable at its declared maximum length, in its widest
//! characters (two GSM-7 septets for an extension-table character, or a
//! forced switch to UCS-2 when the value may hold non-GSM characters or a
//! filter writes Arabic-Indic digits), filters' growth included. Menus are
//! paginated here, assuming all three navigation lines and the wider of the
//! heading and "Invalid choice", and each page is proven to fit.

use std::collections::BTreeMap;

use super::super::lang::{Lang, Ui};
use super::super::model::{Flow, Goto, NodeId, NodeKind, VarSpec};
use super::super::screen::{describe, menu_cost, Cost, NavLines};
use super::super::template::{Filter, Template};
use super::{Diags, FlowJump, Loc};
use crate::charset::Budget;

/// The nodes `kind` can lead to within its flow.
pub(crate) fn successors(kind: &NodeKind) -> Vec<NodeId> {
    match kind {
        NodeKind::Menu { options, .. } => options.iter().map(|o| o.next).collect(),
        NodeKind::ListMenu { next, .. }
        | NodeKind::Language { next }
        | NodeKind::Input { next, .. }
        | NodeKind::Sms { next, .. } => vec![*next],
        NodeKind::Call { on, .. } => on.to_vec(),
        NodeKind::Branch { cases, otherwise } => {
            cases.iter().map(|c| c.1).chain([*otherwise]).collect()
        }
        NodeKind::Goto { to: Goto::Node(n) } => vec![*n],
        NodeKind::Goto { to: Goto::Flow(_) } | NodeKind::Message { .. } => vec![],
    }
}

/// Loops that never wait for the citizen (branch, goto and sms nodes only).
pub(super) fn graph(flow: &Flow, locs: &[Loc], jumps: &[FlowJump], d: &mut Diags) {
    let n = flow.nodes.len();
    // Loops of branch / goto / sms nodes run without any input.
    let passes = |i: usize| {
        matches!(
            flow.nodes[i].kind,
            NodeKind::Branch { .. } | NodeKind::Sms { .. } | NodeKind::Goto { .. }
        ) && !jumps.iter().any(|j| j.node == i)
    };
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    for root in 0..n {
        if state[root] != 0 || !passes(root) {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some((i, k)) = stack.pop() {
            let next = successors(&flow.nodes[i].kind);
            match next.get(k) {
                None => state[i] = 2,
                Some(&j) => {
                    stack.push((i, k + 1));
                    let j = j as usize;
                    if passes(j) && state[j] == 1 {
                        d.at(
                            locs[j],
                            format!(
                                "loop through `{}` never waits for the citizen",
                                flow.nodes[j].name
                            ),
                        );
                    } else if passes(j) && state[j] == 0 {
                        state[j] = 1;
                        stack.push((j, 0));
                    }
                }
            }
        }
    }
}

/// The worst cost of `t` in `lang`; `item` gives list fields' maxima.
pub(crate) fn template_cost(
    t: &Template,
    lang: Lang,
    vars: &BTreeMap<String, VarSpec>,
    item: Option<&BTreeMap<String, usize>>,
) -> Cost {
    let mut c = t
        .literal_parts()
        .into_iter()
        .fold(Cost::default(), |c, s| c + Cost::literal(s));
    for (name, filter) in t.variables() {
        let field = name.strip_prefix("item.").and_then(|f| item?.get(f));
        let (len, class) = match (field, vars.get(&name)) {
            (Some(&n), _) => (n, super::super::model::CharClass::Any),
            (None, Some(VarSpec::Text { max_len, class })) => (*max_len, *class),
            // Lists and unknown names were refused before the proof.
            _ => (0, super::super::model::CharClass::Any),
        };
        let len = filter.map_or(len, |f| f.max_output_len(len));
        let localised = lang.localises_digits()
            && matches!(filter, Some(Filter::Number | Filter::Digits | Filter::Date));
        c = c + Cost::value(len, class, localised);
    }
    c
}

struct Proof<'a, 'b> {
    budget: Budget,
    d: &'a mut Diags<'b>,
}

impl Proof<'_, '_> {
    fn check(&mut self, at: Loc, what: &str, lang: Lang, cost: Cost) -> bool {
        match cost.overflow(&self.budget) {
            None => true,
            Some((a, len, limit)) => {
                self.d.at(
                    at,
                    format!(
                        "{what} in `{lang}` can overflow the screen: {}",
                        describe(a, len, limit)
                    ),
                );
                false
            }
        }
    }
}

/// Paginates menus and proves every screen of `flow` fits `budget`.
pub(super) fn screens(flow: &mut Flow, title_at: Loc, locs: &[Loc], budget: Budget, d: &mut Diags) {
    let vars = flow.vars.clone();
    let langs = flow.languages.clone();
    let fallback = langs[0];
    let nav = flow.nav.clone();
    {
        let mut p = Proof { budget, d };
        let invalid = |l: Lang| Cost::literal(Ui::InvalidChoice.text(l));
        for &l in &langs {
            let head = template_cost(flow.title.get(l), l, &vars, None).max(invalid(l));
            let opts = [
                (1, Cost::literal(Ui::Continue.text(l))),
                (2, Cost::literal(Ui::StartOver.text(l))),
            ];
            p.check(
                title_at,
                "the resume screen (title + Continue / Start over)",
                l,
                menu_cost(head, &opts, NavLines::default(), &nav, l),
            );
        }
        for l in Lang::ALL {
            for ui in [Ui::Unavailable, Ui::Expired] {
                p.check(
                    (1, 1),
                    &format!("the built-in screen `{}`", ui.text(Lang::En)),
                    l,
                    Cost::literal(ui.text(l)),
                );
            }
        }
        for (i, node) in flow.nodes.iter_mut().enumerate() {
            let at = locs[i];
            let name = node.name.clone();
            let numbers = match &node.kind {
                NodeKind::Menu { options, .. } => options.len(),
                NodeKind::ListMenu { list, .. } => match vars.get(list.as_str()) {
                    Some(VarSpec::List { max_items, .. }) => *max_items,
                    _ => 0,
                },
                _ => 0,
            };
            for key in [&nav.back, &nav.home, &nav.more] {
                let clash =
                    !key.starts_with('0') && key.parse::<usize>().is_ok_and(|k| k <= numbers);
                if clash {
                    p.d.at(at, format!("menu `{name}` numbers options up to {numbers}, clashing with navigation key `{key}`"));
                }
            }
            match &mut node.kind {
                NodeKind::Menu {
                    text,
                    options,
                    pages,
                } => {
                    for &l in &langs {
                        let head = template_cost(text.get(l), l, &vars, None).max(invalid(l));
                        let costs: Vec<Cost> = options
                            .iter()
                            .map(|o| template_cost(o.label.get(l), l, &vars, None))
                            .collect();
                        let mut out = Vec::new();
                        let mut start = 0;
                        while start < costs.len() {
                            let mut end = start;
                            while end < costs.len() {
                                let page: Vec<(usize, Cost)> =
                                    (start..=end).map(|k| (k + 1, costs[k])).collect();
                                if !menu_cost(head, &page, NavLines::ALL, &nav, l).fits(&budget) {
                                    break;
                                }
                                end += 1;
                            }
                            if end == start {
                                let one = menu_cost(
                                    head,
                                    &[(start + 1, costs[start])],
                                    NavLines::ALL,
                                    &nav,
                                    l,
                                );
                                p.check(
                                    at,
                                    &format!(
                                        "menu `{name}` (heading, option {}, navigation)",
                                        start + 1
                                    ),
                                    l,
                                    one,
                                );
                                break;
                            }
                            out.push((start, end));
                            start = end;
                        }
                        pages[l.index()] = out;
                    }
                    let fb = pages[fallback.index()].clone();
                    for l in Lang::ALL.into_iter().filter(|l| !langs.contains(l)) {
                        pages[l.index()] = fb.clone();
                    }
                }
                NodeKind::ListMenu {
                    text,
                    list,
                    label,
                    per_page,
                    ..
                } => {
                    let Some(VarSpec::List { max_items, fields }) = vars.get(list.as_str()) else {
                        continue;
                    };
                    for &l in &langs {
                        let head = template_cost(text.get(l), l, &vars, None).max(invalid(l));
                        let item = template_cost(label.get(l), l, &vars, Some(fields));
                        let fits = |k: usize| {
                            menu_cost(head, &vec![(*max_items, item); k], NavLines::ALL, &nav, l)
                                .fits(&budget)
                        };
                        let k = (1..=*max_items)
                            .take_while(|&k| fits(k))
                            .last()
                            .unwrap_or(0);
                        if k == 0 {
                            let one =
                                menu_cost(head, &[(*max_items, item)], NavLines::ALL, &nav, l);
                            p.check(
                                at,
                                &format!("list menu `{name}` (heading, one item, navigation)"),
                                l,
                                one,
                            );
                        }
                        per_page[l.index()] = k;
                    }
                    let fb = per_page[fallback.index()];
                    for l in Lang::ALL.into_iter().filter(|l| !langs.contains(l)) {
                        per_page[l.index()] = fb;
                    }
                }
                NodeKind::Language { .. } => {
                    for &l in &langs {
                        let head = Cost::literal(Ui::ChooseLanguage.text(l)).max(invalid(l));
                        let opts: Vec<(usize, Cost)> = langs
                            .iter()
                            .enumerate()
                            .map(|(k, x)| (k + 1, Cost::literal(x.native_name())))
                            .collect();
                        let nav_lines = NavLines {
                            more: false,
                            ..NavLines::ALL
                        };
                        p.check(
                            at,
                            &format!("language menu `{name}`"),
                            l,
                            menu_cost(head, &opts, nav_lines, &nav, l),
                        );
                    }
                }
                NodeKind::Input { prompt, error, .. } => {
                    for &l in &langs {
                        let pc = template_cost(prompt.get(l), l, &vars, None);
                        let ec = template_cost(error.get(l), l, &vars, None);
                        if p.check(at, &format!("prompt of `{name}`"), l, pc) {
                            p.check(
                                at,
                                &format!("error + prompt of `{name}`"),
                                l,
                                Cost::lines([ec, pc]),
                            );
                        }
                    }
                }
                NodeKind::Message { text } => {
                    for &l in &langs {
                        p.check(
                            at,
                            &format!("message `{name}`"),
                            l,
                            template_cost(text.get(l), l, &vars, None),
                        );
                    }
                }
                _ => {}
            }
        }
    }
}
