//! The listener's source allowlist (`notify.allowed_ips`): a connection
//! from an address outside every listed network is closed as soon as it is
//! accepted, before a byte of HTTP is read, so no request, token or body
//! from it is ever parsed. Per-client `allowed_ips` (checked after the
//! token, answering 403) narrow this further.

use std::net::SocketAddr;

use axum::serve::Listener;
use ipnet::IpNet;
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener that hands axum only connections from allowed sources.
pub(super) struct Allowlisted {
    inner: TcpListener,
    /// Empty: every source.
    allowed: Vec<IpNet>,
}

impl Allowlisted {
    pub fn new(inner: TcpListener, allowed: Vec<IpNet>) -> Allowlisted {
        Allowlisted { inner, allowed }
    }
}

/// Whether `peer` may connect.
pub(super) fn allows(allowed: &[IpNet], peer: SocketAddr) -> bool {
    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
    let ip = peer.ip().to_canonical();
    allowed.is_empty() || allowed.iter().any(|net| net.contains(&ip))
}

impl Listener for Allowlisted {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let (stream, peer) = Listener::accept(&mut self.inner).await;
            if allows(&self.allowed, peer) {
                return (stream, peer);
            }
            // Dropping the stream closes it; the address is the operator's
            // to know (a scan, a misrouted client), not personal data.
            tracing::warn!(peer = %peer.ip(), "notify: connection from an address outside notify.allowed_ips closed");
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn networks_and_single_addresses() {
        let allowed = nets(&["10.20.0.0/16", "192.0.2.7/32", "2001:db8::/32"]);
        let ok = [
            "10.20.3.4:1",
            "192.0.2.7:1",
            "[2001:db8::1]:1",
            "[::ffff:10.20.0.1]:1",
        ];
        for peer in ok {
            assert!(allows(&allowed, peer.parse().unwrap()), "{peer}");
        }
        for peer in [
            "10.21.0.1:1",
            "192.0.2.8:1",
            "[2001:db9::1]:1",
            "127.0.0.1:1",
        ] {
            assert!(!allows(&allowed, peer.parse().unwrap()), "{peer}");
        }
        assert!(allows(&[], "203.0.113.1:1".parse().unwrap()), "empty: any");
    }
}
