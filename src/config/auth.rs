//! `auth = { type = ... }` of a back-end: which keys fit which type, the
//! token as a secret, and (under `load`) that mTLS files can be read.

use std::ops::Range;

use super::check::Ctx;
use super::model::{Auth, AuthKind};
use super::raw::RawAuth;

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
    let token = |cx: &mut Ctx| {
        a.token
            .as_ref()
            .map(|t| cx.secret(t, &format!("{key}.token")))
    };
    match kind {
        AuthKind::None => Auth::None,
        AuthKind::Bearer => match token(cx) {
            Some(token) => Auth::Bearer { token },
            None => {
                required(cx, &span, key, "token", type_name);
                Auth::None
            }
        },
        AuthKind::ApiKey => {
            let header = a.header.as_ref().map(|h| {
                let ok = !h.get_ref().is_empty()
                    && h.get_ref()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    cx.err(
                        h.span(),
                        &format!("{key}.header"),
                        format!("must be an HTTP header name, got {:?}", h.get_ref()),
                    );
                }
                h.get_ref().clone()
            });
            match (header, token(cx)) {
                (Some(header), Some(token)) => Auth::ApiKey { header, token },
                (h, t) => {
                    if h.is_none() {
                        required(cx, &span, key, "header", type_name);
                    }
                    if t.is_none() {
                        required(cx, &span, key, "token", type_name);
                    }
                    Auth::None
                }
            }
        }
        AuthKind::Mtls => {
            if url.is_some_and(|u| u.scheme() != "https") {
                cx.err(span.clone(), key, "mtls needs an https base_url");
            }
            let (Some(cert), Some(k)) = (&a.cert, &a.key) else {
                if a.cert.is_none() {
                    required(cx, &span, key, "cert", type_name);
                }
                if a.key.is_none() {
                    required(cx, &span, key, "key", type_name);
                }
                return Auth::None;
            };
            let cert_path = readable(cx, cert, &format!("{key}.cert"));
            let key_path = readable(cx, k, &format!("{key}.key"));
            let ca = a.ca.as_ref().map(|c| readable(cx, c, &format!("{key}.ca")));
            Auth::Mtls {
                cert: cert_path,
                key: key_path,
                ca,
            }
        }
    }
}

fn required(cx: &mut Ctx, span: &Range<usize>, key: &str, name: &str, type_name: &str) {
    cx.missing(
        span.clone(),
        &format!("{key}.{name}"),
        format!("is required for type = \"{type_name}\""),
    );
}

/// A certificate or key path; checked for readability only by `load`.
fn readable(cx: &mut Ctx, p: &toml::Spanned<String>, key: &str) -> std::path::PathBuf {
    let path = cx.path(p.get_ref());
    if p.get_ref().is_empty() {
        cx.err(p.span(), key, "must not be empty");
    } else if let Some(source) = cx.secrets {
        if let Err(e) = source.read(&path) {
            cx.err(
                p.span(),
                key,
                format!("cannot read {}: {e}", path.display()),
            );
        }
    }
    path
}
