//! `bawaba status`: asks a running gateway's admin listener (`GET
//! /v1/status`) and prints readiness, every bind, the flows in force and
//! the versions kept for sessions in progress. Exit 0 when ready, 1 when
//! not (so scripts can wait on it), 2 when the gateway cannot be asked.

use std::process::ExitCode;

use super::admin_api::AdminArgs;
use serde_json::Value;

#[derive(clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Print the gateway's JSON as it is.
    #[arg(long)]
    json: bool,
}

pub fn status(args: StatusArgs) -> ExitCode {
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
    let answer = runtime.block_on(fetch(&args.admin));
    let v = match answer {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {}: {e}", args.admin.admin);
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

async fn fetch(args: &AdminArgs) -> Result<Value, String> {
    match super::admin_api::call(args, reqwest::Method::GET, "/v1/status", None).await? {
        (200, v) => Ok(v),
        (s, _) => Err(format!("the admin listener answered {s}")),
    }
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
