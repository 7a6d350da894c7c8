//! Small checks shared by the section validators: ranges with defaults,
//! names, secrets. Each reports at the value's own span and key path and
//! returns a usable value (the default) so checking can go on.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::error::Report;
use super::secret::{self, Secret, SecretSource, SecretSpec};
use super::units::{show, show_size, Dur, Size};

/// What every validator needs: where to report, where relative paths
/// start, and (for `load` only) where secrets come from.
pub(crate) struct Ctx<'a, 't> {
    pub report: &'a mut Report<'t>,
    pub base: &'a Path,
    pub secrets: Option<&'a dyn SecretSource>,
}

impl Ctx<'_, '_> {
    pub(crate) fn err(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        self.report.push(Some(span), key, message);
    }

    /// A required key is absent, unless it was present and already
    /// reported as malformed.
    pub(crate) fn missing(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        if !self.report.has_key(key) {
            self.err(span, key, message);
        }
    }

    /// An integer in `lo..=hi`, or `default` when absent.
    pub(crate) fn int(
        &mut self,
        v: &Option<Spanned<i64>>,
        key: &str,
        lo: i64,
        hi: i64,
        default: i64,
    ) -> i64 {
        match v {
            None => default,
            Some(v) if (lo..=hi).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                self.err(
                    v.span(),
                    key,
                    format!("must be between {lo} and {hi}, got {}", v.get_ref()),
                );
                default
            }
        }
    }

    /// A duration in `lo..=hi`, or `default` when absent.
    pub(crate) fn dur(
        &mut self,
        v: &Option<Spanned<Dur>>,
        key: &str,
        (lo, hi): (Duration, Duration),
        default: Duration,
    ) -> Duration {
        match v {
            None => default,
            Some(v) if (lo..=hi).contains(&v.get_ref().0) => v.get_ref().0,
            Some(v) => {
                let got = show(v.get_ref().0);
                self.err(
                    v.span(),
                    key,
                    format!("must be between {} and {}, got {got}", show(lo), show(hi)),
                );
                default
            }
        }
    }

    /// A byte size in `lo..=hi`, or `default` when absent.
    pub(crate) fn size(
        &mut self,
        v: &Option<Spanned<Size>>,
        key: &str,
        lo: u64,
        hi: u64,
        default: u64,
    ) -> u64 {
        match v {
            None => default,
            Some(v) if (lo..=hi).contains(&v.get_ref().0) => v.get_ref().0,
            Some(v) => {
                let (lo, hi, got) = (show_size(lo), show_size(hi), show_size(v.get_ref().0));
                self.err(
                    v.span(),
                    key,
                    format!("must be between {lo} and {hi}, got {got}"),
                );
                default
            }
        }
    }

    /// A name flows and logs refer to: `[a-z][a-z0-9_-]*`, at most 32.
    pub(crate) fn name(&mut self, v: &Spanned<String>, key: &str) {
        if !is_name(v.get_ref()) {
            self.err(
                v.span(),
                key,
                format!(
                    "must be 1 to 32 characters of a-z, 0-9, '_' or '-', starting with a letter, got {:?}",
                    v.get_ref()
                ),
            );
        }
    }

    /// Resolves a secret, reporting a missing env var or unreadable file.
    pub(crate) fn secret(&mut self, spec: &Spanned<SecretSpec>, key: &str) -> Secret {
        match secret::resolve(spec.get_ref(), self.secrets, self.base) {
            Ok(s) => s,
            Err(message) => {
                self.err(spec.span(), key, message);
                Secret::new("")
            }
        }
    }

    /// A certificate or key path, resolved; not empty, and readable when
    /// secrets are resolved (`load`), like secrets. `span` is where to report.
    pub(crate) fn readable(
        &mut self,
        span: Range<usize>,
        p: &str,
        key: &str,
    ) -> std::path::PathBuf {
        let path = self.path(p);
        if p.is_empty() {
            self.err(span, key, "must not be empty");
        } else if let Some(source) = self.secrets {
            if let Err(e) = source.read(&path) {
                self.err(span, key, format!("cannot read {}: {e}", path.display()));
            }
        }
        path
    }

    /// A path, resolved against the configuration file's directory.
    pub(crate) fn path(&self, p: &str) -> std::path::PathBuf {
        self.base.join(p)
    }
}

pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 32
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(crate) fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}
