//! node-smpp (npm `smpp` 0.5.1, pinned in tests/interop/package.json,
//! written by nobody on this team) as the SMSC, through
//! tests/interop/smsc.js: JSON lines in on stdin (commands), out on stdout
//! (every PDU it received). Shared by tests/interop_node.rs (our ESME alone)
//! and tests/e2e_interop_node.rs (`bawaba serve`). Fails, never skips,
//! without node; installs the pinned package with `npm ci` when
//! tests/interop/node_modules is absent.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::Instant;

/// How long one `expect` waits for its event, lines skipped included.
const WAIT: Duration = Duration::from_secs(20);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Installs the pinned node-smpp when tests/run.sh has not.
fn ensure_installed() {
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is required (node-smpp is the SMSC of this test); install Node.js >= 18"
    );
    if !interop_dir()
        .join("node_modules/smpp/package.json")
        .exists()
    {
        let ok = std::process::Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(interop_dir())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "`npm ci --prefix tests/interop` failed: node-smpp is not installed"
        );
    }
}

pub struct NodeSmsc {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every line read so far, for the failure messages.
    seen: Vec<Value>,
    pub port: u16,
}

impl NodeSmsc {
    /// Starts smsc.js on a free port with one account; returns once it listens.
    pub async fn start(system_id: &str, password: &str) -> NodeSmsc {
        ensure_installed();
        let mut child = Command::new("node")
            .arg(interop_dir().join("smsc.js"))
            .args([
                "--port",
                "0",
                "--system-id",
                system_id,
                "--password",
                password,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut smsc = NodeSmsc {
            _child: child,
            stdin,
            lines,
            seen: Vec::new(),
            port: 0,
        };
        let ready = smsc.expect("listening").await;
        smsc.port = ready["port"].as_u64().expect("port") as u16;
        smsc
    }

    pub async fn send(&mut self, command: Value) {
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to node");
    }

    /// The next event named `event`, skipping others (enquire_link...).
    /// An `error` event from node-smpp fails the test.
    pub async fn expect(&mut self, event: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no `{event}` from node within {WAIT:?}; saw {:#?}",
                        self.seen
                    )
                })
                .expect("read node stdout")
                .unwrap_or_else(|| panic!("node exited before `{event}`; saw {:#?}", self.seen));
            let v: Value = serde_json::from_str(&line).expect("a JSON line from smsc.js");
            self.seen.push(v.clone());
            assert_ne!(v["event"], "error", "node-smpp reported an error: {v}");
            if v["event"] == event {
                return v;
            }
        }
    }
}
