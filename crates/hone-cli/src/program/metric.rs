//! Building the `[metric]`, including the external command metric that speaks JSON lines.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
            let mut metric = CommandMetric::new(spec.command.clone(), program.dir());
            if let Some(secs) = spec.timeout_secs {
                match Duration::try_from_secs_f64(secs) {
                    Ok(t) if secs > 0.0 => metric = metric.timeout(t),
                    _ => {
                        return Err(program
                            .error_at_key(
                                "metric",
                                "timeout_secs",
                                format!("`timeout_secs` must be a positive number of seconds, got {secs}"),
                            )
                            .into());
                    }
                }
            }
            Arc::new(metric)
        }
    })
}

/// The default per-answer timeout of a command metric.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A metric computed by a long-lived external process, speaking JSON lines (see
/// `docs/command-metric.md`). For each prediction hone writes one line
/// `{"id": N, "example": {...}, "prediction": {...}}` to its stdin and reads one line
/// `{"id": N, "score": 0.0..1.0, "feedback": "...", "objectives": {"name": score}}` (feedback
/// and objectives optional) from its stdout.
///
/// - The answer echoes the request's `id`; an answer with another id (an extra line, a line
///   left over from an earlier request) is an error, never taken as the score of this one. A
///   process that never echoes ids (the protocol before ids) is still served, matched by order,
///   once its first answer has no `id`; one that echoed ids must keep doing so.
/// - An answer must arrive within the timeout (`timeout_secs`, default 60 s); otherwise the
///   call fails and the process is killed and started again for the next call.
/// - Calls are serialized; the process starts on first use in the program file's directory and
///   is killed and reaped when a call fails or when the metric is dropped.
pub struct CommandMetric {
    name: String,
    proc: JsonLinesProcess,
    next_id: std::sync::atomic::AtomicU64,
    /// Whether the process echoes ids: unknown until its first answer.
    echoes: std::sync::Mutex<Option<bool>>,
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
            proc: JsonLinesProcess::new(command, dir).timeout(COMMAND_TIMEOUT),
            next_id: std::sync::atomic::AtomicU64::new(1),
            echoes: std::sync::Mutex::new(None),
        }
    }

    /// Sets the per-answer timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.proc = self.proc.timeout(timeout);
        self
    }

    fn fail(&self, message: String) -> MetricError {
        MetricError::Other {
            metric: self.name.clone(),
            message,
        }
    }

    async fn ask(
        &self,
        example: &Example,
        prediction: &Prediction,
    ) -> Result<MetricValue, MetricError> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let line =
            json!({"id": id, "example": example.fields(), "prediction": prediction.fields()})
                .to_string();
        let answer = self.proc.exchange(&line).await.map_err(|m| {
            self.fail(if m.starts_with("no answer within") {
                format!("{m} (request {id}; raise `timeout_secs` in [metric] if it needs longer)")
            } else {
                m
            })
        })?;
        match self.check(id, &answer) {
            Ok(v) => Ok(v),
            Err(m) => {
                // The process is out of step (or broken): start it afresh for the next call.
                self.proc.restart().await;
                Err(self.fail(m))
            }
        }
    }

    /// Reads one answer line for request `id`.
    fn check(&self, id: u64, answer: &str) -> std::result::Result<MetricValue, String> {
        let text = answer.trim();
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "expected a line like {{\"id\": {id}, \"score\": 1.0, \"feedback\": \"...\"}}, got {text:?} ({e})"
            )
        })?;
        {
            let mut echoes = self
                .echoes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match (value.get("id"), *echoes) {
                (Some(v), None | Some(true)) => {
                    *echoes = Some(true);
                    if v.as_u64() != Some(id) {
                        return Err(format!(
                            "the answer {text} is for request {v}, not {id}: the command wrote an \
                             extra line or skipped one; write exactly one answer line per request"
                        ));
                    }
                }
                (None, None) => *echoes = Some(false),
                (None, Some(false)) => {}
                (None, Some(true)) => {
                    return Err(format!(
                        "the answer {text} has no `id` (earlier answers echoed it); echo the request's id"
                    ));
                }
                (Some(_), Some(false)) => {
                    return Err(format!(
                        "the answer {text} has an `id` but earlier answers had none; echo the id in every answer"
                    ));
                }
            }
        }
        let score = value
            .get("score")
            .and_then(|s| {
                s.as_f64()
                    .or_else(|| s.as_bool().map(|b| f64::from(u8::from(b))))
            })
            .ok_or_else(|| format!("the answer {text} has no numeric `score`"))?;
        let mut v = MetricValue::new(score);
        if let Some(f) = value.get("feedback").and_then(Value::as_str) {
            v = v.with_feedback(f);
        }
        match value.get("objectives") {
            None | Some(Value::Null) => {}
            Some(Value::Object(objectives)) => {
                for (name, score) in objectives {
                    let score = score.as_f64().ok_or_else(|| {
                        format!(
                            "the answer {text} has a non-numeric objective `{name}`; write                              `objectives` as {{\"name\": score, ...}} with numbers"
                        )
                    })?;
                    v = v.with_objective(name.clone(), score);
                }
            }
            Some(_) => {
                return Err(format!(
                    "the answer {text} has `objectives` that is not an object; write it as \
                     {{\"name\": score, ...}}"
                ));
            }
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
        Box::pin(self.ask(example, prediction))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric() -> CommandMetric {
        CommandMetric::new(vec!["true".into()], PathBuf::from("."))
    }

    #[test]
    fn an_answer_may_carry_named_objective_scores() {
        let v = metric()
            .check(
                1,
                r#"{"id": 1, "score": 0.5, "objectives": {"accuracy": 1.0, "brevity": 0.25}}"#,
            )
            .expect("a valid answer");
        assert_eq!(v.score, 0.5);
        assert_eq!(
            v.objectives,
            std::collections::BTreeMap::from([
                ("accuracy".to_owned(), 1.0),
                ("brevity".to_owned(), 0.25)
            ])
        );
        let plain = metric()
            .check(1, r#"{"id": 1, "score": 1}"#)
            .expect("a valid answer");
        assert!(plain.objectives.is_empty());
    }

    #[test]
    fn malformed_objectives_are_errors_that_say_how_to_write_them() {
        let err = metric()
            .check(
                1,
                r#"{"id": 1, "score": 0.5, "objectives": {"accuracy": "high"}}"#,
            )
            .expect_err("a text objective");
        assert!(err.contains("non-numeric objective `accuracy`"), "{err}");
        let err = metric()
            .check(1, r#"{"id": 1, "score": 0.5, "objectives": [1, 2]}"#)
            .expect_err("a list");
        assert!(err.contains("`objectives` that is not an object"), "{err}");
    }
}
