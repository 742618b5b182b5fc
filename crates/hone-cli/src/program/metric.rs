//! Building the `[metric]`, including the external command metric that speaks JSON lines.

use std::path::PathBuf;
use std::sync::Arc;

use hone_core::{Example, Prediction, Signature};
use hone_eval::metric::{
    Contains, ExactMatch, JsonFieldMatch, LlmJudge, Metric, MetricError, MetricValue,
    NumericTolerance, TokenF1,
};
use hone_lm::BoxFuture;
use hone_modules::TraceEntry;
use serde_json::{Value, json};

use super::lms::Lms;
use super::load::Program;
use super::spec::MetricKind;
use crate::error::{Error, Result};
use crate::jsonl::JsonLinesProcess;

/// Builds the program's metric. Without `[metric]`: exact match on the last output field.
pub fn build_metric(program: &Program, lms: Option<&Lms>) -> Result<Arc<dyn Metric>> {
    let Some(spanned) = &program.metric else {
        let field = program
            .outputs
            .last()
            .cloned()
            .ok_or_else(|| Error::Usage("the program has no output field to score".into()))?;
        return Ok(Arc::new(ExactMatch::new(field)));
    };
    let spec = spanned.get_ref();
    let kind = *spec.kind.get_ref();
    let field = || -> Result<String> {
        match &spec.field {
            Some(f) => {
                if !program.outputs.contains(f.get_ref()) {
                    let outs: Vec<&str> = program.outputs.iter().map(String::as_str).collect();
                    return Err(program
                        .error_at(
                            f.span(),
                            format!(
                                "`{}` is not an output of the program (its outputs: {})",
                                f.get_ref(),
                                outs.join(", ")
                            ),
                        )
                        .field("metric.field")
                        .hint(crate::error::did_you_mean(f.get_ref(), &outs))
                        .into());
                }
                Ok(f.get_ref().clone())
            }
            None => program
                .outputs
                .last()
                .cloned()
                .ok_or_else(|| Error::Usage("the program has no output field to score".into())),
        }
    };
    Ok(match kind {
        MetricKind::ExactMatch => {
            let mut m = ExactMatch::new(field()?);
            if let Some(f) = spec.frac {
                m = m.frac(f);
            }
            Arc::new(m)
        }
        MetricKind::F1 => Arc::new(TokenF1::new(field()?)),
        MetricKind::Contains => Arc::new(Contains::new(field()?)),
        MetricKind::Numeric => {
            let mut m = NumericTolerance::new(field()?);
            if let Some(t) = spec.tolerance {
                m = m.absolute(t);
            }
            if let Some(r) = spec.relative {
                m = m.relative(r);
            }
            Arc::new(m)
        }
        MetricKind::JsonField => {
            if spec.fields.is_empty() {
                return Err(program
                    .error_at(spanned.span(), "a json_field metric needs `fields`")
                    .field("metric.fields")
                    .hint("add fields = [\"answer.name\", \"answer.age\"]")
                    .into());
            }
            let mut m = JsonFieldMatch::new(spec.fields.clone());
            if spec.strict {
                m = m.strict();
            }
            Arc::new(m)
        }
        MetricKind::Judge => {
            let Some(lms) = lms else {
                return Err(Error::Usage("a judge metric needs an LM".into()));
            };
            let lm = match &spec.lm {
                Some(name) => lms.get(name.get_ref())?,
                None => lms.role("judge")?,
            };
            let judge = match &spec.signature {
                None => LlmJudge::default_judge(lm),
                Some(s) => {
                    let sig = Signature::parse(s).map_err(|e| {
                        program.error_at_key(
                            "metric",
                            "signature",
                            format!("invalid judge signature: {e}"),
                        )
                    })?;
                    let score = spec.score_field.clone().unwrap_or_else(|| "score".into());
                    LlmJudge::new(sig, lm, score).map(|j| match &spec.feedback_field {
                        Some(f) => j.feedback_field(f.clone()),
                        None => j,
                    })
                }
            }
            .map_err(|e| {
                program
                    .error_at(spanned.span(), e.to_string())
                    .field("metric")
            })?;
            Arc::new(judge)
        }
        MetricKind::Command => {
            if spec.command.is_empty() {
                return Err(program
                    .error_at(spanned.span(), "a command metric needs `command`")
                    .field("metric.command")
                    .hint("add command = [\"python3\", \"metric.py\"]")
                    .into());
            }
            Arc::new(CommandMetric::new(spec.command.clone(), program.dir()))
        }
    })
}

/// A metric computed by a long-lived external process: for each prediction hone writes one
/// line `{"example": {...}, "prediction": {...}}` to its stdin and reads one line
/// `{"score": 0.0..1.0, "feedback": "..."}` (feedback optional) from its stdout. Calls are
/// serialized; the process starts on first use in the program file's directory and is killed
/// when the metric is dropped.
pub struct CommandMetric {
    name: String,
    proc: JsonLinesProcess,
}

impl std::fmt::Debug for CommandMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandMetric")
            .field("command", &self.proc.command())
            .finish_non_exhaustive()
    }
}

impl CommandMetric {
    /// A metric running `command` (program and arguments) in `dir`.
    pub fn new(command: Vec<String>, dir: PathBuf) -> Self {
        CommandMetric {
            name: format!("command({})", command.join(" ")),
            proc: JsonLinesProcess::new(command, dir),
        }
    }

    fn fail(&self, message: String) -> MetricError {
        MetricError::Other {
            metric: self.name.clone(),
            message,
        }
    }

    async fn ask(&self, line: String) -> Result<MetricValue, MetricError> {
        let answer = self.proc.exchange(&line).await.map_err(|m| self.fail(m))?;
        let value: Value = serde_json::from_str(answer.trim()).map_err(|e| {
            self.fail(format!(
                "expected a line like {{\"score\": 1.0, \"feedback\": \"...\"}}, got {:?} ({e})",
                answer.trim()
            ))
        })?;
        let score = value
            .get("score")
            .and_then(|s| {
                s.as_f64()
                    .or_else(|| s.as_bool().map(|b| f64::from(u8::from(b))))
            })
            .ok_or_else(|| {
                self.fail(format!(
                    "the answer {} has no numeric `score`",
                    answer.trim()
                ))
            })?;
        let mut v = MetricValue::new(score);
        if let Some(f) = value.get("feedback").and_then(Value::as_str) {
            v = v.with_feedback(f);
        }
        Ok(v)
    }
}

impl Metric for CommandMetric {
    fn name(&self) -> &str {
        &self.name
    }

    fn score<'a>(
        &'a self,
        example: &'a Example,
        prediction: &'a Prediction,
        _trace: Option<&'a [TraceEntry]>,
    ) -> BoxFuture<'a, Result<MetricValue, MetricError>> {
        let line =
            json!({"example": example.fields(), "prediction": prediction.fields()}).to_string();
        Box::pin(self.ask(line))
    }
}
