//! Configuration fixtures: every file in tests/fixtures/config/valid/ (and
//! both shipped configs) loads; every file in invalid/ fails with exactly
//! the problems its sibling `.expected` lists, all in one run.
//!
//! `.expected` lines: `LINE:COL KEY: MESSAGE-SUBSTRING` (`#` comments).
//! Secrets come from an in-memory source, so no test touches the process
//! environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bawaba::config::{Auth, Config, Error, Receipts, SecretSource};

/// Env vars and files for secrets, in memory. Values are distinctive so
/// the Debug test can look for them.
struct Fake {
    env: BTreeMap<&'static str, &'static str>,
    files: BTreeMap<PathBuf, &'static str>,
}

const SECRET_VALUES: &[&str] = &[
    "zainPw1",
    "asiaPw2",
    "korekPw3",
    "pds-token-9f8e7d",
    "elec-key-1a2b3c",
    "admin-token-abcdef-0123",
    "admin-publisher-0123456789",
    "viewer-token-inline-0123",
    "pension-token-5e6f",
    "notify-electricity-0123456789",
    "notify-pds-campaigns-0123456789",
];

fn fake() -> Fake {
    let env = BTreeMap::from([
        ("BAWABA_ZAIN_PASSWORD", "zainPw1"),
        ("BAWABA_ASIACELL_PASSWORD", "asiaPw2"),
        ("BAWABA_PDS_TOKEN", "pds-token-9f8e7d"),
        ("BAWABA_ELECTRICITY_KEY", "elec-key-1a2b3c"),
        ("BAWABA_TEST_PASSWORD", "envPw"),
        ("BAWABA_TEST_TOKEN", "test-token"),
        ("BAWABA_TEST_ADMIN_TOKEN", "admin-token-0123456789"),
        ("BAWABA_ADMIN_PUBLISHER_TOKEN", "admin-publisher-0123456789"),
        ("BAWABA_TEST_LONG_PASSWORD", "123456789"),
        (
            "BAWABA_NOTIFY_ELECTRICITY_TOKEN",
            "notify-electricity-0123456789",
        ),
    ]);
    let valid = root().join("tests/fixtures/config/valid");
    let files = BTreeMap::from([
        (
            PathBuf::from("/etc/bawaba/secrets/admin-viewer-token"),
            "admin-token-abcdef-0123\n",
        ),
        (
            PathBuf::from("/etc/bawaba/secrets/korek-smpp"),
            "korekPw3\n",
        ),
        (
            PathBuf::from("/etc/bawaba/secrets/pension-token"),
            "pension-token-5e6f\n",
        ),
        (
            PathBuf::from("/etc/bawaba/secrets/notify-pds"),
            "notify-pds-campaigns-0123456789\n",
        ),
        (PathBuf::from("/etc/bawaba/tls/passport.crt"), "cert"),
        (PathBuf::from("/etc/bawaba/tls/zain-smsc-ca.pem"), "ca"),
        (PathBuf::from("/etc/bawaba/tls/passport.key"), "key"),
        (PathBuf::from("/etc/bawaba/tls/moi-ca.pem"), "ca"),
        (valid.join("secrets/korek-password"), "filePw\n"),
        (valid.join("tls/client.crt"), "cert"),
        (valid.join("tls/client.key"), "key"),
    ]);
    Fake { env, files }
}

impl SecretSource for Fake {
    fn var(&self, name: &str) -> Option<String> {
        self.env.get(name).map(|v| v.to_string())
    }
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .get(path)
            .map(|v| v.to_string())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not found"))
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tomls(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {dir}");
    files
}

fn load(path: &Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).unwrap();
    Config::from_str_with(&text, path, &fake())
}

#[test]
fn every_valid_fixture_and_both_shipped_configs_load() {
    let mut files = tomls("tests/fixtures/config/valid");
    files.push(root().join("config/bawaba.toml"));
    files.push(root().join("config/demo.toml"));
    for path in files {
        if let Err(e) = load(&path) {
            panic!("{} should load:\n{e}", path.display());
        }
    }
}

#[test]
fn every_invalid_fixture_fails_with_exactly_its_expected_problems() {
    for path in tomls("tests/fixtures/config/invalid") {
        let expected_path = path.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .expected sibling", path.display()));
        let expected: Vec<&str> = expected
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        let problems = match load(&path) {
            Ok(_) => panic!("{} should not load", path.display()),
            Err(e) => e.problems().to_vec(),
        };
        let got: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            expected.len() >= 2,
            "{}: list several problems to prove all-at-once",
            path.display()
        );
        assert_eq!(
            problems.len(),
            expected.len(),
            "{}: got\n{}\nexpected\n{}",
            path.display(),
            got.join("\n"),
            expected.join("\n")
        );
        for (p, want) in problems.iter().zip(&expected) {
            let (pos, rest) = want.split_once(' ').expect("LINE:COL KEY: MESSAGE");
            let (key, message) = rest.split_once(": ").expect("KEY: MESSAGE");
            let ok = format!("{}:{}", p.line, p.column) == pos
                && p.key == key
                && p.message.contains(message);
            assert!(ok, "{}: got `{p}`, expected `{want}`", path.display());
        }
    }
}

#[test]
fn no_expected_file_is_orphaned() {
    for entry in std::fs::read_dir(root().join("tests/fixtures/config/invalid")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "expected") {
            assert!(
                path.with_extension("toml").exists(),
                "{} has no .toml",
                path.display()
            );
        }
    }
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let config = load(&root().join("config/bawaba.toml")).unwrap();
    let debug = format!("{config:?} {config:#?}");
    for value in SECRET_VALUES {
        assert!(!debug.contains(value), "{value} leaked into Debug output");
    }
    assert!(debug.contains("***"));
    // The values are there for whoever needs them, and only via expose().
    assert_eq!(
        config.operator("zain").unwrap().password.expose(),
        Some("zainPw1")
    );
    assert_eq!(
        config.operator("korek").unwrap().password.expose(),
        Some("korekPw3")
    );
    match &config.backend("pds").unwrap().auth {
        Auth::Bearer { token } => {
            assert_eq!(token.expose(), Some("pds-token-9f8e7d"));
            assert_eq!(format!("{token} {token:?}"), "*** ***");
        }
        other => panic!("pds auth is {other:?}"),
    }
}

#[test]
fn from_str_is_pure_and_leaves_env_and_file_secrets_pending() {
    let path = root().join("config/bawaba.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config = Config::from_str(&text, &path).unwrap();
    assert_eq!(config.operator("zain").unwrap().password.expose(), None);
    let ops = config.backend_operations();
    assert_eq!(
        ops.keys().collect::<Vec<_>>(),
        ["electricity", "passport", "pds", "pension"]
    );
    assert!(ops["pds"].contains("balance") && ops["pds"].contains("entitlements"));
    assert!(ops["electricity"].contains("bill"));
    assert!(ops["passport"].contains("status"));
    assert!(ops["pension"].contains("inquiry"));
    // Korek's screens are the smallest: the flow compiler proves against them.
    let budget = config.strictest_budget();
    assert_eq!((budget.gsm7, budget.ucs2), (160, 70));
}

#[test]
fn defaults_follow_the_references() {
    let config = load(&root().join("tests/fixtures/config/valid/minimal.toml")).unwrap();
    let op = &config.operators[0];
    assert_eq!(
        (op.window, op.binds, op.tps, op.max_pdu_size),
        (10, 1, 10, 7424)
    );
    assert_eq!(op.sms.receipts, Receipts::Notifications);
    assert_eq!(config.gateway.queues.intake, 4096);
    assert_eq!(op.enquire_link.idle, Duration::from_secs(25));
    assert_eq!(op.enquire_link.timeout, Duration::from_secs(10));
    assert_eq!(op.response_timeout, Duration::from_secs(30));
    assert_eq!(
        (op.reconnect.min, op.reconnect.max),
        (Duration::from_secs(1), Duration::from_secs(20))
    );
    let u = &op.ussd.profile;
    assert_eq!(
        (
            u.ops.begin,
            u.ops.user_reply,
            u.ops.our_continue,
            u.ops.our_end
        ),
        (1, 18, 2, 17)
    );
    assert_eq!(u.ops.abort, [129]);
    assert_eq!((u.budget.gsm7, u.budget.ucs2), (182, 80));
    assert_eq!(u.timers.reply_deadline, Duration::from_secs(8));
    assert_eq!(u.timers.user_idle, Duration::from_secs(60));
    assert_eq!(u.timers.session_max, Duration::from_secs(180));
    assert_eq!(u.service_type, "USSD");
    assert_eq!(config.store.group_commit.max_batch, 1024);
    assert_eq!(config.store.group_commit.max_delay, Duration::ZERO);
    assert_eq!(config.sms.dedupe_window, Duration::from_secs(120));
    assert!(config.gateway.flows_dir.ends_with("valid/flows"));
}

#[test]
fn ussd_profiles_layer_defaults_then_profile_then_operator() {
    use bawaba::config::{DialString, SessionKey};
    let config = load(&root().join("tests/fixtures/config/valid/profiles.toml")).unwrap();
    let u = &config.operator("asiacell").unwrap().ussd.profile;
    assert_eq!(u.name, "mica");
    assert_eq!(u.session_key, SessionKey::UserMessageReference);
    assert_eq!(u.dial_string, DialString::DestinationAddr);
    assert_eq!(u.ops.abort, [129, 130]);
    assert_eq!(u.ops.begin, 1);
    assert_eq!((u.budget.gsm7, u.budget.ucs2), (160, 70));
    assert_eq!(u.timers.reply_deadline, Duration::from_secs(5)); // profile
    assert_eq!(u.timers.user_idle, Duration::from_secs(30)); // operator
    assert_eq!(u.timers.session_max, Duration::from_secs(120)); // profile
    assert_eq!(
        config.operator("korek").unwrap().ussd.profile.name,
        "default"
    );
}
