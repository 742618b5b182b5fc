//! Errors of the declarative layer: every one names the file, and where it can the line, the
//! column and the field, and says how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem in a user's file (program TOML, dataset, run directory), located as precisely as
/// the file allows.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The field or key the problem is about (`program.stages[1].module`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it (`did you mean ...?`).
    pub hint: Option<String>,
    /// The offending source line, shown under the message.
    pub snippet: Option<String>,
}

impl FileError {
    /// An error about the whole file.
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        FileError {
            path: path.to_owned(),
            line: None,
            column: None,
            field: None,
            message: message.into(),
            hint: None,
            snippet: None,
        }
    }

    /// Places the error at a 1-based line and column.
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Places the error at a byte offset of `text`, with the source line as snippet.
    pub fn at_offset(mut self, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        self.line = Some(line);
        self.column = Some(column);
        self.snippet = text.lines().nth(line - 1).map(str::to_owned);
        self
    }

    /// Names the field.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint if there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "`{field}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let (Some(line), Some(snippet)) = (self.line, &self.snippet) {
            let gutter = line.to_string();
            write!(f, "\n {gutter} | {snippet}")?;
            if let Some(col) = self.column {
                let pad = " ".repeat(gutter.len());
                let caret_pad = " ".repeat(col.saturating_sub(1));
                write!(f, "\n {pad} | {caret_pad}^")?;
            }
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhelp: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// Everything the library's operations can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A user file is wrong (exit code 2).
    #[error(transparent)]
    File(#[from] Box<FileError>),
    /// A file could not be read or written (exit code 2).
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read`, `write`, `create`...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Something the user asked for does not fit (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The work itself failed: an LM, a metric command, an optimizer (exit code 1).
    #[error("{0}")]
    Failed(String),
}

impl From<FileError> for Error {
    fn from(e: FileError) -> Self {
        Error::File(Box::new(e))
    }
}

impl Error {
    /// An IO error on `path`.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// Whether the error is the user's input (exit code 2) rather than a failure of the work
    /// (exit code 1).
    pub fn is_input_error(&self) -> bool {
        !matches!(self, Error::Failed(_))
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest of `candidates` to `word`, if close enough to be a typo (one rule for every
/// "did you mean": the optimizer catalogue's).
pub use hone_optimize::catalogue::suggest;

/// `did you mean `x`?` for the closest candidate, else the list of candidates.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match suggest(word, candidates.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "expected one of {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            suggest("chain_of_thougt", ["predict", "chain_of_thought", "react"]),
            Some("chain_of_thought")
        );
        assert_eq!(
            suggest("modul", ["name", "module", "signature"]),
            Some("module")
        );
        assert_eq!(suggest("zzzzzz", ["name", "module"]), None);
    }

    #[test]
    fn displays_location_snippet_and_hint() {
        let text = "a = 1\nmodul = \"x\"\n";
        let e = FileError::new(Path::new("p.toml"), "unknown key `modul`")
            .at_offset(text, 6)
            .hint("did you mean `module`?");
        assert_eq!(
            e.to_string(),
            "p.toml:2:1: unknown key `modul`\n 2 | modul = \"x\"\n   | ^\nhelp: did you mean `module`?"
        );
    }
}
