//! `POST /v1/messages` bodies: parsed, checked and rendered into the text
//! to send. Pure: every refusal is a [`Problem`] naming the field.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::{Language, NotifyTemplate};
use crate::msisdn::Msisdn;

/// A refused request: HTTP status, a stable code, the field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub status: u16,
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            status,
            code,
            field: None,
            message: message.into(),
        }
    }

    /// 422: the field's value cannot be used.
    pub fn field(field: &str, message: impl Into<String>) -> Problem {
        Problem {
            field: Some(field.to_string()),
            ..Problem::new(422, "invalid_field", message)
        }
    }
}

/// The body as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    to: String,
    text: Option<String>,
    template: Option<String>,
    language: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    reference: Option<String>,
}

/// A checked request.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Message {
    pub to: Msisdn,
    pub text: String,
    /// `text` or the template's name, for the audit record.
    pub template: Option<String>,
    pub reference: Option<String>,
}

/// Characters per part of the densest encoding (GSM 7-bit, concatenated).
const CHARS_PER_PART: usize = 153;

/// Parses and checks `bytes`. `max_parts` caps the length (the operator's
/// own `max_parts` is checked again when it is queued).
pub(super) fn parse(
    bytes: &[u8],
    templates: &BTreeMap<String, NotifyTemplate>,
    max_parts: u8,
) -> Result<Message, Problem> {
    let body: Body = serde_json::from_slice(bytes).map_err(|e| {
        let message = e.to_string();
        let mut p = Problem::new(
            400,
            "malformed_body",
            format!("the body is not a valid message: {message}"),
        );
        // serde names the field in backticks: "missing field `to`", "unknown field `x`".
        p.field = message.split('`').nth(1).map(str::to_string);
        p
    })?;
    let to = Msisdn::parse(&body.to).map_err(|e| {
        Problem::field(
            "to",
            format!("not a mobile number ({e}); write 9647XXXXXXXXX or 07XXXXXXXXX"),
        )
    })?;
    let (text, template) = match (body.text, &body.template) {
        (Some(_), Some(_)) => {
            return Err(Problem::field(
                "template",
                "give either text or template, not both",
            ))
        }
        (None, None) => return Err(Problem::field("text", "required (or a template)")),
        (Some(text), None) => (text, None),
        (None, Some(name)) => {
            let text = render(templates, name, body.language.as_deref(), &body.params)?;
            (text, Some(name.clone()))
        }
    };
    if text.trim().is_empty() {
        return Err(Problem::field("text", "must not be empty"));
    }
    let max_chars = usize::from(max_parts) * CHARS_PER_PART;
    let chars = text.chars().count();
    if chars > max_chars {
        let msg =
            format!("too long: {chars} characters, at most {max_chars} ({max_parts} SMS parts)");
        return Err(Problem::field("text", msg));
    }
    if let Some(r) = &body.reference {
        if r.is_empty() || r.len() > 64 || !r.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Problem::field(
                "reference",
                "1 to 64 printable ASCII characters",
            ));
        }
    }
    Ok(Message {
        to,
        text,
        template,
        reference: body.reference,
    })
}

fn render(
    templates: &BTreeMap<String, NotifyTemplate>,
    name: &str,
    language: Option<&str>,
    params: &BTreeMap<String, String>,
) -> Result<String, Problem> {
    let t = templates
        .get(name)
        .ok_or_else(|| Problem::field("template", format!("no template named {name:?}")))?;
    let language = match language {
        None => {
            return Err(Problem::field(
                "language",
                "required with a template: ar, ckb or en",
            ))
        }
        Some("ar") => Language::Ar,
        Some("ckb") => Language::Ckb,
        Some("en") => Language::En,
        Some(other) => {
            return Err(Problem::field(
                "language",
                format!("must be ar, ckb or en, got {other:?}"),
            ))
        }
    };
    let text = t.get(language).ok_or_else(|| {
        let lang = format!("{language:?}").to_lowercase();
        Problem::field("language", format!("template {name:?} has no {lang} text"))
    })?;
    text.render(params)
        .map_err(|missing| Problem::field("params", format!("missing parameter {missing:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Template;

    fn templates() -> BTreeMap<String, NotifyTemplate> {
        let t = NotifyTemplate {
            ar: Some(Template::parse("فاتورتك {amount} دينار").unwrap()),
            ckb: None,
            en: Some(Template::parse("Your bill: {amount} IQD").unwrap()),
        };
        BTreeMap::from([("bill".to_string(), t)])
    }

    fn check(body: &str) -> Result<Message, Problem> {
        parse(body.as_bytes(), &templates(), 2)
    }

    fn refused(body: &str) -> (u16, String, String) {
        let p = check(body).unwrap_err();
        (p.status, p.field.unwrap_or_default(), p.message)
    }

    #[test]
    fn text_and_template_messages() {
        let m = check(r#"{"to":"07701234567","text":"hello","reference":"inv-1"}"#).unwrap();
        assert_eq!((m.to.as_str(), m.text.as_str()), ("9647701234567", "hello"));
        assert_eq!(m.reference.as_deref(), Some("inv-1"));
        let m = check(r#"{"to":"9647701234567","template":"bill","language":"en","params":{"amount":"20,000"}}"#).unwrap();
        assert_eq!(m.text, "Your bill: 20,000 IQD");
        assert_eq!(m.template.as_deref(), Some("bill"));
    }

    #[test]
    fn every_refusal_names_its_field() {
        let long = "x".repeat(2 * 153 + 1);
        let cases = [
            (r#"{"text":"hi"}"#.to_string(), 400, "to"),
            (r#"{"to":"1","text":"hi","colour":"red"}"#.into(), 400, "colour"),
            (r#"not json"#.into(), 400, ""),
            (r#"{"to":"12ab","text":"hi"}"#.into(), 422, "to"),
            (r#"{"to":"07701234567","text":"  "}"#.into(), 422, "text"),
            (r#"{"to":"07701234567"}"#.into(), 422, "text"),
            (format!(r#"{{"to":"07701234567","text":"{long}"}}"#), 422, "text"),
            (r#"{"to":"07701234567","text":"a","template":"bill"}"#.into(), 422, "template"),
            (r#"{"to":"07701234567","template":"nope","language":"en"}"#.into(), 422, "template"),
            (r#"{"to":"07701234567","template":"bill"}"#.into(), 422, "language"),
            (r#"{"to":"07701234567","template":"bill","language":"fr"}"#.into(), 422, "language"),
            (r#"{"to":"07701234567","template":"bill","language":"ckb","params":{"amount":"1"}}"#.into(), 422, "language"),
            (r#"{"to":"07701234567","template":"bill","language":"ar"}"#.into(), 422, "params"),
            (r#"{"to":"07701234567","text":"a","reference":""}"#.into(), 422, "reference"),
        ];
        for (body, status, field) in cases {
            let (s, f, m) = refused(&body);
            assert_eq!((s, f.as_str()), (status, field), "{body}: {m}");
        }
    }
}
