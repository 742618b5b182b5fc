//! The task-relevant key ideas an instruction can contain, and how much each
//! is worth. These are what instruction optimizers must discover.

use super::TaskKind;

/// One key idea: any of its phrases in the instructions earns its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Idea {
    /// A short name.
    pub name: &'static str,
    /// Lowercase phrases that express the idea.
    pub phrases: &'static [&'static str],
    /// Bonus to the accuracy when present.
    pub weight: f64,
    /// A sentence expressing the idea, used when the simulator writes instructions.
    pub sentence: &'static str,
}

/// Key ideas for arithmetic questions.
pub const ARITHMETIC: &[Idea] = &[
    Idea {
        name: "step_by_step",
        phrases: &[
            "step by step",
            "step-by-step",
            "one step at a time",
            "each step",
        ],
        weight: 0.10,
        sentence: "Work through the calculation step by step.",
    },
    Idea {
        name: "double_check",
        phrases: &[
            "double-check",
            "double check",
            "verify",
            "re-check",
            "recheck",
            "check your work",
        ],
        weight: 0.10,
        sentence: "Double-check the result before answering.",
    },
    Idea {
        name: "order_of_operations",
        phrases: &[
            "order of operations",
            "operator precedence",
            "pemdas",
            "precedence",
        ],
        weight: 0.08,
        sentence: "Respect the order of operations (multiplication and division before addition and subtraction).",
    },
    Idea {
        name: "show_arithmetic",
        phrases: &[
            "show the arithmetic",
            "show your work",
            "intermediate result",
            "write out each",
        ],
        weight: 0.07,
        sentence: "Show the arithmetic for every intermediate result.",
    },
    Idea {
        name: "carry",
        phrases: &["carry", "carrying", "borrow"],
        weight: 0.05,
        sentence: "Keep track of every carry and borrow between digits.",
    },
    Idea {
        name: "careful",
        phrases: &["carefully", "careful", "precise", "exact"],
        weight: 0.05,
        sentence: "Be precise: the answer must be the exact number.",
    },
];

/// Key ideas for sentiment classification.
pub const SENTIMENT: &[Idea] = &[
    Idea {
        name: "sarcasm",
        phrases: &["sarcasm", "sarcastic", "irony", "ironic"],
        weight: 0.10,
        sentence: "Watch for sarcasm: praise words used ironically signal a negative review.",
    },
    Idea {
        name: "overall_tone",
        phrases: &[
            "overall tone",
            "overall sentiment",
            "whole review",
            "entire review",
        ],
        weight: 0.10,
        sentence: "Judge the overall tone of the whole review, not single words.",
    },
    Idea {
        name: "negation",
        phrases: &["negation", "negated", "\"not\"", "not good"],
        weight: 0.08,
        sentence: "Account for negation (\"not good\" is negative).",
    },
    Idea {
        name: "mixed",
        phrases: &["mixed", "contrast", "however", "\"but\""],
        weight: 0.07,
        sentence: "When a review is mixed, weigh the contrasting parts and let the conclusion decide.",
    },
    Idea {
        name: "neutral",
        phrases: &["neutral when", "purely factual", "factual", "no opinion"],
        weight: 0.05,
        sentence: "Use neutral when the text is purely factual with no opinion.",
    },
    Idea {
        name: "intensity",
        phrases: &["intensity", "strong words", "emotional words", "emotion"],
        weight: 0.05,
        sentence: "Pay attention to the intensity of emotional words.",
    },
];

/// Task-agnostic advice a proposer offers when it cannot tell the task.
/// Its phrases overlap the arithmetic ideas (step by step, double-check,
/// careful), as generic advice from a real model would.
pub const GENERIC: &[Idea] = &[
    Idea {
        name: "step_by_step",
        phrases: &["step by step"],
        weight: 0.0,
        sentence: "Think step by step before answering.",
    },
    Idea {
        name: "double_check",
        phrases: &["double-check"],
        weight: 0.0,
        sentence: "Double-check your answer before responding.",
    },
    Idea {
        name: "careful",
        phrases: &["careful", "precise"],
        weight: 0.0,
        sentence: "Be careful and precise.",
    },
    Idea {
        name: "use_inputs",
        phrases: &["every input"],
        weight: 0.0,
        sentence: "Use every input field you are given.",
    },
];

/// The ideas an instruction writer draws on for a task: the scored ideas
/// for known tasks, [`GENERIC`] advice otherwise.
pub fn proposal_ideas(task: TaskKind) -> &'static [Idea] {
    match task {
        TaskKind::Generic => GENERIC,
        other => ideas_for(other),
    }
}

/// The ideas of a task (none for the generic task).
pub fn ideas_for(task: TaskKind) -> &'static [Idea] {
    match task {
        TaskKind::Arithmetic => ARITHMETIC,
        TaskKind::Sentiment => SENTIMENT,
        TaskKind::Generic => &[],
    }
}

/// The ideas of `task` present in `instructions`.
pub fn present(task: TaskKind, instructions: &str) -> Vec<&'static Idea> {
    let low = instructions.to_lowercase();
    ideas_for(task)
        .iter()
        .filter(|i| i.phrases.iter().any(|p| low.contains(p)))
        .collect()
}

/// The sum of the weights of the ideas present (uncapped).
pub fn instruction_score(task: TaskKind, instructions: &str) -> f64 {
    present(task, instructions).iter().map(|i| i.weight).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn better_instructions_score_higher() {
        let bland = instruction_score(TaskKind::Arithmetic, "Answer the question.");
        let ok = instruction_score(TaskKind::Arithmetic, "Solve it step by step.");
        let good = instruction_score(
            TaskKind::Arithmetic,
            "Solve step by step, respect the order of operations and double-check the result.",
        );
        assert_eq!(bland, 0.0);
        assert!(ok > bland && good > ok);
    }
}
