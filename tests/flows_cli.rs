//! `bawaba flows check|test|graph` through the real binary: the shipped
//! flows compile and their transcripts pass; every broken fixture is
//! rejected with the diagnostics (and positions) its `.expected` file
//! lists, and nothing more (no cascades); a failing transcript reports expected vs actual and exits 1.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bawaba(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_bawaba"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run bawaba");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const ALL_BACKENDS: &str =
    "pds:balance,entitlements;electricity:bill;passport:status;pension:inquiry";

#[test]
fn shipped_flows_compile() {
    let r = bawaba(&["flows", "check", "flows"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.trim(), "5 flows OK");
    let r = bawaba(&["flows", "check", "flows", "--backends", ALL_BACKENDS]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn shipped_flows_need_their_backends() {
    let r = bawaba(&["flows", "check", "flows", "--backends", "pds:balance"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("flows/pds.yaml:"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("backend `pds` has no operation `entitlements`"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("unknown backend `electricity`"),
        "{}",
        r.stdout
    );
}

#[test]
fn shipped_transcripts_pass() {
    let r = bawaba(&["flows", "test", "flows"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let summary = r.stdout.lines().last().unwrap_or_default();
    let passed: usize = summary
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
    assert!(passed >= 40, "only {passed} conversations: {summary}");
}

#[test]
fn one_transcript_file_runs_with_the_flows_beside_it() {
    let r = bawaba(&["flows", "test", "flows/pension.test"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.trim(), "12 passed, 0 failed");
}

/// `line:col: substring` lines (or `file:line:col: substring` for a folder
/// fixture), `# args: ...` for extra arguments, `#` comments.
fn expectations(path: &Path) -> (Vec<String>, Vec<(String, String)>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut args = Vec::new();
    let mut wanted = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(a) = line.strip_prefix("# args:") {
            args.extend(a.split_whitespace().map(String::from));
        } else if !line.starts_with('#') {
            let (place, message) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad line {line:?}"));
            wanted.push((place.to_string(), message.to_string()));
        }
    }
    (args, wanted)
}

#[test]
fn broken_fixtures_report_every_expected_diagnostic() {
    let dir = root().join("tests/fixtures/flows/broken");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut checked = 0;
    for fixture in entries
        .iter()
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yaml"))
    {
        let expected_file = fixture.with_extension("expected");
        assert!(
            expected_file.exists(),
            "{} has no .expected file",
            fixture.display()
        );
        let (extra, wanted) = expectations(&expected_file);
        assert!(
            !wanted.is_empty(),
            "{} expects nothing",
            expected_file.display()
        );
        let shown = fixture.strip_prefix(root()).unwrap().display().to_string();
        let mut args = vec!["flows", "check", shown.as_str()];
        args.extend(extra.iter().map(String::as_str));
        let r = bawaba(&args);
        assert_eq!(
            r.code, 1,
            "{shown} should be rejected:\n{}{}",
            r.stdout, r.stderr
        );
        for (place, message) in &wanted {
            let prefix = match fixture.is_dir() {
                true => format!("{shown}/{place}: "),
                false => format!("{shown}:{place}: "),
            };
            let found = r
                .stdout
                .lines()
                .any(|l| l.starts_with(&prefix) && l[prefix.len()..].contains(message.as_str()));
            assert!(
                found,
                "{shown}: no `{prefix}...{message}` in:\n{}",
                r.stdout
            );
        }
        let reported: Vec<&str> = r.stdout.lines().filter(|l| l.contains(": ")).collect();
        for line in &reported {
            assert!(
                line.starts_with(&shown),
                "diagnostic for another file: {line}"
            );
        }
        // Exactly the expected problems: a mistake is reported once, not
        // followed by a cascade of secondary errors.
        assert_eq!(
            reported.len(),
            wanted.len(),
            "{shown}: more problems than expected:\n{}",
            r.stdout
        );
        checked += 1;
    }
    assert!(checked >= 19, "only {checked} broken fixtures");
}

#[test]
fn failing_transcript_reports_expected_and_actual() {
    let r = bawaba(&["flows", "test", "tests/fixtures/flows/failing"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    let want = [
        "tests/fixtures/flows/failing/greet.test:25: [fails: wrong screen] screen differs",
        "  expected:\n    | Your number, please?\n  actual:\n    | 3 to 6 digits.\n    | Your number?\n",
        "greet.test:28: [fails: wrong screen] session should go on",
        "greet.test:32: [fails: a call with no canned answer] call with no canned answer",
        "    | people.name\n",
    ];
    for w in want {
        assert!(out.contains(w), "missing {w:?} in:\n{out}");
    }
    assert!(!out.contains("[passes"), "{out}");
    assert_eq!(out.lines().last(), Some("2 passed, 2 failed"));
}

#[test]
fn malformed_transcript_is_reported_by_line() {
    let r = bawaba(&["flows", "test", "tests/fixtures/flows/bad_transcript"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    for w in [
        "greet.test:2: unknown language `fr`",
        "greet.test:3: unknown outcome `maybe`",
        "greet.test:5: unknown `! explode`",
    ] {
        assert!(r.stdout.contains(w), "missing {w:?} in:\n{}", r.stdout);
    }
    assert_eq!(r.stdout.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn graph_draws_nodes_and_labelled_edges() {
    let r = bawaba(&["flows", "graph", "flows/pds.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = &r.stdout;
    assert!(m.contains("flowchart TD"), "{m}");
    assert!(
        m.contains("start{{\"start: pds<br/>*123*1#<br/>SMS PDS<br/>SMS تموينية")
            && m.contains("\"}} --> n0"),
        "{m}"
    );
    assert!(m.contains("n0[/\"ask_card<br/>input\"/]"), "{m}");
    assert!(
        m.contains("n2[[\"get_balance<br/>call pds.balance\"]]"),
        "{m}"
    );
    assert!(m.contains("n1 -->|\"1. Balance\"| n2"), "{m}");
    assert!(m.contains("n2 -->|\"not_found\"| n9"), "{m}");
    assert!(m.contains("n5 -->|\"if items > 0\"| n6"), "{m}");
    assert!(m.contains("n5 -->|\"else\"| n8"), "{m}");

    let r = bawaba(&["flows", "graph", "flows/home.yaml", "--format", "dot"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = &r.stdout;
    assert!(d.starts_with("digraph \"home\" {"), "{d}");
    assert!(
        d.contains("start [shape=oval, style=bold, label=\"start: home\\n*123#\\nSMS HELP"),
        "{d}"
    );
    assert!(d.contains("start -> n0;"), "{d}");
    assert!(
        d.contains("n2 [shape=cds, label=\"to_pds\\ngoto flow pds\"];"),
        "{d}"
    );
    assert!(
        d.contains("n0 -> n2 [label=\"1. Ration card (PDS)\"];"),
        "{d}"
    );
    assert!(d.trim_end().ends_with('}'));
}

#[test]
fn graph_shows_dangling_targets() {
    let r = bawaba(&[
        "flows",
        "graph",
        "tests/fixtures/flows/broken/unknown_target.yaml",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("nowhere<br/>(no such node)"),
        "{}",
        r.stdout
    );
    let r = bawaba(&[
        "flows",
        "graph",
        "tests/fixtures/flows/broken/yaml_syntax.yaml",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .starts_with("tests/fixtures/flows/broken/yaml_syntax.yaml:4:10: "),
        "{}",
        r.stdout
    );
}

#[test]
fn usage_errors_exit_2() {
    let r = bawaba(&["flows", "check", "no/such/folder"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no/such/folder"), "{}", r.stderr);
    let r = bawaba(&["flows", "check", "flows", "--backends", "pds"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--backends"), "{}", r.stderr);
    let r = bawaba(&["flows", "test", "tests/fixtures/flows/broken"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("no *.test"), "{}", r.stderr);
    let r = bawaba(&["flows", "graph", "flows/missing.yaml"]);
    assert_eq!(r.code, 2);
}

#[test]
fn backends_can_come_from_the_gateway_configuration() {
    let check = |config: &str| bawaba(&["flows", "check", "flows", "--config", config]);
    let r = check("config/bawaba.toml");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let shipped = std::fs::read_to_string(root().join("config/bawaba.toml")).unwrap();
    let without = shipped.replace("entitlements = {", "# entitlements = {");
    assert_ne!(
        without, shipped,
        "config/bawaba.toml no longer declares pds.entitlements"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bawaba.toml");
    std::fs::write(&path, without).unwrap();
    let r = check(path.to_str().unwrap());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("flows/pds.yaml:")
            && r.stdout
                .contains("backend `pds` has no operation `entitlements`"),
        "{}",
        r.stdout
    );

    std::fs::write(&path, "[gateway]\nnode = 3\n").unwrap();
    let r = check(path.to_str().unwrap());
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("not a usable configuration"),
        "{}",
        r.stderr
    );

    let r = bawaba(&[
        "flows",
        "check",
        "flows",
        "--config",
        "config/bawaba.toml",
        "--backends",
        "pds:balance",
    ]);
    assert_eq!(r.code, 2, "--config and --backends together: {}", r.stderr);
}

#[test]
fn transcripts_do_not_run_against_flows_that_do_not_compile() {
    let dir = tempfile::tempdir().unwrap();
    let broken = root().join("tests/fixtures/flows/broken/unknown_target.yaml");
    std::fs::copy(&broken, dir.path().join("unknown_target.yaml")).unwrap();
    std::fs::write(
        dir.path().join("unknown_target.test"),
        "## x\n> *900#\n< Menu\n",
    )
    .unwrap();
    let r = bawaba(&["flows", "test", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("unknown_target.yaml:15:15: unknown target node `nowhere`"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("no transcript run"), "{}", r.stdout);
}
