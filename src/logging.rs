//! Process-wide logging: one `tracing` subscriber, text or JSON lines, as
//! the configuration's `[log]` says, with `RUST_LOG` taking precedence over
//! `[log] level` when it is set.
//!
//! Owns: where log lines go (stderr for `serve`, a file or nowhere for
//! `demo`, whose terminal belongs to the phone) and their shape.
//! Must not: decide what is logged. Callers log MSISDNs only through
//! [`crate::msisdn`] (masked) and never put message bodies, citizen inputs,
//! PINs or national ids in an event at info level or above;
//! `tests/e2e_logs.rs` captures the JSON lines of a real dialogue and checks.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::{Log, LogFormat};

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    Stderr,
    /// Appended to this file (created if missing).
    File(PathBuf),
    /// Nothing is written.
    Off,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("log filter `{filter}` ({origin}): {message}")]
    Filter {
        filter: String,
        origin: &'static str,
        message: String,
    },
    #[error("cannot open the log file {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("a logger is already installed in this process")]
    AlreadyInstalled,
}

/// The filter in force: `RUST_LOG` when it is set and not empty, else the
/// configuration's `[log] level`.
pub fn filter(log: &Log) -> Result<EnvFilter, Error> {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (text, origin) = match from_env {
        Some(v) => (v, "RUST_LOG"),
        None => (log.level.clone(), "[log] level"),
    };
    EnvFilter::builder()
        .parse(&text)
        .map_err(|e| Error::Filter {
            filter: text.clone(),
            origin,
            message: e.to_string(),
        })
}

/// Installs the process's subscriber. Call once, early (after the
/// configuration is known, before anything is started).
pub fn init(log: &Log, sink: Sink) -> Result<(), Error> {
    let writer = match sink {
        Sink::Off => return Ok(()),
        Sink::Stderr => Writer::Stderr,
        Sink::File(path) => {
            let file = File::options()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|source| Error::File { path, source })?;
            Writer::File(Arc::new(Mutex::new(file)))
        }
    };
    let ansi = matches!(writer, Writer::Stderr) && io::IsTerminal::is_terminal(&io::stderr());
    install(log.format, filter(log)?, writer, ansi)
}

fn install(format: LogFormat, filter: EnvFilter, writer: Writer, ansi: bool) -> Result<(), Error> {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    let installed = match format {
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
        // The span list carries the parents too (bind, session with the
        // masked MSISDN), so one citizen can be followed through a log.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|_| Error::AlreadyInstalled)
}

/// Stderr or a shared file handle; one line per `make_writer` call.
#[derive(Clone)]
enum Writer {
    Stderr,
    File(Arc<Mutex<File>>),
}

impl<'a> MakeWriter<'a> for Writer {
    type Writer = Box<dyn io::Write + 'a>;

    fn make_writer(&'a self) -> Self::Writer {
        match self {
            Writer::Stderr => Box::new(io::stderr().lock()),
            Writer::File(file) => Box::new(Locked(file)),
        }
    }
}

/// Writes one formatted event under the file's lock, so concurrent events
/// never interleave within a line.
struct Locked<'a>(&'a Mutex<File>);

impl io::Write for Locked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        io::Write::write_all(&mut *f, buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        io::Write::flush(&mut *f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msisdn::Msisdn;

    fn log(level: &str, format: LogFormat) -> Log {
        Log {
            format,
            level: level.into(),
        }
    }

    #[test]
    fn bad_filter_is_reported_with_its_origin() {
        // Only meaningful when the test process has no RUST_LOG of its own.
        if std::env::var_os("RUST_LOG").is_some() {
            return;
        }
        let e = filter(&log("info,bawaba=loud", LogFormat::Text)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("[log] level"), "{text}");
        assert!(text.contains("bawaba=loud"), "{text}");
        assert!(filter(&log("info,bawaba::smpp=debug", LogFormat::Json)).is_ok());
    }

    #[test]
    fn json_lines_carry_span_fields_and_masked_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let file = File::create(&path).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("info"))
            .with_writer(Writer::File(Arc::new(Mutex::new(file))))
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .finish();
        let msisdn = Msisdn::parse("9647701234567").unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("session", msisdn = %msisdn.masked());
            let _g = span.enter();
            tracing::info!(operator = "zain", "dialogue started");
            tracing::debug!(input = "1234", "not at info");
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["message"], "dialogue started");
        assert_eq!(lines[0]["operator"], "zain");
        assert_eq!(lines[0]["span"]["msisdn"], "964********67");
        assert!(!text.contains("9647701234567"));
        assert!(!text.contains("1234\""));
    }
}
