//! [`MultiChainComparison`]: DSPy's `dspy.MultiChainComparison` — compare M reasoning
//! attempts and write a corrected one.

use hone_core::adapter::pyfmt::{py_str, py_strip};
use hone_core::{Example, Field, FieldRole, FieldType, Prediction, SignatureError};
use hone_lm::BoxFuture;
use serde_json::Value;

use crate::context::{CallContext, Sampling};
use crate::error::ModuleError;
use crate::module::Module;
use crate::predict::{IntoSignature, Predict};

/// Reads `m` earlier attempts (each with a `rationale` or `reasoning` and the signature's last
/// output) and answers with an `Accurate Reasoning` rationale, as DSPy's
/// `MultiChainComparison` (`M` default 3, temperature 0.7).
///
/// Call [`MultiChainComparison::compare`] with the attempts, or [`Module::call`] with the
/// attempts as an array of objects in the input field `completions`.
///
/// ```
/// use hone_modules::{Module, MultiChainComparison};
/// let mcc = MultiChainComparison::new("question -> answer", 3).unwrap();
/// let sig = mcc.predict().signature();
/// assert_eq!(sig.field_string(),
///     "question, reasoning_attempt_1, reasoning_attempt_2, reasoning_attempt_3 -> rationale, answer");
/// ```
#[derive(Debug, Clone)]
pub struct MultiChainComparison {
    m: usize,
    last_key: String,
    predict: Predict,
}

impl MultiChainComparison {
    /// Compares `m` attempts for `signature`.
    pub fn new(signature: impl IntoSignature, m: usize) -> Result<Self, SignatureError> {
        let mut sig = signature.into_signature()?;
        let last_key = sig
            .outputs
            .last()
            .map(|f| f.name.clone())
            .unwrap_or_default();
        for idx in 1..=m {
            sig = sig.with_field_at(
                FieldRole::Input,
                usize::MAX,
                Field::new(format!("reasoning_attempt_{idx}"), FieldType::Str)
                    .prefix(format!("Student Attempt #{idx}:"))
                    .desc("${reasoning attempt}"),
            )?;
        }
        sig = sig.with_field_at(
            FieldRole::Output,
            0,
            Field::new("rationale", FieldType::Str)
                .prefix("Accurate Reasoning: Thank you everyone. Let's now holistically")
                .desc("${corrected reasoning}"),
        )?;
        Ok(MultiChainComparison {
            m,
            last_key,
            predict: Predict::from_signature(sig).with_config(Sampling::new().temperature(0.7)),
        })
    }

    /// The inner predictor.
    pub fn predict(&self) -> &Predict {
        &self.predict
    }

    /// Compares `completions` (exactly `m` of them) and answers.
    pub async fn compare(
        &self,
        completions: &[Prediction],
        inputs: Example,
        ctx: &CallContext,
    ) -> Result<Prediction, ModuleError> {
        let attempts = self.attempts(completions.iter().map(Prediction::fields))?;
        let mut all = Example::new();
        for (i, a) in attempts.into_iter().enumerate() {
            all.insert(format!("reasoning_attempt_{}", i + 1), a);
        }
        for (k, v) in inputs.fields() {
            all.insert(k.clone(), v.clone());
        }
        self.predict.call(all, &ctx.child("predict")).await
    }

    fn attempts<'c>(
        &self,
        completions: impl Iterator<Item = &'c serde_json::Map<String, Value>>,
    ) -> Result<Vec<String>, ModuleError> {
        let first_line = |v: &Value| {
            let s = py_str(v);
            let s = py_strip(&s);
            py_strip(s.split('\n').next().unwrap_or("")).to_owned()
        };
        let mut out = Vec::new();
        for (i, c) in completions.enumerate() {
            let rationale = c
                .get("rationale")
                .or_else(|| c.get("reasoning"))
                .ok_or_else(|| ModuleError::InvalidInput {
                    module: "MultiChainComparison".into(),
                    message: format!(
                        "completion #{} has neither `rationale` nor `reasoning`",
                        i + 1
                    ),
                })?;
            let answer = c
                .get(&self.last_key)
                .ok_or_else(|| ModuleError::InvalidInput {
                    module: "MultiChainComparison".into(),
                    message: format!("completion #{} has no `{}`", i + 1, self.last_key),
                })?;
            out.push(format!(
                "«I'm trying to {} I'm not sure but my prediction is {}»",
                first_line(rationale),
                first_line(answer)
            ));
        }
        if out.len() != self.m {
            return Err(ModuleError::InvalidInput {
                module: "MultiChainComparison".into(),
                message: format!(
                    "The number of attempts ({}) doesn't match the expected number M ({}). Please set the correct value for M when initializing MultiChainComparison.",
                    out.len(),
                    self.m
                ),
            });
        }
        Ok(out)
    }
}

impl Module for MultiChainComparison {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let mut fields = inputs.into_fields();
            let completions = match fields.remove("completions") {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(ModuleError::InvalidInput {
                        module: "MultiChainComparison".into(),
                        message: "pass the attempts as an array of objects in the input field `completions`".into(),
                    });
                }
            };
            let preds: Vec<Prediction> = completions
                .into_iter()
                .map(|c| match c {
                    Value::Object(m) => Ok(Prediction::new(m)),
                    other => Err(ModuleError::InvalidInput {
                        module: "MultiChainComparison".into(),
                        message: format!("each completion must be an object, got {other}"),
                    }),
                })
                .collect::<Result<_, _>>()?;
            self.compare(&preds, Example::from_map(fields), ctx).await
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        vec![("predict".to_owned(), &self.predict)]
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        vec![("predict".to_owned(), &mut self.predict)]
    }

    fn module_name(&self) -> &'static str {
        "MultiChainComparison"
    }
}
