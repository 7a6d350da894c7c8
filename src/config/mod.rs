//! The gateway configuration: TOML text into a validated, typed `Config`.
//!
//! Three steps, each reporting *every* problem it finds with
//! file:line:column and the key path: TOML syntax (`document::parse`),
//! serde into the `raw` types with `deny_unknown_fields` (`document::section`,
//! one section at a time, recovering past each error), then semantic
//! validation with defaults and cross-field rules (`sections`, `operators`,
//! `ussd`, `backends`). `Config::from_str` is pure; `Config::load` also
//! reads the file and resolves secrets from the environment and files.
//!
//! Must not: open sockets, bind ports, touch the store or log a secret.
//! The full key reference is config/README.md.

mod admin;
mod auth;
mod backends;
mod check;
mod command;
mod document;
mod error;
mod model;
mod notify;
mod operations;
mod operators;
mod raw;
mod routing;
mod secret;
mod sections;
mod security;
mod template;
mod tls;
mod units;
mod ussd;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use toml::de::DeValue;

pub use command::{check_command, load_or_report, ConfigArgs, ConfigCommand, EXIT_CONFIG};
pub use error::{Error, Problem};
pub use model::*;
pub use secret::{Secret, SecretOrigin, SecretSource, System};
pub use security::{Limits, PinLockout, Security};
pub use units::{show as show_duration, show_size};

use check::Ctx;
use document::{section, Node};
use error::Report;
use raw::RawUssdProfile;

/// The largest configuration file read (the shipped example is ~10 KiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

const SECTIONS: &str =
    "gateway, store, log, admin, sms, security, operators, backends, ussd_profiles, notify";

impl Config {
    /// Parses and validates `text` (named `path` in messages; relative paths
    /// in it are resolved against `path`'s directory). Pure: reads no file
    /// and no environment, so `{ env = ... }` and `{ file = ... }` secrets
    /// stay unresolved (`Secret::expose` is `None`).
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, path: impl AsRef<Path>) -> Result<Config, Error> {
        build(text, path.as_ref(), None)
    }

    /// Like `from_str`, resolving secrets (and checking mTLS files) through
    /// `secrets`. Problems with secrets are reported with all the others.
    pub fn from_str_with(
        text: &str,
        path: impl AsRef<Path>,
        secrets: &dyn SecretSource,
    ) -> Result<Config, Error> {
        build(text, path.as_ref(), Some(secrets))
    }

    /// Reads `path` (at most [`MAX_CONFIG_BYTES`]) and validates it,
    /// resolving secrets from the process
    /// environment and the file system.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let text =
            crate::files::read_capped(path, MAX_CONFIG_BYTES).map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
        build(&text, path, Some(&System))
    }

    pub fn operator(&self, name: &str) -> Option<&Operator> {
        self.operators.iter().find(|o| o.name == name)
    }

    pub fn backend(&self, name: &str) -> Option<&Backend> {
        self.backends.iter().find(|b| b.name == name)
    }

    /// Back-end name -> its operation names: what the flow compiler checks
    /// `backend:` / `operation:` against (`engine::CompileContext`).
    pub fn backend_operations(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.backends
            .iter()
            .map(|b| (b.name.clone(), b.operations.keys().cloned().collect()))
            .collect()
    }

    /// The tightest USSD screen budget of any operator: flows are shared,
    /// so the flow compiler proves every screen against this one.
    pub fn strictest_budget(&self) -> crate::charset::Budget {
        let budgets = self.operators.iter().map(|o| o.ussd.profile.budget);
        budgets.fold(crate::charset::Budget::default(), |a, b| {
            crate::charset::Budget {
                gsm7: a.gsm7.min(b.gsm7),
                ucs2: a.ucs2.min(b.ucs2),
            }
        })
    }

    /// One line for `bawaba config check`.
    pub fn summary(&self) -> String {
        let ops: Vec<&str> = self.operators.iter().map(|o| o.name.as_str()).collect();
        let bes: Vec<&str> = self.backends.iter().map(|b| b.name.as_str()).collect();
        let n_ops: usize = self.backends.iter().map(|b| b.operations.len()).sum();
        let notify = self.notify.as_ref().map_or(String::new(), |n| {
            let clients: Vec<&str> = n.clients.iter().map(|c| c.name.as_str()).collect();
            let (listen, names) = (n.listen, clients.join(", "));
            format!(
                ", notification API on {listen} for {} client(s) [{names}]",
                clients.len()
            )
        });
        format!(
            "{}: ok: node {}, {} operator(s) [{}], {} back-end(s) [{}] with {} operation(s), flows in {}{notify}",
            self.source.display(),
            self.gateway.node,
            ops.len(),
            ops.join(", "),
            bes.len(),
            bes.join(", "),
            n_ops,
            self.gateway.flows_dir.display()
        )
    }
}

/// The sections as serde read them (those that could be read).
#[derive(Default)]
struct Sections {
    gateway: raw::RawGateway,
    store: raw::RawStore,
    log: raw::RawLog,
    admin: admin::RawAdmin,
    sms: raw::RawSms,
    security: security::RawSecurity,
    operators: Vec<operators::Parsed>,
    has_operators: bool,
    /// Where `operators = []` was written, if it was.
    operators_at: Option<Range<usize>>,
    backends: Vec<backends::Parsed>,
    profiles: BTreeMap<String, (Range<usize>, RawUssdProfile)>,
    notify: Option<(Range<usize>, notify::RawNotify)>,
}

fn build(text: &str, path: &Path, secrets: Option<&dyn SecretSource>) -> Result<Config, Error> {
    let mut report = Report::new(path.display().to_string(), text);
    let Some(root) = document::parse(text, &mut report) else {
        return Err(Error::Invalid(report.finish()));
    };
    let s = read_sections(root.get_ref(), &mut report);
    let base = path.parent().unwrap_or(Path::new(""));
    let mut cx = Ctx {
        report: &mut report,
        base,
        secrets,
    };
    if !s.has_operators {
        cx.report.push(
            s.operators_at.clone(),
            "operators",
            "at least one [[operators]] table is required",
        );
    }
    ussd::profiles(&mut cx, &s.profiles);
    let operators = operators::operators(&mut cx, &s.operators, &s.profiles);
    let whose = |i: &usize, o: &Operator| format!("operators[{i}] ({})", o.name);
    let shortest = operators
        .iter()
        .map(|(i, o)| (o.ussd.profile.timers.reply_deadline, whose(i, o)))
        .min_by_key(|(d, _)| *d);
    let fewest_parts = operators
        .iter()
        .map(|(i, o)| (usize::from(o.sms.max_parts), whose(i, o)))
        .min_by_key(|(n, _)| *n);
    let backends = backends::backends(&mut cx, &s.backends);
    backends::deadline_fits(&mut cx, &s.backends, shortest);
    let config = Config {
        source: path.to_path_buf(),
        gateway: sections::gateway(&mut cx, s.gateway),
        store: sections::store(&mut cx, s.store),
        log: sections::log(&mut cx, s.log),
        admin: admin::admin(&mut cx, s.admin),
        sms: sections::sms(&mut cx, s.sms, fewest_parts),
        security: security::security(&mut cx, s.security),
        operators: operators.into_iter().map(|(_, o)| o).collect(),
        backends,
        notify: notify::notify(&mut cx, s.notify),
    };
    if report.is_clean() {
        Ok(config)
    } else {
        Err(Error::Invalid(report.finish()))
    }
}

fn read_sections(root: &toml::de::DeTable, report: &mut Report) -> Sections {
    let mut s = Sections::default();
    for (key, value) in root.iter() {
        let name: &str = key.get_ref();
        match name {
            "gateway" => s.gateway = section(value, name, report).unwrap_or_default(),
            "store" => s.store = section(value, name, report).unwrap_or_default(),
            "log" => s.log = section(value, name, report).unwrap_or_default(),
            "admin" => s.admin = section(value, name, report).unwrap_or_default(),
            "sms" => s.sms = section(value, name, report).unwrap_or_default(),
            "security" => s.security = section(value, name, report).unwrap_or_default(),
            "notify" => {
                let raw = section(value, name, report).unwrap_or_default();
                s.notify = Some((value.span(), raw));
            }
            "operators" => {
                let items = array(value, name, report);
                s.operators_at = Some(value.span());
                // `operators = 7` is reported by `array`; `operators = []`
                // is a gateway with no operator, reported below.
                s.has_operators =
                    !items.is_empty() || !matches!(value.get_ref(), DeValue::Array(_));
                for (index, item) in items.iter().enumerate() {
                    if let Some(raw) = section(item, &format!("operators[{index}]"), report) {
                        s.operators.push(operators::Parsed {
                            index,
                            span: item.span(),
                            raw,
                        });
                    }
                }
            }
            "backends" => {
                for (index, item) in array(value, name, report).iter().enumerate() {
                    if let Some(raw) = section(item, &format!("backends[{index}]"), report) {
                        s.backends.push(backends::Parsed {
                            index,
                            span: item.span(),
                            raw,
                        });
                    }
                }
            }
            "ussd_profiles" => match value.get_ref() {
                DeValue::Table(t) => {
                    for (pname, item) in t.iter() {
                        let pkey = format!("ussd_profiles.{}", document::segment(pname.get_ref()));
                        if let Some(raw) = section(item, &pkey, report) {
                            s.profiles
                                .insert(pname.get_ref().to_string(), (pname.span(), raw));
                        }
                    }
                }
                _ => report.push(
                    Some(value.span()),
                    name,
                    "must be a table of profiles: [ussd_profiles.NAME]",
                ),
            },
            other => report.push(
                Some(key.span()),
                other,
                format!("unknown section `{other}`, expected one of {SECTIONS}"),
            ),
        }
    }
    s
}

fn array<'a, 'i>(value: &'a Node<'i>, name: &str, report: &mut Report) -> &'a [Node<'i>] {
    match value.get_ref() {
        DeValue::Array(items) => items,
        _ => {
            report.push(
                Some(value.span()),
                name,
                format!("must be an array of tables: write [[{name}]]"),
            );
            &[]
        }
    }
}
