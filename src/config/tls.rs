//! `operators[].tls`: SMPP over TLS to one SMSC. `tls = true` verifies the
//! SMSC's certificate against the platform's roots for the operator's
//! `host`; a table names a private CA (`ca_file`, trusted alone), another
//! name to verify (`server_name`), and a client certificate for SMSCs that
//! demand one (`client_cert` + `client_key`). There is no way to turn
//! verification off: an SMSC whose certificate cannot be verified is not
//! bound to.

use toml::Spanned;

use super::check::Ctx;
use super::model::OperatorTls;

const KEYS: [&str; 4] = ["ca_file", "server_name", "client_cert", "client_key"];

/// Checks `tls` as written (a bool or a table); `None` when off. `host` is
/// the operator's host, the default name to verify.
pub(crate) fn tls(
    cx: &mut Ctx,
    raw: Option<&Spanned<toml::Value>>,
    host: Option<&str>,
    key: &str,
) -> Option<OperatorTls> {
    let raw = raw?;
    let table = match raw.get_ref() {
        toml::Value::Boolean(false) => return None,
        toml::Value::Boolean(true) => &toml::Table::new(),
        toml::Value::Table(t) => t,
        other => {
            let msg = format!(
                "must be true, false or a table {{ ca_file, server_name, client_cert, client_key }}, got a {}",
                other.type_str()
            );
            cx.err(raw.span(), key, msg);
            return None;
        }
    };
    let mut text = |name: &str| -> Option<String> {
        match table.get(name)? {
            toml::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            _ => {
                cx.err(
                    raw.span(),
                    &format!("{key}.{name}"),
                    "must be a non-empty string",
                );
                None
            }
        }
    };
    let ca_file = text("ca_file");
    let server_name = text("server_name");
    let client_cert = text("client_cert");
    let client_key = text("client_key");
    for k in table.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        let msg = format!("unknown key `{k}`, expected one of {}", KEYS.join(", "));
        cx.err(raw.span(), &format!("{key}.{k}"), msg);
    }
    let name = server_name.or_else(|| host.map(str::to_string))?;
    if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
        let msg = format!(
            "must be a DNS name or an IP address to verify the certificate against, got {name:?}"
        );
        cx.err(raw.span(), &format!("{key}.server_name"), msg);
    }
    let mut file = |p: Option<String>, name: &str| {
        p.map(|p| cx.readable(raw.span(), &p, &format!("{key}.{name}")))
    };
    let ca_file = file(ca_file, "ca_file");
    let identity = match (
        file(client_cert, "client_cert"),
        file(client_key, "client_key"),
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            let msg = "client_cert and client_key go together: give both or neither";
            cx.err(raw.span(), key, msg);
            None
        }
    };
    Some(OperatorTls {
        ca_file,
        server_name: name,
        client_cert: identity,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Error};

    fn parse(tls: &str) -> Result<Config, Error> {
        let text = format!(
            "[[operators]]\nname = \"zain\"\nhost = \"smsc.zain.example\"\nport = 3550\n\
             system_id = \"bawaba\"\npassword = \"secret\"\ntls = {tls}\n"
        );
        Config::from_str(&text, "/etc/bawaba/t.toml")
    }

    #[test]
    fn true_verifies_the_host_name_with_the_platform_roots() {
        let c = parse("true").unwrap();
        let tls = c.operators[0].tls.as_ref().unwrap();
        assert_eq!(tls.server_name, "smsc.zain.example");
        assert!(tls.ca_file.is_none() && tls.client_cert.is_none());
        assert!(parse("false").unwrap().operators[0].tls.is_none());
    }

    #[test]
    fn a_table_names_the_ca_the_name_and_a_client_certificate() {
        let c = parse(
            "{ ca_file = \"ca.pem\", server_name = \"smpp.zain.iq\", client_cert = \"c.pem\", client_key = \"k.pem\" }",
        )
        .unwrap();
        let tls = c.operators[0].tls.as_ref().unwrap();
        assert_eq!(tls.server_name, "smpp.zain.iq");
        assert_eq!(
            tls.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/bawaba/ca.pem"))
        );
        let (cert, key) = tls.client_cert.as_ref().unwrap();
        assert!(cert.ends_with("c.pem") && key.ends_with("k.pem"));
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let e = parse("{ ca_file = \"\", server_name = \"not a name\", client_cert = \"c.pem\", verify = false }")
            .unwrap_err()
            .to_string();
        for needle in [
            "operators[0].tls.ca_file: must be a non-empty string",
            "operators[0].tls.verify: unknown key `verify`",
            "operators[0].tls.server_name: must be a DNS name or an IP address",
            "operators[0].tls: client_cert and client_key go together",
            "t.toml:7:",
        ] {
            assert!(e.contains(needle), "{needle:?} missing from:\n{e}");
        }
        let e = parse("\"yes\"").unwrap_err().to_string();
        assert!(e.contains("must be true, false or a table"), "{e}");
    }
}
