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
        let mut cfg = SmscConfig::local("bawaba", "demo");
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

    /// Starts `bawaba serve`, its stderr in `dir/<log>`, and waits until
    /// it has bound `binds` times in all.
    pub async fn serve(&self, log: &str, binds: u64) -> Serve {
        let serve = Serve::spawn(&self.config, &self.dir.path().join(log));
        self.peers.wait_binds(binds).await;
        serve
    }
}

/// `bawaba serve` as a child process; its stderr (the logs) goes to a
/// file. Killed (SIGKILL) when dropped.
pub struct Serve {
    child: tokio::process::Child,
    pub stderr: PathBuf,
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

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}
