//! The `bawaba` command line: thin; parses arguments and hands each
//! subcommand to the module that owns it. Exit codes: 0 success; `flows`:
//! 1 the flows or transcripts have problems (all reported), 2 bad usage or
//! unreadable files; `config`: 64 an unusable configuration.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "bawaba", version, about = "SMS/USSD e-services gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the version and exit.
    Version,
    /// Check a configuration file: `bawaba config check config/bawaba.toml`.
    Config(bawaba::config::ConfigArgs),
    /// Check, test and draw declarative flows (flows/*.yaml).
    Flows {
        #[command(subcommand)]
        command: cli::FlowsCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("bawaba {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Config(args) => ExitCode::from(u8::try_from(args.run()).unwrap_or(1)),
        Command::Flows { command } => cli::flows(command),
    }
}
