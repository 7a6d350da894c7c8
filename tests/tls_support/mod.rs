//! A private PKI for TLS tests (tests/backend_tls.rs, tests/smpp_tls.rs):
//! a CA made by rcgen and leaf certificates it signs, with PEM helpers.
#![allow(dead_code)]

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

pub struct Pki {
    pub ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Pki { ca }
    }

    /// A leaf certificate and its key.
    pub fn leaf(&self, cn: &str, sans: &[&str]) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        (params.signed_by(&key, &self.ca).unwrap(), key)
    }

    /// A rustls server configuration (ring, TLS 1.2+) presenting a leaf for
    /// `sans` (the first is its CN), verifying clients with `clients`
    /// (`None`: no client certificate asked).
    pub fn server_config(
        &self,
        sans: &[&str],
        clients: Option<std::sync::Arc<dyn rustls::server::danger::ClientCertVerifier>>,
    ) -> rustls::ServerConfig {
        let (cert, key) = self.leaf(sans[0], sans);
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match clients {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        builder
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
            )
            .unwrap()
    }

    /// The CA certificate as a PEM file in `dir`; its path.
    pub fn ca_pem(&self, dir: &Path, name: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, self.ca.pem()).unwrap();
        path.display().to_string()
    }
}
