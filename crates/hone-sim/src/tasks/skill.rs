//! The accuracy model: how demos, instructions and a reasoning field move
//! the probability of a correct answer.

use serde::Serialize;

use super::{Task, ideas};
use crate::config::TaskConfig;
use crate::prompt::DspyPrompt;

/// How the accuracy of one call was made up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// The final probability of a correct answer.
    pub p: f64,
    /// Demos whose output is right for their input.
    pub correct_demos: usize,
    /// Demos whose output is wrong for their input.
    pub wrong_demos: usize,
    /// The (capped) bonus earned by the instructions.
    pub instruction_bonus: f64,
    /// Whether the reasoning bonus applied.
    pub reasoning: bool,
}

/// Names of output fields that count as reasoning.
pub const REASONING_FIELDS: &[&str] = &["reasoning", "rationale", "thought", "chain_of_thought"];

/// The accuracy of `task` under this prompt.
pub fn accuracy(cfg: &TaskConfig, prompt: &DspyPrompt, task: &Task) -> Accuracy {
    let (mut correct, mut wrong) = (0usize, 0usize);
    for demo in &prompt.demos {
        match task.check_demo(demo) {
            Some(true) => correct += 1,
            Some(false) => wrong += 1,
            None => {}
        }
    }
    let demo_bonus = (correct as f64 * cfg.demo_bonus).min(cfg.demo_bonus_cap);
    let penalty = wrong as f64 * cfg.wrong_demo_penalty;
    let instruction_bonus =
        ideas::instruction_score(task.kind(), &prompt.instructions).min(cfg.instruction_bonus_cap);
    let reasoning = prompt
        .output_fields
        .iter()
        .any(|f| REASONING_FIELDS.contains(&f.name.as_str()));
    let reasoning_bonus = if reasoning { cfg.reasoning_bonus } else { 0.0 };
    let raw = cfg.base_accuracy + demo_bonus - penalty + instruction_bonus + reasoning_bonus;
    let lo = cfg.min_accuracy.clamp(0.0, 1.0);
    let hi = cfg.max_accuracy.clamp(lo, 1.0);
    Accuracy {
        p: raw.clamp(lo, hi),
        correct_demos: correct,
        wrong_demos: wrong,
        instruction_bonus,
        reasoning,
    }
}
