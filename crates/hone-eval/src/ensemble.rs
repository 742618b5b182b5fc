//! [`Ensemble`]: several programs answer, one answer is chosen — DSPy's
//! `dspy.Ensemble(reduce_fn=dspy.majority, size=...)`, as a module.
//!
//! The programs run concurrently on each call. With a `size`, a subset of that many programs
//! answers each call; unlike DSPy (which samples at random and asserts `deterministic=False`),
//! the subset is drawn from a seed mixed with the call's inputs, so the same inputs always get
//! the same subset. [`majority`] is DSPy's `dspy.majority`.

use std::sync::Arc;

use futures_util::future::join_all;
use hone_core::{Example, Prediction};
use hone_lm::BoxFuture;
use hone_modules::{CallContext, Module, ModuleError, Predict, prefixed};
use hone_optimize::OptRng;
use hone_optimize::program::stable_hash;
use serde_json::Value;

use crate::metric::{as_text, normalize_text};

type ReduceFn = Arc<dyn Fn(Vec<Prediction>) -> Result<Prediction, ModuleError> + Send + Sync>;

/// DSPy's `majority`: the prediction whose `field` value (after DSPy's text normalisation) is
/// the most common; ties go to the earliest. Values that normalise to nothing are ignored
/// unless all do. `field` defaults to the last field of the first prediction (DSPy: the last
/// output field). `None` when there are no predictions.
pub fn majority(predictions: &[Prediction], field: Option<&str>) -> Option<Prediction> {
    majority_index(predictions, field).map(|i| predictions[i].clone())
}

/// The position in `predictions` of [`majority`]'s winner.
pub fn majority_index(predictions: &[Prediction], field: Option<&str>) -> Option<usize> {
    let first = predictions.first()?;
    let field = match field {
        Some(f) => f.to_owned(),
        None => first.fields().keys().next_back()?.clone(),
    };
    let norm = |p: &Prediction| -> Option<String> {
        let text = normalize_text(&as_text(p.get(&field).unwrap_or(&Value::Null)));
        (!text.is_empty()).then_some(text)
    };
    let values: Vec<Option<String>> = predictions.iter().map(norm).collect();
    let any_some = values.iter().any(Option::is_some);
    let mut counts: Vec<(Option<String>, usize)> = Vec::new();
    for v in values.iter().filter(|v| v.is_some() || !any_some) {
        match counts.iter_mut().find(|(k, _)| k == v) {
            Some((_, c)) => *c += 1,
            None => counts.push((v.clone(), 1)),
        }
    }
    // Python's max() keeps the first maximal key in insertion order.
    let mut best: Option<&(Option<String>, usize)> = None;
    for entry in &counts {
        if best.is_none_or(|b| entry.1 > b.1) {
            best = Some(entry);
        }
    }
    let winner = best?.0.clone();
    values.iter().position(|v| *v == winner)
}

/// Which of `count` programs answer a call with `inputs` when only `size` may (DSPy's
/// `Ensemble(size=...)`): `size` distinct positions drawn from `seed` mixed with the inputs, so
/// the same inputs always get the same subset; every position when `size` is `None` or at
/// least `count`.
pub fn ensemble_subset(
    count: usize,
    size: Option<usize>,
    seed: u64,
    inputs: &Example,
) -> Vec<usize> {
    match size {
        Some(size) if size < count => {
            let key = serde_json::to_value(inputs.fields()).unwrap_or_default();
            let mut rng = OptRng::new(seed ^ stable_hash(&key));
            rng.sample_indices(count, size)
        }
        _ => (0..count).collect(),
    }
}

/// Several programs as one module, reduced to one prediction per call.
pub struct Ensemble {
    programs: Vec<Box<dyn Module>>,
    size: Option<usize>,
    seed: u64,
    reduce: ReduceFn,
}

impl std::fmt::Debug for Ensemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ensemble")
            .field("programs", &self.programs.len())
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Ensemble {
    /// An ensemble of `programs` reduced by [`majority`] over the last output field.
    pub fn new(programs: Vec<Box<dyn Module>>) -> Self {
        Ensemble {
            programs,
            size: None,
            seed: 0,
            reduce: Arc::new(|preds| {
                majority(&preds, None).ok_or_else(|| ModuleError::InvalidInput {
                    module: "Ensemble".into(),
                    message: "no program produced a prediction".into(),
                })
            }),
        }
    }

    /// Majority vote over `field` instead of the last output field.
    pub fn majority_on(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.reduce = Arc::new(move |preds| {
            majority(&preds, Some(&field)).ok_or_else(|| ModuleError::InvalidInput {
                module: "Ensemble".into(),
                message: "no program produced a prediction".into(),
            })
        });
        self
    }

    /// A custom reduce function (DSPy's `reduce_fn`).
    pub fn reduce(
        mut self,
        reduce: impl Fn(Vec<Prediction>) -> Result<Prediction, ModuleError> + Send + Sync + 'static,
    ) -> Self {
        self.reduce = Arc::new(reduce);
        self
    }

    /// Only `size` programs answer each call (DSPy's `size`), chosen from `seed` and the inputs.
    pub fn size(mut self, size: usize, seed: u64) -> Self {
        self.size = Some(size);
        self.seed = seed;
        self
    }

    fn chosen(&self, inputs: &Example) -> Vec<usize> {
        ensemble_subset(self.programs.len(), self.size, self.seed, inputs)
    }
}

impl Module for Ensemble {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let chosen = self.chosen(&inputs);
            let children: Vec<CallContext> = chosen
                .iter()
                .map(|i| ctx.child(&format!("programs[{i}]")))
                .collect();
            let calls = chosen
                .iter()
                .zip(&children)
                .map(|(i, child)| self.programs[*i].call(inputs.clone(), child));
            let outputs = join_all(calls).await;
            let predictions = outputs.into_iter().collect::<Result<Vec<_>, _>>()?;
            (self.reduce)(predictions)
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        self.programs
            .iter()
            .enumerate()
            .flat_map(|(i, p)| prefixed(&format!("programs[{i}]"), p.named_predictors()))
            .collect()
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        self.programs
            .iter_mut()
            .enumerate()
            .flat_map(|(i, p)| prefixed(&format!("programs[{i}]"), p.named_predictors_mut()))
            .collect()
    }

    fn module_name(&self) -> &'static str {
        "Ensemble"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Prediction {
        Prediction::new(
            json!({"reasoning": "r", "answer": v})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
    }

    #[test]
    fn majority_votes_with_dspy_tie_breaking() {
        let preds = vec![
            p(json!("Paris")),
            p(json!("Lyon")),
            p(json!("the paris")),
            p(json!("")),
        ];
        let won = majority(&preds, None).expect("a winner");
        assert_eq!(won.get("answer"), Some(&json!("Paris")));
        let tie = vec![p(json!("b")), p(json!("c"))];
        assert_eq!(
            majority(&tie, Some("answer")).and_then(|w| w.get("answer").cloned()),
            Some(json!("b"))
        );
        assert!(majority(&[], None).is_none());
        let numbers = vec![p(json!(3)), p(json!(4)), p(json!(4))];
        assert_eq!(
            majority(&numbers, None).and_then(|w| w.get("answer").cloned()),
            Some(json!(4))
        );
    }
}
