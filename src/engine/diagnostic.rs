//! Compiler inputs and problem reports: `Source`, `CompileContext`,
//! `Diagnostic`. Pure data; the CLI reads files and prints these.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::charset::Budget;

/// One flow file's text and the path to report problems against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub path: String,
    pub text: String,
}

/// The largest flow file read: the biggest shipped flow is a few KiB, and
/// a file is read whole into memory.
pub const MAX_FLOW_BYTES: u64 = 1024 * 1024;

impl Source {
    /// Reads a flow file, refusing one over [`MAX_FLOW_BYTES`] without
    /// reading more than that.
    pub fn read(path: &std::path::Path) -> std::io::Result<Source> {
        Ok(Source {
            path: path.display().to_string(),
            text: crate::files::read_capped(path, MAX_FLOW_BYTES)?,
        })
    }
}

/// What the compiler checks flows against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileContext {
    /// Back-end name -> its operations; `None` skips the check (e.g. linting
    /// flows without a gateway configuration at hand).
    pub backends: Option<BTreeMap<String, BTreeSet<String>>>,
    /// The smallest screen any operator accepts.
    pub budget: Budget,
}

/// One problem in a flow file, with where it is (1-based line and column;
/// 0 when the place is the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}
