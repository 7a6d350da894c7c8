//! Hostile flow files, configurations and dial strings
//! (tests/fixtures/hostile/): each is refused with every problem at its
//! file:line, or survived, and always quickly. `QUICK` is generous for a
//! loaded 2-core machine running a debug build; the failures these guard
//! against (exponential backtracking, alias expansion, unbounded recursion)
//! take hours or crash, not seconds.

mod engine_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bawaba::config::{Config, Error as ConfigError};
use bawaba::engine::dial::{self, DialError};
use engine_support::has;

use bawaba::engine::{
    compile, step, Bearer, CompileContext, Diagnostic, Effect, FlowSet, Input, Session, Source,
};

const QUICK: Duration = Duration::from_secs(10);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
        .join(name)
}

/// Reads and compiles one fixture, timed.
fn compiled(name: &str) -> Result<FlowSet, Vec<Diagnostic>> {
    let source = Source::read(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let started = Instant::now();
    let result = compile(&[source], &CompileContext::default());
    assert!(
        started.elapsed() < QUICK,
        "{name} took {:?}",
        started.elapsed()
    );
    result
}

fn refused(name: &str) -> Vec<Diagnostic> {
    match compiled(name) {
        Ok(_) => panic!("{name} compiled"),
        Err(d) => {
            let path = fixture(name).display().to_string();
            assert!(d.iter().all(|x| x.path == path && x.line > 0), "{d:#?}");
            d
        }
    }
}

fn show(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| format!("{d}\n")).collect()
}

/// Refused with exactly these problems: (line, part of the message).
fn refused_with(name: &str, wanted: &[(usize, &str)]) {
    let d = refused(name);
    for (line, needle) in wanted {
        has(&d, *line, needle);
    }
    assert_eq!(d.len(), wanted.len(), "{}", show(&d));
}

/// Plays `inputs` after `first`; every step must be quick. The last effects.
fn play(flows: &FlowSet, bearer: Bearer, first: Input, inputs: &[&str]) -> Vec<Effect> {
    let started = Instant::now();
    let (mut s, mut fx) = step(flows, Session::new(bearer, None), first, 0);
    for (i, text) in inputs.iter().enumerate() {
        let reply = Input::Reply {
            text: text.to_string(),
        };
        (s, fx) = step(flows, s, reply, 1000 * (i as u64 + 1));
    }
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    fx
}

fn screen(fx: &[Effect]) -> (&str, bool) {
    fx.iter()
        .find_map(|e| match e {
            Effect::Show { text, end } => Some((text.as_str(), *end)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no screen in {fx:?}"))
}

#[test]
fn a_billion_laughs_is_stopped_by_the_parser_budget() {
    refused_with("billion_laughs.yaml", &[(29, "budget breached: Nodes")]);
}

#[test]
fn ten_thousand_levels_of_nesting_are_a_parse_error() {
    for name in ["deep_sequence.yaml", "deep_mapping.yaml"] {
        refused_with(name, &[(23, "budget breached: Depth")]);
    }
}

#[test]
fn a_goto_ring_with_no_way_out_is_refused() {
    let d = refused("goto_cycle.yaml");
    has(&d, 10, "never waits for the citizen");
}

#[test]
fn a_catastrophic_regex_elsewhere_is_linear_here() {
    let flows = compiled("redos.yaml").unwrap();
    let dial = || Input::Dial {
        code: "*954#".into(),
    };
    // 59 a's and a `!`: 2^59 paths for a backtracking engine.
    let hostile = format!("{}!", "a".repeat(59));
    let fx = play(&flows, Bearer::Ussd, dial(), &[&hostile]);
    assert_eq!(screen(&fx), ("Bad\nCode", false));
    let fine = "a".repeat(60);
    let fx = play(&flows, Bearer::Ussd, dial(), &[&fine]);
    assert_eq!(screen(&fx), (format!("OK {fine}").as_str(), true));
    // A 100,000-character SMS reply is over max_len: refused, quickly.
    let sms = Input::Keyword {
        text: "REDOS".into(),
    };
    let fx = play(&flows, Bearer::Sms, sms, &[&"a".repeat(100_000)]);
    assert_eq!(screen(&fx).0, "Bad\nCode");
}

/// Regression: the pattern was searched unanchored (leftmost-first), so
/// `[0-9]{4}|[0-9]{8}` found the first four of eight digits and refused a
/// reply the pattern matches whole. Anchoring must not break a pattern
/// that ends in an `(?x)` comment either.
#[test]
fn an_alternation_matches_the_whole_reply() {
    for pattern in [
        "[0-9]{4}|[0-9]{8}",
        "(?x) [0-9]{4} | [0-9]{8}  # four or eight",
    ] {
        let text = format!("id: alt\nversion: 1\ntitle: {{en: Alt}}\nlanguages: [en]\nentry: {{ussd: [\"*959#\"]}}\nstart: ask\nnodes:\n  ask:\n    type: input\n    prompt: {{en: Card}}\n    validate: {{regex: \"{pattern}\", max_len: 8}}\n    error: {{en: Bad}}\n    save: card\n    next: done\n  done:\n    type: message\n    text: {{en: \"OK {{card}}\"}}\n");
        let src = Source {
            path: "alt.yaml".into(),
            text,
        };
        let flows = compile(&[src], &CompileContext::default())
            .unwrap_or_else(|d| panic!("{pattern}: {}", show(&d)));
        let dial = || Input::Dial {
            code: "*959#".into(),
        };
        for (reply, want) in [
            ("1234", "OK 1234"),
            ("12345678", "OK 12345678"),
            ("123456", "Bad\nCard"),
            ("x1234", "Bad\nCard"),
        ] {
            let fx = play(&flows, Bearer::Ussd, dial(), &[reply]);
            assert_eq!(screen(&fx).0, want, "{pattern}: {reply}");
        }
    }
}

#[test]
fn regexes_too_big_or_too_deep_are_refused_where_written() {
    refused_with(
        "huge_regex.yaml",
        &[(13, "exceeds size limit"), (20, "nested parentheses")],
    );
}

#[test]
fn templates_naming_missing_variables_are_refused_each_at_its_line() {
    let d = refused("missing_vars.yaml");
    for (line, name) in [
        (4, "nobody"),
        (13, "ghost"),
        (15, "phantom"),
        (19, "item.name"),
        (21, "name.first"),
        (26, "nowhere"),
        (30, "spectre"),
    ] {
        has(&d, line, &format!("`{name}`"));
    }
    assert_eq!(d.len(), 7, "{}", show(&d));
}

#[test]
fn conditions_nested_too_deep_are_refused_flat_chains_are_not() {
    let deep = "nested deeper than 32 levels";
    refused_with("deep_condition.yaml", &[(13, deep), (15, deep)]);
}

#[test]
fn service_codes_no_phone_can_dial_are_refused() {
    refused_with(
        "dial_strings.yaml",
        &[
            (9, "longer than 182"),
            (10, "longer than 182"),
            (11, "unexpected character"),
            (12, "empty part"),
            (13, "empty part"),
        ],
    );
}

#[test]
fn hostile_dials_get_service_unavailable_at_once() {
    let flows = compiled("redos.yaml").unwrap();
    let hostile = [
        "*".repeat(1000),
        format!("*954{}#", "*1".repeat(1000)),
        format!("*954*{}#", "9".repeat(100_000)),
        "٩".repeat(50_000),
        "\u{200F}".repeat(10_000),
    ];
    for code in hostile {
        let started = Instant::now();
        assert!(dial::parse(&code).is_err());
        let fx = play(&flows, Bearer::Ussd, Input::Dial { code }, &[]);
        assert!(screen(&fx).1, "{fx:?}");
        assert!(started.elapsed() < QUICK);
    }
    assert_eq!(dial::parse(&"*".repeat(1000)), Err(DialError::TooLong));
}

#[test]
fn a_full_size_flow_file_compiles_in_bounded_time() {
    // Just under the 1 MiB cap: 9,000 menus in one chain, every one
    // reachable, so every check runs over all of them.
    let mut text = String::from(
        "id: big\nversion: 1\ntitle: {en: Big}\nlanguages: [en]\nentry: {ussd: [\"*958#\"]}\nstart: n0\nnodes:\n",
    );
    let n = 9_000;
    for i in 0..n {
        let next = if i + 1 < n {
            format!("n{}", i + 1)
        } else {
            "n0".into()
        };
        text += &format!(
            "  n{i}:\n    type: menu\n    text: {{en: \"Menu {i}\"}}\n    options:\n      - label: {{en: Next}}\n        next: {next}\n"
        );
    }
    assert!(text.len() < 1 << 20, "{}", text.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    std::fs::write(&path, &text).unwrap();
    let src = Source::read(&path).unwrap();
    let started = Instant::now();
    let flows = compile(&[src], &CompileContext::default());
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    let flows = flows.unwrap_or_else(|d| panic!("{}", show(&d)));
    let dial = Input::Dial {
        code: "*958#".into(),
    };
    let fx = play(&flows, Bearer::Ussd, dial, &["1"; 50]);
    assert!(screen(&fx).0.starts_with("Menu 50"), "{fx:?}");
}

#[test]
fn deeply_nested_configurations_are_a_syntax_error_at_their_line() {
    for name in ["deep_array.toml", "deep_table.toml"] {
        let path = fixture(name);
        let started = Instant::now();
        let problems = match Config::load(&path) {
            Err(ConfigError::Invalid(p)) => p,
            other => panic!("{name}: {other:?}"),
        };
        assert!(started.elapsed() < QUICK, "{name}: {:?}", started.elapsed());
        assert!(problems.iter().any(|p| p.line == 3), "{name}: {problems:?}");
        assert!(problems
            .iter()
            .all(|p| p.file == path.display().to_string()));
    }
}

#[test]
fn a_configuration_over_the_cap_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    let text = format!("# {}\n", "x".repeat(2 << 20));
    std::fs::write(&path, text).unwrap();
    match Config::load(&path) {
        Err(e @ ConfigError::Read { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("larger than 1024 KiB"), "{msg}");
            assert!(msg.contains("huge.toml"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}
