//! From text to raw sections: TOML syntax (every syntax error, via the
//! parser's recovery), then serde into the `raw` types one section — one
//! operator, one back-end, one profile — at a time, so that one bad
//! operator does not hide the problems of the next.
//!
//! Inside a section serde stops at its first error. We go on anyway: the
//! offending key or value (located by the error's span) is removed from a
//! copy of the section and serde runs again, until the section parses or
//! no span can be removed. Every unknown key and every mistyped value in a
//! section is therefore reported at once, and the keys serde did accept
//! still reach semantic validation.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::error::Report;

pub(crate) type Node<'i> = Spanned<DeValue<'i>>;

/// Parses the document. `None` if it has syntax errors (all reported): a
/// half-recovered document would only add misleading follow-on errors.
pub(crate) fn parse<'i>(text: &'i str, report: &mut Report) -> Option<Spanned<DeTable<'i>>> {
    let (table, errors) = DeTable::parse_recoverable(text);
    for e in &errors {
        report.push(e.span(), "", format!("TOML syntax: {}", e.message().trim()));
    }
    errors.is_empty().then_some(table)
}

/// Deserializes one section (`key` is its path, e.g. `operators[1]`).
/// Reports every problem serde finds; `None` if the section cannot be
/// built even after dropping the offending keys (a required key missing).
pub(crate) fn section<T: DeserializeOwned>(
    node: &Node,
    key: &str,
    report: &mut Report,
) -> Option<T> {
    let mut work = node.clone();
    let mut removed: Vec<String> = Vec::new();
    // Each round removes a node, so this ends; the bound is belt and braces.
    for _ in 0..1024 {
        let err = match T::deserialize(ValueDeserializer::from(work.clone())) {
            Ok(value) => return Some(value),
            Err(e) => e,
        };
        // serde names Rust types; say what to write in TOML instead.
        let message = err
            .message()
            .trim()
            .replace("expected i64", "expected an integer");
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'))
            .map(str::to_string);
        // A required key whose bad value we removed is reported already.
        if missing.as_ref().is_some_and(|m| removed.contains(m)) {
            return None;
        }
        let span = err.span();
        report.push(span.clone(), path_at(node, span.as_ref(), key), message);
        let span = span?;
        let (start, end) = (work.span().start, work.span().end);
        match remove_at(work.get_mut(), &span) {
            Some(removed_key) if span != (start..end) => removed.push(removed_key),
            _ => return None,
        }
    }
    None
}

/// The key path of the node at `span`, searched in the original,
/// unmodified section so array indices stay true. A sub-table such as
/// `[operators.ussd]` is not inside its parent's span, so the search
/// visits every node rather than pruning by span.
pub(crate) fn path_at(node: &Node, span: Option<&Range<usize>>, prefix: &str) -> String {
    let found = span.and_then(|span| find(node, span, prefix.to_string()));
    found.unwrap_or_else(|| prefix.to_string())
}

fn find(node: &Node, span: &Range<usize>, path: String) -> Option<String> {
    match node.get_ref() {
        DeValue::Table(table) => table.iter().find_map(|(k, v)| {
            let mut here = path.clone();
            push_key(&mut here, k.get_ref());
            if k.span() == *span || v.span() == *span {
                return Some(here);
            }
            find(v, span, here.clone()).or_else(|| leaf_contains(v, span).then_some(here))
        }),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let here = format!("{path}[{i}]");
            if v.span() == *span {
                return Some(here);
            }
            find(v, span, here.clone()).or_else(|| leaf_contains(v, span).then_some(here))
        }),
        _ => None,
    }
}

/// A scalar whose text contains the span (an error inside a string).
fn leaf_contains(v: &Node, span: &Range<usize>) -> bool {
    !matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_)) && contains(v.span(), span)
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(&segment(key));
}

/// A key as it appears in a key path: bare if TOML allows it bare, else
/// quoted (`ussd_profiles."Bad Name"`).
pub(crate) fn segment(key: &str) -> String {
    let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !key.is_empty() && key.chars().all(bare) {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

fn contains(outer: Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer != (0..0)
}

/// Removes the key/value pair whose key or value sits exactly at `span`, or
/// the array element there. Returns the removed key (or "" for an element).
fn remove_at(value: &mut DeValue, span: &Range<usize>) -> Option<String> {
    match value {
        DeValue::Table(table) => {
            let hit = table
                .iter()
                .find(|(k, v)| k.span() == *span || v.span() == *span)
                .map(|(k, _)| k.clone());
            if let Some(key) = hit {
                table.remove(&key);
                return Some(key.get_ref().to_string());
            }
            table
                .iter_mut()
                .find_map(|(_, v)| remove_at(v.get_mut(), span))
        }
        DeValue::Array(items) => {
            if let Some(i) = items.iter().position(|v| v.span() == *span) {
                // `DeArray` has no `remove`; rebuild it without element i.
                let mut kept = toml::de::DeArray::new();
                for (j, v) in items.iter().enumerate() {
                    if j != i {
                        kept.push(v.clone());
                    }
                }
                *items = kept;
                return Some(String::new());
            }
            items.iter_mut().find_map(|v| remove_at(v.get_mut(), span))
        }
        _ => None,
    }
}
