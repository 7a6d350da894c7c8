//! `bawaba config check FILE`: load the file exactly as the gateway would
//! (secrets included) and say so in one line, or print every problem and
//! exit 64. Opens no socket.

use std::path::{Path, PathBuf};

use super::{Config, Error};

/// The exit status for a configuration that cannot be used (the value
/// linkerd2-proxy uses; sysexits.h calls 64 EX_USAGE, 78 EX_CONFIG).
pub const EXIT_CONFIG: i32 = 64;

/// `bawaba config ...`
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file (secrets resolved, nothing started):
    /// exit 0 with a summary, or print every problem and exit 64.
    Check {
        /// The configuration file, e.g. config/bawaba.toml.
        file: PathBuf,
    },
}

impl ConfigArgs {
    /// Runs the subcommand; returns the process exit status.
    pub fn run(&self) -> i32 {
        match &self.command {
            ConfigCommand::Check { file } => check_command(file),
        }
    }
}

/// Checks `path`; prints the summary to stdout or the problems to stderr.
pub fn check_command(path: &Path) -> i32 {
    match load_or_report(path) {
        Ok(config) => {
            println!("{}", config.summary());
            0
        }
        Err(code) => code,
    }
}

/// Loads `path` as the gateway would; on failure prints every problem
/// (`file:line:col: key.path: message`) to stderr and returns [`EXIT_CONFIG`].
/// What `config check`, `serve` and `demo` share.
pub fn load_or_report(path: &Path) -> Result<Config, i32> {
    Config::load(path).map_err(|e| {
        match e {
            Error::Invalid(problems) => {
                for p in &problems {
                    eprintln!("{p}");
                }
                eprintln!(
                    "{}: {} problem(s); nothing was started",
                    path.display(),
                    problems.len()
                );
            }
            e => eprintln!("{e}"),
        }
        EXIT_CONFIG
    })
}
