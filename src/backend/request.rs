//! The typed request builder: an operation's templates plus a call's
//! parameters -> method, URL, headers and body. Each parameter goes into
//! exactly one slot and is encoded for it: a path segment by `url`'s
//! segment encoder (`/`, `?`, `#`, `%`, `\` escaped), a query value by the
//! form-urlencoded serializer, a body string by `serde_json`, a header by
//! `HeaderValue` (CR/LF refused). A value that would still change the
//! request's shape (an empty, `.` or `..` path segment) is refused: no
//! request is sent. Pure: no I/O.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::config::{Method, Operation};

/// A request ready to send (auth and call headers are added by the client).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: HeaderMap,
    /// Serialised JSON.
    pub body: Option<Vec<u8>>,
}

impl Prepared {
    /// The cache key: the URL and any templated header values.
    pub fn cache_key(&self) -> String {
        let mut key = self.url.as_str().to_string();
        for (name, value) in &self.headers {
            key.push('\n');
            key.push_str(name.as_str());
            key.push(':');
            key.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        key
    }
}

/// Why a request could not be built. Names a parameter, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("parameter `{0}` is missing")]
    Missing(String),
    #[error(
        "parameter `{0}` would be an empty, '.' or '..' path segment, or holds a control character"
    )]
    Segment(String),
    #[error("parameter `{0}` is not a valid header value")]
    Header(String),
    #[error("the base URL cannot take path segments")]
    Base,
}

pub fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

fn missing(name: &str) -> BuildError {
    BuildError::Missing(name.to_string())
}

pub fn build(
    base: &Url,
    op: &Operation,
    params: &BTreeMap<String, String>,
) -> Result<Prepared, BuildError> {
    let mut url = base.clone();
    {
        let mut segments = url.path_segments_mut().map_err(|()| BuildError::Base)?;
        segments.pop_if_empty();
        for template in &op.path_segments {
            let segment = template.render(params).map_err(missing)?;
            // `url` drops a `.`/`..` segment (or pops one), and strips tabs
            // and newlines first (`..\t` would become `..`): refuse both.
            let unsafe_segment = matches!(segment.as_str(), "" | "." | "..")
                || segment.chars().any(char::is_control);
            if template.has_params() && unsafe_segment {
                let name = template.params().next().unwrap_or_default();
                return Err(BuildError::Segment(name.to_string()));
            }
            segments.push(&segment);
        }
    }
    let leftover: Vec<(&String, &String)> = if op.leftover_params() {
        params.iter().filter(|(k, _)| !op.uses(k)).collect()
    } else {
        Vec::new()
    };
    let body_method = matches!(op.method, Method::Post | Method::Put | Method::Patch);
    let mut query: Vec<(&str, String)> = Vec::new();
    for (name, template) in &op.query {
        query.push((name, template.render(params).map_err(missing)?));
    }
    if !body_method {
        query.extend(leftover.iter().map(|(k, v)| (k.as_str(), (*v).clone())));
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let body = match (&op.body, body_method) {
        (Some(t), _) => Some(t.render(params).map_err(missing)?),
        (None, true) if !leftover.is_empty() => Some(serde_json::Value::Object(
            leftover
                .iter()
                .map(|(k, v)| ((*k).clone(), serde_json::Value::String((*v).clone())))
                .collect(),
        )),
        _ => None,
    };
    let mut headers = HeaderMap::new();
    for (name, template) in &op.headers {
        let value = template.render(params).map_err(missing)?;
        let header_error = || BuildError::Header(template.params().next().unwrap_or("").into());
        let mut value = HeaderValue::from_str(&value).map_err(|_| header_error())?;
        // A templated value may carry a citizen's id: keep it out of Debug.
        value.set_sensitive(template.has_params());
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| header_error())?;
        headers.insert(name, value);
    }
    Ok(Prepared {
        method: method(op.method),
        url,
        headers,
        body: body.map(|b| serde_json::to_vec(&b).unwrap_or_default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{JsonTemplate, Template};

    fn op(method: Method, path: &str) -> Operation {
        let path_segments: Vec<Template> = path[1..]
            .split('/')
            .map(|s| Template::parse(s).unwrap())
            .collect();
        Operation {
            method,
            path: path.into(),
            path_params: vec![],
            path_segments,
            query: vec![],
            body: None,
            headers: vec![],
            idempotent: true,
            not_found: vec![404],
            response: BTreeMap::new(),
        }
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn path_segments_are_encoded_and_cannot_escape() {
        let base = Url::parse("https://api.example/pds/v1/").unwrap();
        let o = op(Method::Get, "/cards/{card}/balance");
        let url = |card: &str| build(&base, &o, &params(&[("card", card)])).map(|p| p.url);
        assert_eq!(
            url("1/../admin").unwrap().as_str(),
            "https://api.example/pds/v1/cards/1%2F..%2Fadmin/balance"
        );
        assert_eq!(
            url("1?x=2#f").unwrap().as_str(),
            "https://api.example/pds/v1/cards/1%3Fx=2%23f/balance"
        );
        assert_eq!(
            url("%2e%2e\\").unwrap().path(),
            "/pds/v1/cards/%252e%252e%5C/balance"
        );
        assert_eq!(
            url("١٢٣").unwrap().path(),
            "/pds/v1/cards/%D9%A1%D9%A2%D9%A3/balance"
        );
        for bad in ["", ".", "..", "..\t", "1\n2"] {
            assert_eq!(url(bad), Err(BuildError::Segment("card".into())));
        }
        assert_eq!(
            build(&base, &o, &BTreeMap::new()).unwrap_err(),
            BuildError::Missing("card".into())
        );
    }

    #[test]
    fn leftover_params_go_to_the_query_or_a_flat_body() {
        let base = Url::parse("http://127.0.0.1:1/x").unwrap();
        let get = op(Method::Get, "/a/{id}");
        let p = build(&base, &get, &params(&[("id", "7"), ("q", "1&x=2")])).unwrap();
        assert_eq!(p.url.as_str(), "http://127.0.0.1:1/x/a/7?q=1%26x%3D2");
        assert!(p.body.is_none());
        let post = op(Method::Post, "/inquiry");
        let p = build(&base, &post, &params(&[("pin", "\"},{\"")])).unwrap();
        assert_eq!(p.url.query(), None);
        let body: serde_json::Value = serde_json::from_slice(&p.body.unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"pin": "\"},{\""}));
    }

    #[test]
    fn declared_query_body_and_headers_take_only_their_params() {
        let base = Url::parse("http://127.0.0.1:1").unwrap();
        let mut o = op(Method::Post, "/inquiry");
        let toml: toml::Value = toml::from_str("pension_number = \"{number}\"").unwrap();
        o.body = Some(JsonTemplate::from_toml(&toml).unwrap());
        o.query = vec![("lang".into(), Template::parse("en").unwrap())];
        o.headers = vec![("X-Citizen".into(), Template::parse("{number}").unwrap())];
        o.path_segments.push(Template::parse("{kind}").unwrap());
        o.query
            .push(("v".into(), Template::parse("{version}").unwrap()));
        let used = o.params();
        assert_eq!(used.len(), 3, "{used:?}");
        assert!(used.iter().all(|p| o.uses(p)));
        assert!(!o.uses("extra") && !o.uses("lang"));
        o.path_segments.pop();
        o.query.pop();
        let p = build(&base, &o, &params(&[("number", "12"), ("extra", "x")])).unwrap();
        assert_eq!(p.url.as_str(), "http://127.0.0.1:1/inquiry?lang=en");
        assert_eq!(p.body.unwrap(), br#"{"pension_number":"12"}"#);
        assert!(p.headers["x-citizen"].is_sensitive());
        let crlf = params(&[("number", "1\r\nX-Admin: 1")]);
        assert_eq!(
            build(&base, &o, &crlf).unwrap_err(),
            BuildError::Header("number".into())
        );
    }

    fn percent_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    proptest::proptest! {
        /// Whatever a citizen types, it stays one path segment and one
        /// query value, and reads back unchanged.
        #[test]
        fn any_value_stays_in_its_slot(card in "(?s).{0,24}", q in "(?s).{0,24}") {
            let base = Url::parse("https://api.example/pds/v1").unwrap();
            let mut o = op(Method::Get, "/cards/{card}/balance");
            o.query = vec![("lang".into(), Template::parse("{q}").unwrap())];
            match build(&base, &o, &params(&[("card", &card), ("q", &q)])) {
                Err(BuildError::Segment(_)) => {
                    let refused = matches!(card.as_str(), "" | "." | "..")
                        || card.chars().any(char::is_control);
                    proptest::prop_assert!(refused);
                }
                Err(e) => proptest::prop_assert!(false, "{}", e),
                Ok(p) => {
                    let segs: Vec<&str> = p.url.path_segments().unwrap().collect();
                    proptest::prop_assert_eq!(segs.len(), 5);
                    proptest::prop_assert_eq!(percent_decode(segs[3]), card);
                    let pairs: Vec<_> = p.url.query_pairs().collect();
                    proptest::prop_assert_eq!(pairs.len(), 1);
                    proptest::prop_assert_eq!(&pairs[0].1, &q);
                    proptest::prop_assert_eq!(Url::parse(p.url.as_str()).unwrap(), p.url);
                }
            }
        }
    }
}
