//! `bawaba config check` through the real binary: exit 0 and one summary
//! line for a good file; every problem on stderr and exit 64 otherwise.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(file: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bawaba"));
    cmd.current_dir(root()).args(["config", "check", file]);
    // A clean environment: only what the test gives (and PATH).
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run bawaba")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_valid_file_exits_0_with_one_summary_line() {
    let out = check("config/demo.toml", &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("config/demo.toml: ok: node demo, 1 operator(s) [sim]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("4 back-end(s) [pds, electricity, passport, pension]"),
        "{stdout}"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn env_secrets_are_resolved_from_the_process_environment() {
    let file = "tests/fixtures/config/valid/secrets_and_auth.toml";
    let env = [
        ("BAWABA_TEST_PASSWORD", "envPw"),
        ("BAWABA_TEST_TOKEN", "tok"),
        ("BAWABA_TEST_ADMIN_TOKEN", "admin-token-0123456789"),
    ];
    // The file secrets and mTLS files of this fixture are absent on disk:
    // exactly those are reported, never the env ones, never a value.
    let out = check(file, &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("operators[1].password: cannot read secret file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("backends[3].auth.cert: cannot read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("backends[3].auth.key: cannot read"),
        "{stderr}"
    );
    assert!(!stderr.contains("BAWABA_TEST_PASSWORD"), "{stderr}");
    assert!(!stderr.contains("envPw") && !stderr.contains("admin-token-0123456789"));

    let out = check(file, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        stderr.contains("environment variable `BAWABA_TEST_PASSWORD` is not set"),
        "{stderr}"
    );
    assert!(
        stderr.contains("environment variable `BAWABA_TEST_ADMIN_TOKEN` is not set"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_file_prints_every_problem_and_exits_64() {
    let file = "tests/fixtures/config/invalid/ranges.toml";
    let out = check(file, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(out.stdout.is_empty());
    let expected = std::fs::read_to_string(root().join(file).with_extension("expected")).unwrap();
    let expected: Vec<&str> = expected
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let at_position = |l: &&str| {
        l.strip_prefix(file)
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    };
    let problems: Vec<&str> = stderr.lines().filter(at_position).collect();
    assert_eq!(problems.len(), expected.len(), "{stderr}");
    for (line, want) in problems.iter().zip(&expected) {
        let (pos, rest) = want.split_once(' ').unwrap();
        assert!(
            line.starts_with(&format!("{file}:{pos}: {rest}")),
            "`{line}` vs `{want}`"
        );
    }
    assert!(stderr.ends_with(&format!(
        "{} problem(s); nothing was started\n",
        expected.len()
    )));
}

#[test]
fn a_missing_file_or_a_bad_invocation_is_not_a_success() {
    let out = check("config/no-such-file.toml", &[]);
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("cannot read the configuration"));

    let out = Command::new(env!("CARGO_BIN_EXE_bawaba"))
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
}
