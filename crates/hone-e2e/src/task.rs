//! The small real tasks shipped in `testdata/tasks/`.

use std::path::{Path, PathBuf};

use hone_core::{Example, Signature};

/// A task file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a JSON object.
    #[error("{path}:{line}: not a JSON object: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The directory holding the task folders (`testdata/tasks` of the repository).
pub fn tasks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tasks")
}

/// Reads a JSON Lines file of examples and marks `inputs` as their input fields.
/// Blank lines are skipped.
pub fn load_jsonl(path: &Path, inputs: &[&str]) -> Result<Vec<Example>, TaskError> {
    let text = std::fs::read_to_string(path).map_err(|source| TaskError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut examples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| TaskError::Line {
            path: path.to_owned(),
            line: index + 1,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let example = Example::from_json(value).ok_or_else(|| bad("not an object".to_owned()))?;
        examples.push(example.with_inputs(inputs.iter().copied()));
    }
    Ok(examples)
}

/// Sentiment of short product and movie reviews (`testdata/tasks/sentiment`).
pub mod sentiment {
    use super::*;

    /// The task's signature, as DSPy writes it:
    /// `review -> sentiment: Literal['positive', 'negative']`.
    pub const SIGNATURE: &str = "review -> sentiment: Literal['positive', 'negative']";

    /// The labels the output may take.
    pub const LABELS: [&str; 2] = ["positive", "negative"];

    /// The parsed [`SIGNATURE`].
    pub fn signature() -> Signature {
        Signature::parse(SIGNATURE).expect("the sentiment signature is valid")
    }

    /// The training split (20 examples), with `review` as input.
    pub fn train() -> Result<Vec<Example>, TaskError> {
        split("train")
    }

    /// The dev split (20 examples), with `review` as input.
    pub fn dev() -> Result<Vec<Example>, TaskError> {
        split("dev")
    }

    fn split(name: &str) -> Result<Vec<Example>, TaskError> {
        load_jsonl(
            &tasks_dir().join("sentiment").join(format!("{name}.jsonl")),
            &["review"],
        )
    }
}
