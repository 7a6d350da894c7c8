//! rustls client configurations, shared by the back-end HTTP client and
//! the SMPP binds: the ring provider, TLS 1.2 and 1.3 only, the server's
//! certificate always verified (against a CA file trusted alone, or the
//! platform's roots), and an optional client certificate.
//!
//! Must not: offer a way to skip verification.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Whom to trust.
pub enum Trust<'a> {
    /// The CA certificates of this PEM file, alone (a private CA, pinned).
    CaFile(&'a Path),
    /// The platform's roots (rustls-platform-verifier).
    Platform,
    /// Nobody (a client that must never speak TLS).
    Nobody,
}

/// A client configuration; `identity` is (certificate chain, key), PEM.
/// Errors name the file and what is wrong with it.
pub fn client_config(
    trust: Trust,
    identity: Option<(&Path, &Path)>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match trust {
        Trust::CaFile(ca) => builder.with_root_certificates(roots(ca)?),
        Trust::Platform => {
            let verifier =
                rustls_platform_verifier::Verifier::new(provider).map_err(|e| e.to_string())?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
        }
        Trust::Nobody => builder.with_root_certificates(rustls::RootCertStore::empty()),
    };
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let certs = CertificateDer::pem_file_iter(cert)
                .and_then(|c| c.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("{}: {e}", cert.display()))?;
            let key =
                PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("client certificate: {e}"))
        }
    }
}

fn roots(ca: &Path) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no certificate", ca.display()));
    }
    Ok(roots)
}
