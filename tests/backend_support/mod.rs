//! Shared by tests/backend_*.rs: back-ends from real configuration text,
//! call requests, a tiny programmable HTTP server, and a log capture.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bawaba::backend::{Backends, CallRequest};
use bawaba::config::Config;

/// One operator (required by every configuration) + the given back-ends.
pub fn config(backends_toml: &str) -> Config {
    let text = format!(
        "[[operators]]\nname = \"zain\"\nhost = \"smsc.example\"\nport = 2775\n\
         system_id = \"bawaba\"\npassword = \"secret\"\n\n{backends_toml}"
    );
    match Config::from_str(&text, "test.toml") {
        Ok(c) => c,
        Err(e) => panic!("test configuration is invalid:\n{e}\n---\n{text}"),
    }
}

pub fn backends(backends_toml: &str) -> Backends {
    Backends::from_config(&config(backends_toml).backends).expect("back-ends build")
}

pub fn req(backend: &str, operation: &str, params: &[(&str, &str)]) -> CallRequest {
    CallRequest {
        backend: backend.into(),
        operation: operation.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        idempotency_key: "sess-42:step-3".into(),
        correlation_id: "corr-7f3a".into(),
        deadline: None,
    }
}

/// Binds 127.0.0.1:0 and serves `app` in the background.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Everything `tracing` writes while a test runs (all levels, all targets).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Installs a subscriber for the current thread; keep the guard.
    pub fn capture(level: tracing::Level) -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        // No timestamps: the tests look for secrets such as a 4-digit PIN
        // in the text, and "23:29:52.650716" holds "6507".
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
