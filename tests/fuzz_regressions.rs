//! Inputs the fuzz targets (fuzz/) found, kept as ordinary tests so the
//! normal suite guards the fixes. Each names its target and what was wrong.

use std::path::Path;

use bawaba::engine::dial::{self, DialError, MAX_LEN};
use bawaba::engine::{compile, CompileContext, Source};

fn found(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `dial`: a 182-character dial without its closing '#' was accepted, but
/// its canonical form (with the '#') is 183 characters and did not parse.
/// A service code like that compiled, and routing, which parses the
/// canonical code again, could never reach its flow.
#[test]
fn dial_whose_canonical_form_is_too_long() {
    let raw = found("dial-182-without-hash");
    assert_eq!(raw.chars().count(), MAX_LEN);
    assert_eq!(dial::parse(&raw), Err(DialError::TooLong));
    // With its '#' it is too long as well; one character less fits.
    assert_eq!(dial::parse(&format!("{raw}#")), Err(DialError::TooLong));
    let shorter = &raw[..MAX_LEN - 1];
    let d = dial::parse(shorter).unwrap();
    assert_eq!(d.canonical().len(), MAX_LEN);
    assert_eq!(dial::parse(&d.canonical()), Ok(d));

    let flow = format!(
        "id: t\nversion: 1\ntitle: {{en: T}}\nlanguages: [en]\nentry: {{ussd: [\"{raw}\"]}}\nstart: s\nnodes:\n  s: {{type: message, text: {{en: Hi}}}}\n"
    );
    let src = Source {
        path: "t.yaml".into(),
        text: flow,
    };
    let Err(problems) = compile(&[src], &CompileContext::default()) else {
        panic!("compiled");
    };
    assert!(
        problems
            .iter()
            .any(|p| p.line == 5 && p.message.contains("longer than 182")),
        "{problems:?}"
    );
}
