//! Graph checks and the screen-budget proof.
//!
//! Every screen a flow can show is measured in every language at its worst
//! case: each variable at its declared maximum length, in its widest
//! characters (two GSM-7 septets for an extension-table character, or a
//! forced switch to UCS-2 when the value may hold non-GSM characters or a
//! filter writes Arabic-Indic digits), filters' growth included. Menus are
//! paginated here, each page with the wider of the heading and "Invalid
//! choice" and exactly the navigation lines that page can carry: `98. More`
//! on every page but the last, `0. Back` on later pages and wherever the
//! node can be shown with back history, `00. Home` where it can be shown
//! with history and is not the start node (see `with_history`). Each page
//! is proven to fit.

use std::collections::BTreeMap;

use super::super::lang::{Lang, Ui};
use super::super::model::{Flow, Goto, NodeId, NodeKind, VarSpec};
use super::super::screen::{describe, menu_cost, Cost, NavLines};
use super::super::template::{Filter, Template};
use super::{pages, Diags, FlowJump, Loc};
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

/// For each node: whether it can be on screen with a non-empty back
/// history. History grows only when the citizen answers a waiting node
/// (`push_history`, then the next node is entered), is cleared by `00` and
/// by `goto: {flow}`, and going back restores a screen with the history it
/// had. So a node has history exactly when some waiting node leads to it
/// through nodes that run straight through.
pub(crate) fn with_history(flow: &Flow) -> Vec<bool> {
    let n = flow.nodes.len();
    let mut seen = vec![false; n];
    let mut out = vec![false; n];
    let mut todo: Vec<NodeId> = flow
        .nodes
        .iter()
        .filter(|n| n.is_interactive())
        .flat_map(|n| successors(&n.kind))
        .collect();
    while let Some(i) = todo.pop() {
        let i = i as usize;
        if i >= n || std::mem::replace(&mut seen[i], true) {
            continue;
        }
        match flow.nodes[i].is_interactive() {
            true => out[i] = true,
            false => todo.extend(successors(&flow.nodes[i].kind)),
        }
    }
    out
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
    let history = with_history(flow);
    let start_node = flow.start as usize;
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
            // The navigation lines page `page` of this node can carry.
            let lines = |page: usize, more: bool| NavLines {
                more,
                back: page > 0 || history[i],
                home: history[i] && i != start_node,
            };
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
                        let menu = pages::Menu {
                            head,
                            costs: &costs,
                            keys: &nav,
                            lang: l,
                            budget,
                        };
                        match menu.both(history[i], i == start_node) {
                            Ok(both) => pages[l.index()] = both,
                            Err((k, cost)) => {
                                let what = format!(
                                    "menu `{name}` (heading, option {}, navigation)",
                                    k + 1
                                );
                                p.check(at, &what, l, cost);
                            }
                        }
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
                        // Every page has at most k items; with more than
                        // one page, any of them may carry all three lines.
                        let cost = |k: usize| {
                            let paged = k < *max_items;
                            let nav_lines = lines(usize::from(paged), paged);
                            menu_cost(head, &vec![(*max_items, item); k], nav_lines, &nav, l)
                        };
                        let k = (1..=*max_items)
                            .rev()
                            .find(|&k| cost(k).fits(&budget))
                            .unwrap_or(0);
                        if k == 0 {
                            p.check(
                                at,
                                &format!("list menu `{name}` (heading, one item, navigation)"),
                                l,
                                cost(1),
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
                        let nav_lines = lines(0, false);
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
