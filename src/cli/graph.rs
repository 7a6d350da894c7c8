//! `bawaba flows graph`: one flow file as a Mermaid or Graphviz diagram.
//!
//! Drawn from the raw `FlowDoc`, not the compiled flow, so a flow that does
//! not compile yet (a `goto` to a flow in another file, a dangling target)
//! can still be looked at: unknown targets are drawn as such.

use std::collections::BTreeMap;
use std::fmt::Write;

use bawaba::engine::doc::{FlowDoc, Kind, LabelDoc, NodeDoc, Texts};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
}

/// A node of the drawing.
struct Vertex {
    id: String,
    label: String,
    shape: Shape,
}

#[derive(Clone, Copy)]
enum Shape {
    Screen,
    Input,
    Call,
    Branch,
    End,
    Jump,
    Missing,
}

/// The text a diagram shows: English if the flow has it, else its first language.
fn pick(texts: &Texts, lang: &str) -> String {
    texts
        .get(lang)
        .or_else(|| texts.0.first().map(|(_, v)| v))
        .map(|s| s.value.clone())
        .unwrap_or_default()
}

fn clip(s: &str, n: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        one_line.chars().take(n - 1).chain(['…']).collect()
    }
}

fn describe(name: &str, node: &NodeDoc) -> (String, Shape) {
    let kind = node.kind.value;
    let detail = match kind {
        Kind::Call => {
            let b = node.backend.as_ref().map_or("?", |s| s.value.as_str());
            let o = node.operation.as_ref().map_or("?", |s| s.value.as_str());
            format!("call {b}.{o}")
        }
        Kind::Input if node.secret.as_ref().is_some_and(|s| s.value) => {
            "input (secret)".to_string()
        }
        Kind::Goto => match (&node.flow, &node.node) {
            (Some(f), _) => format!("goto flow {}", f.value),
            _ => "goto".to_string(),
        },
        k => k.name().to_string(),
    };
    let shape = match kind {
        Kind::Menu | Kind::Language => Shape::Screen,
        Kind::Input => Shape::Input,
        Kind::Call | Kind::Sms => Shape::Call,
        Kind::Branch => Shape::Branch,
        Kind::Message => Shape::End,
        Kind::Goto => Shape::Jump,
    };
    (format!("{name}\n{detail}"), shape)
}

/// Every edge of `node` as (target name, label).
fn edges(node: &NodeDoc, lang: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(options) = &node.options {
        for (i, o) in options.value.iter().enumerate() {
            out.push((
                o.value.next.value.clone(),
                format!("{}. {}", i + 1, clip(&pick(&o.value.label.value, lang), 24)),
            ));
        }
    }
    if let Some(of) = &node.options_from {
        let label = match &of.value.label.value {
            LabelDoc::One(t) => t.clone(),
            LabelDoc::PerLang(m) => m
                .get(lang)
                .or_else(|| m.values().next())
                .cloned()
                .unwrap_or_default(),
        };
        out.push((
            of.value.next.value.clone(),
            format!("each {}: {}", of.value.list.value, clip(&label, 24)),
        ));
    }
    if let Some(next) = &node.next {
        let label = match (node.kind.value, &node.save) {
            (Kind::Input, Some(save)) => format!("valid {}", save.value),
            (Kind::Language, _) => "language chosen".to_string(),
            (Kind::Sms, _) => "sent".to_string(),
            _ => String::new(),
        };
        out.push((next.value.clone(), label));
    }
    if let Some(on) = &node.on {
        // One arrow per target, listing every outcome that takes it.
        let mut by_target: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut order = Vec::new();
        for (outcome, target) in &on.value.0 {
            let t = target.value.as_str();
            if !by_target.contains_key(t) {
                order.push(t);
            }
            by_target.entry(t).or_default().push(outcome.value.as_str());
        }
        for t in order {
            out.push((t.to_string(), by_target[t].join(" / ")));
        }
    }
    if let Some(cases) = &node.cases {
        for c in &cases.value {
            out.push((
                c.value.next.value.clone(),
                format!("if {}", clip(&c.value.cond.value, 40)),
            ));
        }
    }
    if let Some(e) = &node.else_ {
        out.push((e.value.clone(), "else".to_string()));
    }
    if let (Kind::Goto, Some(n)) = (node.kind.value, &node.node) {
        out.push((n.value.clone(), String::new()));
    }
    out
}

/// The diagram of `doc`.
pub fn render(doc: &FlowDoc, format: Format) -> String {
    let lang = if doc.languages.value.iter().any(|l| l.value == "en") {
        "en"
    } else {
        ""
    };
    let nodes = &doc.nodes.value.0;
    let ids: BTreeMap<&str, String> = nodes
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.value.as_str(), format!("n{i}")))
        .collect();
    let mut vertices: Vec<Vertex> = Vec::new();
    let mut arrows: Vec<(String, String, String)> = Vec::new();
    let mut missing: BTreeMap<String, String> = BTreeMap::new();
    for (i, (name, node)) in nodes.iter().enumerate() {
        let (label, shape) = describe(&name.value, &node.value);
        vertices.push(Vertex {
            id: format!("n{i}"),
            label,
            shape,
        });
        for (target, label) in edges(&node.value, lang) {
            let to = match ids.get(target.as_str()) {
                Some(id) => id.clone(),
                None => {
                    let next = format!("m{}", missing.len());
                    missing.entry(target.clone()).or_insert(next).clone()
                }
            };
            arrows.push((format!("n{i}"), to, label));
        }
    }
    for (name, id) in &missing {
        vertices.push(Vertex {
            id: id.clone(),
            label: format!("{name}\n(no such node)"),
            shape: Shape::Missing,
        });
    }
    let start = ids
        .get(doc.start.value.as_str())
        .cloned()
        .unwrap_or_else(|| "m_start".into());
    let mut entry = vec![format!("start: {}", doc.id.value)];
    entry.extend(doc.entry.ussd.iter().map(|c| c.value.clone()));
    entry.extend(doc.entry.sms.iter().map(|k| format!("SMS {}", k.value)));
    let start = (start, entry.join("\n"));
    match format {
        Format::Mermaid => mermaid(&start, &vertices, &arrows),
        Format::Dot => dot(&doc.id.value, &start, &vertices, &arrows),
    }
}

/// The start marker: the first node's id and the flow's entry points.
type Start = (String, String);

fn mermaid(start: &Start, vertices: &[Vertex], arrows: &[(String, String, String)]) -> String {
    let esc = |s: &str| s.replace('"', "#quot;").replace('\n', "<br/>");
    let (first, entry) = start;
    let mut out = format!(
        "flowchart TD\n    start{{{{\"{}\"}}}} --> {first}\n",
        esc(entry)
    );
    for v in vertices {
        let l = esc(&v.label);
        let shape = match v.shape {
            Shape::Screen => format!("[\"{l}\"]"),
            Shape::Input => format!("[/\"{l}\"/]"),
            Shape::Call => format!("[[\"{l}\"]]"),
            Shape::Branch => format!("{{\"{l}\"}}"),
            Shape::End => format!("([\"{l}\"])"),
            Shape::Jump => format!(">\"{l}\"]"),
            Shape::Missing => format!("[\"{l}\"]:::missing"),
        };
        let _ = writeln!(out, "    {}{shape}", v.id);
    }
    for (from, to, label) in arrows {
        match label.is_empty() {
            true => writeln!(out, "    {from} --> {to}"),
            false => writeln!(out, "    {from} -->|\"{}\"| {to}", esc(label)),
        }
        .ok();
    }
    out.push_str("    classDef missing stroke:#c00,stroke-dasharray:4\n");
    out
}

fn dot(
    id: &str,
    start: &Start,
    vertices: &[Vertex],
    arrows: &[(String, String, String)],
) -> String {
    let esc = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let mut out = format!(
        "digraph \"{}\" {{\n    rankdir=TB;\n    node [fontname=\"Noto Sans\"];\n",
        esc(id)
    );
    let (first, entry) = start;
    let _ = writeln!(
        out,
        "    start [shape=oval, style=bold, label=\"{}\"];\n    start -> {first};",
        esc(entry)
    );
    for v in vertices {
        let shape = match v.shape {
            Shape::Screen => "box",
            Shape::Input => "parallelogram",
            Shape::Call => "box3d",
            Shape::Branch => "diamond",
            Shape::End => "doubleoctagon",
            Shape::Jump => "cds",
            Shape::Missing => "box, color=red, style=dashed",
        };
        let _ = writeln!(
            out,
            "    {} [shape={shape}, label=\"{}\"];",
            v.id,
            esc(&v.label)
        );
    }
    for (from, to, label) in arrows {
        let _ = writeln!(out, "    {from} -> {to} [label=\"{}\"];", esc(label));
    }
    out.push_str("}\n");
    out
}
