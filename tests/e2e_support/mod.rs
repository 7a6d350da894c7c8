//! Shared by the end-to-end tests (tests/e2e_*.rs, tests/demo_*.rs): the
//! real `bawaba` binary as a child process, the simulator SMSC and the mock
//! ministries in the test process, and a configuration derived from
//! config/demo.toml pointing at them (so the back-ends are the ones the
//! demo ships, whoever edits them).
#![allow(dead_code)]

pub mod admin;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use bawaba_sim::ministries::{Ministries, MinistriesConfig, MinistriesHandle};
use bawaba_sim::{Smsc, SmscConfig, SmscHandle};

pub const BIN: &str = env!("CARGO_BIN_EXE_bawaba");
/// The bind password every end-to-end gateway uses: distinctive, so the
/// log scan ([`Serve`]'s drop) finds it wherever it would leak.
pub const BIND_PASSWORD: &str = "Pw7kQ2zx";
/// A log level with all of bawaba at debug: what the log scan reads.
pub const DEBUG: &str = "info,bawaba=debug";
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A path in the source tree.
pub fn root(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

/// Runs the binary to completion with a deadline.
pub fn run(args: &[&str], deadline: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bawaba");
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "bawaba {args:?} still running after {deadline:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// The simulator SMSC (the demo configuration's account) and the mock
/// ministries, on free loopback ports.
pub struct Peers {
    pub smsc: SmscHandle,
    pub ministries: MinistriesHandle,
}

impl Peers {
    pub async fn start() -> Peers {
        let mut cfg = SmscConfig::local("bawaba", BIND_PASSWORD);
        cfg.observe_timeout = Duration::from_secs(15);
        let smsc = Smsc::start(cfg).await.expect("simulator SMSC");
        let ministries = Ministries::start(MinistriesConfig::local())
            .await
            .expect("mock ministries");
        Peers { smsc, ministries }
    }

    /// Waits until the gateway has bound `total` times in all (a restart
    /// binds again) and a bind is up now.
    pub async fn wait_binds(&self, total: u64) {
        self.smsc
            .wait_until("the gateway's bind", |binds, s| {
                !binds.is_empty() && s.binds_accepted >= total
            })
            .await
            .expect("the gateway did not bind");
    }
}

/// config/demo.toml pointed at an SMSC and the ministries, its store in
/// `store`, logs as `format` at `level`; written to `dir/bawaba.toml`.
pub fn write_config(
    dir: &Path,
    (smsc, ministries): (SocketAddr, SocketAddr),
    store: &Path,
    format: &str,
    level: &str,
) -> PathBuf {
    let text = std::fs::read_to_string(root("config/demo.toml")).expect("config/demo.toml");
    let mut doc: toml::Table = text.parse().expect("config/demo.toml is TOML");
    let table = |doc: &mut toml::Table, key: &str| -> toml::Table {
        doc.get(key)
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_default()
    };
    let mut gateway = table(&mut doc, "gateway");
    gateway.insert("flows_dir".into(), path_value(&root("flows")));
    gateway.insert("watch_flows".into(), false.into());
    doc.insert("gateway".into(), gateway.into());
    let mut store_t = table(&mut doc, "store");
    store_t.insert("path".into(), path_value(store));
    doc.insert("store".into(), store_t.into());
    let mut log = toml::Table::new();
    log.insert("format".into(), format.into());
    log.insert("level".into(), level.into());
    doc.insert("log".into(), log.into());
    doc.remove("admin");
    // Tests run side by side: the API (if demo.toml has one) on a free port.
    if let Some(notify) = doc.get_mut("notify").and_then(|v| v.as_table_mut()) {
        notify.insert("listen".into(), "127.0.0.1:0".into());
    }
    for op in array(&mut doc, "operators") {
        op.insert("password".into(), BIND_PASSWORD.into());
        op.insert("host".into(), smsc.ip().to_string().into());
        op.insert("port".into(), i64::from(smsc.port()).into());
    }
    for backend in array(&mut doc, "backends") {
        let url = backend["base_url"].as_str().expect("base_url").to_string();
        backend.insert("base_url".into(), repoint(&url, ministries).into());
    }
    let path = dir.join("bawaba.toml");
    std::fs::write(&path, toml::to_string(&doc).expect("TOML")).expect("write config");
    path
}

/// Rewrites the configuration at `config`: `edit` gets the document and
/// its first operator's table.
pub fn edit_config(config: &Path, edit: impl FnOnce(&mut toml::Table)) {
    let text = std::fs::read_to_string(config).expect("config");
    let mut doc: toml::Table = text.parse().expect("config is TOML");
    edit(&mut doc);
    std::fs::write(config, toml::to_string(&doc).expect("TOML")).expect("write config");
}

/// The first operator's table of a configuration document.
pub fn first_operator(doc: &mut toml::Table) -> &mut toml::Table {
    doc["operators"].as_array_mut().expect("operators")[0]
        .as_table_mut()
        .expect("operator table")
}

fn path_value(p: &Path) -> toml::Value {
    p.display().to_string().into()
}

fn array<'a>(doc: &'a mut toml::Table, key: &str) -> impl Iterator<Item = &'a mut toml::Table> {
    doc.get_mut(key)
        .and_then(|v| v.as_array_mut())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_table_mut())
}

/// `http://host:port/path` -> the same path at `to`.
fn repoint(url: &str, to: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("base_url has a scheme");
    let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
    format!("{scheme}://{to}{path}")
}

/// Peers, a temporary directory with a configuration for them (store in
/// `dir/store`), ready to start `bawaba serve` on.
pub struct Rig {
    pub peers: Peers,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Rig {
    pub async fn start(format: &str, level: &str) -> Rig {
        let peers = Peers::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        let addrs = (peers.smsc.local_addr(), peers.ministries.local_addr());
        let config = write_config(dir.path(), addrs, &store, format, level);
        Rig { peers, dir, config }
    }

    /// Rewrites the configuration (before `serve`).
    pub fn edit(&self, f: impl FnOnce(&mut toml::Table)) {
        let text = std::fs::read_to_string(&self.config).expect("config");
        let mut doc: toml::Table = text.parse().expect("TOML");
        f(&mut doc);
        std::fs::write(&self.config, toml::to_string(&doc).expect("TOML")).expect("write config");
    }

    /// Starts `bawaba serve`, its stderr in `dir/<log>`, and waits until
    /// it has bound `binds` times in all.
    pub async fn serve(&self, log: &str, binds: u64) -> Serve {
        let serve = Serve::spawn(&self.config, &self.dir.path().join(log));
        self.peers.wait_binds(binds).await;
        serve
    }
}

/// `bawaba serve` as a child process; its stderr (the logs) goes to a
/// file. Killed (SIGKILL) when dropped, and then its logs are scanned
/// ([`scan`]): a test whose gateway logged a secret fails.
pub struct Serve {
    child: tokio::process::Child,
    pub stderr: PathBuf,
    /// The secrets of its configuration (bind passwords, tokens).
    secrets: Vec<String>,
}

/// Citizens' secrets and identifiers typed in this test process (PINs,
/// pension and card numbers): no gateway log may hold them.
static SENSITIVE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Marks `value` (a PIN, a national id...) as one no log may contain.
pub fn sensitive(value: &str) {
    SENSITIVE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(value.to_string());
}

/// Every inline secret of a configuration file: operators' passwords,
/// notification and admin tokens, back-end tokens.
fn config_secrets(config: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let doc: toml::Table = text.parse().unwrap_or_default();
    let mut out = Vec::new();
    fn walk(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    match (k.as_str(), v) {
                        ("password" | "token", toml::Value::String(s)) => out.push(s.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&toml::Value::Table(doc), &mut out);
    out
}

/// A log line without its timestamp (text: the first word; JSON: the
/// `timestamp` field), so a date is never mistaken for a PIN.
fn without_timestamp(line: &str) -> String {
    if line.starts_with('{') {
        if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(line) {
            if let Some(o) = v.as_object_mut() {
                o.remove("timestamp");
            }
            return v.to_string();
        }
    }
    line.split_once(char::is_whitespace)
        .map_or(String::new(), |(_, rest)| rest.to_string())
}

/// Whether `secret` is in `text`: digits as a whole run of digits (a PIN
/// inside a longer number is not it), anything else as a substring.
fn holds(text: &str, secret: &str) -> bool {
    if secret.chars().all(|c| c.is_ascii_digit()) {
        text.split(|c: char| !c.is_ascii_digit())
            .any(|run| run == secret)
    } else {
        text.contains(secret)
    }
}

/// The lines of `logs` that hold any of `secrets` (each line, then the
/// secret found).
pub fn leaks(logs: &str, secrets: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in logs.lines() {
        let line = without_timestamp(line);
        for s in secrets.iter().filter(|s| s.len() >= 4) {
            if holds(&line, s) {
                out.push((line.clone(), s.clone()));
            }
        }
    }
    out
}

/// Fails if `logs` hold a configuration secret or a registered citizen
/// secret ([`sensitive`]).
pub fn scan(logs: &str, config_secrets: &[String]) {
    let mut secrets = config_secrets.to_vec();
    secrets.extend(
        SENSITIVE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned(),
    );
    let found = leaks(logs, &secrets);
    assert!(
        found.is_empty(),
        "the gateway logged a secret or a citizen's identifier ({} lines), e.g. {:?} in: {}",
        found.len(),
        found[0].1,
        found[0].0
    );
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if !std::thread::panicking() {
            scan(&self.logs(), &self.secrets);
        }
    }
}

impl Serve {
    pub fn spawn(config: &Path, stderr: &Path) -> Serve {
        let log = std::fs::File::create(stderr).expect("stderr file");
        let child = tokio::process::Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .current_dir(ROOT)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn bawaba serve");
        Serve {
            child,
            stderr: stderr.to_path_buf(),
            secrets: config_secrets(config),
        }
    }

    /// Sends `signal` (`"TERM"`, `"INT"`, `"KILL"`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit, up to `deadline`.
    pub async fn wait(&mut self, deadline: Duration) -> ExitStatus {
        match tokio::time::timeout(deadline, self.child.wait()).await {
            Ok(status) => status.expect("wait"),
            Err(_) => panic!(
                "bawaba serve did not exit within {deadline:?}; stderr:\n{}",
                self.logs()
            ),
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}
