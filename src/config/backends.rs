//! `[[backends]]`: the government HTTP back-ends flows call. Only what the
//! flow compiler and a later HTTP client need: where, how to authenticate,
//! how long to wait, how much to accept, and the named operations.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use super::auth::auth;
use super::check::{millis, secs, Ctx};
use super::model::{Auth, Backend, CircuitBreaker, HttpVersion};
use super::operations::operations;
use super::raw::RawBackend;
use super::units::show;

pub(crate) struct Parsed {
    pub index: usize,
    pub span: Range<usize>,
    pub raw: RawBackend,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn backends(cx: &mut Ctx, parsed: &[Parsed]) -> Vec<Backend> {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for p in parsed {
        let Some(spanned) = &p.raw.name else { continue };
        let name = spanned.get_ref().as_str();
        match names.get(name) {
            Some(first) => {
                let msg = format!("{name:?} is already the name of backends[{first}]");
                cx.err(spanned.span(), &format!("backends[{}].name", p.index), msg);
            }
            None => {
                names.insert(name, p.index);
            }
        }
    }
    parsed.iter().filter_map(|p| backend(cx, p)).collect()
}

fn backend(cx: &mut Ctx, p: &Parsed) -> Option<Backend> {
    let k = |f: &str| format!("backends[{}].{f}", p.index);
    let r = &p.raw;
    for (present, field) in [
        (r.name.is_some(), "name"),
        (r.base_url.is_some(), "base_url"),
    ] {
        if !present {
            cx.missing(p.span.clone(), &k(field), "is required but missing");
        }
    }
    if let Some(name) = &r.name {
        flow_name(cx, name, &k("name"), "back-end");
    }
    let base_url = r
        .base_url
        .as_ref()
        .and_then(|u| base_url(cx, r, u, &k("base_url")));
    let auth = match &r.auth {
        None => Auth::None,
        Some(a) => auth(cx, a.get_ref(), a.span(), &k("auth"), base_url.as_ref()),
    };
    let operations = operations(cx, r, p.span.clone(), &k("operations"));
    // Every check runs before a missing key ends this back-end.
    let br = r.circuit_breaker.as_ref();
    let circuit_breaker = CircuitBreaker {
        failures: cx.int(
            &br.and_then(|b| b.failures.clone()),
            &k("circuit_breaker.failures"),
            1,
            1000,
            5,
        ) as u32,
        open_for: cx.dur(
            &br.and_then(|b| b.open_for.clone()),
            &k("circuit_breaker.open_for"),
            (secs(1), secs(600)),
            secs(30),
        ),
        half_open_probes: cx.int(
            &br.and_then(|b| b.half_open_probes.clone()),
            &k("circuit_breaker.half_open_probes"),
            1,
            100,
            1,
        ) as u32,
    };
    let timeout = cx.dur(
        &r.timeout,
        &k("timeout"),
        (millis(100), secs(60)),
        DEFAULT_TIMEOUT,
    );
    let concurrency = cx.int(&r.concurrency, &k("concurrency"), 1, 1024, 32) as usize;
    let retries = cx.int(&r.retries, &k("retries"), 0, 5, 1) as u32;
    let max_response_bytes = cx.size(
        &r.max_response_bytes,
        &k("max_response_bytes"),
        1 << 10,
        16 << 20,
        256 << 10,
    );
    let cache_ttl = cx.dur(
        &r.cache_ttl,
        &k("cache_ttl"),
        (secs(0), secs(24 * 3600)),
        Duration::ZERO,
    );
    Some(Backend {
        name: r.name.as_ref()?.get_ref().clone(),
        base_url: base_url?,
        allow_http: r.allow_http.unwrap_or(false),
        http_version: r
            .http_version
            .as_ref()
            .map_or(HttpVersion::Auto, |v| *v.get_ref()),
        auth,
        timeout,
        concurrency,
        retries,
        circuit_breaker,
        max_response_bytes,
        cache_ttl,
        operations,
    })
}

/// Names flows refer to (`backend: pds`, `operation: balance`).
pub(crate) fn flow_name(cx: &mut Ctx, v: &toml::Spanned<String>, key: &str, what: &str) {
    let s = v.get_ref();
    let ok = s.len() <= 32
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        let msg = format!(
            "a {what} name is 1 to 32 of a-z, 0-9 or '_', starting with a letter, got {s:?}"
        );
        cx.err(v.span(), key, msg);
    }
}

fn base_url(
    cx: &mut Ctx,
    r: &RawBackend,
    raw_url: &toml::Spanned<String>,
    key: &str,
) -> Option<url::Url> {
    let span = raw_url.span();
    let url = match url::Url::parse(raw_url.get_ref()) {
        Ok(u) => u,
        Err(e) => {
            cx.err(
                span,
                key,
                format!("not a valid URL ({e}): {:?}", raw_url.get_ref()),
            );
            return None;
        }
    };
    let allow_http = r.allow_http.unwrap_or(false);
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => cx.err(
            span.clone(),
            key,
            "must use https (set `allow_http = true` only for a local test back-end)",
        ),
        other => cx.err(
            span.clone(),
            key,
            format!("must be an https URL, got scheme {other:?}"),
        ),
    }
    if url.host_str().is_none_or(str::is_empty) {
        cx.err(span.clone(), key, "must name a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        cx.err(
            span.clone(),
            key,
            "must not carry credentials (they would end up in logs); use `auth`",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        cx.err(
            span.clone(),
            key,
            "must not have a query or fragment; operations add their own paths",
        );
    }
    Some(url)
}

/// A back-end whose deadline outlives the shortest USSD reply deadline
/// would leave a citizen's screen to expire before the answer comes.
pub(crate) fn deadline_fits(cx: &mut Ctx, parsed: &[Parsed], shortest: Option<(Duration, String)>) {
    let Some((deadline, whose)) = shortest else {
        return;
    };
    for p in parsed {
        let timeout = p
            .raw
            .timeout
            .as_ref()
            .map_or(DEFAULT_TIMEOUT, |t| t.get_ref().0);
        if timeout >= deadline {
            let span = p.raw.timeout.as_ref().map_or(p.span.clone(), |t| t.span());
            let msg = format!(
                "{} must be shorter than the shortest USSD reply_deadline ({}, {whose}), or the citizen's screen expires first",
                show(timeout),
                show(deadline)
            );
            cx.err(span, &format!("backends[{}].timeout", p.index), msg);
        }
    }
}
