//! Program-state operations the few-shot optimizers share: DSPy's `reset_copy`, demos made
//! from examples and from traces, and serde support for program states held in optimizer
//! state.

use hone_core::Example;
use hone_core::state::ProgramState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::protocol::TraceStep;

/// DSPy's `reset_copy()`: the same program with every predictor's demos (and DSPy's `traces`
/// and `train`) cleared. Instructions, field descriptions and LM settings are kept.
pub fn reset_copy(program: &ProgramState) -> ProgramState {
    let mut program = program.clone();
    for predictor in program.predictors.values_mut() {
        predictor.demos.clear();
        predictor.traces.clear();
        predictor.train.clear();
    }
    program
}

/// A labeled demo: the example's fields, without its input marks (a saved demo is a plain
/// object; the signature says which fields are inputs).
pub fn labeled_demo(example: &Example) -> Example {
    Example::from_map(example.fields().clone())
}

/// An augmented demo from one predictor call, as DSPy builds it:
/// `Example(augmented=True, **inputs, **outputs)` — `augmented` first, then inputs, then
/// outputs.
pub fn augmented_demo(step: &TraceStep) -> Example {
    let mut fields = Map::new();
    fields.insert("augmented".into(), Value::Bool(true));
    for (k, v) in step.inputs.fields() {
        fields.insert(k.clone(), v.clone());
    }
    for (k, v) in step.outputs.fields() {
        fields.insert(k.clone(), v.clone());
    }
    Example::from_map(fields)
}

/// Whether two examples hold the same fields and values (DSPy's `Example.__eq__`; input marks
/// are not compared).
pub fn same_fields(a: &Example, b: &Example) -> bool {
    a.fields() == b.fields()
}

/// A 64-bit FNV-1a hash of a JSON value's text: a stable seed derived from data.
pub fn stable_hash(value: &Value) -> u64 {
    let text = value.to_string();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A [`ProgramState`] that serializes in hone's program format, for optimizer state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProgram(pub ProgramState);

impl Serialize for StoredProgram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for StoredProgram {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        ProgramState::from_value(&value)
            .map(StoredProgram)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::Prediction;
    use serde_json::json;

    #[test]
    fn augmented_demo_puts_augmented_first() {
        let step = TraceStep {
            predictor: "self".into(),
            inputs: Example::new().with("question", "q"),
            outputs: Prediction::new(
                json!({"answer": "a"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
        };
        let demo = augmented_demo(&step);
        assert_eq!(
            serde_json::to_string(&demo).ok().as_deref(),
            Some(r#"{"augmented":true,"question":"q","answer":"a"}"#)
        );
    }
}
