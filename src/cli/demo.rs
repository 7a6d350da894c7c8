//! `bawaba demo`: the whole system in one process, on loopback, with a
//! phone in the terminal. Starts the simulator SMSC (one account per
//! operator of the demo configuration), the mock ministries, and the
//! gateway with that configuration rewritten in memory to point at them
//! (ports chosen free, a temporary store), then hands the terminal to the
//! phone (`bawaba_sim::terminal`) or plays a script (`--script`, see
//! [`super::script`]). Logs go to `--log FILE` or nowhere, so the phone's
//! screens stay readable.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use bawaba::config::{Config, DialString, SessionKey};
use bawaba::msisdn::Msisdn;
use bawaba::{app, logging};
use bawaba_sim::ministries::{Ministries, MinistriesConfig, MinistriesHandle};
use bawaba_sim::{Account, DialField, Smsc, SmscConfig, SmscHandle, UssdProfile};

use super::script;
use super::serve::{load_config, report, runtime};

/// The demo configuration when `--config` is not given: `config/demo.toml`
/// under the working directory, else the one in this source tree.
const DEMO_CONFIG: &str = "config/demo.toml";
const BUILT_IN_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.toml");

#[derive(clap::Args)]
pub struct DemoArgs {
    /// The configuration to demonstrate [default: config/demo.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Play this conversation instead of reading the keyboard, print the
    /// screens, exit 1 at the first failed `?` check (format: README.md).
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// The phone's number.
    #[arg(long, value_name = "N", default_value = "9647701234567")]
    msisdn: String,
    /// Keep the store here instead of a temporary directory removed at exit.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Write the gateway's logs to this file (default: no logs).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// How long a script waits for each answer.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    step_timeout: Duration,
}

pub fn demo(args: DemoArgs) -> ExitCode {
    let path = match &args.config {
        Some(p) => p.clone(),
        None if Path::new(DEMO_CONFIG).is_file() => PathBuf::from(DEMO_CONFIG),
        None => PathBuf::from(BUILT_IN_CONFIG),
    };
    let config = match load_config(&path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let msisdn = match Msisdn::parse(&args.msisdn) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: --msisdn {}: {e}", args.msisdn);
            return ExitCode::from(2);
        }
    };
    let sink = match &args.log {
        Some(file) => logging::Sink::File(file.clone()),
        None => logging::Sink::Off,
    };
    if let Err(e) = logging::init(&config.log, sink) {
        eprintln!("error: {e}");
        return ExitCode::from(64);
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let code = runtime.block_on(run(config, args, msisdn));
    // A read of the terminal cannot be cancelled; do not wait for Enter.
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

async fn run(mut config: Config, args: DemoArgs, msisdn: Msisdn) -> ExitCode {
    let script = match &args.script {
        Some(file) => match std::fs::read_to_string(file) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!("error: reading {}: {e}", file.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let peers = match Peers::start(&config).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let temp = match prepare(&mut config, &peers, args.store.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let code = match app::start(config).await {
        Ok(gateway) => {
            // The demo configuration watches the flows: edit one, see it.
            let stop = tokio_util::sync::CancellationToken::new();
            let talk = async {
                let code = converse(&gateway, &peers, &args, script, &msisdn).await;
                stop.cancel();
                code
            };
            let (code, ()) = tokio::join!(talk, gateway.watch_flows(&stop));
            match gateway.stop().await {
                Ok(()) => code,
                Err(e) => report(&e),
            }
        }
        Err(e) => report(&e),
    };
    peers.stop().await;
    drop(temp);
    code
}

/// The simulator SMSC and the mock ministries.
struct Peers {
    smsc: SmscHandle,
    ministries: MinistriesHandle,
}

impl Peers {
    async fn start(config: &Config) -> anyhow::Result<Peers> {
        let smsc = Smsc::start(smsc_config(config)?)
            .await
            .context("starting the simulator SMSC")?;
        let ministries = Ministries::start(MinistriesConfig::local())
            .await
            .context("starting the mock ministries")?;
        Ok(Peers { smsc, ministries })
    }

    async fn stop(self) {
        self.ministries.shutdown();
        self.smsc.shutdown().await;
    }
}

/// An SMSC on a free loopback port that accepts every operator's account
/// and frames USSD the way the first operator's profile says.
fn smsc_config(config: &Config) -> anyhow::Result<SmscConfig> {
    let Some(first) = config.operators.first() else {
        bail!("the demo configuration has no operator");
    };
    let mut smsc = SmscConfig::local("", "");
    smsc.accounts = config
        .operators
        .iter()
        .map(|o| {
            let password = o.password.expose().unwrap_or_default();
            Account::new(o.system_id.clone(), password)
        })
        .collect();
    let p = &first.ussd.profile;
    smsc.ussd = UssdProfile {
        service_type: p.service_type.clone(),
        dial_in: match p.dial_string {
            DialString::ShortMessage => DialField::ShortMessage,
            DialString::DestinationAddr => DialField::DestinationAddr,
        },
        dial_op: p.ops.begin,
        reply_op: p.ops.user_reply,
        abort_op: p.ops.abort.first().copied().unwrap_or(129),
        continue_ops: vec![p.ops.our_continue],
        end_ops: vec![p.ops.our_end],
        its_session_info: p.session_key == SessionKey::ItsSessionInfo,
        ..UssdProfile::default()
    };
    Ok(smsc)
}

/// Points the configuration at the peers and a store; returns the
/// temporary directory to remove at exit (`None` with `--store`).
fn prepare(
    config: &mut Config,
    peers: &Peers,
    store: Option<&Path>,
) -> anyhow::Result<Option<tempfile::TempDir>> {
    point_at(
        config,
        peers.smsc.local_addr(),
        peers.ministries.local_addr(),
    )?;
    let temp = match store {
        Some(dir) => {
            config.store.path = dir.to_path_buf();
            None
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("bawaba-demo-")
                .tempdir()
                .context("creating a temporary store directory")?;
            config.store.path = dir.path().join("store");
            Some(dir)
        }
    };
    Ok(temp)
}

/// Every operator at `smsc`, every back-end at `ministries` (same path),
/// no admin listener.
fn point_at(config: &mut Config, smsc: SocketAddr, ministries: SocketAddr) -> anyhow::Result<()> {
    for op in &mut config.operators {
        op.host = smsc.ip().to_string();
        op.port = smsc.port();
    }
    for backend in &mut config.backends {
        let url = &mut backend.base_url;
        if url.set_ip_host(ministries.ip()).is_err()
            || url.set_port(Some(ministries.port())).is_err()
        {
            bail!(
                "back-end {}: cannot point {url} at the mock ministries",
                backend.name
            );
        }
    }
    config.admin.listen = None;
    // A free port, printed in the banner: demos (and their tests) run side by side.
    if let Some(n) = &mut config.notify {
        n.listen.set_port(0);
    }
    Ok(())
}

/// Waits for the binds, then runs the phone until `quit`, EOF, Ctrl-C or
/// the script's end.
async fn converse(
    gateway: &app::App,
    peers: &Peers,
    args: &DemoArgs,
    script: Option<String>,
    msisdn: &Msisdn,
) -> ExitCode {
    // Both ends must know the bind: a dial the SMSC cannot route yet fails.
    let operators = peers.smsc.config().accounts.len();
    if !gateway.wait_bound(Duration::from_secs(10)).await
        || peers.smsc.wait_bound(operators).await.is_err()
    {
        eprintln!("error: the gateway did not bind to the simulator SMSC within 10s");
        return ExitCode::FAILURE;
    }
    let mut link = peers.smsc.local_phone(msisdn.as_str());
    let mut out = std::io::stdout();
    match script {
        Some(text) => match script::play(&mut link, &text, &mut out, args.step_timeout).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = out.flush();
                let name = args.script.as_deref().unwrap_or(Path::new("script"));
                eprintln!("{}: {e}", name.display());
                ExitCode::FAILURE
            }
        },
        None => {
            let _ = banner(&mut out, peers, msisdn);
            if let Some(addr) = gateway.notify_addr() {
                let _ = notify_banner(&mut out, addr, msisdn);
            }
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let phone = bawaba_sim::terminal::interactive(&mut link, stdin, &mut out);
            tokio::select! {
                r = phone => match r {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::FAILURE
                    }
                },
                _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
            }
        }
    }
}

fn banner(out: &mut impl Write, peers: &Peers, msisdn: &Msisdn) -> std::io::Result<()> {
    writeln!(
        out,
        "Bawaba demo: simulator SMSC on {}, mock ministries on {}.",
        peers.smsc.local_addr(),
        peers.ministries.base_url()
    )?;
    writeln!(out, "You are the phone {}. Try:", msisdn.as_str())?;
    for (what, does) in [
        (
            "*123#",
            "the services menu (5: language; 98: more, 0: back)",
        ),
        ("*123*1#", "ration card: card 12345678"),
        ("*123*2#", "electricity bill: account 123456"),
        ("*123*3#", "passport: application 1122334455"),
        ("*123*4#", "pension: number 123456, PIN 9355"),
        ("sms 2150 PDS 12345678", "the ration card by SMS"),
        (
            "quit",
            "leave (walks of every flow: README.md, demo/*.script)",
        ),
    ] {
        writeln!(out, "  {what:<24} {does}")?;
    }
    Ok(())
}

fn notify_banner(out: &mut impl Write, addr: SocketAddr, msisdn: &Msisdn) -> std::io::Result<()> {
    writeln!(
        out,
        "Notification API on http://{addr} (demo token, demo only):"
    )?;
    writeln!(
        out,
        "  curl -si http://{addr}/v1/messages -H 'Authorization: Bearer demo-token-not-secret' \\\n    -H 'Content-Type: application/json' -d '{{\"to\":\"{}\",\"text\":\"Hello\"}}'",
        msisdn.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_config() -> Config {
        let text = std::fs::read_to_string(BUILT_IN_CONFIG).unwrap();
        Config::from_str(&text, BUILT_IN_CONFIG).unwrap()
    }

    #[test]
    fn the_demo_config_is_pointed_at_the_peers() {
        let mut config = demo_config();
        let smsc: SocketAddr = "127.0.0.1:41001".parse().unwrap();
        let ministries: SocketAddr = "127.0.0.1:41002".parse().unwrap();
        let paths: Vec<String> = config
            .backends
            .iter()
            .map(|b| b.base_url.path().into())
            .collect();
        point_at(&mut config, smsc, ministries).unwrap();
        assert!(!config.operators.is_empty());
        for op in &config.operators {
            assert_eq!((op.host.as_str(), op.port), ("127.0.0.1", 41001));
        }
        assert!(!config.backends.is_empty());
        for (b, path) in config.backends.iter().zip(paths) {
            assert_eq!(b.base_url.host_str(), Some("127.0.0.1"));
            assert_eq!(b.base_url.port(), Some(41002));
            assert_eq!(b.base_url.path(), path, "{}", b.name);
        }
        assert_eq!(config.admin.listen, None);
    }

    #[test]
    fn the_smsc_takes_every_operator_account_and_their_ussd_framing() {
        let mut config = demo_config();
        let mut second = config.operators[0].clone();
        second.system_id = "other".into();
        config.operators.push(second);
        let smsc = smsc_config(&config).unwrap();
        let ids: Vec<&str> = smsc.accounts.iter().map(|a| a.system_id.as_str()).collect();
        assert_eq!(ids, ["bawaba", "other"]);
        // Pure parse: the inline password is there.
        assert_eq!(smsc.accounts[0].password, "demo");
        let p = &config.operators[0].ussd.profile;
        assert_eq!(smsc.ussd.dial_op, p.ops.begin);
        assert_eq!(smsc.ussd.reply_op, p.ops.user_reply);
        assert_eq!(smsc.ussd.continue_ops, vec![p.ops.our_continue]);
        assert_eq!(smsc.ussd.end_ops, vec![p.ops.our_end]);
        assert!(smsc.ussd.its_session_info);
    }
}
