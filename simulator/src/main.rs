//! `bawaba-sim`: the simulator's command line. Thin: parse flags, check them all at once
//! (exit 64 before any port is bound), init tracing, run the SMSC, a phone or the mock
//! ministries until Ctrl-C (a scripted phone until its script ends).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bawaba_sim::rusmpp::CommandStatus;
use bawaba_sim::{Account, Behaviour, Smsc, SmscConfig};
use clap::{Args, Parser, Subcommand};

mod cli {
    pub mod load;
    pub mod ministries;
    pub mod phone;
}
use cli::load::{build_load, run_echo, run_load, EchoArgs, LoadArgs, LoadPlan};
use cli::ministries::{build_ministries, run_ministries, MinistriesArgs, MinistriesPlan};
use cli::phone::{run_phone, PhoneArgs};

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
    /// Run a simulated SMSC (SMPP 3.4/5.0 on rusmpp) until Ctrl-C.
    Smsc(SmscArgs),
    /// A phone for humans against a running `bawaba-sim smsc --phones ADDR`.
    Phone(PhoneArgs),
    /// Mock ministry HTTP services (PDS, electricity, passport, pension) until Ctrl-C.
    Ministries(MinistriesArgs),
    /// Load generator: an SMSC the gateway binds to, many virtual subscribers, a latency summary.
    Load(Box<LoadArgs>),
    /// A trivial ESME that answers every USSD turn at once (the load generator's own ceiling).
    EchoEsme(EchoArgs),
    /// Print the version and exit.
    Version,
}

#[derive(Args, Debug)]
struct SmscArgs {
    #[arg(long, default_value = "127.0.0.1:2775")]
    listen: String,
    /// Also listen for phone control connections here (e.g. 127.0.0.1:2776).
    #[arg(long)]
    phones: Option<String>,
    /// SYSTEM_ID:PASSWORD, repeatable.
    #[arg(long = "account", required = true)]
    accounts: Vec<String>,
    /// Delay before each delivery receipt, e.g. 200ms, 2s.
    #[arg(long, default_value = "0ms")]
    receipt_delay: String,
    /// The SMSC's own enquire_link period (e.g. 30s); none if absent.
    #[arg(long)]
    enquire_link: Option<String>,
    /// Hold every submit_sm_resp this long.
    #[arg(long, default_value = "0ms")]
    submit_resp_delay: String,
    /// Answer every Nth submit with ESME_RTHROTTLED.
    #[arg(long)]
    throttle_every: Option<u32>,
    /// Answer every Nth submit with ESME_RMSGQFUL.
    #[arg(long)]
    queue_full_every: Option<u32>,
    /// Never answer submits.
    #[arg(long)]
    never_respond: bool,
    /// Answer submits with generic_nack carrying this status (e.g. 0x58).
    #[arg(long)]
    nack_instead_of_resp: Option<String>,
    /// Send every deliver_sm twice.
    #[arg(long)]
    duplicate_deliver: bool,
    /// Send delivery receipts before the submit_sm_resp.
    #[arg(long)]
    receipt_before_resp: bool,
    /// Refuse this many bind attempts first (ESME_RBINDFAIL).
    #[arg(long, default_value_t = 0)]
    refuse_binds: u32,
}

/// "250ms", "2s", "1m" -> Duration.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 200ms, 2s, 1m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{s:?}: unit must be ms, s or m")),
    }
}

fn parse_status(s: &str) -> Result<CommandStatus, String> {
    let n = match s.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse(),
    };
    n.map(CommandStatus::from)
        .map_err(|_| format!("{s:?} is not a command_status like 0x58"))
}

/// A `--listen` address, or the error to report.
pub(crate) fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|e| format!("--listen {s:?}: {e}"))
}

/// Collects the error, if any, so all of them can be reported at once.
pub(crate) fn keep<T>(errors: &mut Vec<String>, r: Result<T, String>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// `--account SYSTEM_ID:PASSWORD` values; a bad one is reported without its password.
pub(crate) fn parse_accounts(errors: &mut Vec<String>, raw: &[String]) -> Vec<Account> {
    raw.iter()
        .filter_map(|s| match s.split_once(':') {
            Some((id, pw)) if !id.is_empty() && id.len() <= 15 && pw.len() <= 8 => {
                Some(Account::new(id, pw))
            }
            _ => keep(
                errors,
                Err(format!(
                    "--account: want SYSTEM_ID:PASSWORD (id <= 15, password <= 8 chars), got {:?}",
                    s.split(':').next().unwrap_or("")
                )),
            ),
        })
        .collect()
}

/// Builds the config, reporting every bad flag at once.
fn build_config(a: &SmscArgs) -> Result<SmscConfig, Vec<String>> {
    let mut errors = Vec::new();
    let listen = keep(&mut errors, listen_addr(&a.listen));
    let accounts = parse_accounts(&mut errors, &a.accounts);
    let phones = a.phones.as_deref().map(|p| {
        keep(
            &mut errors,
            p.parse::<SocketAddr>()
                .map_err(|e| format!("--phones {p:?}: {e}")),
        )
    });
    let receipt_delay = keep(&mut errors, parse_duration(&a.receipt_delay));
    let submit_resp_delay = keep(&mut errors, parse_duration(&a.submit_resp_delay));
    let enquire = a
        .enquire_link
        .as_deref()
        .map(|s| keep(&mut errors, parse_duration(s)));
    let nack = a
        .nack_instead_of_resp
        .as_deref()
        .map(|s| keep(&mut errors, parse_status(s)));
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut c = SmscConfig::local("", "");
    c.listen = listen.unwrap_or(c.listen);
    c.accounts = accounts;
    c.phones = phones.flatten();
    c.receipt_delay = receipt_delay.unwrap_or_default();
    c.enquire_link_interval = enquire.flatten();
    c.behaviour = Behaviour {
        submit_resp_delay: submit_resp_delay.unwrap_or_default(),
        throttle_every: a.throttle_every,
        queue_full_every: a.queue_full_every,
        never_respond: a.never_respond,
        nack_instead_of_resp: nack.flatten(),
        duplicate_deliver: a.duplicate_deliver,
        receipt_before_resp: a.receipt_before_resp,
        refuse_binds: a.refuse_binds,
    };
    Ok(c)
}

async fn run_smsc(config: SmscConfig) -> anyhow::Result<()> {
    let smsc = Smsc::start(config).await?;
    println!("bawaba-sim SMSC listening on {}", smsc.local_addr());
    if let Some(p) = smsc.phones_addr() {
        println!("bawaba-sim phone port listening on {p}");
    }
    tokio::signal::ctrl_c().await?;
    tracing::info!(stats = ?smsc.stats(), "shutting down");
    smsc.shutdown().await;
    Ok(())
}

enum Run {
    Smsc(SmscConfig),
    Ministries(MinistriesPlan),
    Phone(PhoneArgs, Duration),
    Load(Box<LoadPlan>),
    Echo(EchoArgs),
}

fn main() -> ExitCode {
    let run = match Cli::parse().command {
        Command::Version => {
            println!("bawaba-sim {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Smsc(args) => build_config(&args).map(Run::Smsc),
        Command::Ministries(args) => build_ministries(&args).map(Run::Ministries),
        Command::Load(args) => build_load(&args).map(|p| Run::Load(Box::new(p))),
        Command::EchoEsme(args) => Ok(Run::Echo(args)),
        Command::Phone(args) => match parse_duration(&args.timeout) {
            Ok(t) => Ok(Run::Phone(args, t)),
            Err(e) => Err(vec![format!("--timeout: {e}")]),
        },
    };
    let run = match run {
        Ok(r) => r,
        Err(errors) => {
            errors.iter().for_each(|e| eprintln!("error: {e}"));
            return ExitCode::from(64);
        }
    };
    let default_filter = match run {
        Run::Phone(..) | Run::Load(..) | Run::Echo(..) => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match run {
        Run::Smsc(config) => runtime.block_on(run_smsc(config)),
        Run::Phone(args, t) => runtime.block_on(run_phone(args, t)),
        Run::Ministries(plan) => runtime.block_on(run_ministries(plan)),
        Run::Load(plan) => runtime.block_on(run_load(*plan)),
        Run::Echo(args) => runtime.block_on(run_echo(args)),
    };
    // tokio's stdin reader is a blocking thread that a normal runtime drop would wait on.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> SmscArgs {
        let mut v = vec!["bawaba-sim", "smsc"];
        v.extend_from_slice(extra);
        match Cli::parse_from(v).command {
            Command::Smsc(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flags_build_a_config() {
        let a = args(&[
            "--account",
            "gw:pw",
            "--receipt-delay",
            "200ms",
            "--throttle-every",
            "5",
            "--nack-instead-of-resp",
            "0x58",
            "--phones",
            "127.0.0.1:2776",
        ]);
        let c = build_config(&a).unwrap();
        assert_eq!(c.phones, Some("127.0.0.1:2776".parse().unwrap()));
        assert_eq!(c.receipt_delay, Duration::from_millis(200));
        assert_eq!(c.behaviour.throttle_every, Some(5));
        assert_eq!(
            c.behaviour.nack_instead_of_resp,
            Some(CommandStatus::EsmeRthrottled)
        );
        assert_eq!(c.accounts, vec![Account::new("gw", "pw")]);
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let a = args(&[
            "--listen",
            "nope",
            "--account",
            "nocolon",
            "--receipt-delay",
            "2h",
            "--phones",
            "nope",
        ]);
        let errors = build_config(&a).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(!errors
            .iter()
            .any(|e| e.contains("nocolon") && e.contains("pw")));
    }
}
