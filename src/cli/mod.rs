//! `bawaba flows ...`: the flow author's tools. Reads files, calls the pure
//! engine (`compile`, `transcript::run`) and prints what it found. No flow
//! logic lives here.

mod admin_api;
mod demo;
mod files;
mod graph;
mod script;
mod serve;
mod status;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use bawaba::charset::Budget;
use bawaba::engine::{self, transcript, CompileContext, Diagnostic, FlowSet, StepContext};
use clap::{Subcommand, ValueEnum};

pub use admin_api::{audit, AuditCommand};
pub use demo::{demo, DemoArgs};
pub use graph::Format;
pub use serve::{serve, ServeArgs};
pub use status::{status, StatusArgs};

#[derive(Subcommand)]
pub enum FlowsCommand {
    /// Compile every *.yaml in PATH (a file or a folder) together; print
    /// every problem as `path:line:col: message`.
    Check {
        path: PathBuf,
        #[command(flatten)]
        backends: BackendsArg,
    },
    /// Run every *.test transcript in PATH (a folder of flows, or one .test
    /// file) against the flows beside it.
    Test {
        path: PathBuf,
        #[command(flatten)]
        backends: BackendsArg,
    },
    /// Draw one flow as a diagram: nodes with their kind, edges labelled
    /// by option or outcome.
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Upload flow files (PATH: files or folders) to a running gateway as
    /// a draft: compiled there with `check`'s checks against its back-ends
    /// and screens, merged with the flows in force; every problem printed.
    Push {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        admin: admin_api::AdminArgs,
    },
    /// Publish flow files (or `--draft N`) on a running gateway: all or
    /// nothing; sessions in progress keep their version. With `--staging`,
    /// only those test numbers' new sessions get it (then `promote` or
    /// `drop`).
    Publish {
        paths: Vec<PathBuf>,
        #[arg(long, value_name = "N", conflicts_with = "paths")]
        draft: Option<u64>,
        /// Test MSISDNs, comma-separated.
        #[arg(long, value_name = "MSISDNS", value_delimiter = ',')]
        staging: Option<Vec<String>>,
        #[command(flatten)]
        admin: admin_api::AdminArgs,
    },
    /// Put an earlier version of a flow back in force (any version in the
    /// history, also after a restart).
    Rollback {
        id: String,
        version: u32,
        #[command(flatten)]
        admin: admin_api::AdminArgs,
    },
    /// The staged flows to everyone.
    Promote {
        #[command(flatten)]
        admin: admin_api::AdminArgs,
    },
    /// Forget the staged flows (test sessions on them finish on them).
    Drop {
        #[command(flatten)]
        admin: admin_api::AdminArgs,
    },
    /// The flows a running gateway serves, the versions kept for sessions
    /// in progress, the staged set; `--history` adds the last publishes.
    List {
        #[arg(long)]
        history: bool,
        #[command(flatten)]
        admin: admin_api::AdminArgs,
    },
}

#[derive(clap::Args)]
pub struct BackendsArg {
    /// Back-ends and their operations, `name:op,op;name:op`. Without this
    /// or `--config` the back-end check is skipped.
    #[arg(long, value_name = "SPEC", conflicts_with = "config")]
    backends: Option<String>,
    /// Take the back-ends and their operations from a gateway configuration
    /// file (read as `bawaba config check` would, without resolving secrets).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

/// Runs a `flows` subcommand; problems are printed, never panicked on.
pub fn flows(command: FlowsCommand) -> ExitCode {
    let result = match command {
        FlowsCommand::Check { path, backends } => check(&path, &backends),
        FlowsCommand::Test { path, backends } => test(&path, &backends),
        FlowsCommand::Graph { file, format } => draw(&file, format),
        remote => return remote_flows(remote),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The `flows` subcommands that talk to a running gateway.
fn remote_flows(command: FlowsCommand) -> ExitCode {
    use admin_api::{block_on, call, report};
    use reqwest::Method;
    use serde_json::json;
    let given = |paths: &[PathBuf]| admin_api::files(paths);
    match command {
        FlowsCommand::Push { paths, admin } => match given(&paths) {
            Ok(files) => block_on(async move {
                let body = json!({ "files": files });
                report(
                    &admin,
                    call(&admin, Method::POST, "/v1/flows/drafts", Some(body)).await,
                )
            }),
            Err(e) => usage(e),
        },
        FlowsCommand::Publish {
            paths,
            draft,
            staging,
            admin,
        } => {
            let mut body = match (draft, paths.is_empty()) {
                (Some(d), _) => json!({ "draft": d }),
                (None, false) => match given(&paths) {
                    Ok(files) => json!({ "files": files }),
                    Err(e) => return usage(e),
                },
                (None, true) => return usage("give flow files or --draft N".into()),
            };
            if let Some(list) = staging {
                body["staging"] = json!(list);
            }
            block_on(async move {
                report(
                    &admin,
                    call(&admin, Method::POST, "/v1/flows/publish", Some(body)).await,
                )
            })
        }
        FlowsCommand::Rollback { id, version, admin } => block_on(async move {
            let body = json!({ "id": id, "version": version });
            report(
                &admin,
                call(&admin, Method::POST, "/v1/flows/rollback", Some(body)).await,
            )
        }),
        FlowsCommand::Promote { admin } => block_on(async move {
            let path = "/v1/flows/staging/promote";
            report(&admin, call(&admin, Method::POST, path, None).await)
        }),
        FlowsCommand::Drop { admin } => block_on(async move {
            let path = "/v1/flows/staging/drop";
            report(&admin, call(&admin, Method::POST, path, None).await)
        }),
        FlowsCommand::List { history, admin } => {
            block_on(async move { admin_api::list(&admin, history).await })
        }
        FlowsCommand::Check { .. } | FlowsCommand::Test { .. } | FlowsCommand::Graph { .. } => {
            ExitCode::from(2)
        }
    }
}

fn usage(e: String) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// `name:op,op;name:op` -> back-end -> operations.
fn parse_backends(spec: &str) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, ops)) = entry.split_once(':') else {
            bail!("--backends: `{entry}` is not `name:op,op`");
        };
        let ops: BTreeSet<String> = ops
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect();
        if name.trim().is_empty() || ops.is_empty() {
            bail!("--backends: `{entry}` needs a name and at least one operation");
        }
        out.entry(name.trim().to_string()).or_default().extend(ops);
    }
    Ok(out)
}

fn context(arg: &BackendsArg) -> anyhow::Result<CompileContext> {
    let backends = match (&arg.backends, &arg.config) {
        (Some(spec), _) => Some(parse_backends(spec)?),
        (None, Some(file)) => Some(config_backends(file)?),
        (None, None) => None,
    };
    Ok(CompileContext {
        backends,
        budget: Budget::default(),
    })
}

/// The back-ends a gateway configuration declares. Pure parse: secrets stay
/// unresolved, so a laptop without the production tokens can still check.
fn config_backends(file: &std::path::Path) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    match bawaba::config::Config::from_str(&text, file) {
        Ok(config) => Ok(config.backend_operations()),
        Err(e) => bail!("{} is not a usable configuration:\n{e}", file.display()),
    }
}

/// Compiles the flows in `dir_or_file`; diagnostics are printed.
fn compile_at(
    path: &std::path::Path,
    backends: &BackendsArg,
) -> anyhow::Result<Result<FlowSet, usize>> {
    let sources = files::flow_sources(path)?;
    if sources.is_empty() {
        bail!("no *.yaml flow files in {}", path.display());
    }
    match engine::compile(&sources, &context(backends)?) {
        Ok(set) => Ok(Ok(set)),
        Err(mut diags) => {
            diags.sort_by(|a: &Diagnostic, b| {
                (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column))
            });
            for d in &diags {
                println!("{d}");
            }
            Ok(Err(diags.len()))
        }
    }
}

fn check(path: &std::path::Path, backends: &BackendsArg) -> anyhow::Result<bool> {
    match compile_at(path, backends)? {
        Ok(set) => {
            println!("{} flows OK", set.flows().count());
            Ok(true)
        }
        Err(n) => {
            println!("{n} problem{}", if n == 1 { "" } else { "s" });
            Ok(false)
        }
    }
}

fn test(path: &std::path::Path, backends: &BackendsArg) -> anyhow::Result<bool> {
    let (flows_dir, tests) = files::transcripts(path)?;
    if tests.is_empty() {
        bail!("no *.test transcripts in {}", path.display());
    }
    let flows = match compile_at(&flows_dir, backends)? {
        Ok(set) => set,
        Err(n) => {
            println!("{n} problems in the flows; no transcript run");
            return Ok(false);
        }
    };
    let ctx = StepContext::default();
    let (mut passed, mut failed) = (0, 0);
    for file in tests {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let shown = file.display();
        match transcript::Transcript::parse(&text) {
            Err(errors) => {
                for e in errors {
                    println!("{shown}:{}: {}", e.line, e.message);
                }
                failed += 1;
            }
            Ok(t) => {
                let report = transcript::run(&flows, &t, &ctx);
                for f in &report.failures {
                    print!("{shown}:{f}");
                }
                passed += report.passed;
                failed += report.failed;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}

fn draw(file: &std::path::Path, format: GraphFormat) -> anyhow::Result<bool> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let doc = match engine::doc::parse(&text) {
        Ok(doc) => doc,
        Err((line, col, message)) => {
            println!("{}:{line}:{col}: {message}", file.display());
            return Ok(false);
        }
    };
    let format = match format {
        GraphFormat::Mermaid => Format::Mermaid,
        GraphFormat::Dot => Format::Dot,
    };
    print!("{}", graph::render(&doc, format));
    Ok(true)
}
