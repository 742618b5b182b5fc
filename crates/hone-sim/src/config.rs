//! Server configuration and the knobs of the simulated model.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a [`crate::SimServer`] behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Base delay before every `/v1` response.
    pub latency: Duration,
    /// Maximum deviation from `latency`; the actual offset is a deterministic
    /// function of the seed and the request body, uniform in `-jitter..=jitter`.
    pub jitter: Duration,
    /// Seed mixed into every draw the simulated model makes.
    pub seed: u64,
    /// Port to bind on 127.0.0.1; `0` picks a free port.
    pub port: u16,
    /// The learnable-task model.
    pub task: TaskConfig,
    /// Model ids listed by `GET /v1/models` (any id is accepted in requests).
    pub models: Vec<String>,
    /// Dimensions of `/v1/embeddings` vectors when the request does not ask
    /// for a size.
    pub embedding_dims: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            seed: 0,
            port: 0,
            task: TaskConfig::default(),
            models: vec!["sim-1".to_owned(), "sim-embed-1".to_owned()],
            embedding_dims: 256,
        }
    }
}

/// Knobs of the simulated model's accuracy.
///
/// For a recognised task (arithmetic, sentiment) the model answers correctly
/// with probability
///
/// ```text
/// p = clamp(base_accuracy
///           + min(correct_demos * demo_bonus, demo_bonus_cap)
///           - wrong_demos * wrong_demo_penalty
///           + min(sum of matched instruction idea weights, instruction_bonus_cap)
///           + (reasoning_bonus if a `reasoning` output field is requested),
///           min_accuracy, max_accuracy)
/// ```
///
/// A demo counts as correct when its output is the right answer for its own
/// input. Instruction ideas are task-specific phrases (for arithmetic "step by
/// step", "double-check", "carry", "order of operations", "show the
/// arithmetic", ...; for sentiment "sarcasm", "overall tone", "negation",
/// "mixed", ...), each with its own weight, so better instructions score
/// higher; see [`crate::tasks::ideas`]. The instruction bonus is reachable only
/// through the instructions, and by default its cap (0.45, every arithmetic
/// idea) is above the demos' (0.30), so an instruction optimizer that finds the
/// ideas beats one that only picks demos, and one that does both beats either.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskConfig {
    /// Accuracy with no demos, a bland instruction and no reasoning field.
    pub base_accuracy: f64,
    /// Added per correct demo in the prompt.
    pub demo_bonus: f64,
    /// Maximum total bonus from correct demos.
    pub demo_bonus_cap: f64,
    /// Subtracted per demo whose output is wrong for its input.
    pub wrong_demo_penalty: f64,
    /// Maximum total bonus from task ideas found in the instructions.
    pub instruction_bonus_cap: f64,
    /// Added when the signature asks for a `reasoning` (or `rationale`) field.
    pub reasoning_bonus: f64,
    /// Lower bound of the accuracy.
    pub min_accuracy: f64,
    /// Upper bound of the accuracy; keep it below 1 so optimizers never see a
    /// perfect model.
    pub max_accuracy: f64,
    /// Probability that an instruction proposal (MIPROv2, COPRO) draws a
    /// strong template rather than a weak or medium one.
    pub strong_proposal_rate: f64,
    /// How many key ideas a reflective rewrite (GEPA, SIMBA, COPRO given
    /// attempts) adds when the feedback shows failures; one fewer without.
    pub reflection_ideas_on_failure: usize,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            base_accuracy: 0.35,
            demo_bonus: 0.1,
            demo_bonus_cap: 0.3,
            wrong_demo_penalty: 0.05,
            instruction_bonus_cap: 0.45,
            reasoning_bonus: 0.05,
            min_accuracy: 0.05,
            max_accuracy: 0.95,
            strong_proposal_rate: 0.3,
            reflection_ideas_on_failure: 2,
        }
    }
}
