//! The `bawaba` command line: thin; parses arguments and hands each
//! subcommand to `cli`. Exit codes: 0 success, 1 the flows or transcripts
//! have problems (all reported), 2 bad usage or unreadable files.

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
        Command::Flows { command } => cli::flows(command),
    }
}
