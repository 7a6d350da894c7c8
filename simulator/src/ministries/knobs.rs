//! Misbehaviour knobs of the mock ministries: latency with jitter, a rate of 500s, hanging,
//! and malformed bodies, set for all services or one. Plain data plus the pure body mangling;
//! the server applies them.

use std::time::Duration;

use serde_json::Value;

/// The four services, by the first segment of their path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Pds,
    Electricity,
    Passport,
    Pension,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Pds,
        Service::Electricity,
        Service::Passport,
        Service::Pension,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Service::Pds => "pds",
            Service::Electricity => "electricity",
            Service::Passport => "passport",
            Service::Pension => "pension",
        }
    }
    pub fn parse(s: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// How a service fails to answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hang {
    #[default]
    Off,
    /// Hold the answer this long (on top of latency), then answer normally.
    For(Duration),
    /// Never answer; the connection stays open until the client gives up.
    Never,
}

/// How a successful body is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The JSON cut off halfway.
    Truncated,
    /// Well-formed JSON with the wrong types: numeric strings become numbers, other strings
    /// `true`, arrays `{}`.
    WrongTypes,
}

impl Malformed {
    pub fn parse(s: &str) -> Option<Malformed> {
        match s {
            "truncated" => Some(Malformed::Truncated),
            "wrong-types" => Some(Malformed::WrongTypes),
            _ => None,
        }
    }
}

/// Knobs for one service (or all). The default answers at once, correctly.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Knobs {
    pub latency: Duration,
    /// A uniformly random extra delay in `0..=jitter`.
    pub jitter: Duration,
    /// Fraction of requests (0.0..=1.0) answered 500, spread evenly: with 0.25 exactly every
    /// 4th request of the service fails.
    pub error_rate: f64,
    pub hang: Hang,
    pub malformed: Option<Malformed>,
}

impl Knobs {
    /// Whether request number `n` (0-based, per service) gets a 500 under `error_rate`.
    pub fn fails(&self, n: u64) -> bool {
        let rate = self.error_rate.clamp(0.0, 1.0);
        ((n + 1) as f64 * rate).floor() > (n as f64 * rate).floor()
    }
}

/// Spoils a body per `m`.
pub fn mangle(m: Malformed, body: &Value) -> String {
    match m {
        Malformed::Truncated => {
            let s = body.to_string();
            let mut cut = s.len() / 2;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s[..cut].to_owned()
        }
        Malformed::WrongTypes => wrong_types(body).to_string(),
    }
}

fn wrong_types(v: &Value) -> Value {
    match v {
        Value::String(s) => s
            .parse::<i64>()
            .map_or(Value::Bool(true), |n| Value::Number(n.into())),
        Value::Array(_) => Value::Object(Default::default()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), wrong_types(v))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_rate_is_spread_exactly() {
        let k = Knobs {
            error_rate: 0.25,
            ..Knobs::default()
        };
        let fails: Vec<u64> = (0..12).filter(|n| k.fails(*n)).collect();
        assert_eq!(fails, vec![3, 7, 11]);
        assert!(!(0..100).any(|n| Knobs::default().fails(n)));
        let all = Knobs {
            error_rate: 1.0,
            ..Knobs::default()
        };
        assert!((0..100).all(|n| all.fails(n)));
    }

    #[test]
    fn bodies_are_spoiled() {
        let v = json!({"holder": "علي", "balance": "25000", "items": [1]});
        let t = mangle(Malformed::Truncated, &v);
        assert!(serde_json::from_str::<Value>(&t).is_err(), "{t}");
        let w: Value = serde_json::from_str(&mangle(Malformed::WrongTypes, &v)).unwrap();
        assert_eq!(w, json!({"holder": true, "balance": 25000, "items": {}}));
    }
}
