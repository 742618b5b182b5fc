//! The IO-free halves of Python's `KNNFewShot` and `Ensemble`, the same functions the CLI's
//! call-time modules use: DSPy's embedding text and nearest-neighbour ranking
//! (`hone_optimize::knn`), `majority`, and an ensemble's per-call subset (`hone_eval::ensemble`).
//! The Python layer composes them with an LM's embeddings and `BootstrapFewShot`.

use hone_core::Prediction;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use crate::convert::{to_example, to_value};
use crate::error::Error;

/// The text DSPy's `KNN` embeds for an example: its input fields (`input_keys`; all fields
/// when `None`) as `key: value` joined by `" | "`.
#[pyfunction]
#[pyo3(signature = (fields, input_keys=None))]
pub fn knn_embedding_text(
    fields: &Bound<'_, PyDict>,
    input_keys: Option<Vec<String>>,
) -> PyResult<String> {
    let example = to_example(fields, input_keys)?;
    Ok(hone_optimize::knn::embedding_text(&example))
}

/// The positions of the `k` vectors most similar to `query` (cosine), nearest first.
#[pyfunction]
pub fn knn_top_k(vectors: Vec<Vec<f32>>, query: Vec<f32>, k: usize) -> Vec<usize> {
    hone_optimize::knn::top_k(&vectors, &query, k)
}

/// DSPy's `majority`: the position of the prediction (a dict of fields) whose `field` value,
/// normalised as DSPy normalises text, is the most common; `field` defaults to the last field.
/// `None` for no predictions.
#[pyfunction]
#[pyo3(signature = (predictions, field=None))]
pub fn majority(predictions: &Bound<'_, PyList>, field: Option<&str>) -> PyResult<Option<usize>> {
    let mut all = Vec::with_capacity(predictions.len());
    for (i, p) in predictions.iter().enumerate() {
        match to_value(&p)? {
            Value::Object(fields) => all.push(Prediction::new(fields)),
            other => {
                return Err(Error::Value(format!(
                    "majority: prediction {i} is not a set of fields but {other}"
                ))
                .into());
            }
        }
    }
    Ok(hone_eval::majority_index(&all, field))
}

/// Which of `count` programs answer a call with `inputs` when only `size` may: `size`
/// positions drawn from `seed` and the inputs (the same inputs, the same subset).
#[pyfunction]
#[pyo3(signature = (count, size, seed, inputs))]
pub fn ensemble_subset(
    count: usize,
    size: Option<usize>,
    seed: u64,
    inputs: &Bound<'_, PyDict>,
) -> PyResult<Vec<usize>> {
    let example = to_example(inputs, None)?;
    Ok(hone_eval::ensemble_subset(count, size, seed, &example))
}
