//! SMPP over TLS (`operators[].tls`): the connector of one operator and
//! the handshake, whose failure says what was wrong with the certificate
//! (rustls's own words: "invalid peer certificate: UnknownIssuer", "...
//! NotValidForName") so the log tells the operator what to fix.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::OperatorTls;
use crate::tls::{client_config, Trust};

pub(crate) struct Client {
    connector: TlsConnector,
    name: ServerName<'static>,
    shown: String,
}

impl Client {
    pub fn new(cfg: &OperatorTls) -> Result<Client, String> {
        let trust = match &cfg.ca_file {
            Some(ca) => Trust::CaFile(ca),
            None => Trust::Platform,
        };
        let identity = cfg
            .client_cert
            .as_ref()
            .map(|(c, k)| (c.as_path(), k.as_path()));
        let config = client_config(trust, identity)?;
        let name = ServerName::try_from(cfg.server_name.clone())
            .map_err(|e| format!("server_name {:?}: {e}", cfg.server_name))?;
        Ok(Client {
            connector: TlsConnector::from(Arc::new(config)),
            name,
            shown: cfg.server_name.clone(),
        })
    }

    pub fn server_name(&self) -> &str {
        &self.shown
    }

    pub async fn handshake(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, String> {
        self.connector
            .connect(self.name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))
    }
}
