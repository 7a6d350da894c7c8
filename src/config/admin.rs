//! `[admin]`: the admin listener. Its raw form (`deny_unknown_fields`) and
//! its validation: the listen address, named tokens each with a role
//! (`viewer` reads, `publisher` also publishes flows and ends sessions) and
//! an IP/CIDR allowlist. The single `token` of earlier versions is refused
//! with what to write instead. A token is never repeated in a message.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;
use toml::Spanned;

use super::check::Ctx;
use super::model::{Admin, AdminRole, AdminToken};
use super::notify::MIN_TOKEN;
use super::secret::SecretSpec;

type S<T> = Spanned<T>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub listen: Option<S<String>>,
    /// Refused: replaced by `tokens`.
    pub token: Option<S<toml::Value>>,
    pub tokens: Option<Vec<S<RawToken>>>,
    pub allowed_ips: Option<Vec<S<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawToken {
    pub name: Option<S<String>>,
    pub role: Option<S<String>>,
    pub token: Option<S<SecretSpec>>,
}

/// Allowlist entries at most (each is checked per connection).
const MAX_ALLOWED: usize = 256;

pub(crate) fn admin(cx: &mut Ctx, raw: RawAdmin) -> Admin {
    let listen = raw
        .listen
        .as_ref()
        .and_then(|l| match l.get_ref().parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                let msg = format!(
                    "must be an IP address and port such as \"127.0.0.1:9100\", got {:?}",
                    l.get_ref()
                );
                cx.err(l.span(), "admin.listen", msg);
                None
            }
        });
    if let Some(t) = &raw.token {
        let msg = "`token` is replaced by named tokens with a role; write instead\n  \
                   [[admin.tokens]]\n  name = \"ops\"\n  role = \"publisher\"   # or \"viewer\" (read only)\n  \
                   token = { file = \"/etc/bawaba/secrets/admin-token\" }";
        cx.err(t.span(), "admin.token", msg);
    }
    let mut names = BTreeSet::new();
    let mut secrets: BTreeMap<String, String> = BTreeMap::new();
    let tokens: Vec<AdminToken> = raw
        .tokens
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, t)| token(cx, i, t, (&mut names, &mut secrets)))
        .collect();
    let allowed_ips = allowed(cx, raw.allowed_ips.as_deref().unwrap_or_default());
    if let (Some(addr), true, Some(l)) = (listen, tokens.is_empty(), &raw.listen) {
        if !addr.ip().is_loopback() && raw.token.is_none() {
            let msg = format!(
                "{addr} is reachable beyond this host, so [admin] needs at least one [[admin.tokens]]"
            );
            cx.err(l.span(), "admin.listen", msg);
        }
    }
    Admin {
        listen,
        tokens,
        allowed_ips,
    }
}

type Seen<'a> = (&'a mut BTreeSet<String>, &'a mut BTreeMap<String, String>);

fn token(cx: &mut Ctx, i: usize, t: &S<RawToken>, (names, secrets): Seen) -> Option<AdminToken> {
    let at = |k: &str| format!("admin.tokens[{i}].{k}");
    let raw = t.get_ref();
    let name = match &raw.name {
        None => {
            let msg = "required: who holds the token (the audit log names it)";
            cx.missing(t.span(), &at("name"), msg);
            None
        }
        Some(n) => {
            cx.name(n, &at("name"));
            if !names.insert(n.get_ref().clone()) {
                let msg = format!("{:?} is listed twice", n.get_ref());
                cx.err(n.span(), &at("name"), msg);
            }
            Some(n.get_ref().clone())
        }
    };
    let role = match &raw.role {
        None => {
            let msg = "required: \"viewer\" (reads) or \"publisher\" (also publishes flows and ends sessions)";
            cx.missing(t.span(), &at("role"), msg);
            None
        }
        Some(r) => match r.get_ref().as_str() {
            "viewer" => Some(AdminRole::Viewer),
            "publisher" => Some(AdminRole::Publisher),
            other => {
                let msg = format!("must be \"viewer\" or \"publisher\", got {other:?}");
                cx.err(r.span(), &at("role"), msg);
                None
            }
        },
    };
    let secret = match &raw.token {
        None => {
            let msg = "required: the bearer token (a secret: inline, { env } or { file })";
            cx.missing(t.span(), &at("token"), msg);
            None
        }
        Some(s) => {
            let secret = cx.secret(s, &at("token"));
            if let Some(v) = secret.expose().filter(|v| !v.is_empty()) {
                if v.chars().count() < MIN_TOKEN {
                    let msg = format!("must be at least {MIN_TOKEN} characters");
                    cx.err(s.span(), &at("token"), msg);
                } else if let Some(other) =
                    secrets.insert(v.to_string(), name.clone().unwrap_or_default())
                {
                    let msg = format!("the same token as {other:?}: each holder needs its own");
                    cx.err(s.span(), &at("token"), msg);
                }
            }
            Some(secret)
        }
    };
    Some(AdminToken {
        name: name?,
        role: role?,
        secret: secret?,
    })
}

fn allowed(cx: &mut Ctx, raw: &[S<String>]) -> Vec<ipnet::IpNet> {
    if raw.len() > MAX_ALLOWED {
        let msg = format!("at most {MAX_ALLOWED} entries, got {}", raw.len());
        cx.err(raw[MAX_ALLOWED].span(), "admin.allowed_ips", msg);
    }
    let mut nets = Vec::new();
    for (j, ip) in raw.iter().enumerate() {
        let text = ip.get_ref().trim();
        let net = text
            .parse::<ipnet::IpNet>()
            .ok()
            .or_else(|| text.parse::<IpAddr>().ok().map(ipnet::IpNet::from));
        match net {
            Some(n) => nets.push(n.trunc()),
            None => {
                let msg = format!(
                    "must be an IP address or a CIDR block such as \"10.20.0.0/24\", got {:?}",
                    ip.get_ref()
                );
                cx.err(ip.span(), &format!("admin.allowed_ips[{j}]"), msg);
            }
        }
    }
    nets
}
