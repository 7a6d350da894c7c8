//! The variables a flow may use: those declared under `vars:`, and those
//! inputs and list menus imply, each with its worst-case size and
//! characters for the screen proof.

use std::collections::{BTreeMap, BTreeSet};

use super::super::doc::{FlowDoc, Kind};
use super::super::model::{CharClass, Rule, VarSpec};
use super::flow::id_ok;
use super::{loc, Diags};

/// The built-in variable: the citizen's language code (`ar`, `ckb`, `en`),
/// for screens and for back-ends that answer in the citizen's language.
pub(crate) const LANG: &str = "lang";

/// Adds the built-ins to `vars`, refusing a flow that declares or saves
/// under their names.
pub(super) fn builtin_vars(fd: &FlowDoc, vars: &mut BTreeMap<String, VarSpec>, d: &mut Diags) {
    let taken = |at| {
        (
            at,
            format!("`{LANG}` is built in (the citizen's language code); pick another name"),
        )
    };
    let mut clashes: Vec<_> = fd
        .vars
        .0
        .iter()
        .filter(|(k, _)| k.value == LANG)
        .map(|(k, _)| taken(loc(k)))
        .collect();
    for (_, n) in &fd.nodes.value.0 {
        let list_save = n
            .value
            .options_from
            .as_ref()
            .and_then(|o| o.value.save.as_ref());
        for save in n.value.save.iter().chain(list_save) {
            if save.value == LANG {
                clashes.push(taken(loc(save)));
            }
        }
    }
    for (at, msg) in clashes {
        d.at(at, msg);
    }
    let spec = VarSpec::Text {
        max_len: 3,
        class: CharClass::Gsm1,
    };
    vars.insert(LANG.to_owned(), spec);
}

/// The variables under `vars:`; names whose declaration is wrong go to
/// `broken` (reported here, so their uses are not reported again).
pub(super) fn declared_vars(
    fd: &FlowDoc,
    d: &mut Diags,
    broken: &mut BTreeSet<String>,
) -> BTreeMap<String, VarSpec> {
    let mut out = BTreeMap::new();
    for (name, v) in &fd.vars.0 {
        if name.value == LANG {
            continue; // refused by `builtin_vars`
        }
        if !id_ok(&name.value) {
            d.at(
                loc(name),
                format!("variable name `{}` must match [a-z][a-z0-9_]*", name.value),
            );
        }
        let spec = match (&v.value.max_len, &v.value.list) {
            (Some(n), None) if n.value > 0 => VarSpec::Text {
                max_len: n.value,
                class: CharClass::Any,
            },
            (None, Some(list))
                if list.value.max_items.value > 0 && !list.value.fields.0.is_empty() =>
            {
                let mut fields = BTreeMap::new();
                for (f, spec) in &list.value.fields.0 {
                    if spec.value.max_len.value == 0 {
                        d.at(
                            loc(spec),
                            format!("field `{}`: max_len must be at least 1", f.value),
                        );
                    }
                    fields.insert(f.value.clone(), spec.value.max_len.value);
                }
                VarSpec::List {
                    max_items: list.value.max_items.value,
                    fields,
                }
            }
            (None, Some(list)) => {
                d.at(
                    loc(list),
                    "a list needs max_items >= 1 and at least one field",
                );
                broken.insert(name.value.clone());
                continue;
            }
            _ => {
                broken.insert(name.value.clone());
                d.at(
                    loc(v),
                    format!(
                        "variable `{}` needs either max_len >= 1 or list",
                        name.value
                    ),
                );
                continue;
            }
        };
        out.insert(name.value.clone(), spec);
    }
    out
}

/// Variables that inputs and list menus fill without a declaration. An
/// input whose rule is wrong, or a list menu over something that is not a
/// list, puts its `save` name in `broken` (the mistake is reported once,
/// where it is, not at every use of the variable).
pub(super) fn implied_vars(
    fd: &FlowDoc,
    rules: &[Option<Rule>],
    vars: &mut BTreeMap<String, VarSpec>,
    d: &mut Diags,
    broken: &mut BTreeSet<String>,
) {
    let declared = vars.clone();
    for ((_, n), rule) in fd.nodes.value.0.iter().zip(rules) {
        // A call result missing from `vars:` is reported at the call, not
        // again as "undeclared" wherever it is shown.
        for r in n.value.results.iter().flat_map(|r| &r.value) {
            if !fd.vars.0.iter().any(|(k, _)| k.value == r.value) {
                broken.insert(r.value.clone());
            }
        }
        if let (Kind::Input, Some(save), None) = (n.value.kind.value, &n.value.save, rule) {
            broken.insert(save.value.clone());
        }
        if let Some(of) = &n.value.options_from {
            let is_list = matches!(
                declared.get(&of.value.list.value),
                Some(VarSpec::List { .. })
            );
            if let (false, Some(save)) = (is_list, &of.value.save) {
                broken.insert(save.value.clone());
            }
        }
        // A save under the built-in's name is refused by `builtin_vars`.
        let save = n.value.save.as_ref().filter(|s| s.value != LANG);
        if let (Some(save), Some(rule)) = (save, rule) {
            let (len, class) = rule.bound();
            match (declared.get(&save.value), vars.get(&save.value)) {
                (Some(VarSpec::Text { max_len, .. }), _) if *max_len < len => d.at(
                    loc(save),
                    format!("`{}` is declared with max_len {max_len} but this input accepts {len} characters", save.value),
                ),
                (Some(VarSpec::List { .. }), _) => d.at(loc(save), format!("`{}` is a list", save.value)),
                (Some(_), _) => {}
                (None, Some(VarSpec::Text { max_len, class: c })) => {
                    let spec = VarSpec::Text { max_len: len.max(*max_len), class: class.max(*c) };
                    vars.insert(save.value.clone(), spec);
                }
                (None, _) => {
                    vars.insert(save.value.clone(), VarSpec::Text { max_len: len, class });
                }
            }
        }
        if let Some(of) = &n.value.options_from {
            let (Some(save), Some(VarSpec::List { max_items, fields })) =
                (&of.value.save, declared.get(&of.value.list.value))
            else {
                continue;
            };
            if declared.contains_key(&save.value) {
                d.at(
                    loc(save),
                    format!(
                        "`{}` is declared in vars; a list menu saves under a name of its own",
                        save.value
                    ),
                );
                continue;
            }
            let width = max_items.to_string().len();
            vars.insert(
                save.value.clone(),
                VarSpec::Text {
                    max_len: width,
                    class: CharClass::Gsm1,
                },
            );
            for (f, n) in fields {
                vars.insert(
                    format!("{}.{f}", save.value),
                    VarSpec::Text {
                        max_len: *n,
                        class: CharClass::Any,
                    },
                );
            }
        }
    }
}
