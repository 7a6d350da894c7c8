//! Talking to the admin listener of a `bawaba serve` child: its address
//! from the logs, and plain HTTP/1.1 requests over TCP.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Serve;

/// The admin address, from the gateway's log line `admin listener up`.
pub async fn admin_addr(serve: &Serve) -> SocketAddr {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let logs = serve.logs();
        let found = logs
            .lines()
            .filter(|l| l.contains("admin listener up"))
            .find_map(|l| {
                l.split("local_addr=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            });
        if let Some(addr) = found {
            return addr;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no admin address in:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until /readyz answers 200 (at most 15 s): the SMSC has seen the
/// bind before the gateway has its bind_resp and marks itself bound.
/// Returns the ready body.
pub async fn wait_ready(addr: SocketAddr) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = get(addr, "/readyz", None).await;
        if status == 200 {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never ready: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One GET: (status, body).
pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    request(addr, "GET", path, token, None).await
}

/// One request with an optional JSON body: (status, body).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: admin\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // A refusal (413) may come, and the socket close, before the whole
    // body is written: what matters is the answer read back.
    let _ = s.write_all(req.as_bytes()).await;
    let mut raw = Vec::new();
    let read = async {
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = s.read(&mut buf).await {
            raw.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("admin answered in time");
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// `[admin]` on a free loopback port with a publisher and a viewer token,
/// appended to the configuration at `config`.
pub fn add_admin(config: &std::path::Path, publisher: &str, viewer: &str, extra: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    let text = format!(
        "{text}\n[admin]\nlisten = \"127.0.0.1:0\"\n{extra}\n\
         [[admin.tokens]]\nname = \"ops\"\nrole = \"publisher\"\ntoken = \"{publisher}\"\n\n\
         [[admin.tokens]]\nname = \"grafana\"\nrole = \"viewer\"\ntoken = \"{viewer}\"\n"
    );
    std::fs::write(config, text).unwrap();
}
