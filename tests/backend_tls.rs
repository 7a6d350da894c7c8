//! TLS and mutual TLS to a back-end through real sockets: a private CA and
//! certificates made by rcgen, a tokio-rustls server on 127.0.0.1:0 that
//! demands a client certificate. The gateway trusts the configured `ca`
//! alone, presents its certificate, and fails (never falls back) when
//! either side cannot be verified. `http_version` picks HTTP/2 or HTTP/1.1
//! by ALPN against a hyper server that offers one or both.

mod backend_support;
mod tls_support;

use std::path::Path;
use std::sync::{Arc, Mutex};

use backend_support::{backends, req};
use bawaba::backend::CallResult;
use bawaba::engine::Outcome;
use rcgen::KeyPair;
use rustls::server::WebPkiClientVerifier;
use tls_support::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the server saw of each connection: the client's certificate, or
/// the handshake error.
type Seen = Arc<Mutex<Vec<Result<Vec<u8>, String>>>>;

/// Verifies client certificates against `pki`'s CA.
fn clients_of(pki: &Pki) -> Arc<dyn rustls::server::danger::ClientCertVerifier> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap()
}

async fn server(pki: &Pki) -> (std::net::SocketAddr, Seen) {
    let verifier = clients_of(pki);
    let config = pki.server_config(&["ministry", "127.0.0.1", "localhost"], Some(verifier));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let mut tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(e) => {
                    log.lock().unwrap().push(Err(e.to_string()));
                    continue;
                }
            };
            let peer = tls.get_ref().1.peer_certificates().map(|c| c[0].to_vec());
            log.lock().unwrap().push(Ok(peer.unwrap_or_default()));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let body = r#"{"status":"ready_for_pickup"}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes()).await;
            let _ = tls.shutdown().await;
        }
    });
    (addr, seen)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn mtls_backend(addr: std::net::SocketAddr, cert: &str, key: &str, ca: &str) -> String {
    format!(
        "[[backends]]\nname = \"passport\"\nbase_url = \"https://{addr}/v1\"\n\
         auth = {{ type = \"mtls\", cert = \"{cert}\", key = \"{key}\", ca = \"{ca}\" }}\n\
         [backends.operations]\nstatus = {{ method = \"GET\", path = \"/applications/{{application}}/status\" }}\n"
    )
}

/// Asks `addr` for a passport status over mutual TLS, presenting `client`
/// and trusting `ca` alone.
async fn status_over_mtls(
    addr: std::net::SocketAddr,
    client: &(rcgen::Certificate, KeyPair),
    ca: &Pki,
) -> CallResult {
    let dir = tempfile::tempdir().unwrap();
    let cert = write(dir.path(), "client.crt", &client.0.pem());
    let key = write(dir.path(), "client.key", &client.1.serialize_pem());
    let ca = write(dir.path(), "ca.pem", &ca.ca.pem());
    let b = backends(&mtls_backend(addr, &cert, &key, &ca));
    b.call(req("passport", "status", &[("application", "123458")]))
        .await
}

#[tokio::test]
async fn mutual_tls_with_a_pinned_private_ca() {
    let pki = Pki::new("Ministry of Interior test CA");
    let (addr, seen) = server(&pki).await;
    let client = pki.leaf("bawaba-gateway", &[]);
    let r = status_over_mtls(addr, &client, &pki).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    assert_eq!(r.data["status"], "ready_for_pickup");
    // Two handshakes: `auto` offers h2 first; this server picks no
    // protocol, so the call goes on over HTTP/1.1 on a new connection.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for presented in &seen {
        assert_eq!(
            presented.as_deref().ok(),
            Some(client.0.der().as_ref()),
            "our certificate was presented"
        );
    }
}

#[tokio::test]
async fn a_server_outside_the_pinned_ca_is_refused() {
    let ministry = Pki::new("Ministry CA");
    let other = Pki::new("Some other CA");
    let (addr, seen) = server(&ministry).await;
    let client = ministry.leaf("bawaba-gateway", &[]);
    // The gateway pins the wrong CA: the ministry's server is not trusted.
    let r = status_over_mtls(addr, &client, &other).await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(
        seen.lock().unwrap().iter().all(|s| s.is_err()),
        "no request went through"
    );
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused_by_the_server() {
    let ministry = Pki::new("Ministry CA");
    let other = Pki::new("Some other CA");
    let (addr, seen) = server(&ministry).await;
    let client = other.leaf("impostor", &[]);
    let r = status_over_mtls(addr, &client, &ministry).await;
    assert_eq!(r.outcome, Outcome::Failed);
    let seen = seen.lock().unwrap().clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|s| s.is_err()),
        "{seen:?}"
    );
}

#[tokio::test]
async fn unreadable_tls_files_fail_at_start_naming_the_back_end() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pem").display().to_string();
    let text = mtls_backend("127.0.0.1:1".parse().unwrap(), &missing, &missing, &missing);
    let config = backend_support::config(&text);
    let err = bawaba::backend::Backends::from_config(&config.backends).unwrap_err();
    assert!(
        err.to_string().starts_with("backend passport: TLS:"),
        "{err}"
    );
}

/// An mTLS back-end on hyper's server that offers `alpn` and answers
/// every request with the HTTP version it arrived over.
async fn versioned_server(pki: &Pki, alpn: &[&[u8]]) -> std::net::SocketAddr {
    let verifier = clients_of(pki);
    let mut config = pki.server_config(&["ministry", "127.0.0.1"], Some(verifier));
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|v: axum::http::Version| async move {
        axum::Json(serde_json::json!({ "status": format!("{v:?}") }))
    });
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                let _ = builder
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn the_http_version_is_negotiated_by_alpn_and_never_downgraded_from_2() {
    let pki = Pki::new("Ministry of Interior test CA");
    let client = pki.leaf("bawaba-gateway", &[]);
    let dir = tempfile::tempdir().unwrap();
    let cert = write(dir.path(), "client.crt", &client.0.pem());
    let key = write(dir.path(), "client.key", &client.1.serialize_pem());
    let ca = write(dir.path(), "ca.pem", &pki.ca.pem());
    let both = versioned_server(&pki, &[b"h2", b"http/1.1"]).await;
    let only_1 = versioned_server(&pki, &[b"http/1.1"]).await;
    let status = |addr, version: &str| {
        let text = mtls_backend(addr, &cert, &key, &ca).replace(
            "[backends.operations]",
            &format!("{version}\n[backends.operations]"),
        );
        async move {
            backends(&text)
                .call(req("passport", "status", &[("application", "1")]))
                .await
        }
    };
    for (addr, version, want) in [
        (both, "", Some("HTTP/2.0")),
        (both, "http_version = \"auto\"", Some("HTTP/2.0")),
        (both, "http_version = \"2\"", Some("HTTP/2.0")),
        (both, "http_version = \"1.1\"", Some("HTTP/1.1")),
        (only_1, "", Some("HTTP/1.1")),
        (only_1, "http_version = \"2\"", None),
    ] {
        let r = status(addr, version).await;
        match want {
            Some(v) => {
                assert_eq!(r.outcome, Outcome::Ok, "{version}: {r:?}");
                assert_eq!(r.data["status"], v, "{version}");
            }
            None => assert_eq!(r.outcome, Outcome::Failed, "{version}: {r:?}"),
        }
    }
}
