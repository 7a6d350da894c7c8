//! `[backends.operations]`: what one named operation sends (method, path
//! template, query, JSON body, headers), whether it may be retried, which
//! statuses mean "not found", and which answer fields a flow receives.
//! Every template is parsed here, so the HTTP client never meets one it
//! cannot render.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::backends::flow_name;
use super::check::Ctx;
use super::model::{JsonTemplate, Method, Operation, Template};
use super::raw::{RawBackend, RawOperation};

/// Headers the client sets itself; an operation may not override them.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "content-length",
    "content-type",
    "cookie",
    "host",
    "idempotency-key",
    "transfer-encoding",
    "x-correlation-id",
];

type Pairs = Option<Spanned<BTreeMap<String, Spanned<String>>>>;

pub(crate) fn operations(
    cx: &mut Ctx,
    r: &RawBackend,
    table: Range<usize>,
    key: &str,
) -> BTreeMap<String, Operation> {
    let Some(ops) = &r.operations else {
        cx.err(
            table,
            key,
            "a back-end needs at least one operation ([backends.operations])",
        );
        return BTreeMap::new();
    };
    if ops.get_ref().is_empty() {
        cx.err(ops.span(), key, "a back-end needs at least one operation");
    }
    let mut out = BTreeMap::new();
    for (name, op) in ops.get_ref() {
        let op_key = format!("{key}.{name}");
        let name_spanned = Spanned::new(op.span(), name.clone());
        flow_name(cx, &name_spanned, &op_key, "operation");
        if let Some(op) = operation(cx, op.get_ref(), op.span(), &op_key) {
            out.insert(name.clone(), op);
        }
    }
    out
}

fn operation(cx: &mut Ctx, o: &RawOperation, span: Range<usize>, key: &str) -> Option<Operation> {
    let k = |f: &str| format!("{key}.{f}");
    if o.method.is_none() {
        let msg = "is required: GET, POST, PUT, PATCH or DELETE";
        cx.missing(span.clone(), &k("method"), msg);
    }
    let path = match &o.path {
        None => {
            let msg = "is required, e.g. \"/cards/{card}/balance\"";
            cx.missing(span.clone(), &k("path"), msg);
            None
        }
        Some(p) => match path_template(p.get_ref()) {
            Ok(segments) => Some((p.get_ref().clone(), segments)),
            Err(why) => {
                cx.err(p.span(), &k("path"), why);
                None
            }
        },
    };
    let query = pairs(cx, &o.query, &k("query"), |_| Ok(()));
    let headers = pairs(cx, &o.headers, &k("headers"), header_name);
    let body = o
        .body
        .as_ref()
        .and_then(|b| body(cx, b, &k("body"), o.method));
    let not_found = not_found(cx, &o.not_found, &k("not_found"));
    let response = response(cx, &o.response, &k("response"));
    let (method, (path, path_segments)) = (o.method?, path?);
    let path_params = path_segments
        .iter()
        .flat_map(Template::params)
        .map(str::to_string)
        .collect();
    Some(Operation {
        method,
        path,
        path_params,
        path_segments,
        query,
        body,
        headers,
        idempotent: o
            .idempotent
            .unwrap_or(matches!(method, Method::Get | Method::Put | Method::Delete)),
        not_found,
        response,
    })
}

/// The path template, one template per segment.
fn path_template(path: &str) -> Result<Vec<Template>, String> {
    if !path.starts_with('/') {
        return Err(format!("must start with '/', got {path:?}"));
    }
    if path.contains(['?', '#']) || path.contains("..") {
        return Err(format!(
            "must be a plain path (no '?', '#' or '..'), got {path:?}"
        ));
    }
    if path.split('/').any(|s| s == ".") {
        return Err(format!("must not have a '.' segment, got {path:?}"));
    }
    // Parsed whole first, so a message quotes the whole path.
    Template::parse(path)?;
    path[1..].split('/').map(Template::parse).collect()
}

/// `query` or `headers`: name -> template, names checked by `valid`.
fn pairs(
    cx: &mut Ctx,
    v: &Pairs,
    key: &str,
    valid: fn(&str) -> Result<(), String>,
) -> Vec<(String, Template)> {
    let Some(v) = v else { return Vec::new() };
    let mut out = Vec::new();
    for (name, value) in v.get_ref() {
        let item_key = format!("{key}.{name}");
        if let Err(why) = valid(name) {
            cx.err(value.span(), &item_key, why);
            continue;
        }
        if value.get_ref().chars().any(char::is_control) {
            cx.err(
                value.span(),
                &item_key,
                "must not contain control characters",
            );
            continue;
        }
        match Template::parse(value.get_ref()) {
            Ok(t) => out.push((name.clone(), t)),
            Err(why) => cx.err(value.span(), &item_key, why),
        }
    }
    out
}

fn header_name(name: &str) -> Result<(), String> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !token {
        return Err(format!("must be an HTTP header name, got {name:?}"));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "{name} is set by the gateway itself (auth, Idempotency-Key, X-Correlation-Id, framing)"
        ));
    }
    Ok(())
}

fn body(
    cx: &mut Ctx,
    b: &Spanned<toml::Value>,
    key: &str,
    method: Option<Method>,
) -> Option<JsonTemplate> {
    if matches!(method, Some(Method::Get | Method::Delete)) {
        let msg = "a GET or DELETE sends no body; use `query`";
        cx.err(b.span(), key, msg);
        return None;
    }
    match JsonTemplate::from_toml(b.get_ref()) {
        Ok(t) => Some(t),
        Err(errors) => {
            for (path, why) in errors {
                cx.err(b.span(), &format!("{key}{path}"), why);
            }
            None
        }
    }
}

fn not_found(cx: &mut Ctx, v: &Option<Spanned<Vec<Spanned<i64>>>>, key: &str) -> Vec<u16> {
    let Some(v) = v else { return vec![404] };
    if v.get_ref().is_empty() {
        cx.err(v.span(), key, "list at least one status, e.g. [404]");
    }
    let mut out = Vec::new();
    for (i, s) in v.get_ref().iter().enumerate() {
        match u16::try_from(*s.get_ref()) {
            Ok(code @ 400..=499) => out.push(code),
            _ => {
                let msg = format!("must be a 4xx status, got {}", s.get_ref());
                cx.err(s.span(), &format!("{key}[{i}]"), msg);
            }
        }
    }
    out
}

/// `response = { var = "/json/pointer" }`.
fn response(cx: &mut Ctx, v: &Pairs, key: &str) -> BTreeMap<String, String> {
    let Some(v) = v else { return BTreeMap::new() };
    if v.get_ref().is_empty() {
        cx.err(
            v.span(),
            key,
            "map at least one variable, or leave `response` out",
        );
    }
    let mut out = BTreeMap::new();
    for (var, pointer) in v.get_ref() {
        let item_key = format!("{key}.{var}");
        let spanned = Spanned::new(pointer.span(), var.clone());
        flow_name(cx, &spanned, &item_key, "variable");
        match json_pointer(pointer.get_ref()) {
            Ok(()) => {
                out.insert(var.clone(), pointer.get_ref().clone());
            }
            Err(why) => cx.err(pointer.span(), &item_key, why),
        }
    }
    out
}

/// RFC 6901: empty, or `/`-separated tokens where `~` is `~0` or `~1`.
fn json_pointer(p: &str) -> Result<(), String> {
    if !p.is_empty() && !p.starts_with('/') {
        return Err(format!(
            "must be a JSON pointer such as \"/holder\" or \"/data/0/name\", got {p:?}"
        ));
    }
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!("'~' must be written ~0 (and '/' as ~1) in {p:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_yield_their_segments() {
        let segs = path_template("/cards/{card}/balance").unwrap();
        let names: Vec<&str> = segs.iter().flat_map(Template::params).collect();
        assert_eq!(names, ["card"]);
        assert_eq!(segs.len(), 3);
        assert!(path_template("cards").is_err());
        assert!(path_template("/a/{x").is_err());
        assert!(path_template("/a/x}").is_err());
        assert!(path_template("/a/{X}").is_err());
        assert!(path_template("/a?b=1").is_err());
        assert!(path_template("/a/../b").is_err());
    }

    #[test]
    fn headers_and_pointers_are_checked() {
        assert!(header_name("X-Channel").is_ok());
        assert!(header_name("Authorization").is_err());
        assert!(header_name("idempotency-key").is_err());
        assert!(header_name("X Bad").is_err());
        assert!(json_pointer("/data/0/a~1b").is_ok());
        assert!(json_pointer("").is_ok());
        assert!(json_pointer("holder").is_err());
        assert!(json_pointer("/a~2").is_err());
    }
}
