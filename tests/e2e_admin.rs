//! The admin listener of `bawaba serve`: health, readiness that follows
//! the binds, and Prometheus metrics checked after a real USSD dialogue
//! (simulator SMSC, mock ministries, sled on disk, plain HTTP/1.1).

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::{Rig, Serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "metrics-token-0123456789";

/// The admin address, from the gateway's log line `admin listener up`.
async fn admin_addr(serve: &Serve) -> SocketAddr {
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

/// One GET over HTTP/1.1: (status, body).
async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!("GET {path} HTTP/1.1\r\nHost: admin\r\n{auth}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("admin answered in time")
        .unwrap();
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

/// `bawaba status --admin ADDR`, the token in an environment variable.
async fn bawaba_status(admin: SocketAddr) -> std::process::Output {
    // Only this test runs in this binary: setting the variable races nothing.
    std::env::set_var("BAWABA_E2E_ADMIN_TOKEN", TOKEN);
    let admin = admin.to_string();
    tokio::task::spawn_blocking(move || {
        let args = [
            "status",
            "--admin",
            &admin,
            "--token-env",
            "BAWABA_E2E_ADMIN_TOKEN",
        ];
        e2e_support::run(&args, Duration::from_secs(20))
    })
    .await
    .unwrap()
}

/// The value of the sample `series` (name and labels, exactly as exposed).
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no `{series}` in:\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_after_a_dialogue() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let text = std::fs::read_to_string(&rig.config).unwrap();
    let text = format!("{text}\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n");
    std::fs::write(&rig.config, text).unwrap();
    let mut serve = rig.serve("serve.log", 1).await;
    let admin = admin_addr(&serve).await;

    assert_eq!(get(admin, "/healthz", None).await, (200, "ok\n".into()));
    let (status, ready) = get(admin, "/readyz", None).await;
    assert_eq!(status, 200, "{ready}");
    assert!(ready.contains("\"ready\":true"), "{ready}");
    assert_eq!(get(admin, "/metrics", None).await.0, 401);
    assert_eq!(
        get(admin, "/metrics", Some("metrics-token-012345678X"))
            .await
            .0,
        401
    );

    // Ration card balance: ask_card -> choose -> the balance screen.
    let mut phone = rig.peers.smsc.ussd("9647701234567");
    phone.dial("*123*1#").await.unwrap();
    phone.reply("12345678").await.unwrap();
    let done = phone.reply("1").await.unwrap();
    assert!(done.end, "{done:?}");

    // The last step is observed when the SMSC has acknowledged our screen,
    // which may be just after the phone saw it: scrape until it is in.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let m = loop {
        let (status, m) = get(admin, "/metrics", Some(TOKEN)).await;
        assert_eq!(status, 200);
        let steps = "bawaba_ussd_step_seconds_count{operator=\"sim\"} ";
        let done = m.lines().any(|l| l.strip_prefix(steps) == Some("3"));
        if done || tokio::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(m.trim_end().ends_with("# EOF"), "{m}");
    let pdus = |dir: &str, cmd: &str| {
        sample(&m, &format!("bawaba_smpp_pdus_total{{operator=\"sim\",direction=\"{dir}\",command=\"{cmd}\",status=\"ESME_ROK\"}}"))
    };
    assert!(pdus("in", "deliver_sm") >= 3.0, "{m}");
    assert!(pdus("out", "deliver_sm_resp") >= 3.0, "{m}");
    assert!(pdus("out", "submit_sm") >= 3.0, "{m}");
    assert_eq!(
        sample(&m, "bawaba_ussd_step_seconds_count{operator=\"sim\"}"),
        3.0
    );
    let node = |node: &str, event: &str| {
        sample(
            &m,
            &format!("bawaba_flow_node_total{{flow=\"pds\",node=\"{node}\",event=\"{event}\"}}"),
        )
    };
    assert_eq!(node("ask_card", "entered"), 1.0);
    assert_eq!(node("ask_card", "completed"), 1.0);
    assert_eq!(node("choose", "entered"), 1.0);
    assert_eq!(node("choose", "completed"), 1.0);
    assert_eq!(
        sample(
            &m,
            "bawaba_backend_calls_total{backend=\"pds\",outcome=\"ok\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&m, "bawaba_backend_call_seconds_count{backend=\"pds\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "bawaba_bind_up{operator=\"sim\",bind=\"0\",kind=\"transceiver\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&m, "bawaba_bind_window_size{operator=\"sim\"}"),
        10.0
    );
    assert_eq!(sample(&m, "bawaba_worker_queue_depth"), 0.0);
    assert!(
        !m.contains("9647701234567") && !m.contains("12345678"),
        "no number or input in metrics"
    );

    // `bawaba status` reads the same through /v1/status (token from env).
    let status = bawaba_status(admin).await;
    assert!(status.status.success(), "{status:?}");
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(out.starts_with("gateway: ready"), "{out}");
    assert!(out.contains("sim") && out.contains(" up "), "{out}");
    assert!(out.contains("pds@1 sha256:"), "{out}");

    // The SMSC goes away: not ready, and the reason says which operator.
    rig.peers.smsc.shutdown().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = get(admin, "/readyz", None).await;
        if status == 503 {
            assert!(
                body.contains("\"operators_without_bind\":[\"sim\"]"),
                "{body}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let status = bawaba_status(admin).await;
    assert_eq!(status.status.code(), Some(1), "not ready: {status:?}");
    assert!(String::from_utf8_lossy(&status.stdout).contains("DOWN"));

    serve.signal("TERM");
    assert!(serve.wait(Duration::from_secs(20)).await.success());
}
