//! Who is calling: `Authorization: Bearer <token>` against every client's
//! token, in constant time, then the client's allowed source addresses.
//!
//! Both sides are hashed (SHA-256) first, so the comparison is always over
//! 32 bytes whatever the token lengths, and every client is compared (no
//! early exit), so the time taken says nothing about which bytes or which
//! client matched.

use std::net::IpAddr;

use axum::http::HeaderMap;

use crate::config::NotifyClient;

/// A client as the API checks it.
pub(super) struct Client {
    pub config: NotifyClient,
    token: [u8; 32],
}

impl Client {
    pub fn new(config: NotifyClient) -> Client {
        let token = sha256(config.token.expose().unwrap_or_default().as_bytes());
        Client { config, token }
    }
}

/// Why a request is not let in.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Denied {
    /// No or malformed `Authorization` header, or no client has this token.
    Unauthenticated,
    /// The token is right but the source address is not allowed.
    Address(usize),
}

/// The index of the client `headers` authenticate, if it may call from `peer`.
pub(super) fn authenticate(
    clients: &[Client],
    headers: &HeaderMap,
    peer: IpAddr,
) -> Result<usize, Denied> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .ok_or(Denied::Unauthenticated)?;
    let presented = sha256(presented.as_bytes());
    let mut found = None;
    for (i, c) in clients.iter().enumerate() {
        // Not `if found.is_none() && ..`: every client is compared.
        let same = constant_time_eq(&presented, &c.token);
        if same && !c.config.token.expose().unwrap_or_default().is_empty() {
            found = Some(i);
        }
    }
    let i = found.ok_or(Denied::Unauthenticated)?;
    let allowed = &clients[i].config.allowed_ips;
    if !allowed.is_empty() && !allowed.contains(&peer) {
        return Err(Denied::Address(i));
    }
    Ok(i)
}

fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Equal without a data-dependent branch: every byte pair is XORed and the
/// differences ORed together; `black_box` keeps the compiler from turning
/// the fold back into an early-exit comparison.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NotifyRate, Secret};

    fn client(name: &str, token: &str, ips: &[&str]) -> Client {
        Client::new(NotifyClient {
            name: name.into(),
            token: Secret::new(token),
            rate: NotifyRate {
                per_second: 1,
                burst: 1,
            },
            allowed_ips: ips.iter().map(|i| i.parse().unwrap()).collect(),
            bulk: false,
            callback_url: None,
        })
    }

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", auth.parse().unwrap());
        h
    }

    #[test]
    fn tokens_pick_their_client_and_addresses_are_checked() {
        let clients = [
            client("a", "token-of-client-a", &[]),
            client("b", "token-of-client-b", &["10.0.0.7"]),
        ];
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let auth = |h: &str, ip| authenticate(&clients, &headers(h), ip);
        assert_eq!(auth("Bearer token-of-client-a", local), Ok(0));
        assert_eq!(auth("bearer  token-of-client-a ", local), Ok(0));
        assert_eq!(
            auth("Bearer token-of-client-b", local),
            Err(Denied::Address(1))
        );
        let b_ip = "10.0.0.7".parse().unwrap();
        assert_eq!(auth("Bearer token-of-client-b", b_ip), Ok(1));
        for bad in [
            "Bearer token-of-client-c",
            "Basic token-of-client-a",
            "Bearer",
            "token-of-client-a",
        ] {
            assert_eq!(auth(bad, local), Err(Denied::Unauthenticated), "{bad}");
        }
        assert_eq!(
            authenticate(&clients, &HeaderMap::new(), local),
            Err(Denied::Unauthenticated)
        );
    }

    #[test]
    fn an_unresolved_token_matches_nothing() {
        let clients = [client("a", "", &[])];
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            authenticate(&clients, &headers("Bearer x"), local),
            Err(Denied::Unauthenticated)
        );
    }
}
