//! `bawaba flows push|publish|rollback|list|promote|drop` and `bawaba
//! audit verify`: clients of a running gateway's admin listener (the
//! token from an environment variable, never the command line), printing
//! every diagnostic of a refused draft as `file:line:col: message`.
//! `audit verify --store DIR` checks a stopped gateway's store instead
//! (sled lets one process open it at a time).
//!
//! Exit codes: 0 done; 1 refused (the problems are printed) or, for
//! `audit verify`, the chain is broken; 2 the gateway cannot be asked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

/// Where the admin listener is and which variable holds the token.
#[derive(clap::Args, Clone)]
pub struct AdminArgs {
    /// The admin listener (`[admin] listen`).
    #[arg(long, default_value = "127.0.0.1:9100", value_name = "ADDR")]
    pub admin: SocketAddr,
    /// The environment variable holding the admin token (never on the
    /// command line, where `ps` shows it).
    #[arg(long, default_value = "BAWABA_ADMIN_TOKEN", value_name = "VAR")]
    pub token_env: String,
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the audit log's hash chain: through a running gateway's admin
    /// listener, or offline in a stopped gateway's store (`--store DIR`).
    /// Exit 0 intact, 1 broken (the first bad entry is named).
    Verify {
        #[command(flatten)]
        admin: AdminArgs,
        /// A stopped gateway's store directory (`[store] path`).
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
    },
}

/// A request to the admin listener: (status, JSON body).
pub async fn call(
    args: &AdminArgs,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
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
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = client.request(method, format!("http://{}{path}", args.admin));
    if let Ok(t) = std::env::var(&args.token_env) {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&bytes).trim()}));
    match status {
        401 => Err(format!(
            "the admin listener wants a token (put it in ${})",
            args.token_env
        )),
        403 => Err(format!(
            "refused: {}",
            v["error"].as_str().unwrap_or("forbidden")
        )),
        _ => Ok((status, v)),
    }
}

/// Runs `f` on a small runtime; prints an unreachable gateway, exit 2.
pub fn block_on<F: std::future::Future<Output = ExitCode>>(f: F) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r.block_on(f),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The flow files at each path (files, or the *.yaml of folders).
pub fn files(paths: &[PathBuf]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for p in paths {
        let sources = super::files::flow_sources(p).map_err(|e| format!("{e:#}"))?;
        for s in sources {
            let name = std::path::Path::new(&s.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(json!({"name": name, "text": s.text}));
        }
    }
    if out.is_empty() {
        return Err("no *.yaml flow files given".into());
    }
    Ok(out)
}

/// Prints a change's answer: what is in force, or every problem.
pub fn report(args: &AdminArgs, answer: Result<(u16, Value), String>) -> ExitCode {
    let (status, v) = match answer {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {}: {e}", args.admin);
            return ExitCode::from(2);
        }
    };
    if status == 200 {
        if let Some(d) = v["draft"].as_u64() {
            println!("draft {d} compiles; publish it with `bawaba flows publish --draft {d}`");
        }
        if let Some(seq) = v["seq"].as_u64() {
            println!("done (history #{seq})");
        }
        let changed: Vec<&str> = v["changed"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !changed.is_empty() {
            println!("new versions: {}", changed.join(" "));
        }
        for f in v["flows"].as_array().into_iter().flatten() {
            println!(
                "  {}@{} {}",
                f["id"].as_str().unwrap_or("?"),
                f["version"],
                f["file"].as_str().unwrap_or("")
            );
        }
        return ExitCode::SUCCESS;
    }
    for d in v["diagnostics"].as_array().into_iter().flatten() {
        eprintln!("{}", d["text"].as_str().unwrap_or("?"));
    }
    eprintln!("refused ({status}): {}", v["error"].as_str().unwrap_or("?"));
    ExitCode::FAILURE
}

/// `flows list`: in force, kept for sessions, staged; with `history`, the
/// last publishes too.
pub async fn list(args: &AdminArgs, history: bool) -> ExitCode {
    let (status, v) = match call(args, reqwest::Method::GET, "/v1/flows", None).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {}: {e}", args.admin);
            return ExitCode::from(2);
        }
    };
    if status != 200 {
        eprintln!("error: {}: answered {status}: {v}", args.admin);
        return ExitCode::from(2);
    }
    println!("in force:");
    for f in v["flows"].as_array().into_iter().flatten() {
        let sum = f["checksum"].as_str().unwrap_or("");
        println!(
            "  {}@{} {} sha256:{}",
            f["id"].as_str().unwrap_or("?"),
            f["version"],
            f["file"].as_str().unwrap_or(""),
            &sum[..sum.len().min(12)]
        );
    }
    for f in v["retired"].as_array().into_iter().flatten() {
        println!(
            "  {}@{} (kept for sessions in progress)",
            f["id"].as_str().unwrap_or("?"),
            f["version"]
        );
    }
    if v["staged"].is_object() {
        let s = &v["staged"];
        println!("staged for {} test number(s):", s["msisdns"]);
        for f in s["flows"].as_array().into_iter().flatten() {
            println!("  {}@{}", f["id"].as_str().unwrap_or("?"), f["version"]);
        }
    }
    if history {
        let answer = call(
            args,
            reqwest::Method::GET,
            "/v1/flows/history?limit=20",
            None,
        )
        .await;
        let Ok((200, h)) = answer else {
            eprintln!("error: {}: the history could not be read", args.admin);
            return ExitCode::from(2);
        };
        println!("history (newest first):");
        for e in h["history"].as_array().into_iter().flatten() {
            let en = &e["entry"];
            let flows: Vec<String> = en["flows"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| format!("{}@{}", f["id"].as_str().unwrap_or("?"), f["version"]))
                .collect();
            println!(
                "  #{} {} {} by {} at {} ms: {}",
                e["seq"],
                en["action"].as_str().unwrap_or("?"),
                en["changed"].as_array().map_or(String::new(), |c| c
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")),
                en["who"].as_str().unwrap_or("?"),
                en["at"],
                flows.join(" ")
            );
        }
    }
    ExitCode::SUCCESS
}

/// `audit verify`.
pub fn audit(command: AuditCommand) -> ExitCode {
    let AuditCommand::Verify { admin, store } = command;
    block_on(async move {
        let verdict = match &store {
            Some(dir) => offline(dir).await,
            None => match call(&admin, reqwest::Method::GET, "/v1/audit/verify", None).await {
                Ok((200, v)) => Ok((v["entries"].as_u64().unwrap_or(0), v["broken_at"].as_u64())),
                Ok((s, v)) => Err(format!(
                    "answered {s}: {}",
                    v["error"].as_str().unwrap_or("?")
                )),
                Err(e) => Err(format!("{}: {e}", admin.admin)),
            },
        };
        match verdict {
            Ok((n, None)) => {
                println!("audit chain intact: {n} entries");
                ExitCode::SUCCESS
            }
            Ok((n, Some(seq))) => {
                println!("audit chain BROKEN at entry {seq} ({n} entries before it check out)");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        }
    })
}

async fn offline(dir: &std::path::Path) -> Result<(u64, Option<u64>), String> {
    if !dir.join("db").exists() {
        return Err(format!("{}: no store here", dir.display()));
    }
    let store = bawaba::store::SledStore::open(bawaba::store::SledConfig::new(dir))
        .await
        .map_err(|e| {
            format!(
                "{}: {e} (is the gateway still running? sled lets one process open a store)",
                dir.display()
            )
        })?;
    let v = bawaba::runtime::audit::verify(&store).await;
    let _ = store.close().await;
    let v = v.map_err(|e| e.to_string())?;
    Ok((v.entries, v.broken_at))
}
