//! The flow compiler: `FlowDoc`s -> a checked `FlowSet`, or every problem
//! found, each with path:line:column.
//!
//! Per flow (`flow.rs`, `node.rs`): names resolve to indices, targets,
//! translations, variables, regexes, ranges, back-ends and reachability are
//! checked; `proof.rs` paginates menus and proves every screen fits the
//! budget. Across flows (here): duplicate ids, service codes and keywords,
//! and `goto: {flow}` targets. Pure: no file I/O (the CLI reads files).

mod flow;
mod guard;
mod node;
mod pages;
mod proof;
mod reach;
mod rule;
mod vars;

pub(crate) use vars::LANG;

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::diagnostic::{CompileContext, Diagnostic, Source};
use super::dial;
use super::doc::{self, Spanned};
use super::model::{FlowSet, Goto, NodeKind};
use super::normalize;

/// Collects diagnostics for one file.
pub(crate) struct Diags<'a> {
    pub path: &'a str,
    pub list: Vec<Diagnostic>,
}

/// A 1-based line and column.
pub(crate) type Loc = (usize, usize);

/// Where a spanned value starts.
pub(crate) fn loc<T>(s: &Spanned<T>) -> Loc {
    (s.referenced.line() as usize, s.referenced.column() as usize)
}

impl Diags<'_> {
    pub fn at(&mut self, (line, column): Loc, message: impl Into<String>) {
        self.list.push(Diagnostic {
            path: self.path.to_string(),
            line,
            column,
            message: message.into(),
        });
    }
}

/// A `goto: {flow}` waiting for every flow to be known.
pub(crate) struct FlowJump {
    pub node: usize,
    pub target: String,
    pub loc: Loc,
}

/// Parses and checks flow files. Reports every problem at once.
pub fn compile(sources: &[Source], ctx: &CompileContext) -> Result<FlowSet, Vec<Diagnostic>> {
    let mut all = Vec::new();
    let mut built = Vec::new();
    let mut broken = Vec::new();
    // Ids of every flow that parsed, built or not: a goto to a flow that
    // has its own problems is not also an "unknown flow".
    let mut known = std::collections::BTreeSet::new();
    for src in sources {
        let mut d = Diags {
            path: &src.path,
            list: Vec::new(),
        };
        match doc::parse(&src.text) {
            Err((line, col, msg)) => d.at((line, col), msg),
            Ok(fd) => {
                known.insert(fd.id.value.clone());
                match flow::build(&fd, ctx, &mut d) {
                    Some(out) => built.push((src, fd, out)),
                    None => broken.push((src, fd)),
                }
            }
        }
        all.extend(d.list);
    }
    // `goto: {flow}` to no flow at all, also in flows with other problems
    // (built flows are checked when their jumps are resolved below).
    for (src, fd) in &broken {
        for (_, n) in &fd.nodes.value.0 {
            if let Some(target) = n.value.flow.as_ref().filter(|t| !known.contains(&t.value)) {
                all.push(Diagnostic {
                    path: src.path.clone(),
                    line: loc(target).0,
                    column: loc(target).1,
                    message: format!("goto: unknown flow `{}`", target.value),
                });
            }
        }
    }
    let mut set = FlowSet {
        flows: Vec::new(),
        retired: Vec::new(),
        codes: Vec::new(),
        keywords: BTreeMap::new(),
        budget: ctx.budget,
    };
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut codes: BTreeMap<String, String> = BTreeMap::new();
    let mut jumps = Vec::new();
    for (src, fd, (mut flow, flow_jumps)) in built {
        flow.checksum = Sha256::digest(src.text.as_bytes()).into();
        let mut d = Diags {
            path: &src.path,
            list: Vec::new(),
        };
        let index = set.flows.len();
        if let Some(prev) = ids.insert(flow.id.clone(), src.path.clone()) {
            d.at(
                loc(&fd.id),
                format!("duplicate flow id `{}` (also in {prev})", flow.id),
            );
        }
        for code in &fd.entry.ussd {
            match dial::parse(&code.value) {
                Err(e) => d.at(loc(code), format!("bad service code `{}`: {e}", code.value)),
                Ok(parsed) => {
                    let canon = parsed.canonical();
                    match codes.get(&canon) {
                        Some(other) => d.at(
                            loc(code),
                            format!("duplicate service code `{canon}` (also flow `{other}`)"),
                        ),
                        None => {
                            codes.insert(canon.clone(), flow.id.clone());
                            set.codes.push((canon, index));
                        }
                    }
                }
            }
        }
        for kw in &fd.entry.sms {
            let norm = normalize::keyword(&kw.value);
            if norm.is_empty() || norm.contains(' ') {
                d.at(
                    loc(kw),
                    format!("SMS keyword `{}` must be one word", kw.value),
                );
            } else if let Some(&other) = set.keywords.get(&norm) {
                let other: &str = set.flows.get(other).map_or(&flow.id, |f| &f.id);
                d.at(
                    loc(kw),
                    format!("duplicate SMS keyword `{}` (also flow `{other}`)", kw.value),
                );
            } else {
                set.keywords.insert(norm, index);
            }
        }
        jumps.push((src, flow_jumps));
        all.extend(d.list);
        set.flows.push(Arc::new(flow));
    }
    for (i, (src, flow_jumps)) in jumps.into_iter().enumerate() {
        let mut d = Diags {
            path: &src.path,
            list: Vec::new(),
        };
        for j in flow_jumps {
            match set.index_of(&j.target) {
                Some(_) => {
                    // Not shared before `compile` returns.
                    if let Some(flow) = Arc::get_mut(&mut set.flows[i]) {
                        flow.nodes[j.node].kind = NodeKind::Goto {
                            to: Goto::Flow(j.target),
                        };
                    }
                }
                None if known.contains(&j.target) => {}
                None => d.at(j.loc, format!("goto: unknown flow `{}`", j.target)),
            }
        }
        all.extend(d.list);
    }
    if all.is_empty() {
        Ok(set)
    } else {
        all.sort();
        all.dedup();
        Err(all)
    }
}
