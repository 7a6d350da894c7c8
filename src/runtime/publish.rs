//! Publishing flows while the gateway runs: every change to the flows in
//! force (the admin API, the `flows_dir` watcher, a rollback, staging)
//! goes through [`apply`], which compiles the whole resulting set with the
//! checks of `bawaba flows check` (this configuration's back-ends, the
//! smallest operator screen), refuses it whole with every diagnostic if
//! anything is wrong, keeps every version's text in the store (a version
//! number is never reused for another text), appends the publish to the
//! history (who, when, checksums) and only then puts the set in force.
//! Sessions in progress keep the version they started on
//! ([`FlowSet::succeed`]); the previous set keeps serving on any refusal.
//!
//! Staging: a set published to a list of test MSISDNs serves only their
//! new sessions ([`Core::flows_for`]) until it is promoted (to everyone)
//! or dropped. While a set is staged, other publishes are refused.
//!
//! Owns: the text of the set in force, drafts (in memory, at most
//! [`MAX_DRAFTS`]), the staged set. Must not: read files (the caller hands
//! texts in) or decide who may publish (the admin listener does).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Core;
use crate::config::Config;
use crate::engine::{self, CompileContext, Diagnostic, FlowSet, Source};
use crate::msisdn::Msisdn;
use crate::store::Store;

/// Drafts kept at once (the oldest goes first).
pub const MAX_DRAFTS: usize = 8;
/// Flow files in one set.
pub const MAX_FILES: usize = 64;
/// Test MSISDNs in one staging list.
pub const MAX_STAGING: usize = 1000;

/// One flow file: its name (`pds.yaml`, no directory) and text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowFile {
    pub name: String,
    pub text: String,
}

/// What to change.
#[derive(Debug)]
pub enum Change {
    /// Check files against the set in force and keep them as a draft.
    Draft(Vec<FlowFile>),
    /// Put files (or a kept draft) in force, for everyone or (staging)
    /// only for the new sessions of these MSISDNs.
    Publish {
        files: Files,
        staging: Option<Vec<Msisdn>>,
    },
    /// Put an earlier version of one flow back in force.
    Rollback { id: String, version: u32 },
    /// The staged set to everyone.
    Promote,
    /// Forget the staged set.
    Drop,
    /// The flow files of `flows_dir`, as the watcher read them (the whole
    /// set: files no longer there are no longer served).
    Watch(Vec<FlowFile>),
}

/// Files given with the request, or a draft kept earlier.
#[derive(Debug)]
pub enum Files {
    Given(Vec<FlowFile>),
    Draft(u64),
}

/// Why a change was not made (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{} problem(s) in the flows; nothing was published", .0.len())]
    Flows(Vec<Diagnostic>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("bad request: {0}")]
    Invalid(String),
    #[error("store: {0}")]
    Store(String),
}

/// A change made (or a draft checked).
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// The draft's id (drafts only).
    pub draft: Option<u64>,
    /// The history entry written (not for drafts).
    pub seq: Option<u64>,
    /// Flows whose version changed: `id@version`.
    pub changed: Vec<String>,
    /// The flows of the set this produced (or would produce).
    pub flows: Vec<FlowInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowInfo {
    pub id: String,
    pub version: u32,
    pub checksum: String,
    pub file: String,
}

/// One history entry as stored (JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub at: u64,
    /// The token's name, `watch` (flows_dir) or `start` (first start).
    pub who: String,
    /// `start`, `publish`, `rollback`, `stage`, `promote`, `drop`, `watch`.
    pub action: String,
    /// The set in force (for `stage`: the staged set) after the change.
    pub flows: Vec<FlowInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// Staging: how many test MSISDNs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging: Option<usize>,
}

impl Entry {
    /// Whether the set came through the API (kept over a restart) rather
    /// than from the files of `flows_dir`.
    fn through_api(&self) -> bool {
        matches!(
            self.action.as_str(),
            "publish" | "rollback" | "promote" | "drop"
        )
    }
}

/// A kept flow text (JSON in the store).
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    checksum: String,
    file: String,
    text: String,
}

/// The staged set and who gets it.
pub(crate) struct Staging {
    pub flows: Arc<FlowSet>,
    pub msisdns: BTreeSet<String>,
    files: BTreeMap<String, String>,
}

/// The publisher's state (behind `Core::publish`).
#[derive(Default)]
pub(crate) struct State {
    /// The text of the set in force, by file name.
    files: BTreeMap<String, String>,
    drafts: VecDeque<(u64, BTreeMap<String, String>)>,
    next_draft: u64,
}

impl State {
    pub fn new(files: BTreeMap<String, String>) -> State {
        State {
            files,
            ..State::default()
        }
    }

    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }
}

/// What the compiler checks against: this configuration's back-ends and
/// the smallest screen of any operator (flows serve every operator).
pub fn compile_context(config: &Config) -> CompileContext {
    CompileContext {
        backends: Some(config.backend_operations()),
        budget: config.strictest_budget(),
    }
}

/// Compiles a set of files (named by file name) like `flows check`.
pub fn compile(
    files: &BTreeMap<String, String>,
    config: &Config,
) -> Result<FlowSet, Vec<Diagnostic>> {
    let sources: Vec<Source> = files
        .iter()
        .map(|(name, text)| Source {
            path: name.clone(),
            text: text.clone(),
        })
        .collect();
    if sources.is_empty() {
        return Err(vec![problem("-", "no flow files: nothing would be served")]);
    }
    engine::compile(&sources, &compile_context(config)).map_err(|mut d| {
        d.sort();
        d
    })
}

fn problem(file: &str, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        path: file.to_string(),
        line: 0,
        column: 0,
        message: message.into(),
    }
}

/// The flows of a set, for listings and the history.
pub fn infos(set: &FlowSet, files: &BTreeMap<String, String>) -> Vec<FlowInfo> {
    set.flows()
        .map(|f| FlowInfo {
            id: f.id().to_string(),
            version: f.version(),
            checksum: f.checksum(),
            file: file_of(files, set, f.id()).unwrap_or_default(),
        })
        .collect()
}

/// The file a flow was compiled from: the one whose text hashes to it.
fn file_of(files: &BTreeMap<String, String>, set: &FlowSet, id: &str) -> Option<String> {
    use sha2::{Digest, Sha256};
    let want = set.get(id)?.checksum();
    files.iter().find_map(|(name, text)| {
        let sum: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (sum == want).then(|| name.clone())
    })
}

/// Checks a file name: a plain `*.yaml` name, no directory.
fn checked(files: Vec<FlowFile>) -> Result<BTreeMap<String, String>, Refused> {
    if files.len() > MAX_FILES {
        return Err(Refused::Invalid(format!("at most {MAX_FILES} flow files")));
    }
    let mut out = BTreeMap::new();
    for f in files {
        let plain = !f.name.is_empty()
            && f.name.len() <= 128
            && f.name.ends_with(".yaml")
            && !f.name.starts_with('.')
            && f.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !plain {
            let msg = format!(
                "{:?} is not a flow file name (`name.yaml`, no directory)",
                f.name
            );
            return Err(Refused::Invalid(msg));
        }
        if out.insert(f.name.clone(), f.text).is_some() {
            return Err(Refused::Invalid(format!("{} is given twice", f.name)));
        }
    }
    Ok(out)
}

/// Makes `change` (see the module docs). Serialised: one change at a time.
pub(crate) async fn apply<S: Store>(
    core: &Core<S>,
    who: &str,
    change: Change,
) -> Result<Outcome, Refused> {
    let mut st = core.publish.lock().await;
    let staged = core.staged();
    match change {
        Change::Draft(files) => {
            let mut merged = st.files.clone();
            merged.extend(checked(files)?);
            let set = compile(&merged, &core.config).map_err(Refused::Flows)?;
            known_texts(core, &set, &merged).await?;
            st.next_draft += 1;
            let id = st.next_draft;
            let flows = infos(&set, &merged);
            if st.drafts.len() >= MAX_DRAFTS {
                st.drafts.pop_front();
            }
            st.drafts.push_back((id, merged));
            Ok(Outcome {
                draft: Some(id),
                seq: None,
                changed: changed(&core.flows(), &set),
                flows,
            })
        }
        Change::Publish { files, staging } => {
            if staged.is_some() {
                return Err(staged_first());
            }
            let merged = match files {
                Files::Given(files) => {
                    let mut merged = st.files.clone();
                    merged.extend(checked(files)?);
                    merged
                }
                Files::Draft(id) => {
                    let draft = st.drafts.iter().find(|(d, _)| *d == id);
                    let msg = || {
                        Refused::NotFound(format!(
                            "no draft {id} (drafts are kept in memory, the last {MAX_DRAFTS})"
                        ))
                    };
                    draft.ok_or_else(msg)?.1.clone()
                }
            };
            match staging {
                None => put_in_force(core, &mut st, who, "publish", merged).await,
                Some(list) => stage(core, who, merged, list).await,
            }
        }
        Change::Rollback { id, version } => {
            if staged.is_some() {
                return Err(staged_first());
            }
            let raw = core.store.get_flow_source(&id, version).await;
            let raw = raw.map_err(|e| Refused::Store(e.to_string()))?;
            let kept: Kept = raw
                .and_then(|r| serde_json::from_slice(&r).ok())
                .ok_or_else(|| {
                    Refused::NotFound(format!(
                        "no version {version} of flow `{id}` in the history"
                    ))
                })?;
            let mut merged = st.files.clone();
            // The flow's current file goes; the kept one takes its place.
            let now = core.flows();
            if let Some(file) = now.get(&id).and_then(|_| file_of(&st.files, &now, &id)) {
                merged.remove(&file);
            }
            merged.insert(kept.file, kept.text);
            put_in_force(core, &mut st, who, "rollback", merged).await
        }
        Change::Promote => {
            let Some(s) = staged else {
                return Err(Refused::Conflict("nothing is staged".into()));
            };
            let files = s.files.clone();
            let out = put_in_force(core, &mut st, who, "promote", files).await;
            if out.is_ok() {
                core.set_staged(None);
            }
            out
        }
        Change::Drop => {
            let Some(s) = staged else {
                return Err(Refused::Conflict("nothing is staged".into()));
            };
            // The set in force again, keeping the staged versions for the
            // test sessions that started on them.
            let set = compile(&st.files, &core.config).map_err(Refused::Flows)?;
            let set = set
                .succeed(&s.flows, core.now_ms(), super::millis(core.pinned_for()))
                .map_err(same_version)?;
            let flows = infos(&set, &st.files);
            let seq = history(core, who, "drop", &flows, Vec::new(), None).await?;
            core.swap_flows(set);
            core.set_staged(None);
            audit(core, who, "drop", Some(seq), &[]).await;
            Ok(Outcome {
                draft: None,
                seq: Some(seq),
                changed: Vec::new(),
                flows,
            })
        }
        Change::Watch(files) => {
            if staged.is_some() {
                return Err(staged_first());
            }
            let files = checked(files)?;
            put_in_force(core, &mut st, who, "watch", files).await
        }
    }
}

fn staged_first() -> Refused {
    Refused::Conflict("a set is staged: promote or drop it first".into())
}

fn same_version(v: Vec<engine::SameVersionChanged>) -> Refused {
    Refused::Flows(v.iter().map(|e| problem(&e.id, e.to_string())).collect())
}

/// `id@version` of the flows `next` serves that `now` does not.
fn changed(now: &FlowSet, next: &FlowSet) -> Vec<String> {
    next.flows()
        .filter(|f| now.get(f.id()).is_none_or(|g| g.version() != f.version()))
        .map(|f| format!("{}@{}", f.id(), f.version()))
        .collect()
}

/// Refuses a version number the history holds with another text.
async fn known_texts<S: Store>(
    core: &Core<S>,
    set: &FlowSet,
    files: &BTreeMap<String, String>,
) -> Result<Vec<(String, u32, Vec<u8>)>, Refused> {
    let mut fresh = Vec::new();
    let mut problems = Vec::new();
    for f in set.flows() {
        let raw = core.store.get_flow_source(f.id(), f.version()).await;
        let raw = raw.map_err(|e| Refused::Store(e.to_string()))?;
        let kept = raw.and_then(|r| serde_json::from_slice::<Kept>(&r).ok());
        let file = file_of(files, set, f.id()).unwrap_or_default();
        match kept {
            Some(k) if k.checksum == f.checksum() => {}
            Some(_) => problems.push(problem(
                &file,
                format!(
                    "flow `{}` version {} was published before with another text: raise its `version:`",
                    f.id(),
                    f.version()
                ),
            )),
            None => {
                let text = files.get(&file).cloned().unwrap_or_default();
                let kept = Kept {
                    checksum: f.checksum(),
                    file,
                    text,
                };
                let bytes = serde_json::to_vec(&kept).unwrap_or_default();
                fresh.push((f.id().to_string(), f.version(), bytes));
            }
        }
    }
    if problems.is_empty() {
        Ok(fresh)
    } else {
        Err(Refused::Flows(problems))
    }
}

/// A set ready to go in force: compiled, successor of the set in force,
/// every new version's text kept. Nothing is in force yet.
struct Prepared {
    set: FlowSet,
    flows: Vec<FlowInfo>,
    changed: Vec<String>,
}

async fn prepare<S: Store>(
    core: &Core<S>,
    files: &BTreeMap<String, String>,
) -> Result<Prepared, Refused> {
    let set = compile(files, &core.config).map_err(Refused::Flows)?;
    let now = core.flows();
    let set = set
        .succeed(&now, core.now_ms(), super::millis(core.pinned_for()))
        .map_err(same_version)?;
    let fresh = known_texts(core, &set, files).await?;
    for (id, version, bytes) in fresh {
        let put = core.store.put_flow_source(&id, version, bytes).await;
        put.map_err(|e| Refused::Store(e.to_string()))?;
    }
    Ok(Prepared {
        flows: infos(&set, files),
        changed: changed(&now, &set),
        set,
    })
}

/// Prepares `files`, writes the history, then puts the set in force. Any
/// failure before the swap changes nothing.
async fn put_in_force<S: Store>(
    core: &Core<S>,
    st: &mut State,
    who: &str,
    action: &str,
    files: BTreeMap<String, String>,
) -> Result<Outcome, Refused> {
    let p = prepare(core, &files).await?;
    let seq = history(core, who, action, &p.flows, p.changed.clone(), None).await?;
    core.swap_flows(p.set);
    st.files = files;
    audit(core, who, action, Some(seq), &p.changed).await;
    tracing::info!(who, action, flows = %p.changed.join(" "), seq, "flows replaced; sessions in progress keep their version");
    Ok(Outcome {
        draft: None,
        seq: Some(seq),
        changed: p.changed,
        flows: p.flows,
    })
}

async fn stage<S: Store>(
    core: &Core<S>,
    who: &str,
    files: BTreeMap<String, String>,
    list: Vec<Msisdn>,
) -> Result<Outcome, Refused> {
    if list.is_empty() || list.len() > MAX_STAGING {
        let msg = format!("a staging list holds 1 to {MAX_STAGING} MSISDNs");
        return Err(Refused::Invalid(msg));
    }
    let p = prepare(core, &files).await?;
    let n = list.len();
    let seq = history(core, who, "stage", &p.flows, p.changed.clone(), Some(n)).await?;
    core.set_staged(Some(Staging {
        flows: Arc::new(p.set),
        msisdns: list.iter().map(|m| m.as_str().to_string()).collect(),
        files,
    }));
    audit(core, who, "stage", Some(seq), &p.changed).await;
    tracing::info!(who, flows = %p.changed.join(" "), msisdns = n, "flows staged for test numbers");
    Ok(Outcome {
        draft: None,
        seq: Some(seq),
        changed: p.changed,
        flows: p.flows,
    })
}

async fn history<S: Store>(
    core: &Core<S>,
    who: &str,
    action: &str,
    flows: &[FlowInfo],
    changed: Vec<String>,
    staging: Option<usize>,
) -> Result<u64, Refused> {
    let entry = Entry {
        at: wall_ms(),
        who: who.to_string(),
        action: action.to_string(),
        flows: flows.to_vec(),
        changed,
        staging,
    };
    let bytes = serde_json::to_vec(&entry).unwrap_or_default();
    let seq = core.store.append_flow_history(bytes).await;
    seq.map_err(|e| Refused::Store(e.to_string()))
}

/// One audit record for a change (the chain the notification API uses).
async fn audit<S: Store>(
    core: &Core<S>,
    who: &str,
    action: &str,
    seq: Option<u64>,
    flows: &[String],
) {
    let record = serde_json::json!({
        "at": wall_ms(), "actor": who, "action": format!("flows.{action}"),
        "history": seq, "flows": flows,
    });
    super::audit::append(core, record).await;
}

/// Wall-clock ms since the epoch (history and audit timestamps).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// History entries before `before`, newest first (undecodable ones skipped).
pub async fn entries<S: Store>(
    store: &S,
    before: u64,
    max: usize,
) -> crate::store::Result<Vec<(u64, Entry)>> {
    let raw = store.flow_history(before, max).await?;
    Ok(raw
        .into_iter()
        .filter_map(|(seq, b)| Some((seq, serde_json::from_slice(&b).ok()?)))
        .collect())
}

/// The set to start with: the one last put in force through the API, if
/// the history's newest entry is one (a publish survives a restart), else
/// the files of `flows_dir`, recorded as `start` when they differ from
/// the newest entry. `dir` is already compiled (`dir_set`).
pub async fn initial<S: Store>(
    store: &S,
    config: &Config,
    dir: BTreeMap<String, String>,
    dir_set: FlowSet,
) -> (FlowSet, BTreeMap<String, String>) {
    // A staged set is not kept over a restart: the newest other entry.
    let newest = match entries(store, u64::MAX, 64).await {
        Ok(e) => e.into_iter().map(|(_, e)| e).find(|e| e.action != "stage"),
        Err(e) => {
            tracing::warn!(error = %e, "flow history unreadable; starting on flows_dir");
            None
        }
    };
    if let Some(last) = newest.as_ref().filter(|e| e.through_api()) {
        match restore(store, config, last).await {
            Ok((set, files)) => {
                let differs = infos(&dir_set, &dir) != infos(&set, &files);
                if differs {
                    tracing::warn!(who = %last.who, at = last.at, "starting on the flows last published through the admin API; flows_dir differs and is not served (publish it to serve it)");
                }
                return (set, files);
            }
            Err(problems) => {
                for p in problems {
                    tracing::warn!(problem = %p, "the flows last published do not compile against this configuration; starting on flows_dir");
                }
            }
        }
    }
    let flows = infos(&dir_set, &dir);
    if newest.is_none_or(|e| e.flows != flows) {
        for f in dir_set.flows() {
            let kept = Kept {
                checksum: f.checksum(),
                file: file_of(&dir, &dir_set, f.id()).unwrap_or_default(),
                text: String::new(),
            };
            let text = dir.get(&kept.file).cloned().unwrap_or_default();
            let kept = Kept { text, ..kept };
            let known = store.get_flow_source(f.id(), f.version()).await;
            if matches!(known, Ok(None)) {
                let bytes = serde_json::to_vec(&kept).unwrap_or_default();
                if let Err(e) = store.put_flow_source(f.id(), f.version(), bytes).await {
                    tracing::warn!(error = %e, "flow text not kept");
                }
            }
        }
        let entry = Entry {
            at: wall_ms(),
            who: "start".into(),
            action: "start".into(),
            flows,
            changed: Vec::new(),
            staging: None,
        };
        let bytes = serde_json::to_vec(&entry).unwrap_or_default();
        if let Err(e) = store.append_flow_history(bytes).await {
            tracing::warn!(error = %e, "flow history not written");
        }
    }
    (dir_set, dir)
}

/// The texts of a history entry's flows, compiled.
async fn restore<S: Store>(
    store: &S,
    config: &Config,
    entry: &Entry,
) -> Result<(FlowSet, BTreeMap<String, String>), Vec<Diagnostic>> {
    let mut files = BTreeMap::new();
    for f in &entry.flows {
        let kept = store.get_flow_source(&f.id, f.version).await.ok().flatten();
        let Some(k) = kept.and_then(|r| serde_json::from_slice::<Kept>(&r).ok()) else {
            return Err(vec![problem(
                &f.file,
                format!("no text kept for {}@{}", f.id, f.version),
            )]);
        };
        files.insert(k.file, k.text);
    }
    Ok((compile(&files, config)?, files))
}
