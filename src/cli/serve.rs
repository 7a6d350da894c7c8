//! `bawaba serve --config FILE`: the production entry point. Loads and
//! checks the configuration (every problem printed, exit 64, nothing
//! started), installs the logger, turns SIGINT/SIGTERM into the shutdown
//! token and hands over to [`bawaba::app::run`]. A second signal during the
//! graceful stop exits at once (130).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bawaba::config::{self, Config, EXIT_CONFIG};
use bawaba::{app, logging};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The gateway configuration, e.g. config/bawaba.toml.
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
}

pub fn serve(args: ServeArgs) -> ExitCode {
    let config = match load_config(&args.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = logging::init(&config.log, logging::Sink::Stderr) {
        eprintln!("error: {e}");
        return exit(EXIT_CONFIG);
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signals(shutdown.clone()));
        match app::run(config, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report(&e),
        }
    })
}

/// Prints an app error for the operator and picks the exit status.
pub fn report(e: &app::Error) -> ExitCode {
    tracing::error!(error = %e, "gateway failed");
    for line in e.report() {
        eprintln!("{line}");
    }
    ExitCode::from(e.exit_code())
}

/// Loads `path` as the gateway would; on failure prints every problem
/// (`file:line:col: key.path: message`) and returns exit 64.
pub fn load_config(path: &Path) -> Result<Config, ExitCode> {
    config::load_or_report(path).map_err(exit)
}

pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Cancels `token` on the first SIGINT or SIGTERM; exits the process at
/// once on the second.
pub async fn cancel_on_signals(token: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "signal received; stopping gracefully");
    token.cancel();
    let again = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::warn!(
        signal = again,
        "second signal; exiting without a graceful stop"
    );
    eprintln!("{again} again: exiting now");
    std::process::exit(130);
}
