//! GEPA's reflective mutation pieces: the reflective dataset built from traces and feedback,
//! the reflection prompt (DSPy's `ProposeInstruction` signature, DSPy 3.4's default proposer),
//! and gepa's epoch-shuffled minibatch sampler.

use hone_core::{Example, Field, FieldType, Signature};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::rng::OptRng;
use crate::steps::{Scored, input_fields};

/// The instructions of DSPy's `ProposeInstruction` signature.
pub const PROPOSE_INSTRUCTION: &str = "I provided an assistant with instructions to perform a task for me. You are given those instructions, along with examples of different task inputs provided to the assistant, the assistant's response for each of them, and some feedback on how the assistant's response could be better.

Your task is to write a new instruction for the assistant.

Read the inputs carefully and identify the input format and infer detailed task description about the task I wish to solve with the assistant.

Read all the assistant responses and the corresponding feedback. Identify all niche and domain specific factual information about the task and include it in the instruction, as a lot of it may not be available to the assistant in the future. The assistant may have utilized a generalizable strategy to solve the task, if so, include that in the instruction as well.";

/// DSPy's `ProposeInstruction` signature: `current_instruction: str, examples_with_feedback:
/// list[dict[str, Any]] -> new_instruction: str`.
pub fn propose_instruction_signature() -> Signature {
    Signature {
        name: "ProposeInstruction".into(),
        instructions: PROPOSE_INSTRUCTION.into(),
        inputs: vec![
            Field::new("current_instruction", FieldType::Str)
                .desc("The instructions I provided to the assistant."),
            Field::new(
                "examples_with_feedback",
                FieldType::list(FieldType::dict(FieldType::Str, FieldType::Any)),
            )
            .desc(
                "Task inputs provided to the assistant, the assistant's response for each, and \
                 feedback on how the response could be better.",
            ),
        ],
        outputs: vec![
            Field::new("new_instruction", FieldType::Str)
                .desc("The new instruction for the assistant."),
        ],
    }
}

/// The inputs of a reflection call.
pub fn reflection_inputs(current: &str, examples: &[Value]) -> Example {
    Example::new()
        .with("current_instruction", current)
        .with("examples_with_feedback", Value::Array(examples.to_vec()))
        .with_inputs(["current_instruction", "examples_with_feedback"])
}

/// Python's `str(float)` for the scores GEPA writes into default feedback.
pub fn py_float(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// DSPy's `make_reflective_dataset` for one component: for each example of the minibatch that
/// ran the component, one of its calls (drawn at random when it ran several times) with the
/// example's feedback — `{"Inputs": ..., "Generated Outputs": ..., "Feedback": ...}`.
pub(crate) fn reflective_examples(
    component: &str,
    outcomes: &[Scored],
    rng: &mut OptRng,
) -> Vec<Value> {
    let mut items = Vec::new();
    for outcome in outcomes {
        let steps: Vec<_> = outcome
            .trace
            .iter()
            .filter(|s| s.predictor == component)
            .collect();
        if steps.is_empty() || outcome.prediction.is_none() {
            continue;
        }
        let step = steps[rng.below(steps.len())];
        let feedback = outcome.feedback.clone().unwrap_or_else(|| {
            format!(
                "This trajectory got a score of {}.",
                py_float(outcome.score)
            )
        });
        let inputs: Map<String, Value> = input_fields(&step.inputs);
        items.push(json!({
            "Inputs": inputs,
            "Generated Outputs": step.outputs.fields(),
            "Feedback": feedback,
        }));
    }
    items
}

/// gepa's `EpochShuffledBatchSampler`: the trainset is shuffled once per epoch and padded with
/// its least used examples to a multiple of the minibatch size; iteration `i` takes the `i`-th
/// slice, and a repeated call within one iteration (several parallel proposals) the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchSampler {
    shuffled: Vec<usize>,
    epoch: i64,
    freqs: Vec<usize>,
    last_size: usize,
    current_iteration: Option<i64>,
    calls_in_iteration: usize,
}

impl BatchSampler {
    /// A sampler that has not shuffled yet.
    pub fn new() -> Self {
        BatchSampler {
            epoch: -1,
            ..Default::default()
        }
    }

    fn refresh(&mut self, size: usize, minibatch: usize, rng: &mut OptRng) {
        self.last_size = size;
        self.shuffled = (0..size).collect();
        rng.shuffle(&mut self.shuffled);
        self.freqs = vec![1; size];
        let pad = (minibatch - size % minibatch) % minibatch;
        for _ in 0..pad {
            // Least used, the last such in shuffle order (Counter.most_common()[::-1][0]).
            let Some(&pick) = self
                .shuffled
                .iter()
                .take(size)
                .rev()
                .min_by_key(|&&id| self.freqs[id])
            else {
                break;
            };
            self.shuffled.push(pick);
            self.freqs[pick] += 1;
        }
    }

    /// The trainset indices of the next minibatch for iteration `iteration`.
    pub fn next(
        &mut self,
        size: usize,
        minibatch: usize,
        iteration: i64,
        rng: &mut OptRng,
    ) -> Vec<usize> {
        let minibatch = minibatch.max(1);
        if size == 0 {
            return Vec::new();
        }
        if self.current_iteration == Some(iteration) {
            self.calls_in_iteration += 1;
        } else {
            self.current_iteration = Some(iteration);
            self.calls_in_iteration = 0;
        }
        let base = iteration.max(0) as usize * minibatch;
        let epoch = if self.epoch == -1 {
            0
        } else {
            (base / self.shuffled.len().max(1)) as i64
        };
        if self.shuffled.is_empty() || size != self.last_size || epoch > self.epoch {
            self.epoch = epoch;
            self.refresh(size, minibatch, rng);
        }
        let len = self.shuffled.len();
        let start = (base + self.calls_in_iteration * minibatch) % len;
        (start..start + minibatch)
            .map(|k| self.shuffled[k % len])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_covers_the_trainset_each_epoch() {
        let mut sampler = BatchSampler::new();
        let mut rng = OptRng::new(0);
        let mut seen = Vec::new();
        for i in 0..4 {
            let batch = sampler.next(10, 3, i, &mut rng);
            assert_eq!(batch.len(), 3);
            seen.extend(batch);
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen.len(),
            10,
            "one epoch (12 slots) covers all 10 examples"
        );
        let a = sampler.next(10, 3, 5, &mut rng);
        let b = sampler.next(10, 3, 5, &mut rng);
        assert_ne!(
            a, b,
            "a repeated call within one iteration takes the next slice"
        );
    }

    #[test]
    fn py_float_matches_python() {
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.5), "0.5");
    }
}
