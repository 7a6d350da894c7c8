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
