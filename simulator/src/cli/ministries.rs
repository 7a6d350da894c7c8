//! `bawaba-sim ministries`: flags -> checked knobs (every error at once), then serve until Ctrl-C.

use bawaba_sim::ministries::{
    Hang, Knobs, Malformed, Ministries, MinistriesConfig, Scope, Service,
};
use clap::Args;

use crate::{keep, listen_addr, parse_duration};

#[derive(Args, Debug)]
pub struct MinistriesArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Fixed delay before every answer, e.g. 200ms.
    #[arg(long, default_value = "0ms")]
    latency: String,
    /// Up to this much extra random delay.
    #[arg(long, default_value = "0ms")]
    jitter: String,
    /// Fraction of requests answered 500 (0.0 to 1.0), spread evenly.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Hold answers this long (e.g. 30s), or `never` answer.
    #[arg(long)]
    hang: Option<String>,
    /// Spoil successful bodies: truncated or wrong-types.
    #[arg(long)]
    malformed: Option<String>,
    /// Apply the knobs to these services only (pds, electricity, passport, pension); default all.
    #[arg(long = "service")]
    services: Vec<String>,
}

pub type MinistriesPlan = (MinistriesConfig, Vec<Service>, Knobs);

/// Checks every ministries flag, reporting all errors at once.
pub fn build_ministries(a: &MinistriesArgs) -> Result<MinistriesPlan, Vec<String>> {
    let mut errors = Vec::new();
    let listen = keep(&mut errors, listen_addr(&a.listen));
    let latency = keep(&mut errors, parse_duration(&a.latency));
    let jitter = keep(&mut errors, parse_duration(&a.jitter));
    if !(0.0..=1.0).contains(&a.error_rate) {
        errors.push(format!("--error-rate {}: want 0.0 to 1.0", a.error_rate));
    }
    let hang = match a.hang.as_deref() {
        None => Some(Hang::Off),
        Some("never") => Some(Hang::Never),
        Some(d) => keep(&mut errors, parse_duration(d).map(Hang::For)),
    };
    let malformed = a.malformed.as_deref().map(|m| {
        keep(
            &mut errors,
            Malformed::parse(m).ok_or(format!("--malformed {m:?}: want truncated or wrong-types")),
        )
    });
    let services: Vec<Service> = a
        .services
        .iter()
        .filter_map(|s| {
            keep(
                &mut errors,
                Service::parse(s).ok_or(format!(
                    "--service {s:?}: want pds, electricity, passport or pension"
                )),
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut c = MinistriesConfig::local();
    c.listen = listen.unwrap_or(c.listen);
    let knobs = Knobs {
        latency: latency.unwrap_or_default(),
        jitter: jitter.unwrap_or_default(),
        error_rate: a.error_rate,
        hang: hang.unwrap_or_default(),
        malformed: malformed.flatten(),
    };
    Ok((c, services, knobs))
}

pub async fn run_ministries((config, services, knobs): MinistriesPlan) -> anyhow::Result<()> {
    let m = Ministries::start(config).await?;
    if services.is_empty() {
        m.set_knobs(Scope::All, knobs);
    }
    for s in services {
        m.set_knobs(Scope::Only(s), knobs);
    }
    println!(
        "bawaba-sim ministries listening on http://{}",
        m.local_addr()
    );
    tokio::signal::ctrl_c().await?;
    m.shutdown();
    Ok(())
}

/// What to run, with flags already checked.
#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ministries_flags() {
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            a: MinistriesArgs,
        }
        let parse = |extra: &[&str]| {
            let mut v = vec!["ministries"];
            v.extend_from_slice(extra);
            build_ministries(&<T as clap::Parser>::parse_from(v).a)
        };
        let (_, services, k) = parse(&[
            "--latency",
            "200ms",
            "--hang",
            "never",
            "--malformed",
            "truncated",
            "--service",
            "pds",
        ])
        .unwrap();
        assert_eq!(services, vec![Service::Pds]);
        assert_eq!(
            (k.latency, k.hang, k.malformed),
            (
                Duration::from_millis(200),
                Hang::Never,
                Some(Malformed::Truncated)
            )
        );
        let errors = parse(&[
            "--error-rate",
            "2",
            "--hang",
            "soon",
            "--malformed",
            "x",
            "--service",
            "tax",
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
    }
}
