//! `[notify]`: the notification API for government back-ends (off when the
//! section is absent). Its raw form, read with `deny_unknown_fields` like
//! every section, and its validation: listener and bounds, one entry per
//! client (name, token secret, rate, source addresses, bulk), and message
//! templates per language with `{param}` placeholders. Every problem is
//! reported with its key path; a token is never repeated in a message.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::check::{secs, Ctx};
use super::model::{Notify, NotifyClient, NotifyRate, NotifyTemplate};
use super::secret::SecretSpec;
use super::template::Template;
use super::units::{Dur, Size};

type S<T> = Spanned<T>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotify {
    pub listen: Option<S<String>>,
    pub max_body: Option<S<Size>>,
    pub concurrency: Option<S<i64>>,
    pub request_timeout: Option<S<Dur>>,
    pub max_parts: Option<S<i64>>,
    pub allowed_ips: Option<Vec<S<String>>>,
    pub clients: Option<Vec<S<RawClient>>>,
    pub templates: Option<BTreeMap<String, S<RawTemplate>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    pub name: Option<S<String>>,
    pub token: Option<S<SecretSpec>>,
    pub rate: Option<RawRate>,
    pub allowed_ips: Option<Vec<S<String>>>,
    pub bulk: Option<bool>,
    pub callback_url: Option<S<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRate {
    pub per_second: Option<S<i64>>,
    pub burst: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTemplate {
    pub ar: Option<S<String>>,
    pub ckb: Option<S<String>>,
    pub en: Option<S<String>>,
}

/// Shortest token accepted: a guessable token is no authentication.
pub const MIN_TOKEN: usize = 16;

pub(crate) fn notify(cx: &mut Ctx, raw: Option<(Range<usize>, RawNotify)>) -> Option<Notify> {
    let (span, raw) = raw?;
    let listen = match &raw.listen {
        None => SocketAddr::from(([127, 0, 0, 1], 8088)),
        Some(l) => l.get_ref().parse().unwrap_or_else(|_| {
            let msg = format!(
                "must be an IP address and port such as \"127.0.0.1:8088\", got {:?}",
                l.get_ref()
            );
            cx.err(l.span(), "notify.listen", msg);
            SocketAddr::from(([127, 0, 0, 1], 8088))
        }),
    };
    let max_body = cx.size(&raw.max_body, "notify.max_body", 1024, 1 << 20, 16 * 1024);
    let concurrency = cx.int(&raw.concurrency, "notify.concurrency", 1, 10_000, 256);
    let timeout = (secs(1), secs(60));
    let request_timeout = cx.dur(
        &raw.request_timeout,
        "notify.request_timeout",
        timeout,
        secs(10),
    );
    let max_parts = cx.int(&raw.max_parts, "notify.max_parts", 1, 255, 10);
    let allowed_ips = networks(cx, raw.allowed_ips.as_deref(), "notify.allowed_ips");
    let mut names = BTreeSet::new();
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    let mut clients = Vec::new();
    for (i, c) in raw.clients.iter().flatten().enumerate() {
        if let Some(client) = self::client(cx, i, c, (&mut names, &mut tokens)) {
            clients.push(client);
        }
    }
    if raw.clients.as_ref().is_none_or(Vec::is_empty) {
        let msg = "at least one [[notify.clients]] is required (no one could call the API)";
        cx.err(span, "notify.clients", msg);
    }
    let mut templates = BTreeMap::new();
    for (name, t) in raw.templates.iter().flatten() {
        if let Some(t) = template(cx, name, t) {
            templates.insert(name.clone(), t);
        }
    }
    Some(Notify {
        listen,
        max_body: max_body as usize,
        concurrency: concurrency as usize,
        request_timeout,
        max_parts: max_parts as u8,
        allowed_ips,
        clients,
        templates,
    })
}

type Seen<'a> = (&'a mut BTreeSet<String>, &'a mut BTreeMap<String, String>);

fn client(cx: &mut Ctx, i: usize, c: &S<RawClient>, (names, tokens): Seen) -> Option<NotifyClient> {
    let at = |k: &str| format!("notify.clients[{i}].{k}");
    let raw = c.get_ref();
    let name = match &raw.name {
        None => {
            cx.missing(
                c.span(),
                &at("name"),
                "required: the client's name (logs, audit)",
            );
            String::new()
        }
        Some(n) => {
            cx.name(n, &at("name"));
            if !names.insert(n.get_ref().clone()) {
                cx.err(
                    n.span(),
                    &at("name"),
                    format!("{:?} is listed twice", n.get_ref()),
                );
            }
            n.get_ref().clone()
        }
    };
    let token = match &raw.token {
        None => {
            let msg = "required: the client's bearer token (a secret: inline, { env } or { file })";
            cx.missing(c.span(), &at("token"), msg);
            None
        }
        Some(t) => {
            let secret = cx.secret(t, &at("token"));
            if let Some(v) = secret.expose() {
                if v.is_empty() {
                    // unresolved (reported) or empty: nothing to compare
                } else if v.chars().count() < MIN_TOKEN {
                    let msg = format!("must be at least {MIN_TOKEN} characters");
                    cx.err(t.span(), &at("token"), msg);
                } else if let Some(other) = tokens.insert(v.to_string(), name.clone()) {
                    let msg =
                        format!("the same token as client {other:?}: each client needs its own");
                    cx.err(t.span(), &at("token"), msg);
                }
            }
            Some(secret)
        }
    };
    let rate = raw.rate.as_ref();
    let per_second = rate.map(|r| &r.per_second).unwrap_or(&None);
    let per_second = cx.int(per_second, &at("rate.per_second"), 1, 100_000, 10);
    let burst = rate.map(|r| &r.burst).unwrap_or(&None);
    let burst = cx.int(burst, &at("rate.burst"), 1, 1_000_000, per_second.max(1));
    let mut allowed_ips = Vec::new();
    for (j, ip) in raw.allowed_ips.iter().flatten().enumerate() {
        match ip.get_ref().parse::<IpAddr>() {
            Ok(addr) => allowed_ips.push(addr),
            Err(_) => {
                let msg = format!("must be an IP address, got {:?}", ip.get_ref());
                cx.err(ip.span(), &at(&format!("allowed_ips[{j}]")), msg);
            }
        }
    }
    let callback_url = raw.callback_url.as_ref().and_then(|u| {
        let ok = url::Url::parse(u.get_ref()).ok().filter(|p| {
            matches!(p.scheme(), "http" | "https")
                && p.host_str().is_some()
                && p.username().is_empty()
                && p.password().is_none()
        });
        if ok.is_none() {
            let msg = format!(
                "must be an http:// or https:// URL with a host and no credentials, got {:?}",
                u.get_ref()
            );
            cx.err(u.span(), &at("callback_url"), msg);
        }
        ok
    });
    Some(NotifyClient {
        name,
        token: token?,
        rate: NotifyRate {
            per_second: per_second as u32,
            burst: burst as u32,
        },
        allowed_ips,
        bulk: raw.bulk.unwrap_or(false),
        callback_url,
    })
}

/// Source networks: `"10.20.1.10"` (one address) or `"10.20.0.0/16"`;
/// every bad entry is reported.
pub(crate) fn networks(cx: &mut Ctx, raw: Option<&[S<String>]>, key: &str) -> Vec<IpNet> {
    let mut out = Vec::new();
    for (j, ip) in raw.into_iter().flatten().enumerate() {
        let text = ip.get_ref().trim();
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => out.push(net.trunc()),
            Err(_) => {
                let msg = format!(
                    "must be an IP address or a network such as \"10.20.0.0/16\", got {:?}",
                    ip.get_ref()
                );
                cx.err(ip.span(), &format!("{key}[{j}]"), msg);
            }
        }
    }
    out
}

fn template(cx: &mut Ctx, name: &str, t: &S<RawTemplate>) -> Option<NotifyTemplate> {
    let key = format!("notify.templates.{}", super::document::segment(name));
    if !super::check::is_name(name) {
        let msg = format!("template names are 1 to 32 of a-z, 0-9, '_' or '-', got {name:?}");
        cx.err(t.span(), &key, msg);
    }
    let raw = t.get_ref();
    let mut parse = |text: &Option<S<String>>, lang: &str| {
        let text = text.as_ref()?;
        let k = format!("{key}.{lang}");
        if text.get_ref().trim().is_empty() {
            cx.err(text.span(), &k, "must not be empty");
            return None;
        }
        match Template::parse(text.get_ref()) {
            Ok(t) => Some(t),
            Err(msg) => {
                cx.err(text.span(), &k, msg);
                None
            }
        }
    };
    let out = NotifyTemplate {
        ar: parse(&raw.ar, "ar"),
        ckb: parse(&raw.ckb, "ckb"),
        en: parse(&raw.en, "en"),
    };
    if raw.ar.is_none() && raw.ckb.is_none() && raw.en.is_none() {
        cx.err(
            t.span(),
            &key,
            "needs a text in at least one of ar, ckb, en",
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Error, Language};

    const OPERATOR: &str = r#"
[[operators]]
name = "zain"
host = "127.0.0.1"
port = 2775
system_id = "bawaba"
password = "secret"
"#;

    fn parse(notify: &str) -> Result<Config, Error> {
        Config::from_str(&format!("{OPERATOR}\n{notify}"), "/etc/bawaba/t.toml")
    }

    fn problems(notify: &str) -> Vec<String> {
        match parse(notify) {
            Ok(_) => panic!("accepted:\n{notify}"),
            Err(Error::Invalid(p)) => p
                .iter()
                .map(|p| format!("{}: {}", p.key, p.message))
                .collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn absent_is_off_and_a_valid_section_reads() {
        assert!(parse("").unwrap().notify.is_none());
        let c = parse(
            r#"
[notify]
listen = "127.0.0.1:9000"
[[notify.clients]]
name = "pds"
token = "0123456789abcdef"
rate = { per_second = 5, burst = 20 }
allowed_ips = ["10.1.2.3"]
bulk = true
[notify.templates.bill_due]
ar = "فاتورتك {amount}"
en = "Your bill: {amount} IQD"
"#,
        )
        .unwrap();
        let n = c.notify.unwrap();
        assert_eq!(n.listen.port(), 9000);
        assert_eq!(
            (n.max_body, n.concurrency, n.max_parts),
            (16 * 1024, 256, 10)
        );
        let pds = &n.clients[0];
        assert_eq!(
            (pds.rate.per_second, pds.rate.burst, pds.bulk),
            (5, 20, true)
        );
        assert_eq!(format!("{:?}", pds.token), "***");
        let t = &n.templates["bill_due"];
        assert!(t.get(Language::Ckb).is_none());
        assert_eq!(
            t.get(Language::En).unwrap().params().collect::<Vec<_>>(),
            ["amount"]
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let p = problems(
            r#"
[notify]
listen = "everywhere"
max_body = "2MiB"
[[notify.clients]]
name = "pds"
token = "short"
rate = { per_second = 0 }
allowed_ips = ["10.0.0.0/8"]
callback_url = "ftp://x"
[[notify.clients]]
name = "pds"
[notify.templates.bill]
ar = "unclosed {amount"
[notify.templates.empty]
"#,
        );
        assert!(!p
            .iter()
            .any(|p| p.starts_with("notify.clients: at least one")));
        let none = problems("[notify]\nlisten = \"127.0.0.1:9000\"\n");
        assert!(
            none.iter()
                .any(|p| p.starts_with("notify.clients: at least one")),
            "{none:#?}"
        );
        let want = [
            "notify.listen: must be an IP address",
            "notify.max_body: must be between",
            "notify.clients[0].token: must be at least 16 characters",
            "notify.clients[0].rate.per_second: must be between 1 and",
            "notify.clients[0].allowed_ips[0]: must be an IP address",
            "notify.clients[0].callback_url: must be an http:// or https:// URL",
            "notify.clients[1].name: \"pds\" is listed twice",
            "notify.clients[1].token: required",
            "notify.templates.bill.ar: unclosed '{'",
            "notify.templates.empty: needs a text",
        ];
        for w in want {
            assert!(
                p.iter().any(|p| p.starts_with(w)),
                "{w} missing from {p:#?}"
            );
        }
        assert!(
            !p.iter().any(|p| p.contains("short")),
            "a token is never repeated: {p:#?}"
        );
    }

    #[test]
    fn two_clients_may_not_share_a_token() {
        let p = problems(
            r#"
[[notify.clients]]
name = "a"
token = "0123456789abcdef"
[[notify.clients]]
name = "b"
token = "0123456789abcdef"
[notify]
"#,
        );
        assert!(
            p.iter()
                .any(|p| p.contains("the same token as client \"a\"")),
            "{p:#?}"
        );
    }
}
