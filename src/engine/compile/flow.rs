//! Compiling one flow file: header, variables, node names, then each node
//! (`node.rs`), the graph checks, and the screen proof (`proof.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::super::diagnostic::CompileContext;
use super::super::doc::{FlowDoc, Spanned, Texts as TextsDoc};
use super::super::lang::Lang;
use super::super::model::{CharClass, Flow, Navigation, NodeId, Rule, Texts, VarSpec};
use super::super::template::Template;
use super::{loc, node, proof, reach, rule, vars, Diags, FlowJump, Loc};

/// What every node of a flow is compiled against.
pub(super) struct Cx<'a> {
    pub languages: Vec<Lang>,
    pub vars: BTreeMap<String, VarSpec>,
    /// Names declared under `vars:` (call results must be among them).
    pub declared: BTreeSet<String>,
    pub names: BTreeMap<&'a str, NodeId>,
    pub ctx: &'a CompileContext,
    /// Variables whose declaration (or filling input / list menu) has a
    /// problem already reported: their uses are not reported again.
    pub broken: BTreeSet<String>,
    /// Unknown codes already reported in `languages:`, not again per text.
    pub bad_langs: BTreeSet<String>,
}

/// Which variables a text may use.
#[derive(Clone, Copy)]
pub(super) enum Scope<'a> {
    /// None (titles).
    Nothing,
    /// The flow's variables.
    Vars,
    /// The flow's variables and `item.<field>` of a list.
    Item(&'a BTreeMap<String, usize>),
}

impl Cx<'_> {
    /// A node name -> its index, or a diagnostic.
    pub fn target(&self, name: &Spanned<String>, d: &mut Diags) -> Option<NodeId> {
        let id = self.names.get(name.value.as_str()).copied();
        if id.is_none() {
            let hint = reach::suggest(&name.value, self.names.keys().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            d.at(
                loc(name),
                format!("unknown target node `{}`{hint}", name.value),
            );
        }
        id
    }

    /// Whether `name` (or the list menu choice `name` is a field of) had
    /// its problem reported where it is declared.
    pub fn is_broken(&self, name: &str) -> bool {
        let root = name.split('.').next().unwrap_or(name);
        self.broken.contains(name) || self.broken.contains(root)
    }

    /// Worst-case length and characters of a template variable.
    pub fn resolve(&self, name: &str, scope: Scope) -> Result<(usize, CharClass), String> {
        if self.is_broken(name) && !matches!(scope, Scope::Nothing) {
            return Ok((0, CharClass::Any));
        }
        if let (Some(field), Scope::Item(fields)) = (name.strip_prefix("item."), scope) {
            return fields
                .get(field)
                .map(|&n| (n, CharClass::Any))
                .ok_or_else(|| format!("the list has no field `{field}`"));
        }
        match (self.vars.get(name), scope) {
            (_, Scope::Nothing) => Err(format!(
                "variable `{name}` not allowed here (titles are fixed text)"
            )),
            (Some(VarSpec::Text { max_len, class }), _) => Ok((*max_len, *class)),
            (Some(VarSpec::List { .. }), _) => {
                Err(format!("`{name}` is a list: show it with options_from"))
            }
            (None, _) => Err(format!("undeclared variable `{name}`")),
        }
    }

    /// Parses one template and checks its variables.
    pub fn template(&self, src: &Spanned<String>, scope: Scope, d: &mut Diags) -> Option<Template> {
        match Template::parse(&src.value) {
            Err(e) => {
                d.at(
                    loc(src),
                    format!("bad template at character {}: {}", e.offset, e.message),
                );
                None
            }
            Ok(t) => {
                let mut ok = true;
                for (name, _) in t.variables() {
                    if let Err(why) = self.resolve(&name, scope) {
                        d.at(loc(src), why);
                        ok = false;
                    }
                }
                ok.then_some(t)
            }
        }
    }

    /// A translated text: every flow language present, each a valid template.
    pub fn texts(&self, t: &Spanned<TextsDoc>, scope: Scope, d: &mut Diags) -> Option<Texts> {
        let mut got: [Option<Template>; 3] = [None, None, None];
        let mut ok = true;
        for (key, src) in &t.value.0 {
            match Lang::from_code(&key.value) {
                Some(l) if self.languages.contains(&l) => match self.template(src, scope, d) {
                    Some(tpl) => got[l.index()] = Some(tpl),
                    None => ok = false,
                },
                Some(l) => {
                    d.at(
                        loc(key),
                        format!("text in `{l}`, which is not in the flow's languages"),
                    );
                    ok = false;
                }
                None => {
                    if !self.bad_langs.contains(&key.value) {
                        d.at(
                            loc(key),
                            format!("unknown language `{}` (expected ar, ckb or en)", key.value),
                        );
                    }
                    ok = false;
                }
            }
        }
        for l in &self.languages {
            if got[l.index()].is_none() && t.value.get(l.code()).is_none() {
                d.at(loc(t), format!("missing translation `{l}`"));
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let fallback = got[self.languages[0].index()].clone()?;
        Some(Texts(got.map(|t| t.unwrap_or_else(|| fallback.clone()))))
    }
}

pub(super) fn id_ok(id: &str) -> bool {
    let mut cs = id.chars();
    matches!(cs.next(), Some('a'..='z')) && cs.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// The flow's languages; unknown codes are reported and go to `bad`.
fn languages(fd: &FlowDoc, d: &mut Diags, bad: &mut BTreeSet<String>) -> Vec<Lang> {
    let mut out = Vec::new();
    for l in &fd.languages.value {
        match Lang::from_code(&l.value) {
            Some(x) if out.contains(&x) => d.at(loc(l), format!("language `{x}` listed twice")),
            Some(x) => out.push(x),
            None => {
                d.at(
                    loc(l),
                    format!("unknown language `{}` (expected ar, ckb or en)", l.value),
                );
                bad.insert(l.value.clone());
            }
        }
    }
    if out.is_empty() && fd.languages.value.is_empty() {
        d.at(loc(&fd.languages), "a flow needs at least one language");
    }
    out
}

fn navigation(fd: &FlowDoc, d: &mut Diags) -> Navigation {
    let mut nav = Navigation::default();
    if let Some(n) = &fd.navigation {
        for (slot, key) in [
            (&mut nav.back, &n.value.back),
            (&mut nav.home, &n.value.home),
            (&mut nav.more, &n.value.more),
        ] {
            if let Some(k) = key {
                if k.value.is_empty()
                    || !k
                        .value
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
                {
                    d.at(
                        loc(k),
                        format!("navigation key `{}` must be digits, `*` or `#`", k.value),
                    );
                } else if k.value.ends_with('#') {
                    // Replies are normalised without a trailing `#`.
                    d.at(
                        loc(k),
                        format!(
                            "navigation key `{}` must not end with `#` (handsets add or strip it)",
                            k.value
                        ),
                    );
                }
                *slot = k.value.clone();
            }
        }
        if nav.back == nav.home || nav.back == nav.more || nav.home == nav.more {
            d.at(loc(n), "navigation keys back, home and more must differ");
        }
    }
    nav
}

/// Compiles one flow; `None` if it has any problem (all reported in `d`).
pub(super) fn build(
    fd: &FlowDoc,
    ctx: &CompileContext,
    d: &mut Diags,
) -> Option<(Flow, Vec<FlowJump>)> {
    let before = d.list.len();
    if !id_ok(&fd.id.value) {
        d.at(
            loc(&fd.id),
            format!("flow id `{}` must match [a-z][a-z0-9_]*", fd.id.value),
        );
    }
    if fd.version.value == 0 {
        d.at(loc(&fd.version), "version must be a positive integer");
    }
    let mut bad_langs = BTreeSet::new();
    let languages = languages(fd, d, &mut bad_langs);
    let mut broken = BTreeSet::new();
    let nav = navigation(fd, d);
    let mut vars = vars::declared_vars(fd, d, &mut broken);
    // Every name written under `vars:`, well declared or not.
    let declared = fd.vars.0.iter().map(|(k, _)| k.value.clone()).collect();
    let rules: Vec<Option<Rule>> = fd
        .nodes
        .value
        .0
        .iter()
        .map(|(_, n)| rule::rule(n, d))
        .collect();
    vars::implied_vars(fd, &rules, &mut vars, d, &mut broken);
    vars::builtin_vars(fd, &mut vars, d);
    let mut names = BTreeMap::new();
    for (i, (name, _)) in fd.nodes.value.0.iter().enumerate() {
        if names.insert(name.value.as_str(), i as NodeId).is_some() {
            d.at(loc(name), format!("duplicate node `{}`", name.value));
        }
    }
    if fd.nodes.value.0.len() > NodeId::MAX as usize / 2 {
        d.at(loc(&fd.nodes), "too many nodes");
    }
    if languages.is_empty() {
        return None;
    }
    let cx = Cx {
        languages,
        vars,
        declared,
        names,
        ctx,
        broken,
        bad_langs,
    };
    let start = cx.target(&fd.start, d);
    let title = cx.texts(&fd.title, Scope::Nothing, d);
    reach::unreachable(fd, d);
    let mut jumps = Vec::new();
    let mut nodes = Vec::new();
    let mut locs: Vec<Loc> = Vec::new();
    for (i, ((name, n), rule)) in fd.nodes.value.0.iter().zip(rules).enumerate() {
        locs.push(loc(name));
        if let Some(kind) = node::build(&cx, n, rule, d) {
            if let node::Built::Jump(target, at) = &kind {
                jumps.push(FlowJump {
                    node: i,
                    target: target.clone(),
                    loc: *at,
                });
            }
            nodes.push(super::super::model::Node {
                name: name.value.clone(),
                kind: kind.into_kind(),
            });
        }
    }
    if d.list.len() > before {
        return None;
    }
    let mut flow = Flow {
        id: fd.id.value.clone(),
        version: fd.version.value,
        checksum: [0; 32], // of the file's text, set by `compile`
        title: title?,
        languages: cx.languages,
        resume: fd.resume.as_ref().is_none_or(|r| r.value),
        codes: fd.entry.ussd.iter().map(|c| c.value.clone()).collect(),
        keywords: fd.entry.sms.iter().map(|k| k.value.clone()).collect(),
        nav,
        vars: cx.vars,
        start: start?,
        nodes,
    };
    proof::graph(&flow, &locs, &jumps, d);
    super::guard::personal_data(&flow, &locs, d);
    proof::screens(&mut flow, loc(&fd.title), &locs, ctx.budget, d);
    if d.list.len() > before {
        return None;
    }
    Some((flow, jumps))
}
