//! Answers to optimizers' meta prompts: instruction proposals (MIPROv2's
//! grounded proposer, COPRO), dataset and program summaries, GEPA's
//! reflection prompt, SIMBA's advice and InferRules' induced rules.

pub mod instructions;

use serde_json::{Map, Value, json};

use crate::config::TaskConfig;
use crate::hash::Draw;
use crate::prompt::DspyPrompt;
use crate::schema;
use crate::tasks::TaskKind;
use instructions::{
    Tier, detect_task_in_text, draw_tier, improve, mentions_failure, propose, task_description,
};

/// Outputs that mark a DSPy prompt as a meta prompt.
const META_OUTPUTS: &[&str] = &[
    "proposed_instruction",
    "new_instruction",
    "improved_instruction",
    "instruction",
    "proposed_prefix_for_output_field",
    "observations",
    "program_description",
    "module_description",
    "module_advice",
    "natural_language_rules",
];

/// Whether a DSPy prompt is an optimizer's meta prompt.
pub fn is_meta(prompt: &DspyPrompt) -> bool {
    prompt
        .output_fields
        .iter()
        .any(|f| META_OUTPUTS.contains(&f.name.as_str()))
        || (prompt.has_output("summary") && prompt.has_input("observations"))
}

/// Output values for a meta prompt.
pub fn answer(cfg: &TaskConfig, prompt: &DspyPrompt, draw: &mut Draw) -> Map<String, Value> {
    let text = prompt.input_text();
    let task = detect_task_in_text(&format!("{}\n{}", prompt.instructions, text));
    let mut out = Map::new();
    for f in &prompt.output_fields {
        let v = match f.name.as_str() {
            "proposed_instruction" | "new_instruction" | "improved_instruction" | "instruction" => {
                Value::String(instruction_for(cfg, prompt, task, draw))
            }
            "proposed_prefix_for_output_field" => Value::String(prefix_for(task, draw)),
            "observations" => Value::String(format!(
                "The examples are {}. Inputs are short and follow one template; outputs are brief and exact. The data seems meant to test {} skills.",
                task_description(task),
                task.name()
            )),
            "summary" => Value::String(format!(
                "The dataset consists of {}.",
                task_description(task)
            )),
            "program_description" => Value::String(format!(
                "The program solves {} by calling a language model that reads the inputs and writes the outputs in one step.",
                task_description(task)
            )),
            "module_description" => Value::String(format!(
                "This module reads {} and produces the final answer of the program.",
                task_description(task)
            )),
            "discussion" => Value::String(discussion(prompt)),
            "natural_language_rules" => {
                let tier = draw_tier(cfg, draw);
                Value::String(format!("1. {}", propose(task, tier, draw)))
            }
            "module_advice" => module_advice(cfg, prompt, task, draw),
            _ => {
                let schema = f.kind.to_schema();
                schema::default_for(&schema, &schema)
            }
        };
        let schema = f.kind.to_schema();
        out.insert(f.name.clone(), schema::conform(&v, &schema, &schema));
    }
    out
}

fn instruction_for(
    cfg: &TaskConfig,
    prompt: &DspyPrompt,
    task: TaskKind,
    draw: &mut Draw,
) -> String {
    // COPRO's later rounds show scored attempts: improve the best one.
    if let Some(attempts) = prompt.input("attempted_instructions") {
        let best = best_attempt(attempts).unwrap_or_default();
        let k = cfg.reflection_ideas_on_failure.saturating_sub(1).max(1);
        return improve(task, &best, k, draw);
    }
    let tier = draw_tier(cfg, draw);
    propose(task, tier, draw)
}

/// The highest-scoring `Instruction #k:` of COPRO's attempt list.
fn best_attempt(text: &str) -> Option<String> {
    let mut instructions: Vec<(String, String)> = Vec::new();
    let mut scores: Vec<(String, f64)> = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches(|c: char| {
            c == '[' || c.is_ascii_digit() || c == ']' || c == ' ' || c == '«'
        });
        let line = line.trim_end_matches('»');
        if let Some(rest) = line.strip_prefix("Instruction #")
            && let Some((k, v)) = rest.split_once(": ")
        {
            instructions.push((k.to_owned(), v.to_owned()));
        } else if let Some(rest) = line.strip_prefix("Resulting Score #")
            && let Some((k, v)) = rest.split_once(": ")
        {
            scores.push((k.to_owned(), v.trim().parse().unwrap_or(0.0)));
        }
    }
    let best_key = scores
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|s| s.0.clone());
    best_key
        .and_then(|k| instructions.iter().find(|i| i.0 == k).map(|i| i.1.clone()))
        .or_else(|| instructions.last().map(|i| i.1.clone()))
}

fn prefix_for(task: TaskKind, draw: &mut Draw) -> String {
    let pool: &[&str] = match task {
        TaskKind::Arithmetic => &["Answer:", "Final answer:", "Result:"],
        TaskKind::Sentiment => &["Sentiment:", "Label:"],
        TaskKind::Generic => &["Answer:", "Output:"],
    };
    draw.pick(pool).copied().unwrap_or("Answer:").to_owned()
}

fn discussion(prompt: &DspyPrompt) -> String {
    let worse = prompt.input("worse_reward_value").unwrap_or("?");
    let better = prompt.input("better_reward_value").unwrap_or("?");
    format!(
        "The worse trajectory (reward {worse}) went wrong in the module that produced the final answer; the better trajectory (reward {better}) was more careful and systematic. The module should adopt the better trajectory's approach."
    )
}

fn module_advice(cfg: &TaskConfig, prompt: &DspyPrompt, task: TaskKind, draw: &mut Draw) -> Value {
    let names: Vec<String> = prompt
        .input("module_names")
        .map(|t| match serde_json::from_str::<Vec<String>>(t) {
            Ok(v) => v,
            Err(_) => t
                .split([',', '\n'])
                .map(|s| {
                    s.trim()
                        .trim_matches(|c| c == '[' || c == ']' || c == '"' || c == '\'')
                        .to_owned()
                })
                .filter(|s| !s.is_empty())
                .collect(),
        })
        .unwrap_or_default();
    let names = if names.is_empty() {
        vec!["predict".to_owned()]
    } else {
        names
    };
    let current = prompt.input("modules_defn").unwrap_or("");
    let failing = mentions_failure(&prompt.input_text())
        || prompt
            .input("worse_reward_value")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .is_some_and(|v| v < 1.0);
    let k = if failing {
        cfg.reflection_ideas_on_failure
    } else {
        cfg.reflection_ideas_on_failure.saturating_sub(1)
    };
    let mut advice = Map::new();
    for name in names {
        let improved = improve(task, current_instruction(current), k.max(1), draw);
        let added = improved
            .strip_prefix(current_instruction(current).trim())
            .unwrap_or(&improved)
            .trim()
            .to_owned();
        advice.insert(
            name,
            json!(format!(
                "If the module receives {}, then it should follow this approach: {}",
                task_description(task),
                if added.is_empty() {
                    improved.clone()
                } else {
                    added
                }
            )),
        );
    }
    Value::Object(advice)
}

/// The `Original Instructions:` part of SIMBA's module listing.
fn current_instruction(modules_defn: &str) -> &str {
    modules_defn
        .find("Original Instructions:")
        .and_then(|i| modules_defn.get(i + "Original Instructions:".len()..))
        .map(|rest| rest.split("-----").next().unwrap_or(rest))
        .unwrap_or("")
}

/// Whether a plain (non-DSPy) prompt is GEPA's reflection prompt.
pub fn is_gepa_reflection(text: &str) -> bool {
    text.contains("Provide the new instructions within ``` blocks")
        || (text.contains("I provided an assistant with the following instructions")
            && text.contains("```"))
}

/// GEPA's answer: a new instruction inside a ``` block.
pub fn gepa_reflection(cfg: &TaskConfig, text: &str, draw: &mut Draw) -> String {
    let current = first_fenced_block(text).unwrap_or_default();
    let rest = text
        .find("```")
        .and_then(|i| text.get(i + 3..))
        .and_then(|t| t.find("```").and_then(|j| t.get(j + 3..)))
        .unwrap_or(text);
    let task = detect_task_in_text(rest);
    let task = if task == TaskKind::Generic {
        detect_task_in_text(text)
    } else {
        task
    };
    let k = if mentions_failure(rest) {
        cfg.reflection_ideas_on_failure
    } else {
        cfg.reflection_ideas_on_failure.saturating_sub(1)
    };
    let new = if k == 0 {
        current.trim().to_owned()
    } else {
        improve(task, &current, k, draw)
    };
    let new = if new.is_empty() {
        propose(task, Tier::Medium, draw)
    } else {
        new
    };
    format!("Based on the feedback, here is the improved instruction:\n\n```\n{new}\n```")
}

fn first_fenced_block(text: &str) -> Option<String> {
    let start = text.find("```")? + 3;
    let rest = text.get(start..)?;
    let rest = rest.strip_prefix('\n').unwrap_or(rest);
    let end = rest.find("```")?;
    Some(rest.get(..end)?.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copro_attempts_pick_the_best() {
        let text = "[1] «Instruction #1: Answer.»\n[2] «Prefix #1: A:»\n[3] «Resulting Score #1: 20.0»\n[4] «Instruction #2: Solve step by step.»\n[5] «Prefix #2: A:»\n[6] «Resulting Score #2: 55.0»";
        assert_eq!(best_attempt(text).as_deref(), Some("Solve step by step."));
    }

    #[test]
    fn gepa_answer_is_fenced_and_better() {
        let prompt = "I provided an assistant with the following instructions to perform a task for me:\n```\nAnswer the question.\n```\n\nThe following are examples ...:\n```\n# Example 1\n## Inputs\n### question\nWhat is 4 + 5?\n## Feedback\nThe answer is incorrect. Expected 9.\n```\n\nProvide the new instructions within ``` blocks.";
        assert!(is_gepa_reflection(prompt));
        let out = gepa_reflection(&TaskConfig::default(), prompt, &mut Draw::new(0));
        let block = first_fenced_block(&out).unwrap_or_default();
        assert!(
            crate::tasks::ideas::instruction_score(TaskKind::Arithmetic, &block) > 0.0,
            "{out}"
        );
    }
}
