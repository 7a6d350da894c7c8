//! `bawaba-sim`: the simulator's command line.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bawaba-sim",
    version,
    about = "Bawaba's SMSC simulator and test peers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the version and exit.
    Version,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Version => println!("bawaba-sim {}", env!("CARGO_PKG_VERSION")),
    }
    Ok(())
}
