//! Templates of back-end operations: `{name}` placeholders in path
//! segments, query values, header values and the strings of a JSON body.
//! Parsed once when the configuration is checked; rendering substitutes a
//! parameter as *data* into one slot that is never parsed again, so a
//! citizen's `1/../admin`, `1&x=2` or `"},{"` cannot add a segment, a query
//! pair or a JSON member (the HTTP client encodes each slot for its place).
//! `{{` and `}}` write literal braces.

use std::collections::BTreeMap;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    Param(String),
}

/// A string with `{name}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub pieces: Vec<Piece>,
}

impl Template {
    /// Parses `s`; the error says what is wrong, for the key's message.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().is_some_and(|(_, n)| *n == '}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => return Err(format!("unbalanced '}}' in {s:?} (write '}}}}')")),
                '{' => {
                    let rest = &s[i + 1..];
                    let close = rest
                        .find('}')
                        .ok_or_else(|| format!("unclosed '{{' in {s:?}"))?;
                    let name = &rest[..close];
                    if !is_param_name(name) {
                        return Err(format!(
                            "placeholder {{{name}}} must be a-z, 0-9 or '_', in {s:?}"
                        ));
                    }
                    if !lit.is_empty() {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    pieces.push(Piece::Param(name.to_string()));
                    for _ in 0..=close {
                        chars.next();
                    }
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(Template { pieces })
    }

    /// The placeholder names, in order (repeats included).
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Param(name) => Some(name.as_str()),
            Piece::Lit(_) => None,
        })
    }

    pub fn has_params(&self) -> bool {
        self.params().next().is_some()
    }

    /// The text with each placeholder replaced by its value; `Err(name)`
    /// names the first parameter `params` lacks.
    pub fn render<'t>(&'t self, params: &BTreeMap<String, String>) -> Result<String, &'t str> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Param(name) => out.push_str(params.get(name).ok_or(name.as_str())?),
            }
        }
        Ok(out)
    }
}

fn is_param_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A JSON body whose strings are templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonTemplate {
    Bool(bool),
    Number(serde_json::Number),
    Text(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// From the TOML value written in `body = ...`; each error is
    /// `(path, why)`, the member's path relative to `body`. All of them.
    pub(crate) fn from_toml(v: &toml::Value) -> Result<JsonTemplate, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let t = Self::convert(v, String::new(), &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    fn convert(v: &toml::Value, path: String, errors: &mut Vec<(String, String)>) -> JsonTemplate {
        let mut fail = |why: String| {
            errors.push((path.clone(), why));
            JsonTemplate::Bool(false)
        };
        match v {
            toml::Value::String(s) => match Template::parse(s) {
                Ok(t) => JsonTemplate::Text(t),
                Err(e) => fail(e),
            },
            toml::Value::Integer(n) => JsonTemplate::Number((*n).into()),
            toml::Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => JsonTemplate::Number(n),
                None => fail(format!("{f} is not a JSON number")),
            },
            toml::Value::Boolean(b) => JsonTemplate::Bool(*b),
            toml::Value::Datetime(d) => fail(format!(
                "a TOML date is not JSON; write it as a string: \"{d}\""
            )),
            toml::Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::convert(item, format!("{path}[{i}]"), errors))
                    .collect(),
            ),
            toml::Value::Table(t) => JsonTemplate::Object(
                t.iter()
                    .map(|(k, item)| {
                        (
                            k.clone(),
                            Self::convert(item, format!("{path}.{k}"), errors),
                        )
                    })
                    .collect(),
            ),
        }
    }

    /// Every placeholder name in the body.
    pub fn params(&self) -> Vec<&str> {
        match self {
            JsonTemplate::Text(t) => t.params().collect(),
            JsonTemplate::Array(items) => items.iter().flat_map(Self::params).collect(),
            JsonTemplate::Object(members) => members.iter().flat_map(|(_, v)| v.params()).collect(),
            JsonTemplate::Bool(_) | JsonTemplate::Number(_) => Vec::new(),
        }
    }

    /// The body as a JSON value: each parameter lands inside one JSON
    /// string, whatever it contains.
    pub fn render<'t>(
        &'t self,
        params: &BTreeMap<String, String>,
    ) -> Result<serde_json::Value, &'t str> {
        use serde_json::Value;
        Ok(match self {
            JsonTemplate::Bool(b) => Value::Bool(*b),
            JsonTemplate::Number(n) => Value::Number(n.clone()),
            JsonTemplate::Text(t) => Value::String(t.render(params)?),
            JsonTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.render(params))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| Ok::<_, &str>((k.clone(), v.render(params)?)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn templates_split_literals_and_placeholders() {
        let t = Template::parse("card-{card}.{{json}}").unwrap();
        assert_eq!(t.params().collect::<Vec<_>>(), ["card"]);
        let p = params(&[("card", "1/../x")]);
        assert_eq!(t.render(&p).unwrap(), "card-1/../x.{json}");
        assert_eq!(t.render(&BTreeMap::new()), Err("card"));
        assert!(Template::parse("{a").is_err());
        assert!(Template::parse("a}").is_err());
        assert!(Template::parse("{A}").is_err());
        assert!(Template::parse("{}").is_err());
    }

    #[test]
    fn body_values_stay_inside_their_string() {
        let toml: toml::Value = toml::from_str(
            "pension_number = \"{number}\"\npin = \"{pin}\"\nv = 2\nflags = [true, \"x{pin}\"]",
        )
        .unwrap();
        let body = JsonTemplate::from_toml(&toml).unwrap();
        let mut names = body.params();
        names.sort();
        assert_eq!(names, ["number", "pin", "pin"]);
        let p = params(&[("number", "\"},{\"admin\":true,\"x\":\""), ("pin", "6507")]);
        let json = body.render(&p).unwrap();
        assert_eq!(json["pension_number"], "\"},{\"admin\":true,\"x\":\"");
        assert_eq!(json.as_object().unwrap().len(), 4);
        assert_eq!(json["flags"][1], "x6507");
        let date: toml::Value = toml::from_str("d = 2026-11-27").unwrap();
        let errors = JsonTemplate::from_toml(&date).unwrap_err();
        assert_eq!(errors[0].0, ".d");
    }
}
