//! The `bawaba` command line: thin; parses arguments and hands each
//! subcommand to the module that owns it. Exit codes: 0 success; 64 an
//! unusable configuration or flows (`serve`, `demo`, `config`; every problem
//! printed, nothing started); 1 the gateway failed, or a demo script's check
//! failed (`status`: the gateway is not ready); 2 bad usage or unreadable
//! files (`status`: the gateway cannot be asked); 130 a second SIGINT/SIGTERM
//! during a graceful stop. `flows`: 1 the flows or transcripts have
//! problems (all reported), or the gateway refused the change; `audit
//! verify`: 1 the chain is broken.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// See Cargo.toml: sled's node copies made glibc malloc a quarter of the
/// gateway's CPU at peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "bawaba", version, about = "SMS/USSD e-services gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: `bawaba serve --config config/bawaba.toml`.
    /// Stops gracefully on SIGINT or SIGTERM.
    Serve(cli::ServeArgs),
    /// Everything in one process on loopback (simulator SMSC, mock
    /// ministries, the gateway with config/demo.toml) and a phone in the
    /// terminal: dial *123#, reply, text keywords.
    Demo(cli::DemoArgs),
    /// Ask a running gateway (its admin listener) how it is: readiness,
    /// binds, flows in force. Exit 0 ready, 1 not ready, 2 unreachable.
    Status(cli::StatusArgs),
    /// Print the version and exit.
    Version,
    /// Check a configuration file: `bawaba config check config/bawaba.toml`.
    Config(bawaba::config::ConfigArgs),
    /// Check, test and draw declarative flows (flows/*.yaml); push,
    /// publish, roll back and list them on a running gateway.
    Flows {
        #[command(subcommand)]
        command: cli::FlowsCommand,
    },
    /// The audit log: `bawaba audit verify` checks its hash chain.
    Audit {
        #[command(subcommand)]
        command: cli::AuditCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => cli::serve(args),
        Command::Demo(args) => cli::demo(args),
        Command::Status(args) => cli::status(args),
        Command::Version => {
            println!("bawaba {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Config(args) => ExitCode::from(u8::try_from(args.run()).unwrap_or(1)),
        Command::Flows { command } => cli::flows(command),
        Command::Audit { command } => cli::audit(command),
    }
}
