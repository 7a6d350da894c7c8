//! Problems found in a configuration file. Each carries file:line:column
//! and the key path it concerns; all of a file's problems are collected
//! before anything is reported (`Report`), so an operator fixes them in one
//! pass instead of one restart per typo.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The file, as it was named to us.
    pub file: String,
    /// The key path, e.g. `operators[1].window` (empty for syntax errors).
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read at all.
    #[error("{}: cannot read the configuration: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read; these are all of its problems, in file order.
    #[error("{}", join(.0))]
    Invalid(Vec<Problem>),
}

impl Error {
    /// Every problem (empty for `Read`).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Read { .. } => &[],
            Error::Invalid(problems) => problems,
        }
    }
}

fn join(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

/// Byte offsets -> (line, column).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn locate(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }
}

/// Collects problems while a file is checked.
pub(crate) struct Report<'t> {
    file: String,
    text: &'t str,
    index: LineIndex,
    problems: Vec<Problem>,
}

impl<'t> Report<'t> {
    pub(crate) fn new(file: String, text: &'t str) -> Self {
        Report {
            file,
            text,
            index: LineIndex::new(text),
            problems: Vec::new(),
        }
    }

    /// A problem at `span` (byte offsets into the text); `None` means the
    /// problem concerns the file as a whole and is reported at 1:1.
    pub(crate) fn push(
        &mut self,
        span: Option<Range<usize>>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, column) = span.map_or((1, 1), |s| self.index.locate(self.text, s.start));
        self.problems.push(Problem {
            file: self.file.clone(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        });
    }

    /// Whether a problem was already reported for `key` (a value serde
    /// rejected is dropped, and must not then be reported as missing).
    pub(crate) fn has_key(&self, key: &str) -> bool {
        self.problems.iter().any(|p| p.key == key)
    }

    pub(crate) fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems in file order, each once.
    pub(crate) fn finish(mut self) -> Vec<Problem> {
        self.problems.sort();
        self.problems.dedup();
        self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_one_based_lines_and_character_columns() {
        let text = "a = 1\nname = \"زين\"\nx";
        let index = LineIndex::new(text);
        assert_eq!(index.locate(text, 0), (1, 1));
        assert_eq!(index.locate(text, 4), (1, 5));
        assert_eq!(index.locate(text, 6), (2, 1));
        let after_arabic = text.find("\"\nx").unwrap();
        assert_eq!(index.locate(text, after_arabic), (2, 12));
        assert_eq!(index.locate(text, text.len() - 1), (3, 1));
        assert_eq!(index.locate(text, 10_000), (3, 2));
    }

    #[test]
    fn problems_display_with_file_position_and_key() {
        let mut report = Report::new("c.toml".into(), "x = 0\n[a]\nwindow = 0\n");
        report.push(
            Some(19..20),
            "a.window",
            "must be between 1 and 1000, got 0",
        );
        report.push(None, "", "no operators");
        let problems = report.finish();
        assert_eq!(problems[0].to_string(), "c.toml:1:1: no operators");
        assert_eq!(
            problems[1].to_string(),
            "c.toml:3:10: a.window: must be between 1 and 1000, got 0"
        );
    }
}
