//! `auth = { type = ... }` of a back-end: which keys fit which type, the
//! token as a secret, and (under `load`) that mTLS files can be read.

use std::ops::Range;

use super::check::Ctx;
use super::model::{Auth, AuthKind};
use super::raw::RawAuth;
use super::secret::Secret;

pub(crate) fn auth(
    cx: &mut Ctx,
    a: &RawAuth,
    span: Range<usize>,
    key: &str,
    url: Option<&url::Url>,
) -> Auth {
    let Some(kind) = a.kind.as_ref().map(|k| *k.get_ref()) else {
        cx.missing(
            span,
            &format!("{key}.type"),
            "is required: \"none\", \"bearer\", \"api_key\" or \"mtls\"",
        );
        return Auth::None;
    };
    let allowed: &[&str] = match kind {
        AuthKind::None => &[],
        AuthKind::Bearer => &["token"],
        AuthKind::ApiKey => &["header", "token"],
        AuthKind::Mtls => &["cert", "key", "ca"],
    };
    let present = [
        ("token", a.token.as_ref().map(|t| t.span())),
        ("header", a.header.as_ref().map(|t| t.span())),
        ("cert", a.cert.as_ref().map(|t| t.span())),
        ("key", a.key.as_ref().map(|t| t.span())),
        ("ca", a.ca.as_ref().map(|t| t.span())),
    ];
    let type_name = ["none", "bearer", "api_key", "mtls"][kind as usize];
    for (name, s) in &present {
        if let (Some(s), false) = (s, allowed.contains(name)) {
            cx.err(
                s.clone(),
                &format!("{key}.{name}"),
                format!("does not apply to type = \"{type_name}\""),
            );
        }
    }
    let at = At {
        span,
        key,
        type_name,
    };
    match kind {
        AuthKind::None => Auth::None,
        AuthKind::Bearer => match token(cx, a, &at) {
            Some(token) => Auth::Bearer { token },
            None => Auth::None,
        },
        AuthKind::ApiKey => api_key(cx, a, &at),
        AuthKind::Mtls => mtls(cx, a, &at, url),
    }
}

/// Where an auth table is, for problems about keys it lacks.
struct At<'a> {
    span: Range<usize>,
    key: &'a str,
    type_name: &'a str,
}

fn token(cx: &mut Ctx, a: &RawAuth, at: &At) -> Option<Secret> {
    match &a.token {
        Some(t) => Some(cx.secret(t, &format!("{}.token", at.key))),
        None => {
            required(cx, at, "token");
            None
        }
    }
}

fn api_key(cx: &mut Ctx, a: &RawAuth, at: &At) -> Auth {
    let header = a.header.as_ref().map(|h| {
        let name = h.get_ref();
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            let msg = format!("must be an HTTP header name, got {name:?}");
            cx.err(h.span(), &format!("{}.header", at.key), msg);
        }
        name.clone()
    });
    if header.is_none() {
        required(cx, at, "header");
    }
    match (header, token(cx, a, at)) {
        (Some(header), Some(token)) => Auth::ApiKey { header, token },
        _ => Auth::None,
    }
}

fn mtls(cx: &mut Ctx, a: &RawAuth, at: &At, url: Option<&url::Url>) -> Auth {
    if url.is_some_and(|u| u.scheme() != "https") {
        cx.err(at.span.clone(), at.key, "mtls needs an https base_url");
    }
    let mut file = |v: &Option<toml::Spanned<String>>, name: &str| {
        v.as_ref()
            .map(|p| readable(cx, p, &format!("{}.{name}", at.key)))
    };
    let (cert, key, ca) = (
        file(&a.cert, "cert"),
        file(&a.key, "key"),
        file(&a.ca, "ca"),
    );
    if cert.is_none() {
        required(cx, at, "cert");
    }
    if key.is_none() {
        required(cx, at, "key");
    }
    match (cert, key) {
        (Some(cert), Some(key)) => Auth::Mtls { cert, key, ca },
        _ => Auth::None,
    }
}

fn required(cx: &mut Ctx, at: &At, name: &str) {
    let msg = format!("is required for type = \"{}\"", at.type_name);
    cx.missing(at.span.clone(), &format!("{}.{name}", at.key), msg);
}

/// A certificate or key path; checked for readability only by `load`.
fn readable(cx: &mut Ctx, p: &toml::Spanned<String>, key: &str) -> std::path::PathBuf {
    cx.readable(p.span(), p.get_ref(), key)
}
