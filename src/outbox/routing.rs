//! Which operator carries an MT: the one named by the caller, else the one
//! whose `msisdn_prefixes` entry is the longest prefix of the number. Pure:
//! built once from the configuration, then only looked up.

use std::collections::BTreeMap;

use super::Error;
use crate::config::Config;
use crate::msisdn::Msisdn;

/// Prefix table over every configured operator.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    /// International-format prefix -> operator name.
    prefixes: BTreeMap<String, String>,
    names: Vec<String>,
}

impl Routes {
    pub fn from_config(config: &Config) -> Routes {
        let mut routes = Routes::default();
        for op in &config.operators {
            routes.names.push(op.name.clone());
            for p in &op.msisdn_prefixes {
                routes.prefixes.insert(p.clone(), op.name.clone());
            }
        }
        routes
    }

    /// The operator for `to`: `explicit` if given (it must exist), else the
    /// longest configured prefix of the number.
    pub fn route(&self, to: &Msisdn, explicit: Option<&str>) -> Result<String, Error> {
        if let Some(name) = explicit {
            return match self.names.iter().find(|n| n.as_str() == name) {
                Some(n) => Ok(n.clone()),
                None => Err(Error::UnknownOperator(name.to_string())),
            };
        }
        let digits = to.as_str();
        (1..=digits.len())
            .rev()
            .find_map(|len| self.prefixes.get(&digits[..len]))
            .cloned()
            .ok_or_else(|| Error::NoRoute(to.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        let mut r = Routes::default();
        for (p, op) in [
            ("96478", "zain"),
            ("96477", "asiacell"),
            ("964775", "korek"),
        ] {
            r.prefixes.insert(p.into(), op.into());
        }
        r.names = vec!["zain".into(), "asiacell".into(), "korek".into()];
        r
    }

    #[test]
    fn longest_prefix_wins_and_explicit_overrides() {
        let r = routes();
        let n = |s| Msisdn::parse(s).unwrap();
        assert_eq!(r.route(&n("07801234567"), None).unwrap(), "zain");
        assert_eq!(r.route(&n("9647701234567"), None).unwrap(), "asiacell");
        assert_eq!(r.route(&n("9647751234567"), None).unwrap(), "korek");
        assert_eq!(
            r.route(&n("9647801234567"), Some("korek")).unwrap(),
            "korek"
        );
        assert!(matches!(
            r.route(&n("9647501234567"), None),
            Err(Error::NoRoute(_))
        ));
        assert!(matches!(
            r.route(&n("9647801234567"), Some("nope")),
            Err(Error::UnknownOperator(_))
        ));
    }
}
