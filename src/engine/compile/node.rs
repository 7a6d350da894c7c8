//! Compiling one node: which fields its kind allows and needs, its targets,
//! texts, validation rule, back-end operation and branch conditions.

use super::super::doc::{Kind, LabelDoc, NodeDoc, Spanned};
use super::super::expr::Expr;
use super::super::model::{Goto, MenuOption, NodeId, NodeKind, Rule, Texts, VarSpec};
use super::super::session::Outcome;
use super::flow::{Cx, Scope};
use super::{loc, Diags, Loc};

/// A compiled node, or a jump to a flow resolved once all flows are known.
pub(super) enum Built {
    Kind(NodeKind),
    Jump(String, Loc),
}

impl Built {
    pub fn into_kind(self) -> NodeKind {
        match self {
            Built::Kind(k) => k,
            // Replaced by the cross-flow pass (or reported as unknown).
            Built::Jump(..) => NodeKind::Goto {
                to: Goto::Flow(String::new()),
            },
        }
    }
}

fn fields(n: &NodeDoc) -> [(&'static str, Option<Loc>); 21] {
    [
        ("text", n.text.as_ref().map(loc)),
        ("prompt", n.prompt.as_ref().map(loc)),
        ("error", n.error.as_ref().map(loc)),
        ("options", n.options.as_ref().map(loc)),
        ("options_from", n.options_from.as_ref().map(loc)),
        ("next", n.next.as_ref().map(loc)),
        ("validate", n.validate.as_ref().map(loc)),
        ("save", n.save.as_ref().map(loc)),
        ("secret", n.secret.as_ref().map(loc)),
        ("backend", n.backend.as_ref().map(loc)),
        ("operation", n.operation.as_ref().map(loc)),
        ("params", n.params.as_ref().map(loc)),
        ("results", n.results.as_ref().map(loc)),
        ("on", n.on.as_ref().map(loc)),
        ("verifies", n.verifies.as_ref().map(loc)),
        ("wrong", n.wrong.as_ref().map(loc)),
        ("personal", n.personal.as_ref().map(loc)),
        ("cases", n.cases.as_ref().map(loc)),
        ("else", n.else_.as_ref().map(loc)),
        ("node", n.node.as_ref().map(loc)),
        ("flow", n.flow.as_ref().map(loc)),
    ]
}

fn allowed(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Menu => &["text", "options", "options_from"],
        Kind::Language => &["next"],
        Kind::Input => &["prompt", "error", "validate", "save", "secret", "next"],
        Kind::Call => &[
            "backend",
            "operation",
            "params",
            "results",
            "on",
            "verifies",
            "wrong",
            "personal",
        ],
        Kind::Message => &["text"],
        Kind::Sms => &["text", "next"],
        Kind::Branch => &["cases", "else"],
        Kind::Goto => &["node", "flow"],
    }
}

fn need<'a, T>(
    f: &'a Option<Spanned<T>>,
    name: &str,
    n: &Spanned<NodeDoc>,
    d: &mut Diags,
) -> Option<&'a Spanned<T>> {
    if f.is_none() {
        let what = if matches!(name, "next" | "else" | "on") {
            "node with no way out: "
        } else {
            ""
        };
        d.at(
            loc(n),
            format!(
                "{what}a `{}` node needs `{name}`",
                n.value.kind.value.name()
            ),
        );
    }
    f.as_ref()
}

/// Compiles one node; `None` on any problem (reported in `d`).
pub(super) fn build(
    cx: &Cx,
    n: &Spanned<NodeDoc>,
    rule: Option<Rule>,
    d: &mut Diags,
) -> Option<Built> {
    let kind = n.value.kind.value;
    let before = d.list.len();
    for (name, at) in fields(&n.value) {
        if let Some(at) = at {
            if !allowed(kind).contains(&name) {
                d.at(
                    at,
                    format!("`{name}` is not allowed on a `{}` node", kind.name()),
                );
            }
        }
    }
    let nd = &n.value;
    let built = match kind {
        Kind::Menu => menu(cx, n, d),
        Kind::Language => Some(NodeKind::Language {
            next: cx.target(need(&nd.next, "next", n, d)?, d)?,
        }),
        Kind::Input => input(cx, n, rule, d),
        Kind::Call => call(cx, n, d),
        Kind::Message => Some(NodeKind::Message {
            text: cx.texts(need(&nd.text, "text", n, d)?, Scope::Vars, d)?,
        }),
        Kind::Sms => {
            let text = need(&nd.text, "text", n, d);
            let text = text.and_then(|t| cx.texts(t, Scope::Vars, d));
            let next = need(&nd.next, "next", n, d);
            let next = next.and_then(|t| cx.target(t, d));
            Some(NodeKind::Sms {
                text: text?,
                next: next?,
            })
        }
        Kind::Branch => branch(cx, n, d),
        Kind::Goto => match (&nd.node, &nd.flow) {
            (Some(t), None) => Some(NodeKind::Goto {
                to: Goto::Node(cx.target(t, d)?),
            }),
            (None, Some(f)) => {
                return (d.list.len() == before).then(|| Built::Jump(f.value.clone(), loc(f)))
            }
            _ => {
                d.at(
                    loc(n),
                    "node with no way out: a `goto` node needs exactly one of `node` or `flow`",
                );
                None
            }
        },
    };
    (d.list.len() == before).then_some(Built::Kind(built?))
}

fn menu(cx: &Cx, n: &Spanned<NodeDoc>, d: &mut Diags) -> Option<NodeKind> {
    let nd = &n.value;
    let text = need(&nd.text, "text", n, d);
    let text = text.and_then(|t| cx.texts(t, Scope::Vars, d));
    match (&nd.options, &nd.options_from) {
        (Some(opts), None) => {
            if opts.value.is_empty() {
                d.at(
                    loc(opts),
                    "node with no way out: a menu needs at least one option",
                );
            }
            let mut options = Vec::new();
            let mut ok = true;
            for o in &opts.value {
                let label = cx.texts(&o.value.label, Scope::Vars, d);
                let next = cx.target(&o.value.next, d);
                match (label, next) {
                    (Some(label), Some(next)) => options.push(MenuOption { label, next }),
                    _ => ok = false,
                }
            }
            ok.then_some(())?;
            Some(NodeKind::Menu {
                text: text?,
                options,
                pages: Default::default(),
            })
        }
        (None, Some(of)) => {
            let of = &of.value;
            let Some(VarSpec::List { fields, .. }) = cx.vars.get(&of.list.value) else {
                if cx.is_broken(&of.list.value) {
                    return None; // reported at its declaration
                }
                d.at(
                    loc(&of.list),
                    format!("options_from: `{}` is not a declared list", of.list.value),
                );
                return None;
            };
            let label = label(cx, &of.label, fields, d);
            let next = cx.target(&of.next, d);
            Some(NodeKind::ListMenu {
                text: text?,
                list: of.list.value.clone(),
                label: label?,
                save: of.save.as_ref().map(|s| s.value.clone()),
                next: next?,
                per_page: [0; 3],
            })
        }
        _ => {
            d.at(
                loc(n),
                "node with no way out: a menu needs exactly one of `options` or `options_from`",
            );
            None
        }
    }
}

fn label(
    cx: &Cx,
    l: &Spanned<LabelDoc>,
    fields: &std::collections::BTreeMap<String, usize>,
    d: &mut Diags,
) -> Option<Texts> {
    let at = |s: &str| Spanned::new(s.to_string(), l.referenced, l.defined);
    match &l.value {
        LabelDoc::One(s) => {
            let t = cx.template(&at(s), Scope::Item(fields), d)?;
            Some(Texts([t.clone(), t.clone(), t]))
        }
        LabelDoc::PerLang(map) => {
            let mut doc = super::super::doc::OrderedMap::default();
            for (k, v) in map {
                doc.0.push((at(k), at(v)));
            }
            cx.texts(
                &Spanned::new(doc, l.referenced, l.defined),
                Scope::Item(fields),
                d,
            )
        }
    }
}

fn input(cx: &Cx, n: &Spanned<NodeDoc>, rule: Option<Rule>, d: &mut Diags) -> Option<NodeKind> {
    let nd = &n.value;
    let prompt = need(&nd.prompt, "prompt", n, d);
    let prompt = prompt.and_then(|t| cx.texts(t, Scope::Vars, d));
    let error = need(&nd.error, "error", n, d);
    let error = error.and_then(|t| cx.texts(t, Scope::Vars, d));
    let validate = need(&nd.validate, "validate", n, d);
    let save = need(&nd.save, "save", n, d);
    let next = need(&nd.next, "next", n, d);
    let next = next.and_then(|t| cx.target(t, d));
    let (_, save) = (validate?, save?);
    Some(NodeKind::Input {
        prompt: prompt?,
        error: error?,
        rule: rule?,
        save: save.value.clone(),
        secret: nd.secret.as_ref().is_some_and(|s| s.value),
        next: next?,
    })
}

fn call(cx: &Cx, n: &Spanned<NodeDoc>, d: &mut Diags) -> Option<NodeKind> {
    let nd = &n.value;
    let backend = need(&nd.backend, "backend", n, d);
    let operation = need(&nd.operation, "operation", n, d);
    let on = need(&nd.on, "on", n, d);
    // Everything else is still checked when a field is missing, so all
    // the node's problems come out at once.
    if let (Some(known), Some(backend), Some(operation)) = (&cx.ctx.backends, backend, operation) {
        match known.get(&backend.value) {
            None => d.at(loc(backend), format!("unknown backend `{}`", backend.value)),
            Some(ops) if !ops.contains(&operation.value) => d.at(
                loc(operation),
                format!(
                    "backend `{}` has no operation `{}`",
                    backend.value, operation.value
                ),
            ),
            Some(_) => {}
        }
    }
    let mut params = Vec::new();
    for (k, v) in nd.params.as_ref().map_or(&[][..], |p| &p.value.0) {
        if let Some(t) = cx.template(v, Scope::Vars, d) {
            params.push((k.value.clone(), t));
        }
    }
    let mut results = Vec::new();
    for r in nd.results.as_ref().map_or(&[][..], |r| &r.value) {
        if !cx.declared.contains(&r.value) {
            d.at(
                loc(r),
                format!(
                    "result `{}` is not declared in vars (with its max_len)",
                    r.value
                ),
            );
        }
        results.push(r.value.clone());
    }
    let (backend, operation, on) = (backend?, operation?, on?);
    let mut targets: [Option<NodeId>; 4] = [None; 4];
    for (k, v) in &on.value.0 {
        match Outcome::ALL.into_iter().find(|o| o.key() == k.value) {
            Some(o) => targets[o.index()] = cx.target(v, d),
            None => d.at(
                loc(k),
                format!(
                    "unknown outcome `{}` (expected ok, not_found, failed, timeout)",
                    k.value
                ),
            ),
        }
    }
    let failed = targets[Outcome::Failed.index()];
    for o in [Outcome::Ok, Outcome::Failed] {
        if on.value.get(o.key()).is_none() {
            d.at(
                loc(on),
                format!("node with no way out: `on` needs `{}`", o.key()),
            );
        }
    }
    let check = super::guard::secret_check(nd, d);
    let ok = targets[Outcome::Ok.index()]?;
    let failed = failed?;
    let or_failed = |o: Outcome| targets[o.index()].unwrap_or(failed);
    Some(NodeKind::Call {
        backend: backend.value.clone(),
        operation: operation.value.clone(),
        params,
        results,
        on: [
            ok,
            or_failed(Outcome::NotFound),
            failed,
            or_failed(Outcome::Timeout),
        ],
        check: check?,
        personal: nd.personal.as_ref().is_some_and(|p| p.value),
    })
}

fn branch(cx: &Cx, n: &Spanned<NodeDoc>, d: &mut Diags) -> Option<NodeKind> {
    let nd = &n.value;
    let cases = need(&nd.cases, "cases", n, d);
    let otherwise = need(&nd.else_, "else", n, d);
    let otherwise = otherwise.and_then(|t| cx.target(t, d));
    let cases = cases?;
    let mut out = Vec::new();
    for c in &cases.value {
        let next = cx.target(&c.value.next, d);
        match Expr::parse(&c.value.cond.value) {
            Err(e) => d.at(
                loc(&c.value.cond),
                format!("bad condition at character {}: {}", e.offset, e.message),
            ),
            Ok(expr) => {
                for v in expr.variables() {
                    if !cx.vars.contains_key(&v) && !cx.is_broken(&v) {
                        d.at(
                            loc(&c.value.cond),
                            format!("undeclared variable `{v}` in condition"),
                        );
                    }
                }
                if let Some(next) = next {
                    out.push((expr, next));
                }
            }
        }
    }
    Some(NodeKind::Branch {
        cases: out,
        otherwise: otherwise?,
    })
}
