//! The fault proxy on loopback, against a plain TCP echo server: each fault does what it says,
//! and healing lets held bytes through.

use std::net::SocketAddr;
use std::time::Duration;

use bawaba_sim::proxy::{self, Faults, Flow, ProxyHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

const WAIT: Duration = Duration::from_secs(5);

/// An echo server: every byte read is written back.
async fn echo() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

async fn rig() -> (ProxyHandle, TcpStream) {
    let p = proxy::start("127.0.0.1:0".parse().unwrap(), echo().await)
        .await
        .unwrap();
    let c = TcpStream::connect(p.local_addr()).await.unwrap();
    (p, c)
}

async fn round_trip(c: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    c.write_all(msg).await.unwrap();
    let mut got = vec![0; msg.len()];
    timeout(WAIT, c.read_exact(&mut got))
        .await
        .expect("echo in time")
        .unwrap();
    got
}

/// Exactly `want` arrives next, in time.
async fn expect(c: &mut TcpStream, want: &[u8]) {
    let mut got = vec![0; want.len()];
    timeout(WAIT, c.read_exact(&mut got))
        .await
        .expect("bytes in time")
        .unwrap();
    assert_eq!(got, want);
}

/// Nothing arrives within `d`.
async fn silent(c: &mut TcpStream, d: Duration) {
    let mut b = [0u8; 1];
    assert!(
        timeout(d, c.read(&mut b)).await.is_err(),
        "bytes (or a close) got through"
    );
}

#[tokio::test]
async fn forwards_and_adds_latency_with_jitter() {
    let (p, mut c) = rig().await;
    assert_eq!(round_trip(&mut c, b"hello").await, b"hello");
    p.set(Faults {
        latency: Duration::from_millis(100),
        jitter: Duration::from_millis(50),
        ..Faults::default()
    });
    let t = Instant::now();
    assert_eq!(round_trip(&mut c, b"slow").await, b"slow");
    let rtt = t.elapsed();
    // Both ways: 2 x (100..=150 ms).
    assert!(
        rtt >= Duration::from_millis(200) && rtt < Duration::from_millis(1500),
        "{rtt:?}"
    );
    p.heal();
    let t = Instant::now();
    round_trip(&mut c, b"fast").await;
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_blackhole_holds_bytes_and_closes_until_healed() {
    let (p, mut c) = rig().await;
    round_trip(&mut c, b"up").await;
    p.update(|f| f.blackhole = true);
    c.write_all(b"held").await.unwrap();
    silent(&mut c, Duration::from_millis(300)).await;
    // A new connection is accepted and swallowed too.
    let mut c2 = TcpStream::connect(p.local_addr()).await.unwrap();
    c2.write_all(b"x").await.unwrap();
    silent(&mut c2, Duration::from_millis(100)).await;
    assert_eq!(p.stats().open, 2);
    p.heal();
    expect(&mut c, b"held").await;
}

#[tokio::test]
async fn a_one_way_stall_stops_one_direction_only() {
    let (p, mut c) = rig().await;
    p.update(|f| f.stall = Some(Flow::Down));
    c.write_all(b"ping").await.unwrap();
    silent(&mut c, Duration::from_millis(300)).await;
    // The bytes did go up (the echo server got them); only the way back is stalled.
    let deadline = Instant::now() + WAIT;
    while p.stats().bytes_up < 4 {
        assert!(Instant::now() < deadline, "{:?}", p.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(p.stats().bytes_down, 0);
    p.heal();
    expect(&mut c, b"ping").await;
}

#[tokio::test]
async fn close_after_n_bytes_passes_exactly_n_then_closes() {
    let (p, mut c) = rig().await;
    // 6 bytes up + 4 of the 6 coming back = 10.
    p.update(|f| f.close_after = Some(10));
    c.write_all(b"abcdef").await.unwrap();
    let mut got = Vec::new();
    timeout(WAIT, c.read_to_end(&mut got))
        .await
        .expect("closed in time")
        .unwrap();
    assert_eq!(got, b"abcd");
}

#[tokio::test]
async fn reset_aborts_open_connections_and_refuse_resets_new_ones() {
    let (p, mut c) = rig().await;
    round_trip(&mut c, b"ok").await;
    assert_eq!(p.reset(), 1);
    let mut b = [0u8; 8];
    let r = timeout(WAIT, c.read(&mut b)).await.expect("reset in time");
    assert!(
        matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{r:?}"
    );
    p.update(|f| f.refuse = true);
    let mut c2 = TcpStream::connect(p.local_addr()).await.unwrap();
    let r = timeout(WAIT, c2.read(&mut b)).await.expect("reset in time");
    assert!(r.is_err() || r.unwrap() == 0);
    assert_eq!(p.stats().refused, 1);
    p.heal();
    let mut c3 = TcpStream::connect(p.local_addr()).await.unwrap();
    assert_eq!(round_trip(&mut c3, b"back").await, b"back");
}
