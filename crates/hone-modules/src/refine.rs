//! [`Refine`]: DSPy's `dspy.Refine` — [`BestOfN`](crate::BestOfN) that asks the LM for advice
//! after each attempt below the threshold and hands it to the predictors as a `hint_` input.

use std::collections::HashMap;
use std::sync::Arc;

use hone_core::adapter::pyfmt::{json_dumps_indent2, py_dedent, py_splitlines, py_str};
use hone_core::{Example, Field, FieldType, Prediction, Signature};
use hone_lm::BoxFuture;
use serde_json::{Value, json};

use crate::best_of_n::{RewardFn, Scored, attempt_context, count_failure, finish, scored_attempt};
use crate::context::{CallContext, Hints};
use crate::error::ModuleError;
use crate::module::Module;
use crate::predict::{Predict, relative_name};
use crate::trace::TraceSink;

const OFFER_FEEDBACK_INSTRUCTIONS: &str = "In the discussion, assign blame to each module that contributed to the final reward being below the threshold, if\nany. Then, prescribe concrete advice of how the module should act on its future input when we retry the process, if\nit were to receive the same or similar inputs. If a module is not to blame, the advice should be N/A.\nThe module will not see its own history, so it needs to rely on entirely concrete and actionable advice from you\nto avoid the same mistake on the same or similar inputs.";

/// DSPy's `OfferFeedback` signature, field for field.
pub fn offer_feedback_signature() -> Signature {
    let input = |name: &str, ty: FieldType, desc: &str| Field::new(name, ty).desc(desc);
    Signature {
        name: "OfferFeedback".into(),
        instructions: OFFER_FEEDBACK_INSTRUCTIONS.into(),
        inputs: vec![
            input("program_code", FieldType::Str, "The code of the program that we are analyzing"),
            input("modules_defn", FieldType::Str, "The definition of each module in the program, including its I/O"),
            input("program_inputs", FieldType::Str, "The inputs to the program that we are analyzing"),
            input("program_trajectory", FieldType::Str, "The trajectory of the program's execution, showing each module's I/O"),
            input("program_outputs", FieldType::Str, "The outputs of the program that we are analyzing"),
            input("reward_code", FieldType::Str, "The code of the reward function that we are analyzing"),
            input("target_threshold", FieldType::Float, "The target threshold for the reward function"),
            input("reward_value", FieldType::Float, "The reward value assigned to the program's outputs"),
            input("module_names", FieldType::list(FieldType::Str), "The names of the modules in the program, for which we seek advice"),
        ],
        outputs: vec![
            Field::new("discussion", FieldType::Str).desc("Discussing blame of where each module went wrong, if it did"),
            Field::new("advice", FieldType::dict(FieldType::Str, FieldType::Str)).desc(
                "For each module, describe very concretely, in this order: the specific scenarios in which it has made mistakes in the past and what each mistake was, followed by what it should do differently in that kind ofscenario in the future. If the module is not to blame, write N/A.",
            ),
        ],
    }
}

/// Runs a module up to `n` times like [`BestOfN`](crate::BestOfN), and after each attempt below
/// `threshold` (but the last) asks the LM for advice with DSPy's `OfferFeedback` signature; the
/// next attempt gives each predictor its advice (or `N/A`) in an extra `hint_` input field
/// ("A hint to the module from an earlier run"), as DSPy's `Refine` does.
///
/// DSPy shows the LM the Python source of the module and of the reward function; Rust has no
/// source at run time, so give them with [`Refine::with_program_code`] and
/// [`Refine::with_reward_code`] (by default a short placeholder). The feedback call uses the
/// context's LM (override or default) and is not traced.
#[derive(Clone)]
pub struct Refine<M> {
    module: M,
    n: usize,
    reward: RewardFn,
    threshold: f64,
    fail_count: Option<usize>,
    program_code: String,
    reward_code: String,
    feedback: Predict,
}

impl<M> std::fmt::Debug for Refine<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refine")
            .field("n", &self.n)
            .field("threshold", &self.threshold)
            .field("fail_count", &self.fail_count)
            .finish()
    }
}

impl<M: Module> Refine<M> {
    /// Up to `n` attempts of `module`, scored by `reward`, stopping at `threshold`.
    pub fn new(
        module: M,
        n: usize,
        reward: impl Fn(&Example, &Prediction) -> f64 + Send + Sync + 'static,
        threshold: f64,
    ) -> Self {
        let program_code = format!("{} (source not available)", module.module_name());
        let mut feedback = Predict::from_signature(offer_feedback_signature());
        // DSPy passes every feedback input as text (JSON dumps for numbers and lists).
        feedback.set_lenient_inputs();
        Refine {
            module,
            n,
            reward: Arc::new(move |inputs, prediction| Ok(reward(inputs, prediction))),
            threshold,
            fail_count: None,
            program_code,
            reward_code: "reward function (source not available)".to_owned(),
            feedback,
        }
    }

    /// Sets how many attempts may fail (default `n`).
    pub fn with_fail_count(mut self, fail_count: usize) -> Self {
        self.fail_count = Some(fail_count);
        self
    }

    /// The program's code shown to the feedback LM (DSPy: the module class's source).
    pub fn with_program_code(mut self, code: impl Into<String>) -> Self {
        self.program_code = code.into();
        self
    }

    /// Replaces the reward with one that may fail (a failure counts as a failed attempt).
    pub fn with_fallible_reward(
        mut self,
        reward: impl Fn(&Example, &Prediction) -> Result<f64, String> + Send + Sync + 'static,
    ) -> Self {
        self.reward = Arc::new(reward);
        self
    }

    /// The reward's code shown to the feedback LM (DSPy: the reward function's source).
    pub fn with_reward_code(mut self, code: impl Into<String>) -> Self {
        self.reward_code = code.into();
        self
    }

    /// The wrapped module.
    pub fn module(&self) -> &M {
        &self.module
    }

    /// Asks for advice on one attempt.
    async fn advise(
        &self,
        inputs: &Example,
        outputs: &Prediction,
        reward: f64,
        trace: &TraceSink,
        base: &str,
        ctx: &CallContext,
    ) -> Result<HashMap<String, String>, ModuleError> {
        let names: Vec<String> = self
            .module
            .named_predictors()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let trajectory: Vec<Value> = trace
            .entries()
            .into_iter()
            .map(|e| {
                json!({
                    "module_name": relative_name(&e.predictor, base),
                    "inputs": Value::Object(e.inputs.into_fields()),
                    "outputs": Value::Object(e.outputs.into_fields()),
                })
            })
            .collect();
        let args = Example::new()
            .with("program_code", self.program_code.clone())
            .with("modules_defn", inspect_modules(&self.module))
            .with(
                "program_inputs",
                json_dumps_indent2(&Value::Object(inputs.fields().clone())),
            )
            .with(
                "program_trajectory",
                json_dumps_indent2(&Value::Array(trajectory)),
            )
            .with(
                "program_outputs",
                json_dumps_indent2(&Value::Object(outputs.fields().clone())),
            )
            .with("reward_code", self.reward_code.clone())
            .with(
                "target_threshold",
                json_dumps_indent2(&json!(self.threshold)),
            )
            .with("reward_value", json_dumps_indent2(&json!(reward)))
            .with("module_names", json_dumps_indent2(&json!(names)));
        let fctx = ctx.child("feedback").without_trace();
        let out = self.feedback.call(args, &fctx).await?;
        let advice = match out.get("advice") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), py_str(v))).collect(),
            _ => HashMap::new(),
        };
        Ok(advice)
    }
}

impl<M: Module> Module for Refine<M> {
    fn forward<'a>(
        &'a self,
        inputs: Example,
        ctx: &'a CallContext,
    ) -> BoxFuture<'a, Result<Prediction, ModuleError>> {
        Box::pin(async move {
            let allowed = self.fail_count.unwrap_or(self.n);
            let mut best: Option<Scored> = None;
            let mut failed = 0;
            let mut last_err = None;
            let mut advice: Option<HashMap<String, String>> = None;
            let child = ctx.child("module");
            for i in 0..self.n {
                let sink = TraceSink::new();
                let mut actx = attempt_context(&child, i, &sink);
                if let Some(advice) = &advice {
                    actx.hints = Some(Arc::new(Hints {
                        base: Arc::from(child.path()),
                        advice: advice.clone(),
                    }));
                }
                let attempt =
                    scored_attempt("Refine", &self.module, &self.reward, &inputs, &actx).await;
                let result = match attempt {
                    Ok((outputs, reward)) => {
                        let trace = sink.entries();
                        if best.as_ref().is_none_or(|b| reward > b.reward) {
                            best = Some(Scored {
                                prediction: outputs.clone(),
                                reward,
                                trace,
                            });
                        }
                        if reward >= self.threshold || i + 1 == self.n {
                            break;
                        }
                        self.advise(&inputs, &outputs, reward, &sink, child.path(), ctx)
                            .await
                            .map(|a| advice = Some(a))
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    last_err = Some(count_failure("Refine", &mut failed, allowed, i + 1, e)?);
                }
            }
            finish("Refine", best, failed, allowed, self.n, last_err, ctx)
        })
    }

    fn named_predictors(&self) -> Vec<(String, &Predict)> {
        crate::module::prefixed("module", self.module.named_predictors())
    }

    fn named_predictors_mut(&mut self) -> Vec<(String, &mut Predict)> {
        crate::module::prefixed("module", self.module.named_predictors_mut())
    }

    fn module_name(&self) -> &'static str {
        "Refine"
    }
}

/// DSPy's `inspect_modules`: each predictor's fields and instructions.
pub fn inspect_modules<M: Module + ?Sized>(program: &M) -> String {
    let separator = "-".repeat(80);
    let mut output = vec![separator.clone()];
    let indent = |text: &str| {
        let mut parts = vec![String::new()];
        parts.extend(py_splitlines(text).into_iter().map(str::to_owned));
        parts.join("\n\t\t")
    };
    for (name, predictor) in program.named_predictors() {
        let sig = predictor.signature();
        output.push(format!("Module {name}"));
        output.push("\n\tInput Fields:".to_owned());
        output.push(indent(&field_descriptions(&sig.inputs)));
        output.push("\tOutput Fields:".to_owned());
        output.push(indent(&field_descriptions(&sig.outputs)));
        output.push(format!(
            "\tOriginal Instructions: {}",
            indent(&py_dedent(&sig.instructions))
        ));
        output.push(separator.clone());
    }
    output
        .iter()
        .map(|o| o.trim_matches('\n'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// DSPy's `get_field_description_string`.
fn field_descriptions(fields: &[Field]) -> String {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut s = format!(
                "{}. `{}` ({}): {}",
                i + 1,
                f.name,
                f.ty.python_name(),
                f.shown_description()
            );
            if let Some(c) = &f.constraints {
                s.push_str(&format!("\nConstraints: {c}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}
