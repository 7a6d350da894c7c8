//! Reachability on the raw document, and "did you mean" for misspelt node
//! names, so one mistake is reported once: a misspelt target counts as
//! leading to the node it most likely names, and when a node reached from
//! the start has a way out that is missing or names nothing like a node,
//! no node is reported unreachable (it may be the one that way out was
//! meant to reach). Of an unreachable region only its entry is reported.

use super::super::doc::{FlowDoc, Kind, NodeDoc};
use super::{loc, Diags};

/// The node name `wrong` most likely means: the closest by edit distance,
/// if close enough (at most a third of its length, at least 1).
pub(super) fn suggest<'a>(wrong: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // Edit distance is quadratic in the lengths: no guesses for names no
    // one would type, so a hostile file cannot make each miss cost seconds.
    const LONGEST: usize = 64;
    let limit = (wrong.chars().count() / 3).max(1);
    if wrong.len() > LONGEST {
        return None;
    }
    names
        .filter(|n| n.len() <= LONGEST)
        .map(|n| (distance(wrong, n), n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Edit distance with adjacent transpositions (`mian` -> `main` is 1),
/// over characters (names are short).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let w = b.len() + 1;
    let mut m: Vec<usize> = vec![0; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            m[i * w + j] = match (i, j) {
                (0, j) => j,
                (i, 0) => i,
                (i, j) => {
                    let sub = m[(i - 1) * w + j - 1] + usize::from(a[i - 1] != b[j - 1]);
                    let mut best = sub.min(m[(i - 1) * w + j] + 1).min(m[i * w + j - 1] + 1);
                    if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                        best = best.min(m[(i - 2) * w + j - 2] + 1);
                    }
                    best
                }
            };
        }
    }
    m[a.len() * w + b.len()]
}

/// Node names a node's fields point at (before anything is resolved).
fn targets(n: &NodeDoc) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    out.extend(
        n.options
            .iter()
            .flat_map(|o| o.value.iter().map(|o| o.value.next.value.as_str())),
    );
    out.extend(n.options_from.iter().map(|o| o.value.next.value.as_str()));
    out.extend(
        n.on.iter()
            .flat_map(|o| o.value.0.iter().map(|(_, v)| v.value.as_str())),
    );
    out.extend(
        n.cases
            .iter()
            .flat_map(|c| c.value.iter().map(|c| c.value.next.value.as_str())),
    );
    out.extend(
        [&n.next, &n.else_, &n.node]
            .into_iter()
            .flatten()
            .map(|t| t.value.as_str()),
    );
    out
}

/// A way out the node's kind needs is missing (reported by `node.rs` as
/// "node with no way out").
fn missing_way_out(n: &NodeDoc) -> bool {
    match n.kind.value {
        Kind::Menu => match (&n.options, &n.options_from) {
            (Some(o), None) => o.value.is_empty(),
            (None, Some(_)) => false,
            _ => true,
        },
        Kind::Language | Kind::Input | Kind::Sms => n.next.is_none(),
        Kind::Branch => n.else_.is_none(),
        Kind::Call => {
            n.on.as_ref()
                .is_none_or(|on| on.value.get("ok").is_none() || on.value.get("failed").is_none())
        }
        Kind::Goto => n.node.is_some() == n.flow.is_some(),
        Kind::Message => false,
    }
}

/// Reports the entry of each region no path from `start` reaches, unless
/// a reached node's way out is missing or unresolvable.
pub(super) fn unreachable(fd: &FlowDoc, d: &mut Diags) {
    let nodes = &fd.nodes.value.0;
    let names = || nodes.iter().map(|(k, _)| k.value.as_str());
    // Name -> first node of that name, built once: lookups by scanning the
    // nodes made this cubic, minutes for a flow of a few thousand nodes.
    let mut by_name = std::collections::HashMap::new();
    for (i, name) in names().enumerate() {
        by_name.entry(name).or_insert(i);
    }
    let index = |name: &str| match by_name.get(name) {
        Some(&i) => Some(i),
        None => suggest(name, names()).and_then(|n| by_name.get(n).copied()),
    };
    let walk = |from: Vec<usize>, seen: &mut Vec<bool>| {
        let mut open = false;
        let mut todo = from;
        while let Some(i) = todo.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let n = &nodes[i].1.value;
            let next: Vec<Option<usize>> = targets(n).into_iter().map(index).collect();
            open |= missing_way_out(n) || next.contains(&None);
            todo.extend(next.into_iter().flatten());
        }
        open
    };
    let mut seen = vec![false; nodes.len()];
    let Some(start) = index(&fd.start.value) else {
        return;
    };
    if walk(vec![start], &mut seen) {
        return;
    }
    // Entries first: unreachable nodes nothing else points at; then what
    // is left (loops of unreachable nodes), in file order.
    if seen.iter().all(|&s| s) {
        return;
    }
    let mut pointed = vec![false; nodes.len()];
    for (_, n) in nodes {
        for i in targets(&n.value).into_iter().filter_map(index) {
            pointed[i] = true;
        }
    }
    let order = (0..nodes.len())
        .filter(|&i| !pointed[i])
        .chain((0..nodes.len()).filter(|&i| pointed[i]));
    for i in order.collect::<Vec<_>>() {
        if !seen[i] {
            let before = seen.clone();
            walk(vec![i], &mut seen);
            let also: Vec<String> = (0..nodes.len())
                .filter(|&j| j != i && seen[j] && !before[j])
                .map(|j| format!("`{}`", nodes[j].0.value))
                .collect();
            let also = match also.len() {
                0 => String::new(),
                1 => format!(" (so is {}, reached only through it)", also[0]),
                _ => format!(" (so are {}, reached only through it)", also.join(", ")),
            };
            let name = &nodes[i].0;
            d.at(
                loc(name),
                format!("unreachable node `{}`{also}", name.value),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_names_only() {
        let names = ["ask_card", "done", "main"];
        assert_eq!(suggest("ask_crad", names.into_iter()), Some("ask_card"));
        assert_eq!(suggest("mian", names.into_iter()), Some("main"));
        assert_eq!(suggest("nowhere", names.into_iter()), None);
        assert_eq!(suggest("x", names.into_iter()), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("mian", "main"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
