//! The real path for notification API tests: `bawaba serve` (the binary)
//! with config/demo.toml's gateway, its API on a free loopback port, the
//! simulator SMSC on a port reserved up front (so a test can start it
//! after the gateway: "the SMSC is down"), sled in a temp dir, and plain
//! HTTP/1.1 over TCP to the API (no client library between the test and
//! the wire).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bawaba_sim::{Smsc, SmscConfig, SmscHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::e2e_support::{write_config, Serve};

pub const DEMO: &str = "demo-token-not-secret";
pub const OTHER: &str = "other-token-0123456789";
pub const SLOW: &str = "slow-token-0123456789";
pub const BULK: &str = "bulk-token-0123456789";

/// A loopback address nothing listens on (yet).
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// A configuration, its store and the addresses the test talks to.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub api: SocketAddr,
    pub smsc_addr: SocketAddr,
    /// Where client "demo" gets its status callbacks ([`Sink`]).
    pub callback: SocketAddr,
}

/// Operator settings a test may change.
pub struct Op {
    pub tps: i64,
    pub window: i64,
}

impl Default for Op {
    fn default() -> Self {
        Op {
            tps: 100,
            window: 10,
        }
    }
}

impl Rig {
    pub fn new(op: Op) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let smsc_addr = free_addr();
        let api = free_addr();
        let callback = free_addr();
        let store = dir.path().join("store");
        // No back-end is called by these tests; the flows still compile.
        let path = write_config(
            dir.path(),
            (smsc_addr, free_addr()),
            &store,
            "text",
            crate::e2e_support::DEBUG,
        );
        let text = std::fs::read_to_string(&path).expect("config");
        let mut doc: toml::Table = text.parse().expect("TOML");
        let ops = doc["operators"].as_array_mut().expect("operators");
        let sim = ops[0].as_table_mut().expect("operator");
        sim.insert("tps".into(), op.tps.into());
        sim.insert("window".into(), op.window.into());
        let reconnect: toml::Table = toml::from_str("min = \"100ms\"\nmax = \"1s\"").unwrap();
        sim.insert("reconnect".into(), reconnect.into());
        let notify: toml::Table = toml::from_str(&format!(
            r#"
listen = "{api}"
max_body = "16KiB"
[[clients]]
name = "demo"
token = "{DEMO}"
rate = {{ per_second = 1000, burst = 1000 }}
callback_url = "http://{callback}/status"
[[clients]]
name = "other"
token = "{OTHER}"
[[clients]]
name = "slow"
token = "{SLOW}"
rate = {{ per_second = 1, burst = 2 }}
[[clients]]
name = "campaigns"
token = "{BULK}"
rate = {{ per_second = 100000, burst = 100000 }}
bulk = true
[templates.bill_due]
ar = "فاتورة الكهرباء {{amount}} دينار"
en = "Electricity bill: {{amount}} IQD"
"#
        ))
        .expect("notify TOML");
        doc.insert("notify".into(), notify.into());
        std::fs::write(&path, toml::to_string(&doc).expect("TOML")).expect("write config");
        Rig {
            dir,
            config: path,
            api,
            smsc_addr,
            callback,
        }
    }

    /// The simulator SMSC on the reserved port.
    pub async fn smsc(&self) -> SmscHandle {
        let mut cfg = SmscConfig::new(self.smsc_addr, "bawaba", crate::e2e_support::BIND_PASSWORD);
        cfg.observe_timeout = Duration::from_secs(60);
        Smsc::start(cfg).await.expect("simulator SMSC")
    }

    /// `bawaba serve`, once its API answers.
    pub async fn serve(&self, log: &str) -> Serve {
        let serve = Serve::spawn(&self.config, &self.dir.path().join(log));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(self.api).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the API did not listen within 30s:\n{}",
                serve.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        serve
    }

    pub fn store_dir(&self) -> &Path {
        self.dir.path()
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        let h = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name));
        h.map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One request on its own connection (`Connection: close`).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).await.expect("connect to the API");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer (413) and close before reading it all.
    let _ = s.write_all(&bytes).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok());
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status: status.unwrap_or_else(|| panic!("no status line: {head:?}")),
        headers,
        body: body.to_string(),
    }
}

/// `POST /v1/messages` as `token`, with an optional Idempotency-Key.
pub async fn post(addr: SocketAddr, token: &str, key: Option<&str>, body: &str) -> Resp {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    if let Some(k) = key {
        headers.push(("Idempotency-Key", k));
    }
    http(addr, "POST", "/v1/messages", &headers, body.as_bytes()).await
}

pub async fn get(addr: SocketAddr, token: &str, id: &str) -> Resp {
    let auth = format!("Bearer {token}");
    http(
        addr,
        "GET",
        &format!("/v1/messages/{id}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await
}

/// Polls `GET` until the status is `want` (bounded); the last answer.
pub async fn wait_status(
    addr: SocketAddr,
    token: &str,
    id: &str,
    want: &str,
    within: Duration,
) -> Resp {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let r = get(addr, token, id).await;
        if r.status == 200 && r.json()["status"] == want {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id}: still {} {} after {within:?}, wanted {want}",
            r.status,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A message body to `to`.
pub fn text_to(to: &str, text: &str) -> String {
    serde_json::json!({ "to": to, "text": text }).to_string()
}

/// A callback receiver: records each POSTed body, answers 200.
pub struct Sink {
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl Sink {
    pub async fn start(addr: SocketAddr) -> Sink {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("callback port");
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let len = head
                                .lines()
                                .filter_map(|l| l.split_once(':'))
                                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if body.len() >= len {
                                if let Ok(v) = serde_json::from_str(&body[..len]) {
                                    seen.lock().unwrap().push(v);
                                }
                                let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                                let _ = s.write_all(ok.as_bytes()).await;
                                return;
                            }
                        }
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        Sink { bodies }
    }

    /// Waits (bounded) until a callback with `id` and `status` came.
    pub async fn wait_for(&self, id: &str, status: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.bodies.lock().unwrap().clone();
            if got.iter().any(|b| b["id"] == id && b["status"] == status) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {status} callback for {id}: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
