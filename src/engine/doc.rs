//! The raw flow file: YAML -> `FlowDoc`, exactly as written, with the
//! line:column of every node so the compiler can point at problems.
//!
//! Every struct denies unknown fields. Node kinds are one flat struct (not a
//! `type`-tagged enum) because serde buffers tagged enums and loses
//! locations; the compiler checks which fields each kind allows instead.
//! No meaning is checked here beyond YAML shape.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
pub use serde_saphyr::Spanned;

/// A YAML mapping with its order and each key's location kept (duplicates
/// are kept too; the compiler reports them).
#[derive(Clone, Debug)]
pub struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<V> OrderedMap<V> {
    /// The value under `key`, if any (first one wins).
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Spanned<String>, V>()? {
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(V2(PhantomData))
    }
}

/// A translated text: language code -> template.
pub type Texts = OrderedMap<Spanned<String>>;

/// One flow file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDoc {
    pub id: Spanned<String>,
    pub version: Spanned<u32>,
    pub title: Spanned<Texts>,
    pub languages: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub entry: Entry,
    #[serde(default)]
    pub resume: Option<Spanned<bool>>,
    #[serde(default)]
    pub navigation: Option<Spanned<NavigationDoc>>,
    #[serde(default)]
    pub vars: OrderedMap<Spanned<VarDoc>>,
    pub start: Spanned<String>,
    pub nodes: Spanned<OrderedMap<Spanned<NodeDoc>>>,
}

/// How a flow is started.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    #[serde(default)]
    pub ussd: Vec<Spanned<String>>,
    #[serde(default)]
    pub sms: Vec<Spanned<String>>,
}

/// Navigation keys (defaults: back "0", home "00", more "98").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavigationDoc {
    pub back: Option<Spanned<String>>,
    pub home: Option<Spanned<String>>,
    pub more: Option<Spanned<String>>,
}

/// A declared variable: text with a maximum length, or a list of records.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarDoc {
    pub max_len: Option<Spanned<usize>>,
    pub list: Option<Spanned<ListDoc>>,
}

/// A list variable's shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDoc {
    pub max_items: Spanned<usize>,
    pub fields: OrderedMap<Spanned<FieldDoc>>,
}

/// One field of a list's records.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDoc {
    pub max_len: Spanned<usize>,
}

/// The node kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Menu,
    Language,
    Input,
    Call,
    Message,
    Sms,
    Branch,
    Goto,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Menu => "menu",
            Kind::Language => "language",
            Kind::Input => "input",
            Kind::Call => "call",
            Kind::Message => "message",
            Kind::Sms => "sms",
            Kind::Branch => "branch",
            Kind::Goto => "goto",
        }
    }
}

/// One node, all kinds' fields together; the compiler checks which apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDoc {
    #[serde(rename = "type")]
    pub kind: Spanned<Kind>,
    pub text: Option<Spanned<Texts>>,
    pub prompt: Option<Spanned<Texts>>,
    pub error: Option<Spanned<Texts>>,
    pub options: Option<Spanned<Vec<Spanned<OptionDoc>>>>,
    pub options_from: Option<Spanned<OptionsFromDoc>>,
    pub next: Option<Spanned<String>>,
    pub validate: Option<Spanned<ValidateDoc>>,
    pub save: Option<Spanned<String>>,
    pub secret: Option<Spanned<bool>>,
    pub backend: Option<Spanned<String>>,
    pub operation: Option<Spanned<String>>,
    pub params: Option<Spanned<OrderedMap<Spanned<String>>>>,
    pub results: Option<Spanned<Vec<Spanned<String>>>>,
    pub on: Option<Spanned<OrderedMap<Spanned<String>>>>,
    /// A call that checks this secret input (a PIN) with the back-end.
    pub verifies: Option<Spanned<String>>,
    /// Outcomes of a `verifies` call that mean the secret was wrong.
    pub wrong: Option<Spanned<Vec<Spanned<String>>>>,
    /// The call's answer is personal data: it needs a verified secret.
    pub personal: Option<Spanned<bool>>,
    pub cases: Option<Spanned<Vec<Spanned<CaseDoc>>>>,
    #[serde(rename = "else")]
    pub else_: Option<Spanned<String>>,
    pub node: Option<Spanned<String>>,
    pub flow: Option<Spanned<String>>,
}

/// A static menu option.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionDoc {
    pub label: Spanned<Texts>,
    pub next: Spanned<String>,
}

/// A menu built from a list variable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsFromDoc {
    pub list: Spanned<String>,
    pub label: Spanned<LabelDoc>,
    pub save: Option<Spanned<String>>,
    pub next: Spanned<String>,
}

/// A label: one template for every language, or one per language.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum LabelDoc {
    One(String),
    PerLang(std::collections::BTreeMap<String, String>),
}

/// Input validation; exactly one of the rules is set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateDoc {
    pub digits: Option<Spanned<RangeDoc>>,
    pub regex: Option<Spanned<String>>,
    pub max_len: Option<Spanned<usize>>,
    pub format: Option<Spanned<Format>>,
    pub text: Option<Spanned<RangeDoc>>,
}

/// A length range (in characters).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeDoc {
    pub min: Option<Spanned<usize>>,
    pub max: Spanned<usize>,
}

/// A built-in input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    IraqiMobile,
    Date,
}

/// One branch case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseDoc {
    #[serde(rename = "if")]
    pub cond: Spanned<String>,
    pub next: Spanned<String>,
}

/// Parses one flow file; a YAML or shape error comes back with its
/// 1-based line and column (0, 0 when the parser gives no place).
pub fn parse(text: &str) -> Result<FlowDoc, (usize, usize, String)> {
    serde_saphyr::from_str::<FlowDoc>(text).map_err(|e| {
        let (line, col) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((0, 0));
        let msg = e.without_snippet().to_string();
        let suffix = format!(" at line {line}, column {col}");
        let msg = msg.strip_suffix(&suffix).map(str::to_string).unwrap_or(msg);
        (line, col, msg)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = "id: t\nversion: 1\ntitle: {en: T}\nlanguages: [en]\nstart: a\nnodes:\n  a:\n    type: message\n    text:\n      en: Hello\n  b:\n    type: goto\n    node: a\n";

    #[test]
    fn keeps_locations_and_order() {
        let d = parse(MINI).unwrap();
        assert_eq!(d.id.value, "t");
        assert_eq!(
            (d.start.referenced.line(), d.start.referenced.column()),
            (5, 8)
        );
        let nodes = &d.nodes.value.0;
        assert_eq!(nodes[0].0.value, "a");
        assert_eq!(nodes[1].0.value, "b");
        assert_eq!(nodes[1].0.referenced.line(), 11);
        let text = nodes[0].1.value.text.as_ref().unwrap();
        let en = text.value.get("en").unwrap();
        assert_eq!((en.referenced.line(), en.referenced.column()), (10, 11));
        assert_eq!(
            nodes[1].1.value.node.as_ref().unwrap().referenced.line(),
            13
        );
    }

    #[test]
    fn unknown_field_has_a_place() {
        let bad = MINI.replace("    node: a\n", "    node: a\n    colour: red\n");
        let (line, col, msg) = parse(&bad).unwrap_err();
        assert_eq!(line, 14, "{msg}");
        assert!(col > 0, "{msg}");
        assert!(msg.contains("colour"), "{msg}");
    }
}
