//! Building candidates from the hard examples: a source program drawn from the pool, demos
//! dropped, and the `append_a_demo` or `append_a_rule` strategy with its advice call.

use hone_core::state::ProgramState;
use hone_core::{Example, FieldType, Prediction};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::Simba;
use super::draws::poisson;
use super::prompts::{inspect_modules, json_text, offer_feedback};
use super::state::{Buckets, Phase, Planned, Trajectory};
use crate::log::LogEvent;
use crate::program::{StoredProgram, augmented_demo};
use crate::protocol::{CallSettings, JobResult, JobSpec};
use crate::steps::{self, predict_failure, predict_spec, predictions};

impl Simba {
    /// Builds candidates from the next ranked examples until `num_candidates + 1` are planned
    /// (or the examples run out); asks for the advice the `append_a_rule` ones need.
    pub(super) fn plan_candidates(&mut self, mut buckets: Buckets, mut planned: Vec<Planned>) {
        let target = self.config.num_candidates + 1;
        while planned.len() < target && buckets.next < buckets.ranked.len() {
            let (position, bucket) = buckets.ranked[buckets.next].clone();
            buckets.next += 1;
            let top = self.top_k_plus_baseline(self.config.num_candidates);
            let source = self.softmax_sample(&top, self.config.temperature_for_candidates);
            let mut program = self.pool[source].program.0.clone();
            let dropped = self.drop_demos(&mut program);
            let strategies: &[&str] = if self.config.max_demos > 0 {
                &["append_a_demo", "append_a_rule"]
            } else {
                &["append_a_rule"]
            };
            let strategy = strategies[self.rng.below(strategies.len())];
            let mut awaiting_advice = false;
            if strategy == "append_a_demo" {
                self.append_a_demo(&bucket, &mut program, buckets.p10);
            } else if let Some(spec) =
                self.advice_call(position, &bucket, &program, buckets.p10, buckets.p90)
            {
                self.book.create(spec);
                awaiting_advice = true;
            }
            self.log.push(LogEvent::Note {
                message: format!(
                    "step {}: candidate from program {source} by {strategy}{}",
                    self.step + 1,
                    if dropped > 0 {
                        format!(", {dropped} demo(s) dropped per predictor")
                    } else {
                        String::new()
                    }
                ),
            });
            planned.push(Planned {
                program: StoredProgram(program),
                source,
                strategy: strategy.into(),
                awaiting_advice,
            });
        }
        if planned.iter().any(|p| p.awaiting_advice) {
            self.phase = Phase::Advice { buckets, planned };
        } else {
            self.evaluate_candidates(planned);
        }
    }

    /// Drops `max(Poisson(demos / max_demos), demos >= max_demos)` random demo positions from
    /// every predictor (DSPy's rule); returns how many positions were drawn.
    pub(super) fn drop_demos(&mut self, program: &mut ProgramState) -> usize {
        let num_demos = program
            .predictors
            .values()
            .map(|p| p.demos.len())
            .max()
            .unwrap_or(0);
        let max_demos = if self.config.max_demos > 0 {
            self.config.max_demos
        } else {
            3
        };
        let lambda = num_demos as f64 / max_demos as f64;
        let drop = poisson(lambda, &mut self.rng).max(usize::from(num_demos >= max_demos));
        let drop = drop.min(num_demos);
        let positions: Vec<usize> = (0..drop).map(|_| self.rng.below(num_demos)).collect();
        for predictor in program.predictors.values_mut() {
            let demos = std::mem::take(&mut predictor.demos);
            predictor.demos = demos
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !positions.contains(i))
                .map(|(_, d)| d)
                .collect();
        }
        drop
    }

    /// DSPy's `append_a_demo`: the best trajectory's last call of each predictor becomes a demo
    /// of that predictor (skipped when the best score is at or below the batch's 10th
    /// percentile).
    pub(super) fn append_a_demo(
        &mut self,
        bucket: &[Trajectory],
        program: &mut ProgramState,
        p10: f64,
    ) {
        let Some(good) = bucket.first() else { return };
        if good.value() <= p10 {
            return;
        }
        let maxlen = self.config.demo_input_field_maxlen;
        let mut demos: IndexMap<String, Example> = IndexMap::new();
        for step in &good.trace {
            let mut step = step.clone();
            if maxlen > 0 {
                let mut inputs = Map::new();
                for (k, v) in step.inputs.fields() {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let value = if text.chars().count() > maxlen {
                        let cut: String = text.chars().take(maxlen).collect();
                        Value::String(format!("{cut}\n\t\t... <TRUNCATED FOR BREVITY>"))
                    } else {
                        v.clone()
                    };
                    inputs.insert(k.clone(), value);
                }
                step.inputs = Example::from_map(inputs);
            }
            if program.predictors.contains_key(&step.predictor) {
                demos.insert(step.predictor.clone(), augmented_demo(&step));
            }
        }
        for (name, demo) in demos {
            if let Some(p) = program.predictors.get_mut(&name) {
                self.log.push(LogEvent::Proposal {
                    predictor: name.clone(),
                    text: Value::Object(demo.fields().clone()).to_string(),
                    source: "simba_demo".into(),
                });
                p.demos.push(demo);
            }
        }
    }

    /// The `OfferFeedback` call of DSPy's `append_a_rule` for the example at `position`, or
    /// `None` when DSPy skips it (best at or below the 10th percentile, or worst at or above
    /// the 90th).
    pub(super) fn advice_call(
        &self,
        position: usize,
        bucket: &[Trajectory],
        program: &ProgramState,
        p10: f64,
        p90: f64,
    ) -> Option<JobSpec> {
        let (mut good, mut bad) = (bucket.first()?.clone(), bucket.last()?.clone());
        if good.value() <= p10 || bad.value() >= p90 {
            return None;
        }
        if good.value() <= bad.value() {
            let na = |t: &mut Trajectory| {
                t.trace.clear();
                t.score = None;
                let mut p = Map::new();
                p.insert("N/A".into(), json!("Prediction not available"));
                t.prediction = Some(Prediction::new(p));
            };
            if good.value() > p90 {
                na(&mut bad);
            } else {
                na(&mut good);
            }
        }
        let example = &self.trainset[self.batch[position]].example;
        let names: Vec<String> = program.predictors.keys().cloned().collect();
        let trajectory = |t: &Trajectory| -> Value {
            Value::Array(
                t.trace
                    .iter()
                    .filter(|s| program.predictors.contains_key(&s.predictor))
                    .map(|s| {
                        json!({
                            "module_name": s.predictor,
                            "inputs": Value::Object(s.inputs.fields().clone()),
                            "outputs": Value::Object(s.outputs.fields().clone()),
                        })
                    })
                    .collect(),
            )
        };
        let outputs = |t: &Trajectory| -> Value {
            t.prediction
                .as_ref()
                .map_or(json!({}), |p| Value::Object(p.fields().clone()))
        };
        // DSPy passes every input as text (JSON for non-strings); hone passes the values, which
        // render as the same text, so that the declared float and list types hold.
        let reward =
            |t: &Trajectory| -> Value { t.score.map_or_else(|| json!("N/A"), |s| json!(s)) };
        let inputs: Vec<(&str, Value)> = vec![
            ("program_code", json!(steps::program_code(program))),
            ("modules_defn", json!(inspect_modules(program))),
            (
                "program_inputs",
                json!(json_text(&Value::Object(example.inputs().into_fields()))),
            ),
            (
                "oracle_metadata",
                json!(json_text(&Value::Object(example.labels().into_fields()))),
            ),
            (
                "worse_program_trajectory",
                json!(json_text(&trajectory(&bad))),
            ),
            ("worse_program_outputs", json!(json_text(&outputs(&bad)))),
            ("worse_reward_value", reward(&bad)),
            ("worse_reward_info", json!("{}")),
            (
                "better_program_trajectory",
                json!(json_text(&trajectory(&good))),
            ),
            ("better_program_outputs", json!(json_text(&outputs(&good)))),
            ("better_reward_value", reward(&good)),
            ("better_reward_info", json!("{}")),
            ("module_names", json!(names)),
        ];
        let mut signature = offer_feedback();
        let mut fields = Map::new();
        for (k, v) in inputs {
            // DSPy's "N/A" reward: the field then takes text.
            if v.is_string()
                && let Some(f) = signature
                    .inputs
                    .iter_mut()
                    .find(|f| f.name == k && f.ty == FieldType::Float)
            {
                f.ty = FieldType::Str;
            }
            fields.insert(k.into(), v);
        }
        Some(predict_spec(
            "simba_advice",
            signature,
            Example::from_map(fields),
            1,
            CallSettings::default(),
        ))
    }

    pub(super) fn after_advice(
        &mut self,
        buckets: Buckets,
        planned: Vec<Planned>,
        results: Vec<JobResult>,
    ) {
        let mut results = results.into_iter();
        let mut kept = Vec::with_capacity(planned.len());
        for mut candidate in planned {
            if !candidate.awaiting_advice {
                kept.push(candidate);
                continue;
            }
            candidate.awaiting_advice = false;
            let Some(result) = results.next() else { break };
            let advice = predictions(&result.output)
                .first()
                .and_then(|p| p.get("module_advice"))
                .and_then(Value::as_object)
                .cloned();
            let Some(advice) = advice else {
                let why = predict_failure(&result.output);
                self.log.push(LogEvent::Note {
                    message: format!(
                        "step {}: the advice call failed ({why}); dropping that candidate",
                        self.step + 1
                    ),
                });
                continue;
            };
            let program = &mut candidate.program.0;
            for (name, predictor) in program.predictors.iter_mut() {
                let Some(text) = advice.get(name) else {
                    continue;
                };
                let text = match text {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                self.log.push(LogEvent::Proposal {
                    predictor: name.clone(),
                    text: text.clone(),
                    source: "simba_rule".into(),
                });
                predictor.signature.instructions =
                    format!("{}\n\n{text}", predictor.signature.instructions);
            }
            kept.push(candidate);
        }
        self.plan_candidates(buckets, kept);
    }
}
