//! The HTTP/2 transport (src/backend/http2.rs) against a server written
//! here on the `h2` crate's server side, so that what a real ministry may
//! do to a connection is under exact control: end it (GOAWAY) between
//! calls, cap its concurrent streams (more connections, then waiting),
//! stop answering altogether.

mod backend_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backend_support::{backends, req};
use bawaba::backend::http2::{read_body, Settings, H2};
use bawaba::engine::Outcome;
use bytes::Bytes;
use tokio::net::TcpListener;

/// What the test server does with each connection.
#[derive(Clone, Copy)]
enum Mode {
    /// Answer every request.
    Serve,
    /// Answer one request, then end the connection gracefully (GOAWAY).
    OneThenGoAway,
    /// The first connection answers one request, then stops reading:
    /// no answer, no PING reply, the TCP connection left open.
    FirstFreezes,
    /// The very first request is refused unprocessed (RST_STREAM
    /// REFUSED_STREAM); the rest are answered.
    RefuseFirst,
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

async fn h2_server(mode: Mode, max_streams: u32, hold: Duration) -> (SocketAddr, Arc<Stats>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(Stats::default());
    let st = Arc::clone(&stats);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let nth = st.connections.fetch_add(1, Ordering::SeqCst);
            let st = Arc::clone(&st);
            tokio::spawn(async move {
                let mut conn = h2::server::Builder::new()
                    .max_concurrent_streams(max_streams)
                    .handshake::<_, Bytes>(tcp)
                    .await
                    .unwrap();
                let mut answered = 0;
                while let Some(Ok((_req, mut respond))) = conn.accept().await {
                    let nth_request = st.requests.fetch_add(1, Ordering::SeqCst);
                    if matches!(mode, Mode::RefuseFirst) && nth_request == 0 {
                        respond.send_reset(h2::Reason::REFUSED_STREAM);
                        continue;
                    }
                    let st = Arc::clone(&st);
                    tokio::spawn(async move {
                        let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        st.most_in_flight.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(hold).await;
                        st.in_flight.fetch_sub(1, Ordering::SeqCst);
                        let head = http::Response::builder()
                            .status(200)
                            .header("content-type", "application/json")
                            .body(())
                            .unwrap();
                        let mut body = respond.send_response(head, false).unwrap();
                        let _ = body.send_data(Bytes::from_static(br#"{"a":"1"}"#), true);
                    });
                    answered += 1;
                    match mode {
                        Mode::OneThenGoAway if answered == 1 => conn.graceful_shutdown(),
                        Mode::FirstFreezes if nth == 0 => {
                            // Long enough to send the answer, then never
                            // poll the connection again.
                            let _ = tokio::time::timeout(hold + Duration::from_millis(50), async {
                                while conn.accept().await.is_some() {}
                            })
                            .await;
                            std::future::pending::<()>().await;
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (addr, stats)
}

fn backend(addr: SocketAddr, extra: &str) -> bawaba::backend::Backends {
    backends(&format!(
        "[[backends]]\nname = \"t\"\nbase_url = \"http://{addr}\"\nallow_http = true\n\
         http_version = \"2\"\n{extra}\n[backends.operations]\nok = {{ method = \"GET\", path = \"/ok\" }}\n\
         make = {{ method = \"POST\", path = \"/make\", body = {{ card = \"{{card}}\" }} }}\n"
    ))
}

#[tokio::test]
async fn a_connection_the_server_ended_is_replaced_without_a_failed_attempt() {
    let (addr, stats) = h2_server(Mode::OneThenGoAway, 100, Duration::ZERO).await;
    let b = backend(addr, "retries = 0");
    for i in 0..3 {
        let r = b.call(req("t", "ok", &[])).await;
        assert_eq!((r.outcome, r.attempts), (Outcome::Ok, 1), "call {i}: {r:?}");
        // Let the GOAWAY arrive before the next call.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stats.connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_request_the_server_refused_unprocessed_is_sent_again_even_a_post() {
    let (addr, stats) = h2_server(Mode::RefuseFirst, 100, Duration::ZERO).await;
    let b = backend(addr, "retries = 0");
    let r = b.call(req("t", "make", &[("card", "12345678")])).await;
    assert_eq!((r.outcome, r.attempts), (Outcome::Ok, 1), "{r:?}");
    assert_eq!(stats.requests.load(Ordering::SeqCst), 2);
    assert_eq!(
        stats.connections.load(Ordering::SeqCst),
        1,
        "the connection is fine"
    );
}

#[tokio::test]
async fn past_the_servers_stream_limit_calls_spread_over_more_connections_then_wait() {
    // Each answer held long enough for the connections to open meanwhile,
    // even on a loaded machine.
    let (addr, stats) = h2_server(Mode::Serve, 2, Duration::from_millis(500)).await;
    let (connections, in_flight) = (&stats.connections, &stats.most_in_flight);
    let b = backend(addr, "concurrency = 64");
    // One call first, so that the server's SETTINGS (2 streams) are known.
    assert_eq!(b.call(req("t", "ok", &[])).await.outcome, Outcome::Ok);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    // 4 at once: a second connection, 2 streams each.
    let calls = (0..4).map(|_| b.call(req("t", "ok", &[])));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    assert_eq!(in_flight.load(Ordering::SeqCst), 4);
    // 40 at once: 8 connections at most (16 streams); the rest wait for
    // a stream and all are answered.
    let calls = (0..40).map(|_| b.call(req("t", "ok", &[])));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 8);
    assert_eq!(in_flight.load(Ordering::SeqCst), 16);
}

#[tokio::test]
async fn under_the_stream_limit_one_connection_carries_every_call() {
    let (addr, stats) = h2_server(Mode::Serve, 100, Duration::from_millis(500)).await;
    let b = backend(addr, "concurrency = 64");
    let calls = (0..60).map(|_| b.call(req("t", "ok", &[])));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    }
    assert_eq!(stats.connections.load(Ordering::SeqCst), 1);
    assert_eq!(stats.most_in_flight.load(Ordering::SeqCst), 60);
}

#[tokio::test]
async fn a_connection_whose_pings_go_unanswered_is_closed_and_replaced() {
    let (addr, stats) = h2_server(Mode::FirstFreezes, 100, Duration::ZERO).await;
    let h2 = H2::new(Settings {
        host: "127.0.0.1".into(),
        port: addr.port(),
        tls: None,
        connect_timeout: Duration::from_secs(2),
        stream_window: 1 << 16,
        ping_every: Duration::from_millis(50),
        ping_timeout: Duration::from_millis(100),
        remember_not_h2: false,
        max_connections: 1,
    })
    .unwrap();
    let get = || {
        http::Request::get(format!("http://{addr}/ok"))
            .body(())
            .unwrap()
    };
    let (first, _stream) = h2.send(get, None).await.unwrap();
    let mut first = first.into_body();
    assert_eq!(read_body(&mut first, 1024).await.unwrap(), br#"{"a":"1"}"#);
    // The server now answers nothing on that connection, pings included:
    // within ~150 ms it is dropped, and the next request opens another.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = tokio::time::timeout(Duration::from_secs(2), h2.send(get, None))
        .await
        .expect("sent on a new connection, not on the frozen one")
        .unwrap();
    assert_eq!(second.0.status(), 200);
    assert_eq!(stats.connections.load(Ordering::SeqCst), 2);
}
