//! The `bawaba` command line: thin; parses arguments, sets up tracing, runs.

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("bawaba {}", env!("CARGO_PKG_VERSION")),
        Command::Config(args) => std::process::exit(args.run()),
    }
    Ok(())
}
