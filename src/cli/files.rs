//! Finding and reading flow files and transcripts on disk.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bawaba::engine::Source;

/// The files in `dir` ending in `.ext`, sorted by name.
fn listed(dir: &Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))?
    {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Every flow file at `path` (one file, or the *.yaml files of a folder).
pub fn flow_sources(path: &Path) -> anyhow::Result<Vec<Source>> {
    let files = if path.is_dir() {
        listed(path, "yaml")?
    } else {
        vec![path.to_path_buf()]
    };
    files
        .into_iter()
        .map(|f| Source::read(&f).with_context(|| format!("reading {}", f.display())))
        .collect()
}

/// The folder of flows and the transcripts to run for `path`: a folder
/// means all its *.test files; a .test file means itself, with the flows
/// of its folder.
pub fn transcripts(path: &Path) -> anyhow::Result<(PathBuf, Vec<PathBuf>)> {
    if path.is_dir() {
        return Ok((path.to_path_buf(), listed(path, "test")?));
    }
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, vec![path.to_path_buf()]))
}
