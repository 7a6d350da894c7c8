//! The fixture flows (tests/fixtures/engine: pds.yaml, bills.yaml) that the
//! interpreter tests (engine_flow.rs) and the property tests
//! (engine_props.rs) run, and the compiler tests' (engine_compile.rs,
//! hostile_inputs.rs) check for one diagnostic. Not every test crate uses
//! every helper.
#![allow(dead_code)]

use bawaba::engine::{compile, CompileContext, Diagnostic, FlowSet, Source};

/// The fixture flows, compiled; a panic lists every diagnostic if they do not.
pub fn fixture_flows() -> FlowSet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/engine");
    let sources: Vec<Source> = ["pds.yaml", "bills.yaml"]
        .iter()
        .map(|f| Source {
            path: f.to_string(),
            text: std::fs::read_to_string(format!("{dir}/{f}")).unwrap(),
        })
        .collect();
    match compile(&sources, &CompileContext::default()) {
        Ok(f) => f,
        Err(diags) => panic!("{}", listing(&diags)),
    }
}

/// A problem at `line` whose message holds `needle`; the panic lists them all.
pub fn has(diags: &[Diagnostic], line: usize, needle: &str) {
    assert!(
        diags
            .iter()
            .any(|d| d.line == line && d.message.contains(needle)),
        "no `{needle}` at line {line} in:\n{}",
        listing(diags)
    );
}

/// Every diagnostic, one a line.
pub fn listing(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
