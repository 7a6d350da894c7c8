//! `bawaba status`: asks a running gateway's admin listener (`GET
//! /v1/status`) and prints readiness, every bind, the flows in force and
//! the versions kept for sessions in progress. Exit 0 when ready, 1 when
//! not (so scripts can wait on it), 2 when the gateway cannot be asked.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The admin listener (`[admin] listen`).
    #[arg(long, default_value = "127.0.0.1:9100", value_name = "ADDR")]
    admin: SocketAddr,
    /// The environment variable holding the admin token, if the listener
    /// wants one (never on the command line, where `ps` shows it).
    #[arg(long, default_value = "BAWABA_ADMIN_TOKEN", value_name = "VAR")]
    token_env: String,
    /// Print the gateway's JSON as it is.
    #[arg(long)]
    json: bool,
}

pub fn status(args: StatusArgs) -> ExitCode {
    let token = std::env::var(&args.token_env).ok();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let answer = runtime.block_on(fetch(args.admin, token.as_deref()));
    let v = match answer {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {}: {e}", args.admin);
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{v:#}");
    } else {
        print!("{}", render(&v));
    }
    if v["ready"] == true {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn fetch(admin: SocketAddr, token: Option<&str>) -> Result<Value, String> {
    // Plain HTTP to the admin listener; reqwest is built without a TLS
    // provider, so it gets a rustls config that trusts nothing.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = client.get(format!("http://{admin}/v1/status"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    match resp.status().as_u16() {
        200 => {}
        401 => {
            return Err("the admin listener wants a token (set the --token-env variable)".into())
        }
        s => return Err(format!("the admin listener answered {s}")),
    }
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))
}

fn render(v: &Value) -> String {
    let mut out = String::new();
    let ready = if v["ready"] == true {
        "ready"
    } else {
        "NOT READY"
    };
    out += &format!(
        "gateway: {ready} (store {})\n",
        v["store"].as_str().unwrap_or("?")
    );
    out += "binds:\n";
    for b in v["binds"].as_array().into_iter().flatten() {
        out += &format!(
            "  {:<12} #{} {:<12} {:<6} in flight {:>3}  rate {:>7.1}/s  binds {}  throttled {}\n",
            b["operator"].as_str().unwrap_or("?"),
            b["bind"],
            b["kind"].as_str().unwrap_or("?"),
            if b["bound"] == true { "up" } else { "DOWN" },
            b["in_flight"],
            b["rate"].as_f64().unwrap_or(0.0),
            b["binds"],
            b["throttled"],
        );
    }
    out += "flows:\n";
    for f in v["flows"].as_array().into_iter().flatten() {
        let sum = f["checksum"].as_str().unwrap_or("");
        out += &format!(
            "  {}@{} sha256:{}\n",
            f["id"].as_str().unwrap_or("?"),
            f["version"],
            &sum[..sum.len().min(12)]
        );
    }
    for f in v["retired_flows"].as_array().into_iter().flatten() {
        let id = f["id"].as_str().unwrap_or("?");
        out += &format!("  {id}@{} (kept for sessions in progress)\n", f["version"]);
    }
    let o = &v["outbox"];
    out += &format!(
        "outbox: enqueued {} sent {} retried {} failed {} receipts {}\n",
        o["enqueued"], o["sent"], o["retried"], o["failed"], o["receipts"]
    );
    out += &format!(
        "turns: {} in flight, {} waiting\n",
        v["turns_in_flight"], v["worker_queue"]
    );
    out
}
