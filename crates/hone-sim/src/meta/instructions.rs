//! Writing instructions: fresh proposals drawn from a pool that mixes weak,
//! medium and strong candidates, and rewrites that add missing key ideas.

use crate::config::TaskConfig;
use crate::hash::Draw;
use crate::tasks::TaskKind;
use crate::tasks::arithmetic;
use crate::tasks::ideas::{self, Idea};

/// How good a drawn proposal is meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// No key idea.
    Weak,
    /// One or two key ideas.
    Medium,
    /// Three or more key ideas.
    Strong,
}

fn openers(task: TaskKind) -> &'static [&'static str] {
    match task {
        TaskKind::Arithmetic => &[
            "Solve the arithmetic question and reply with the numeric answer.",
            "Compute the value asked for in the question.",
            "You are a meticulous mathematician. Answer the arithmetic question.",
            "Evaluate the expression in the question and give the final number.",
        ],
        TaskKind::Sentiment => &[
            "Classify the sentiment of the review.",
            "Decide whether the text expresses a positive, negative or neutral opinion.",
            "You are an expert at reading customer reviews. Label the sentiment.",
        ],
        TaskKind::Generic => &[
            "Answer using the inputs.",
            "Read the inputs carefully and produce the requested outputs.",
            "Produce concise, accurate values for every output field.",
        ],
    }
}

fn weak_pool(task: TaskKind) -> &'static [&'static str] {
    match task {
        TaskKind::Arithmetic => &[
            "Answer the question.",
            "Give the answer.",
            "Respond with a number.",
            "Read the question and reply.",
            "You are a helpful assistant. Answer the user's question.",
        ],
        TaskKind::Sentiment => &[
            "Classify the text.",
            "Label the input.",
            "What is the sentiment?",
            "Read the review and answer.",
        ],
        TaskKind::Generic => &[
            "Answer the question.",
            "Produce the outputs.",
            "Respond to the input.",
        ],
    }
}

/// Picks the tier of a fresh proposal.
pub fn draw_tier(cfg: &TaskConfig, draw: &mut Draw) -> Tier {
    let u = draw.unit();
    let strong = cfg.strong_proposal_rate.clamp(0.0, 1.0);
    if u < strong {
        Tier::Strong
    } else if u < strong + (1.0 - strong) / 2.0 {
        Tier::Medium
    } else {
        Tier::Weak
    }
}

fn shuffled(ideas: &'static [Idea], draw: &mut Draw) -> Vec<&'static Idea> {
    let mut v: Vec<&Idea> = ideas.iter().collect();
    for i in (1..v.len()).rev() {
        let j = draw.below(i + 1);
        v.swap(i, j);
    }
    v
}

/// A fresh instruction for `task` of the given tier.
pub fn propose(task: TaskKind, tier: Tier, draw: &mut Draw) -> String {
    let all = ideas::proposal_ideas(task);
    let count = match tier {
        Tier::Weak => 0,
        Tier::Medium => 1 + draw.below(2),
        Tier::Strong => 3 + draw.below(all.len().saturating_sub(2).max(1)),
    };
    if count == 0 || all.is_empty() {
        return draw
            .pick(weak_pool(task))
            .copied()
            .unwrap_or("Answer the question.")
            .to_owned();
    }
    let opener = draw.pick(openers(task)).copied().unwrap_or("");
    let chosen: Vec<&str> = shuffled(all, draw)
        .into_iter()
        .take(count)
        .map(|i| i.sentence)
        .collect();
    format!("{opener} {}", chosen.join(" "))
}

/// `current` extended with up to `count` key ideas it lacks, heavier ideas
/// first (with some shuffling among them).
pub fn improve(task: TaskKind, current: &str, count: usize, draw: &mut Draw) -> String {
    let low = current.to_lowercase();
    let mut missing: Vec<&Idea> = ideas::proposal_ideas(task)
        .iter()
        .filter(|i| !i.phrases.iter().any(|p| low.contains(p)))
        .collect();
    // Heavier first, ties and near-ties shuffled.
    let mut keyed: Vec<(f64, &Idea)> = missing
        .drain(..)
        .map(|i| (i.weight + draw.unit() * 0.03, i))
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    let added: Vec<&str> = keyed.iter().take(count).map(|(_, i)| i.sentence).collect();
    let base = current.trim();
    let has_idea = ideas::proposal_ideas(task)
        .iter()
        .any(|i| i.phrases.iter().any(|p| base.to_lowercase().contains(p)));
    let base = if base.is_empty() || !has_idea && base.len() < 40 {
        draw.pick(openers(task)).copied().unwrap_or(base).to_owned()
    } else {
        base.to_owned()
    };
    if added.is_empty() {
        return base;
    }
    format!("{base} {}", added.join(" "))
}

/// A short description of the task's data.
pub fn task_description(task: TaskKind) -> &'static str {
    match task {
        TaskKind::Arithmetic => {
            "short arithmetic questions (addition, subtraction, multiplication, division) whose answers are numbers"
        }
        TaskKind::Sentiment => "short product reviews, each labelled with its sentiment",
        TaskKind::Generic => "question-and-answer style examples",
    }
}

const FAILURE_CUES: &[&str] = &[
    "incorrect",
    "wrong",
    "not correct",
    "expected",
    "failed",
    "failure",
    "mismatch",
    "score: 0",
    "score 0",
    "reward_value: 0",
    "should have",
    "is not",
    "did not",
];

/// Whether feedback text reports failures.
pub fn mentions_failure(text: &str) -> bool {
    let low = text.to_lowercase();
    FAILURE_CUES.iter().any(|c| low.contains(c))
}

/// Guesses the task behind a meta prompt from its text.
pub fn detect_task_in_text(text: &str) -> TaskKind {
    let low = text.to_lowercase();
    let expr_lines = text
        .lines()
        .filter(|l| arithmetic::find_expression(l).is_some())
        .take(5)
        .count();
    let count = |words: &[&str]| words.iter().filter(|w| low.contains(*w)).count();
    let arith = 2 * expr_lines
        + count(&[
            "arithmetic",
            "math",
            "calculat",
            "compute",
            "numeric",
            "sum of",
        ]);
    let senti = 2 * count(&["sentiment", "review", "positive", "negative", "sarcas"]);
    if arith == 0 && senti == 0 {
        TaskKind::Generic
    } else if senti >= arith {
        TaskKind::Sentiment
    } else {
        TaskKind::Arithmetic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_vary_and_tiers_score_in_order() {
        let mut d = Draw::new(1);
        let weak = propose(TaskKind::Arithmetic, Tier::Weak, &mut d);
        let strong = propose(TaskKind::Arithmetic, Tier::Strong, &mut d);
        let ws = ideas::instruction_score(TaskKind::Arithmetic, &weak);
        let ss = ideas::instruction_score(TaskKind::Arithmetic, &strong);
        assert!(ss > ws, "{weak} / {strong}");
    }

    #[test]
    fn improve_adds_missing_ideas() {
        let mut d = Draw::new(2);
        let better = improve(TaskKind::Arithmetic, "Answer the question.", 2, &mut d);
        assert_eq!(
            ideas::present(TaskKind::Arithmetic, &better).len(),
            2,
            "{better}"
        );
        let again = improve(TaskKind::Arithmetic, &better, 2, &mut d);
        assert_eq!(
            ideas::present(TaskKind::Arithmetic, &again).len(),
            4,
            "{again}"
        );
    }

    #[test]
    fn detects_tasks_in_meta_text() {
        assert_eq!(
            detect_task_in_text("Question: What is 3 + 4?\nAnswer: 7"),
            TaskKind::Arithmetic
        );
        assert_eq!(
            detect_task_in_text("review: bad\nsentiment: negative"),
            TaskKind::Sentiment
        );
        assert_eq!(detect_task_in_text("hello there"), TaskKind::Generic);
    }
}
