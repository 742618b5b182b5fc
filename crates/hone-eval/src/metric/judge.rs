//! [`LlmJudge`]: a metric that asks an LM, through a `Predict` built from a signature.

use std::sync::Arc;

use hone_core::{Example, Prediction, Signature};
use hone_lm::{BoxFuture, LmHandle};
use hone_modules::{CallContext, Module, Predict, TraceEntry};
use serde_json::Value;

use super::{Metric, MetricError, MetricValue, as_text, check_range};

type InputMap = Arc<dyn Fn(&Example, &Prediction) -> Example + Send + Sync>;

/// An LM-judge metric: runs a `Predict` of its signature on the judge LM and reads the score
/// (and optional feedback) from its outputs.
///
/// The judge's inputs are filled by name: a field named `example` receives the whole example
/// as JSON text, `prediction` the whole prediction; any other field takes the prediction's
/// value of that name, else the example's. [`map_inputs`](Self::map_inputs) replaces this.
///
/// The score field may be a `bool` (1 or 0), a number in `[0, 1]`, or text `yes`/`no`,
/// `true`/`false`, or a number.
///
/// ```
/// use hone_core::Signature;
/// use hone_eval::metric::{LlmJudge, Metric};
/// # fn lm() -> hone_lm::LmHandle { unimplemented!() }
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let sig = Signature::parse("question, answer, reference -> feedback: str, correct: bool")?;
/// let judge = LlmJudge::new(sig, lm(), "correct")?.feedback_field("feedback");
/// assert_eq!(judge.name(), "llm_judge(correct)");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LlmJudge {
    predict: Predict,
    lm: LmHandle,
    score_field: String,
    feedback_field: Option<String>,
    map: Option<InputMap>,
    name: String,
}

impl std::fmt::Debug for LlmJudge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmJudge")
            .field("signature", &self.predict.signature().field_string())
            .field("score_field", &self.score_field)
            .field("feedback_field", &self.feedback_field)
            .finish_non_exhaustive()
    }
}

impl LlmJudge {
    /// A judge of `signature` on `lm`, reading the score from the output `score_field`.
    pub fn new(
        signature: Signature,
        lm: LmHandle,
        score_field: impl Into<String>,
    ) -> Result<Self, MetricError> {
        let score_field = score_field.into();
        let name = format!("llm_judge({score_field})");
        let is_output = signature
            .field(&score_field)
            .is_some_and(|(role, _)| role == hone_core::FieldRole::Output);
        if !is_output {
            return Err(MetricError::Other {
                metric: name,
                message: format!(
                    "the judge signature `{}` has no output field `{score_field}`; add it or \
                     name an existing output field",
                    signature.field_string()
                ),
            });
        }
        Ok(LlmJudge {
            predict: Predict::from_signature(signature),
            lm,
            score_field,
            feedback_field: None,
            map: None,
            name,
        })
    }

    /// A general-purpose judge: `example, prediction -> feedback, score: float`.
    pub fn default_judge(lm: LmHandle) -> Result<Self, MetricError> {
        let sig = Signature::parse("example: str, prediction: str -> feedback: str, score: float")
            .map_err(|e| MetricError::Other {
                metric: "llm_judge".into(),
                message: e.to_string(),
            })?
            .with_instructions(
                "Judge whether the prediction correctly answers the example (the example holds \
                 the inputs and the expected outputs). Explain briefly in `feedback`, then give \
                 `score` from 0.0 (wrong) to 1.0 (fully correct).",
            );
        Ok(LlmJudge::new(sig, lm, "score")?.feedback_field("feedback"))
    }

    /// Reads feedback from this output field.
    pub fn feedback_field(mut self, field: impl Into<String>) -> Self {
        self.feedback_field = Some(field.into());
        self
    }

    /// Builds the judge's inputs with a closure instead of by name.
    pub fn map_inputs(
        mut self,
        map: impl Fn(&Example, &Prediction) -> Example + Send + Sync + 'static,
    ) -> Self {
        self.map = Some(Arc::new(map));
        self
    }

    fn inputs(&self, example: &Example, prediction: &Prediction) -> Example {
        if let Some(map) = &self.map {
            return map(example, prediction);
        }
        let mut inputs = Example::new();
        for (role, field) in self.predict.signature().fields() {
            if role != hone_core::FieldRole::Input {
                continue;
            }
            let value = match field.name.as_str() {
                "example" => Some(Value::String(
                    serde_json::to_string(example.fields()).unwrap_or_default(),
                )),
                "prediction" => Some(Value::String(
                    serde_json::to_string(prediction.fields()).unwrap_or_default(),
                )),
                name => prediction.get(name).or_else(|| example.get(name)).cloned(),
            };
            if let Some(value) = value {
                inputs.insert(field.name.clone(), value);
            }
        }
        inputs
    }

    fn read_score(&self, out: &Prediction) -> Result<MetricValue, MetricError> {
        let raw = out
            .get(&self.score_field)
            .ok_or_else(|| MetricError::MissingOutput {
                metric: self.name.clone(),
                field: self.score_field.clone(),
                available: out.fields().keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        let score = match raw {
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.trim().to_lowercase().as_str() {
                "yes" | "true" | "correct" => Some(1.0),
                "no" | "false" | "incorrect" => Some(0.0),
                other => other.parse::<f64>().ok(),
            },
            _ => None,
        }
        .ok_or_else(|| MetricError::Type {
            metric: self.name.clone(),
            field: self.score_field.clone(),
            message: format!("the judge answered {raw}, which is not a score"),
        })?;
        let mut value = check_range(&self.name, MetricValue::new(score))?;
        if let Some(field) = &self.feedback_field
            && let Some(feedback) = out.get(field)
        {
            value.feedback = Some(as_text(feedback));
        }
        Ok(value)
    }
}

impl Metric for LlmJudge {
    fn name(&self) -> &str {
        &self.name
    }

    fn score<'a>(
        &'a self,
        example: &'a Example,
        prediction: &'a Prediction,
        _trace: Option<&'a [TraceEntry]>,
    ) -> BoxFuture<'a, Result<MetricValue, MetricError>> {
        Box::pin(async move {
            let ctx = CallContext::with_default_lm(self.lm.clone());
            let out = self
                .predict
                .call(self.inputs(example, prediction), &ctx)
                .await
                .map_err(|source| MetricError::Judge {
                    metric: self.name.clone(),
                    source: Box::new(source),
                })?;
            self.read_score(&out)
        })
    }
}
