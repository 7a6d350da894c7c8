//! Back-end answers -> session variables. Values are taken by variable
//! name from the top-level JSON object, made safe to show, and cut to the
//! declared sizes, so the compiler's screen proof holds at run time too.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::model::VarSpec;
use super::screen::sanitise;
use super::session::Value;

fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Null | Json::Array(_) | Json::Object(_) => None,
    }
}

/// Fills `results` from `data`; a result the answer lacks (or cannot be
/// read as its declared shape) is removed, so `present(x)` is false.
pub fn apply(
    results: &[String],
    specs: &BTreeMap<String, VarSpec>,
    data: &Json,
    vars: &mut BTreeMap<String, Value>,
) {
    for name in results {
        let value = match (specs.get(name), data.get(name)) {
            (Some(VarSpec::Text { max_len, .. }), Some(v)) => {
                scalar(v).map(|s| Value::Text(sanitise(&s, *max_len)))
            }
            (Some(VarSpec::List { max_items, fields }), Some(Json::Array(items))) => {
                Some(Value::List(
                    items
                        .iter()
                        .filter_map(Json::as_object)
                        .take(*max_items)
                        .map(|obj| {
                            fields
                                .iter()
                                .map(|(f, max)| {
                                    let s = obj.get(f).and_then(scalar).unwrap_or_default();
                                    (f.clone(), sanitise(&s, *max))
                                })
                                .collect()
                        })
                        .collect(),
                ))
            }
            _ => None,
        };
        match value {
            Some(v) => {
                vars.insert(name.clone(), v);
            }
            None => {
                vars.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::CharClass;

    #[test]
    fn maps_truncates_and_bounds() {
        let mut specs = BTreeMap::new();
        specs.insert(
            "holder".to_string(),
            VarSpec::Text {
                max_len: 5,
                class: CharClass::Any,
            },
        );
        let fields = BTreeMap::from([("name".to_string(), 3)]);
        specs.insert(
            "items".to_string(),
            VarSpec::List {
                max_items: 2,
                fields,
            },
        );
        let data = serde_json::json!({
            "holder": "Ali\nHassan",
            "items": [{"name": "Rice"}, 7, {"other": 1}, {"name": "Oil"}],
        });
        let mut vars = BTreeMap::new();
        vars.insert("old".to_string(), Value::Text("x".into()));
        apply(
            &["holder".into(), "items".into(), "missing".into()],
            &specs,
            &data,
            &mut vars,
        );
        assert_eq!(vars["holder"], Value::Text("Ali H".into()));
        let Value::List(items) = &vars["items"] else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["name"], "Ric");
        assert_eq!(items[1]["name"], "");
        assert!(vars.contains_key("old"));
    }
}
