//! The admin listener of `bawaba serve`: health, readiness that follows
//! the binds, and Prometheus metrics checked after a real USSD dialogue
//! (simulator SMSC, mock ministries, sled on disk, plain HTTP/1.1).

mod e2e_support;

use std::net::SocketAddr;
use std::time::Duration;

use e2e_support::admin::{add_admin, admin_addr, get, wait_ready};
use e2e_support::Rig;

const TOKEN: &str = "metrics-token-0123456789";

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
    // A viewer token is enough to read everything here.
    add_admin(&rig.config, "publisher-token-0123456789", TOKEN, "");
    let mut serve = rig.serve("serve.log", 1).await;
    let admin = admin_addr(&serve).await;

    assert_eq!(get(admin, "/healthz", None).await, (200, "ok\n".into()));
    let ready = wait_ready(admin).await;
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

    // A dialogue left open counts as an active session of its operator.
    let mut open = rig.peers.smsc.ussd("9647709876543");
    let first = open.dial("*123*1#").await.unwrap();
    assert!(!first.end, "{first:?}");
    let (_, m) = get(admin, "/metrics", Some(TOKEN)).await;
    assert_eq!(
        sample(
            &m,
            "bawaba_sessions_active{operator=\"sim\",bearer=\"ussd\"}"
        ),
        1.0,
        "{m}"
    );

    // `bawaba status` reads the same through /v1/status (token from env).
    let status = bawaba_status(admin).await;
    assert!(status.status.success(), "{status:?}");
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(out.starts_with("gateway: ready"), "{out}");
    assert!(out.contains("sim") && out.contains(" up "), "{out}");
    assert!(out.contains("pds@2 sha256:"), "{out}");

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
