//! `bawaba-sim phone`: a terminal phone on a running simulator's phone port.

use std::time::Duration;

use clap::Args;

#[derive(Args, Debug)]
pub struct PhoneArgs {
    /// The SMSC simulator's phone port (its --phones address).
    #[arg(long)]
    pub smsc: String,
    /// This phone's number, 5 to 15 digits.
    #[arg(long)]
    pub msisdn: String,
    /// Play this file's lines instead of reading the terminal; exit 1 on an error or timeout.
    #[arg(long)]
    pub script: Option<std::path::PathBuf>,
    /// How long a scripted step waits for its answer.
    #[arg(long, default_value = "15s")]
    pub timeout: String,
}

pub async fn run_phone(a: PhoneArgs, step_timeout: Duration) -> anyhow::Result<()> {
    use anyhow::Context;
    use bawaba_sim::{link::RemoteLink, terminal};
    let script = match &a.script {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?),
        None => None,
    };
    let connect = RemoteLink::connect(&a.smsc, &a.msisdn);
    let mut link = tokio::time::timeout(step_timeout, connect)
        .await
        .map_err(|_| anyhow::anyhow!("no ready from {} within {step_timeout:?}", a.smsc))?
        .with_context(|| format!("phone port {}", a.smsc))?;
    let mut out = std::io::stdout();
    match script {
        Some(s) => terminal::script(&mut link, &s, &mut out, step_timeout).await?,
        None => {
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            terminal::interactive(&mut link, stdin, &mut out).await?
        }
    }
    Ok(())
}
