//! SMPP over TLS through the real binary: the simulator SMSC speaks plain
//! SMPP behind a TLS terminator in this test (tokio-rustls, a private CA
//! and certificates made by rcgen, 127.0.0.1:0), and the gateway is
//! configured with `tls = { ca_file, server_name }`. A good certificate:
//! the gateway binds through it and a USSD dialogue works. A certificate
//! for another name, or from another CA: a clear error in the log, and no
//! bind ever reaches the SMSC.

mod e2e_support;
mod tls_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_support::{Rig, Serve};
use tls_support::Pki;

const MSISDN: &str = "9647701234567";
const NAME: &str = "smsc.zain.test";

/// TLS in front of `smsc`, presenting a certificate for `sans` from `pki`.
/// Counts finished handshakes (each then forwarded) and failed ones.
struct Terminator {
    addr: SocketAddr,
    handshakes: Arc<AtomicU32>,
    failures: Arc<AtomicU32>,
}

impl Terminator {
    async fn start(pki: &Pki, sans: &[&str], smsc: SocketAddr) -> Terminator {
        Terminator::with(pki.server_config(sans, None), smsc).await
    }

    /// Demanding a client certificate from `clients`' CA.
    async fn mutual(pki: &Pki, sans: &[&str], clients: &Pki, smsc: SocketAddr) -> Terminator {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(clients.ca.der().clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        Terminator::with(pki.server_config(sans, Some(verifier)), smsc).await
    }

    async fn with(config: rustls::ServerConfig, smsc: SocketAddr) -> Terminator {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (handshakes, failures) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let (ok, bad) = (handshakes.clone(), failures.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, ok, bad) = (acceptor.clone(), ok.clone(), bad.clone());
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(t) => t,
                        Err(_) => {
                            bad.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    };
                    ok.fetch_add(1, Ordering::SeqCst);
                    let mut plain = tokio::net::TcpStream::connect(smsc).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Terminator {
            addr,
            handshakes,
            failures,
        }
    }
}

/// The rig's configuration with its operator behind `terminator`, trusting
/// `ca` alone and verifying `NAME`.
fn behind_tls(rig: &Rig, terminator: SocketAddr, ca: &str) {
    behind_mutual_tls(rig, terminator, ca, None);
}

/// The same, presenting `identity` (certificate, key: PEM paths) if given.
fn behind_mutual_tls(rig: &Rig, terminator: SocketAddr, ca: &str, identity: Option<(&str, &str)>) {
    let text = std::fs::read_to_string(&rig.config).unwrap();
    let mut doc: toml::Table = text.parse().unwrap();
    for op in doc["operators"].as_array_mut().unwrap() {
        let op = op.as_table_mut().unwrap();
        op.insert("port".into(), i64::from(terminator.port()).into());
        let mut tls = toml::Table::new();
        tls.insert("ca_file".into(), ca.into());
        tls.insert("server_name".into(), NAME.into());
        if let Some((cert, key)) = identity {
            tls.insert("client_cert".into(), cert.into());
            tls.insert("client_key".into(), key.into());
        }
        op.insert("tls".into(), tls.into());
    }
    std::fs::write(&rig.config, toml::to_string(&doc).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_binds_over_tls_and_a_dialogue_works() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let pki = Pki::new("Zain Iraq SMSC test CA");
    let terminator = Terminator::start(&pki, &[NAME], rig.peers.smsc.local_addr()).await;
    behind_tls(
        &rig,
        terminator.addr,
        &pki.ca_pem(rig.dir.path(), "zain-ca.pem"),
    );

    let gateway = rig.serve("serve.log", 1).await;
    let mut phone = rig.peers.smsc.ussd(MSISDN);
    let menu = phone.dial("*123#").await.unwrap();
    assert!(menu.text.contains("1. التموينية"), "{menu:?}");
    let prompt = phone.reply("1").await.unwrap();
    assert!(!prompt.end, "{prompt:?}");
    assert!(terminator.handshakes.load(Ordering::SeqCst) >= 1);
    assert_eq!(terminator.failures.load(Ordering::SeqCst), 0);
    drop(gateway);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smsc_demanding_a_client_certificate_gets_ours() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let smsc_ca = Pki::new("Zain Iraq SMSC test CA");
    let our_ca = Pki::new("Bawaba client test CA");
    let terminator =
        Terminator::mutual(&smsc_ca, &[NAME], &our_ca, rig.peers.smsc.local_addr()).await;
    let (cert, key) = our_ca.leaf("bawaba", &["bawaba.gov.test"]);
    let dir = rig.dir.path();
    let (cert_pem, key_pem) = (dir.join("client.pem"), dir.join("client.key"));
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    let identity = (cert_pem.to_str().unwrap(), key_pem.to_str().unwrap());
    behind_mutual_tls(
        &rig,
        terminator.addr,
        &smsc_ca.ca_pem(dir, "ca.pem"),
        Some(identity),
    );

    let gateway = rig.serve("serve.log", 1).await;
    let menu = rig.peers.smsc.ussd(MSISDN).dial("*123#").await.unwrap();
    assert!(menu.text.contains("1. التموينية"), "{menu:?}");
    assert_eq!(terminator.failures.load(Ordering::SeqCst), 0);
    drop(gateway);
}

/// Starts the gateway against a terminator whose certificate it must
/// refuse; returns the log once the refusal is in it.
async fn refused(rig: &Rig, terminator: &Terminator, ca: &str) -> String {
    behind_tls(rig, terminator.addr, ca);
    let gateway = Serve::spawn(&rig.config, &rig.dir.path().join("serve.log"));
    let start = Instant::now();
    let needle = "TLS handshake with the SMSC failed; not binding";
    while !gateway.logs().contains(needle) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no TLS error in 30 s:\n{}",
            gateway.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(terminator.failures.load(Ordering::SeqCst) >= 1);
    assert_eq!(terminator.handshakes.load(Ordering::SeqCst), 0);
    assert_eq!(
        rig.peers.smsc.stats().binds_accepted,
        0,
        "no bind reached the SMSC"
    );
    gateway.logs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused_with_a_clear_error() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let pki = Pki::new("Zain Iraq SMSC test CA");
    let terminator =
        Terminator::start(&pki, &["smsc.other.test"], rig.peers.smsc.local_addr()).await;
    let logs = refused(&rig, &terminator, &pki.ca_pem(rig.dir.path(), "ca.pem")).await;
    let line = logs.lines().find(|l| l.contains("TLS handshake")).unwrap();
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("not valid for name"), "{line}");
    assert!(line.contains(NAME), "names what it expected: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused_with_a_clear_error() {
    let rig = Rig::start("text", e2e_support::DEBUG).await;
    let trusted = Pki::new("Zain Iraq SMSC test CA");
    let other = Pki::new("Someone else's CA");
    let terminator = Terminator::start(&other, &[NAME], rig.peers.smsc.local_addr()).await;
    let logs = refused(&rig, &terminator, &trusted.ca_pem(rig.dir.path(), "ca.pem")).await;
    let line = logs.lines().find(|l| l.contains("TLS handshake")).unwrap();
    assert!(line.contains("UnknownIssuer"), "{line}");
}
