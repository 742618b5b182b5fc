//! Nearest-neighbour search over embedding vectors: the IO-free half of `KNNFewShot`.
//!
//! DSPy's `KNN` embeds each training example's inputs as `"key: value | key: value"`, embeds
//! the call's inputs the same way, and takes the `k` training examples with the highest dot
//! product. hone ranks by cosine similarity, which equals the dot product for the unit-length
//! vectors embedding APIs return and does not let a long vector win by its length otherwise.
//! Ties go to the later example, as DSPy's `argsort()[-k:][::-1]` orders them.

use hone_core::Example;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bootstrap::BootstrapConfig;

/// Settings of `KNNFewShot` (DSPy's `KNNFewShot(k, trainset, vectorizer,
/// **few_shot_bootstrap_args)`): how many neighbours, and the `BootstrapFewShot` run that
/// compiles the student on them at each call. The embedder is an LM, given separately.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KnnFewShotConfig {
    /// Training examples nearest to the call's inputs that become its demos (default 3).
    pub k: usize,
    /// Maximum bootstrapped demos per predictor (default 4).
    pub max_bootstrapped_demos: usize,
    /// Maximum demos per predictor in all, labeled ones filling up (default 16).
    pub max_labeled_demos: usize,
    /// Attempts per neighbour (default 1).
    pub max_rounds: usize,
    /// Score teacher runs with the program's metric and keep those that pass. `false` (the
    /// default, DSPy's `metric=None`) keeps every teacher run that produced outputs.
    pub use_metric: bool,
    /// With `use_metric`, accept a teacher run whose score is at least this.
    pub metric_threshold: Option<f64>,
    /// Seed of the bootstrap's samplers (DSPy always uses 0).
    pub seed: i64,
}

impl Default for KnnFewShotConfig {
    fn default() -> Self {
        let bootstrap = BootstrapConfig::default();
        KnnFewShotConfig {
            k: 3,
            max_bootstrapped_demos: bootstrap.max_bootstrapped_demos,
            max_labeled_demos: bootstrap.max_labeled_demos,
            max_rounds: bootstrap.max_rounds,
            use_metric: false,
            metric_threshold: None,
            seed: bootstrap.seed,
        }
    }
}

impl KnnFewShotConfig {
    /// The `BootstrapFewShot` settings that compile the student on the neighbours.
    pub fn bootstrap(&self) -> BootstrapConfig {
        BootstrapConfig {
            max_bootstrapped_demos: self.max_bootstrapped_demos,
            max_labeled_demos: self.max_labeled_demos,
            max_rounds: self.max_rounds,
            metric_threshold: self.metric_threshold,
            seed: self.seed,
            ..BootstrapConfig::default()
        }
    }
}

/// The text DSPy embeds for an example: its input fields (all fields when none are marked) as
/// `key: value` joined by `" | "`. Strings appear as they are, other values as JSON.
pub fn embedding_text(example: &Example) -> String {
    let inputs = example.inputs();
    inputs
        .fields()
        .iter()
        .map(|(k, v)| format!("{k}: {}", value_text(v)))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Cosine similarity; 0 when either vector is all zeros or the lengths differ.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x as f64, *y as f64);
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// The indices of the `k` vectors most similar to `query`, most similar first.
pub fn top_k(vectors: &[Vec<f32>], query: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(usize, f64)> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| (i, cosine(v, query)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    scored.into_iter().take(k).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_cosine_and_formats_inputs() {
        let vectors = vec![
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![0.7, 0.7],
            vec![2.0, 0.1],
        ];
        assert_eq!(top_k(&vectors, &[1.0, 0.0], 2), vec![0, 3]);
        assert_eq!(top_k(&vectors, &[0.0, 1.0], 10).len(), 4);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        let ex = Example::new()
            .with("question", "What is 2 + 2?")
            .with("n", 3)
            .with("answer", 4)
            .with_inputs(["question", "n"]);
        assert_eq!(embedding_text(&ex), "question: What is 2 + 2? | n: 3");
    }
}
