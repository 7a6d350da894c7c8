//! The running gateway, wired: the only module that knows every part.
//!
//! [`run`] (what `bawaba serve` does) and [`start`] + [`App::stop`] (what
//! `bawaba demo` and the end-to-end tests do) take an already validated
//! [`Config`] and, in this order: compile the flows in `gateway.flows_dir`
//! against the configuration's back-ends and the strictest operator screen
//! budget, build the back-end clients, open the sled store, then start the
//! gateway (binds, workers, outbound queue). Everything that can be wrong
//! with what the operator wrote is found before the store is opened or any
//! socket is bound, and reported whole ([`Error::exit_code`] 64).
//!
//! Shutdown is passed in (a [`CancellationToken`]); on it the gateway stops
//! taking new sessions, finishes turns in flight, unbinds and flushes, all
//! within `gateway.shutdown_grace`, and the store is synced and closed.
//! Must not: parse arguments, install signal handlers or a logger (the
//! CLI does), or hold protocol logic of its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::admin::Admin;
use crate::backend::Backends;
use crate::config::Config;
use crate::engine::{self, Diagnostic, FlowSet, Source};
use crate::runtime::publish::{Change, FlowFile, Refused};
use crate::runtime::{Calls, Gateway, GatewayHandle};
use crate::store::{SledConfig, SledStore, Store};

/// Why the gateway did not start, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the flows in {}: {source}", dir.display())]
    FlowsRead {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no *.yaml flow files in {} (gateway.flows_dir)", .0.display())]
    NoFlows(PathBuf),
    /// Every problem in the flows, sorted by file and line.
    #[error("{} problem(s) in the flows; nothing was started", .0.len())]
    Flows(Vec<Diagnostic>),
    #[error("back-ends: {0}")]
    Backends(String),
    #[error("store at {}: {source}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: crate::store::Error,
    },
    #[error("gateway: {0:#}")]
    Gateway(anyhow::Error),
    #[error("admin listener on {addr}: {source}")]
    Admin {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("notification API on {addr} (notify.listen): {source}")]
    Notify {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit status: 64 for what the operator must fix in the
    /// configuration or the flows (nothing was started), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::FlowsRead { .. } | Error::NoFlows(_) | Error::Flows(_) | Error::Backends(_) => {
                64
            }
            Error::Store { .. }
            | Error::Gateway(_)
            | Error::Admin { .. }
            | Error::Notify { .. } => 1,
        }
    }

    /// The lines an operator reads: every flow problem, or the one error.
    pub fn report(&self) -> Vec<String> {
        match self {
            Error::Flows(diags) => diags
                .iter()
                .map(Diagnostic::to_string)
                .chain(std::iter::once(self.to_string()))
                .collect(),
            _ => vec![self.to_string()],
        }
    }
}

/// Runs the gateway until `shutdown` is cancelled, then stops it
/// gracefully. Returns once everything is stopped and the store closed.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    let app = start(config).await?;
    app.watch_flows(&shutdown).await;
    tracing::info!("shutting down");
    app.stop().await
}

/// The flows of `gateway.flows_dir`, compiled against this configuration:
/// its back-ends and operations, and the smallest screen of any operator
/// (flows are shared by every operator, so each screen must fit them all).
pub fn compile_flows(config: &Config) -> Result<FlowSet, Error> {
    let dir = &config.gateway.flows_dir;
    let sources = flow_sources(dir)?;
    if sources.is_empty() {
        return Err(Error::NoFlows(dir.clone()));
    }
    let ctx = crate::runtime::publish::compile_context(config);
    engine::compile(&sources, &ctx).map_err(|mut diags| {
        diags.sort();
        Error::Flows(diags)
    })
}

/// The flow files of `dir` by file name, as publishing takes them.
fn flow_files(dir: &Path) -> Result<BTreeMap<String, String>, Error> {
    Ok(flow_sources(dir)?
        .into_iter()
        .map(|s| {
            let name = Path::new(&s.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(s.path);
            (name, s.text)
        })
        .collect())
}

/// The `*.yaml` files of `dir`, sorted by name, read.
fn flow_sources(dir: &Path) -> Result<Vec<Source>, Error> {
    let read_err = |source| Error::FlowsRead {
        dir: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "yaml") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            Source::read(&path).map_err(|e| {
                read_err(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                ))
            })
        })
        .collect()
}

/// The sled store as `[store]` describes it.
pub fn store_config(config: &Config) -> SledConfig {
    let mut sled = SledConfig::new(&config.store.path);
    sled.cache_capacity = config.store.cache_capacity;
    sled.group_commit.max_ops = config.store.group_commit.max_batch;
    sled.group_commit.max_wait = config.store.group_commit.max_delay;
    sled
}

async fn open_store(config: &Config) -> Result<SledStore, Error> {
    let path = config.store.path.clone();
    if let Err(source) = std::fs::create_dir_all(&path) {
        return Err(Error::Store {
            path,
            source: crate::store::Error::from_io(source),
        });
    }
    SledStore::open(store_config(config))
        .await
        .map_err(|source| Error::Store { path, source })
}

/// How far past `gateway.shutdown_grace` a stop may run before it is
/// abandoned (the process exits 1 rather than hang).
const STOP_SLACK: Duration = Duration::from_secs(3);

/// A started gateway.
pub struct App {
    config: Arc<Config>,
    gateway: GatewayHandle,
    /// The admin listener, when `[admin] listen` is set.
    admin: Option<Admin>,
    store: Arc<SledStore>,
    /// The notification API, when `[notify]` is configured.
    notify: Option<crate::notify::Server>,
    /// The flow files as they were just before the running set was
    /// compiled (an edit during the compile is still seen).
    flows_seen: Fingerprint,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("node", &self.config.gateway.node)
            .finish_non_exhaustive()
    }
}

/// Compiles, opens and starts everything; see the module docs for the
/// order. Nothing is bound when this returns an exit-64 error.
pub async fn start(config: Config) -> Result<App, Error> {
    let flows_seen = fingerprint(&config.gateway.flows_dir);
    let files = flow_files(&config.gateway.flows_dir)?;
    let flows = compile_flows(&config)?;
    let backends =
        Backends::from_config(&config.backends).map_err(|e| Error::Backends(e.to_string()))?;
    let calls: Arc<dyn Calls> = Arc::new(backends);
    let store = Arc::new(open_store(&config).await?);
    // The set last published through the admin API, if that is newer
    // than the files (see runtime::publish::initial).
    let (flows, files) = crate::runtime::publish::initial(&*store, &config, files, flows).await;
    let flows = Arc::new(flows);
    let config = Arc::new(config);
    let n_flows = flows.flows().count();
    // The admin port is taken before any bind, so a clash stops nothing.
    let admin_listener = match config.admin.listen {
        None => None,
        Some(addr) => match TcpListener::bind(addr).await {
            Ok(l) => Some(l),
            Err(source) => {
                close_store(&config, store).await.ok();
                return Err(Error::Admin { addr, source });
            }
        },
    };
    let gateway =
        Gateway::new(Arc::clone(&config), Arc::clone(&store), flows, calls).with_flow_files(files);
    let gateway = match gateway.start().await {
        Ok(g) => g,
        Err(e) => {
            close_store(&config, store).await.ok();
            return Err(Error::Gateway(e));
        }
    };
    let admin =
        admin_listener.map(|l| Admin::serve(l, &config.admin, gateway.probe(), gateway.control()));
    let notify = match &config.notify {
        None => None,
        Some(n) => {
            let port = gateway.notify_port();
            match crate::notify::Server::start(n, port, &CancellationToken::new()).await {
                Ok(server) => Some(server),
                Err(source) => {
                    if let Some(admin) = admin {
                        admin.stop().await;
                    }
                    gateway.shutdown().await;
                    close_store(&config, store).await.ok();
                    return Err(Error::Notify {
                        addr: n.listen,
                        source,
                    });
                }
            }
        }
    };
    tracing::info!(
        node = %config.gateway.node,
        flows = n_flows,
        operators = config.operators.len(),
        notify = ?notify.as_ref().map(|n| n.local_addr()),
        "gateway started"
    );
    Ok(App {
        config,
        gateway,
        admin,
        store,
        notify,
        flows_seen,
    })
}

impl App {
    /// Where the admin listener listens, when it is on.
    pub fn admin_addr(&self) -> Option<std::net::SocketAddr> {
        self.admin.as_ref().map(Admin::local_addr)
    }

    /// Whether every operator has a bind up, waiting up to `timeout`.
    pub async fn wait_bound(&self, timeout: Duration) -> bool {
        self.gateway.wait_bound(timeout).await
    }

    /// Until `stop` is cancelled: with `gateway.watch_flows`, checks the
    /// flow files every [`WATCH_EVERY`] and, when one changed, publishes
    /// them through the same checked path as the admin API (recorded in
    /// the history as `watch`): a clean set serves every later session, a
    /// broken one is refused (every problem logged) and the running flows
    /// stay. Without `watch_flows` it only waits for `stop`.
    pub async fn watch_flows(&self, stop: &CancellationToken) {
        if !self.config.gateway.watch_flows {
            return stop.cancelled().await;
        }
        let dir = self.config.gateway.flows_dir.clone();
        let mut seen = self.flows_seen.clone();
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let scan = dir.clone();
            let now = tokio::task::spawn_blocking(move || fingerprint(&scan))
                .await
                .unwrap_or_default();
            if now == seen {
                continue;
            }
            seen = now;
            let scan = dir.clone();
            let files = match tokio::task::spawn_blocking(move || flow_files(&scan)).await {
                Ok(Ok(files)) => files,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "changed flows unreadable; the running flows stay");
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "flow reload task failed");
                    continue;
                }
            };
            let files = files
                .into_iter()
                .map(|(name, text)| FlowFile { name, text })
                .collect();
            let change = Change::Watch(files);
            match self.gateway.control().change("watch", change).await {
                Ok(_) => {}
                Err(Refused::Flows(problems)) => {
                    for p in problems {
                        tracing::warn!(problem = %p, "changed flows refused; the running flows stay");
                    }
                    // Looked at again once the files change again.
                }
                Err(e) => {
                    tracing::warn!(problem = %e, "changed flows refused; the running flows stay")
                }
            }
        }
    }

    /// Where the notification API listens, if it is configured.
    pub fn notify_addr(&self) -> Option<std::net::SocketAddr> {
        self.notify.as_ref().map(|n| n.local_addr())
    }

    /// Queues an SMS through the durable outbox (demo and tests).
    pub async fn enqueue_sms(&self, to: &str, text: &str) -> Result<(), Error> {
        self.gateway
            .enqueue_sms(to, text)
            .await
            .map(drop)
            .map_err(|e| Error::Gateway(e.into()))
    }

    /// Stops the gateway (it bounds itself by `gateway.shutdown_grace`),
    /// then syncs and closes the store.
    pub async fn stop(self) -> Result<(), Error> {
        let App {
            config,
            gateway,
            admin,
            store,
            notify,
            ..
        } = self;
        // First the API: no request is accepted once the outbox stops.
        if let Some(n) = notify {
            n.stop(config.gateway.shutdown_grace).await;
        }
        if let Some(admin) = admin {
            admin.stop().await;
        }
        // The gateway keeps to the grace; this only guards against a stop
        // that hangs, so the process still exits.
        let limit = config.gateway.shutdown_grace + STOP_SLACK;
        let stopped = tokio::time::timeout(limit, gateway.shutdown())
            .await
            .is_ok();
        if !stopped {
            tracing::error!(
                ?limit,
                "the gateway did not stop in time; closing the store anyway"
            );
        }
        close_store(&config, store).await?;
        if !stopped {
            return Err(Error::Gateway(anyhow::anyhow!(
                "did not stop within gateway.shutdown_grace ({}) + {}s",
                crate::config::show_duration(config.gateway.shutdown_grace),
                STOP_SLACK.as_secs()
            )));
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// How often `watch_flows` looks at the flow files.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Names, sizes and modification times of the files in a folder: what
/// changes when a flow is edited, added or removed.
type Fingerprint = Vec<(PathBuf, u64, Option<std::time::SystemTime>)>;

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files: Fingerprint = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((e.path(), meta.len(), meta.modified().ok()))
        })
        .collect();
    files.sort();
    files
}

/// Closes the store if nothing else holds it, else syncs it.
async fn close_store(config: &Config, store: Arc<SledStore>) -> Result<(), Error> {
    let store_err = |source| Error::Store {
        path: config.store.path.clone(),
        source,
    };
    match Arc::try_unwrap(store) {
        Ok(store) => store.close().await.map_err(store_err),
        Err(shared) => shared.sync().await.map_err(store_err),
    }
}
