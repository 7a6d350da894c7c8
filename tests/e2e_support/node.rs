//! node-smpp (npm `smpp` 0.5.1, written by nobody on this team) as the
//! SMSC, through tests/interop/smsc.js: JSON lines in on stdin (commands),
//! out on stdout (every PDU it received). Fails, never skips, without node.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const WAIT: Duration = Duration::from_secs(20);

fn interop_dir() -> PathBuf {
    super::root("tests/interop")
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
        assert!(ok, "`npm ci --prefix tests/interop` failed");
    }
}

pub struct NodeSmsc {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    pub port: u16,
}

impl NodeSmsc {
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
    pub async fn expect(&mut self, event: &str) -> Value {
        let wait = async {
            loop {
                let line = self.lines.next_line().await.expect("read node");
                let line = line.unwrap_or_else(|| panic!("node exited waiting for {event}"));
                let v: Value = serde_json::from_str(&line).expect("a JSON line from node");
                if v["event"] == event {
                    return v;
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .unwrap_or_else(|_| panic!("no {event} from node within {WAIT:?}"))
    }
}
