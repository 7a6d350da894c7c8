//! Secrets in the configuration: bind passwords, back-end tokens, the admin
//! token. Written inline, as `{ env = "VAR" }` or as `{ file = "/path" }`.
//! A `Secret` prints as `***` in Debug and Display, always; only `expose()`
//! hands out the value. This module owns the only I/O `config` does
//! besides reading the file itself (`SecretSource`), and never logs a value.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Where a secret's value comes from, as written in the file.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    Inline,
    Env(String),
    File(PathBuf),
}

impl fmt::Debug for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretOrigin::Inline => f.write_str("inline"),
            SecretOrigin::Env(var) => write!(f, "env {var}"),
            SecretOrigin::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A secret value. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    origin: SecretOrigin,
    value: Option<String>,
}

impl Secret {
    /// A secret with a known value (inline, or already resolved).
    pub fn new(value: impl Into<String>) -> Self {
        Secret {
            origin: SecretOrigin::Inline,
            value: Some(value.into()),
        }
    }

    pub(crate) fn resolved(origin: SecretOrigin, value: String) -> Self {
        Secret {
            origin,
            value: Some(value),
        }
    }

    pub(crate) fn pending(origin: SecretOrigin) -> Self {
        Secret {
            origin,
            value: None,
        }
    }

    /// The value. `None` only for an env/file secret of a config built by
    /// the pure `Config::from_str`; `Config::load` resolves every secret or
    /// fails.
    pub fn expose(&self) -> Option<&str> {
        self.value.as_deref()
    }

    pub fn origin(&self) -> &SecretOrigin {
        &self.origin
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where env vars and secret files are read from. `System` in production;
/// tests pass a map so they never touch the process environment.
pub trait SecretSource {
    fn var(&self, name: &str) -> Option<String>;
    fn read(&self, path: &Path) -> std::io::Result<String>;
}

/// The process environment and the file system.
pub struct System;

impl SecretSource for System {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn read(&self, path: &Path) -> std::io::Result<String> {
        // A password or token, perhaps a PEM: never more than this.
        crate::files::read_capped(path, 64 * 1024)
    }
}

/// A secret as written: the raw form, before resolution.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum SecretSpec {
    Inline(String),
    Env(String),
    File(String),
}

impl fmt::Debug for SecretSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSpec::Inline(_) => f.write_str("Inline(***)"),
            SecretSpec::Env(v) => write!(f, "Env({v})"),
            SecretSpec::File(p) => write!(f, "File({p})"),
        }
    }
}

const EXPECTING: &str = "a string, { env = \"VAR\" } or { file = \"/path\" }";

impl<'de> Deserialize<'de> for SecretSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SecretSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(EXPECTING)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SecretSpec, E> {
                Ok(SecretSpec::Inline(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSpec, A::Error> {
                let mut spec = None;
                while let Some(key) = map.next_key::<String>()? {
                    let value: String = map.next_value()?;
                    let next = match key.as_str() {
                        "env" => SecretSpec::Env(value),
                        "file" => SecretSpec::File(value),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown secret source `{other}`, expected {EXPECTING}"
                            )))
                        }
                    };
                    if spec.replace(next).is_some() {
                        return Err(de::Error::custom(format!(
                            "give exactly one of `env` or `file`: {EXPECTING}"
                        )));
                    }
                }
                spec.ok_or_else(|| de::Error::custom(format!("empty secret: {EXPECTING}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// Resolves a spec. `source = None` keeps env/file secrets pending (the
/// pure path). `base` anchors relative secret file paths.
pub(crate) fn resolve(
    spec: &SecretSpec,
    source: Option<&dyn SecretSource>,
    base: &Path,
) -> Result<Secret, String> {
    let (origin, value) = match spec {
        SecretSpec::Inline(v) => return Ok(Secret::new(v.clone())),
        SecretSpec::Env(var) => {
            if var.is_empty() {
                return Err("the environment variable name is empty".into());
            }
            let origin = SecretOrigin::Env(var.clone());
            let Some(source) = source else {
                return Ok(Secret::pending(origin));
            };
            let value = source
                .var(var)
                .ok_or_else(|| format!("environment variable `{var}` is not set"))?;
            (origin, value)
        }
        SecretSpec::File(path) => {
            if path.is_empty() {
                return Err("the secret file path is empty".into());
            }
            let path = base.join(path);
            let origin = SecretOrigin::File(path.clone());
            let Some(source) = source else {
                return Ok(Secret::pending(origin));
            };
            let text = source
                .read(&path)
                .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?;
            // Files written by `echo` or editors end in a newline that is
            // never part of the secret.
            (origin, text.trim_end_matches(['\n', '\r']).to_string())
        }
    };
    if value.is_empty() {
        return Err(format!("the secret from {origin:?} is empty"));
    }
    Ok(Secret::resolved(origin, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_their_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(
            format!("{:?}", SecretSpec::Inline("hunter2".into())),
            "Inline(***)"
        );
        assert_eq!(s.expose(), Some("hunter2"));
    }

    #[test]
    fn pending_secrets_resolve_only_with_a_source() {
        let spec = SecretSpec::Env("NOPE_NOT_SET_BAWABA".into());
        let pending = resolve(&spec, None, Path::new(".")).unwrap();
        assert_eq!(pending.expose(), None);
        let err = resolve(&spec, Some(&System), Path::new(".")).unwrap_err();
        assert!(err.contains("NOPE_NOT_SET_BAWABA` is not set"), "{err}");
    }
}
