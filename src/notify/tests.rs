//! The router with a fake [`Port`]: what the end-to-end tests cannot make
//! happen on demand (a busy store, a full server, a slow request).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use futures::future::BoxFuture;
use tokio::sync::Notify as Wake;
use tower::ServiceExt;

use super::*;
use crate::config::{NotifyClient, NotifyRate, Secret};

const TOKEN: &str = "test-token-0123456789";

#[derive(Default)]
struct FakePort {
    busy: bool,
    /// When set, `send` waits for it.
    hold: Option<Arc<Wake>>,
    /// Notified when `send` is entered.
    entered: Arc<Wake>,
    audit: Mutex<Vec<serde_json::Value>>,
}

impl Port for FakePort {
    fn send(
        &self,
        _key: MessageId,
        _to: Msisdn,
        _text: String,
        _priority: Priority,
    ) -> BoxFuture<'_, Result<(OutboundId, bool), outbox::Error>> {
        Box::pin(async move {
            self.entered.notify_one();
            if let Some(h) = &self.hold {
                h.notified().await;
            }
            if self.busy {
                return Err(outbox::Error::Store(store::Error::Busy));
            }
            Ok((OutboundId(7), true))
        })
    }
    fn keyed(&self, _key: MessageId) -> BoxFuture<'_, Result<Option<OutboundId>, outbox::Error>> {
        Box::pin(async { Ok(None) })
    }
    fn status(&self, _id: OutboundId) -> BoxFuture<'_, Result<Option<SmsStatus>, outbox::Error>> {
        Box::pin(async { Ok(None) })
    }
    fn audit(&self, record: Vec<u8>) -> BoxFuture<'_, Result<(), store::Error>> {
        let v = serde_json::from_slice(&record).unwrap();
        self.audit.lock().unwrap().push(v);
        Box::pin(async { Ok(()) })
    }
}

fn config(concurrency: usize) -> Notify {
    Notify {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body: 1024,
        concurrency,
        request_timeout: Duration::from_secs(2),
        max_parts: 10,
        allowed_ips: vec![],
        clients: vec![NotifyClient {
            name: "t".into(),
            token: Secret::new(TOKEN),
            rate: NotifyRate {
                per_second: 1000,
                burst: 1000,
            },
            allowed_ips: vec![],
            bulk: false,
            callback_url: None,
        }],
        templates: Default::default(),
    }
}

fn router(port: Arc<FakePort>, concurrency: usize) -> axum::Router {
    let callbacks = callback::Callbacks::start(port.clone(), CancellationToken::new());
    api::router(&config(concurrency), port, callbacks)
}

fn post() -> Request<Body> {
    let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut req = Request::post("/v1/messages")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(r#"{"to":"07701234567","text":"hi"}"#))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

#[tokio::test]
async fn a_busy_store_is_503_with_retry_after_and_audited() {
    let port = Arc::new(FakePort {
        busy: true,
        ..FakePort::default()
    });
    let r = router(port.clone(), 8).oneshot(post()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "1");
    let audit = port.audit.lock().unwrap().clone();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0]["status"].clone(), audit[0]["code"].clone()),
        (503.into(), "unavailable".into())
    );
    assert_eq!(audit[0]["to"], "964********67");
    let text = crate::metrics::get().render(&crate::metrics::Snapshot::default());
    let series = r#"bawaba_notify_requests_total{client="t",action="send",status="503"}"#;
    assert!(text.contains(series), "{text}");
}

#[tokio::test]
async fn beyond_the_concurrency_limit_is_503_at_once() {
    let hold = Arc::new(Wake::new());
    let port = Arc::new(FakePort {
        hold: Some(hold.clone()),
        ..FakePort::default()
    });
    let app = router(port.clone(), 1);
    let first = tokio::spawn(app.clone().oneshot(post()));
    // The first request holds the only slot, parked in `send`.
    port.entered.notified().await;
    let r = app.oneshot(post()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "1");
    let audit = port.audit.lock().unwrap().clone();
    assert_eq!(
        (audit[0]["code"].clone(), audit[0]["peer"].clone()),
        ("busy".into(), "127.0.0.1".into())
    );
    hold.notify_one();
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::ACCEPTED);
}

#[tokio::test(start_paused = true)]
async fn a_request_over_the_timeout_is_503() {
    let port = Arc::new(FakePort {
        hold: Some(Arc::new(Wake::new())),
        ..FakePort::default()
    });
    let r = router(port.clone(), 8).oneshot(post()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(port.audit.lock().unwrap()[0]["code"], "timeout", "audited");
    let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("\"timeout\""));
}

/// One raw HTTP request from `source` (a loopback address) to `to`; what
/// came back before the server closed, within 5 s.
async fn raw_request(source: &str, to: SocketAddr) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    let mut stream = socket.connect(to).await?;
    let req = "GET /v1/messages/0 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    // The server may already have closed: a failed write is an answer too.
    let _ = stream.write_all(req.as_bytes()).await;
    let mut out = Vec::new();
    let read = stream.read_to_end(&mut out);
    match tokio::time::timeout(Duration::from_secs(5), read).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => panic!("the server neither answered nor closed within 5 s"),
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn the_listener_closes_connections_from_outside_the_allowlist_before_http() {
    let mut cfg = config(8);
    cfg.allowed_ips = vec!["127.0.0.1/32".parse().unwrap()];
    let shutdown = CancellationToken::new();
    let server = Server::start(&cfg, Arc::new(FakePort::default()), &shutdown)
        .await
        .unwrap();
    let addr = server.local_addr();
    // 127.0.0.2 is loopback too on Linux, but not in the list.
    let refused = raw_request("127.0.0.2", addr).await.unwrap();
    assert_eq!(refused, "", "no HTTP answer at all to a refused source");
    let allowed = raw_request("127.0.0.1", addr).await.unwrap();
    assert!(
        allowed.starts_with("HTTP/1.1 401"),
        "an allowed source reaches authentication: {allowed}"
    );
    server.stop(Duration::from_secs(1)).await;
}
