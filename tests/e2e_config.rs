//! `bawaba serve` and `bawaba demo` refuse what the operator got wrong:
//! every configuration problem with its key path, or every flow problem
//! with file:line:col, exit 64, and nothing started: no connection to the
//! SMSC, no store created.

mod e2e_support;

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use e2e_support::{root, run};

const DEADLINE: Duration = Duration::from_secs(60);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A listener standing in for the SMSC: after the process exited, nothing
/// may have connected to it.
fn smsc() -> TcpListener {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

fn assert_never_connected(l: &TcpListener) {
    match l.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the gateway connected to the SMSC: {other:?}"),
    }
}

fn config(dir: &Path, smsc_port: u16, flows: &Path, gateway_extra: &str, op_extra: &str) -> String {
    let store = dir.join("store");
    let text = format!(
        r#"
[gateway]
flows_dir = "{flows}"
{gateway_extra}

[store]
path = "{store}"

[[operators]]
name = "sim"
host = "127.0.0.1"
port = {smsc_port}
system_id = "bawaba"
password = "demo"
{op_extra}

[operators.ussd]
service_codes = ["*123#"]
"#,
        flows = flows.display(),
        store = store.display(),
    );
    let path = dir.join("bawaba.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn serve_lists_every_config_problem_with_its_key_path_and_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let listener = smsc();
    let port = listener.local_addr().unwrap().port();
    let file = config(
        dir.path(),
        port,
        &root("flows"),
        "workers = 0\nshutdown_grace = 30",
        "window = 0\ntps = 10\nbind_mode = \"both\"",
    );
    let out = run(&["serve", "--config", &file], DEADLINE);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    for key in [
        "gateway.workers",
        "gateway.shutdown_grace",
        "operators[0].window",
        "operators[0].bind_mode",
    ] {
        assert!(
            err.contains(&format!(": {key}: ")),
            "{key} missing in:\n{err}"
        );
    }
    assert!(err.contains("4 problem(s); nothing was started"), "{err}");
    assert_never_connected(&listener);
    assert!(!dir.path().join("store").exists(), "a store was created");
}

#[test]
fn serve_lists_every_flow_problem_and_exits_64_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    let listener = smsc();
    let port = listener.local_addr().unwrap().port();
    let broken = root("tests/fixtures/flows/broken");
    let file = config(dir.path(), port, &broken, "", "");
    let out = run(&["serve", "--config", &file], DEADLINE);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    // One line per problem, from several files, each file:line:col.
    for (flow, expected) in [
        (
            "unknown_target.yaml",
            "15:15: unknown target node `nowhere`",
        ),
        (
            "missing_translation.yaml",
            "11:7: missing translation `ckb`",
        ),
        ("unknown_backend.yaml", "17:14: unknown backend `water`"),
    ] {
        let want = format!("{}:{expected}", broken.join(flow).display());
        assert!(err.contains(&want), "{want} missing in:\n{err}");
    }
    let problems = err.lines().filter(|l| l.contains(".yaml:")).count();
    assert!(problems >= 10, "{problems} flow problems listed:\n{err}");
    assert!(
        err.contains("problem(s) in the flows; nothing was started"),
        "{err}"
    );
    assert_never_connected(&listener);
    assert!(!dir.path().join("store").exists(), "a store was created");
}

#[test]
fn serve_without_flows_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let listener = smsc();
    let port = listener.local_addr().unwrap().port();
    let file = config(dir.path(), port, &dir.path().join("nowhere"), "", "");
    let out = run(&["serve", "--config", &file], DEADLINE);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("cannot read the flows in"), "{err}");
    assert_never_connected(&listener);
}

#[test]
fn demo_and_serve_refuse_a_missing_or_bad_file() {
    let out = run(&["serve", "--config", "no/such/file.toml"], DEADLINE);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no/such/file.toml"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[gateway]\nwokers = 2\n").unwrap();
    let out = run(&["demo", "--config", bad.to_str().unwrap()], DEADLINE);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("gateway.wokers"), "{err}");
    assert!(err.contains("operators"), "{err}");
}
