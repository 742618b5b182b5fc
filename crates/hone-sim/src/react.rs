//! DSPy's text-based ReAct: choosing `next_thought`, `next_tool_name` and
//! `next_tool_args` from the tools listed in the instructions and the
//! trajectory so far.

use serde_json::{Map, Value, json};

use crate::prompt::DspyPrompt;
use crate::tasks::arithmetic::{self, Expr};
use crate::tools::{self, ToolRole};

/// Whether a prompt is a ReAct step.
pub fn is_react_step(prompt: &DspyPrompt) -> bool {
    ["next_thought", "next_tool_name", "next_tool_args"]
        .iter()
        .all(|n| prompt.has_output(n))
}

/// A tool as listed in ReAct instructions: `(k) name, whose description is
/// <desc>...</desc>. It takes arguments {...}.`
#[derive(Debug, Clone, PartialEq)]
pub struct ListedTool {
    /// Tool name.
    pub name: String,
    /// Argument names in order.
    pub args: Vec<String>,
}

/// Reads the tools listed in the instructions.
pub fn listed_tools(instructions: &str) -> Vec<ListedTool> {
    let mut out = Vec::new();
    for line in instructions.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix('(') else {
            continue;
        };
        let Some((num, rest)) = rest.split_once(") ") else {
            continue;
        };
        if num.parse::<u32>().is_err() {
            continue;
        }
        let name_end = rest.find([',', '.', ' ']).unwrap_or(rest.len());
        let name = rest.get(..name_end).unwrap_or("").to_owned();
        let args = rest
            .rfind("It takes arguments ")
            .and_then(|i| rest.get(i + "It takes arguments ".len()..))
            .map(python_dict_keys)
            .unwrap_or_default();
        if !name.is_empty() {
            out.push(ListedTool { name, args });
        }
    }
    out
}

/// Top-level keys of a Python dict repr like `{'a': {'type': 'string'}, 'b': ...}`.
fn python_dict_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut depth = 0i32;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth <= 0 {
                    break;
                }
            }
            q @ ('\'' | '"') => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != q {
                    j += 1;
                }
                let s: String = chars[start..j.min(chars.len())].iter().collect();
                let after = chars.get(j + 1).copied();
                if depth == 1 && after == Some(':') {
                    keys.push(s);
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    keys
}

/// The observations recorded in a trajectory text, in order.
pub fn observations(trajectory: &str) -> Vec<String> {
    let names: Vec<String> = (0..64)
        .flat_map(|k| {
            ["thought", "tool_name", "tool_args", "observation"].map(|p| format!("{p}_{k}"))
        })
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut found = crate::prompt::split_markers(trajectory, &refs);
    if found.is_empty() {
        found = crate::prompt::split_xml(trajectory, &refs);
    }
    refs.iter()
        .filter(|n| n.starts_with("observation_"))
        .filter_map(|n| found.get(*n).and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The next step of the agent.
pub fn step(prompt: &DspyPrompt) -> Map<String, Value> {
    let trajectory = prompt.input("trajectory").unwrap_or("");
    let done = observations(trajectory).len();
    let expr: Option<Expr> = prompt
        .input_fields
        .iter()
        .filter(|f| f.name != "trajectory")
        .find_map(|f| prompt.input(&f.name).and_then(arithmetic::find_expression));
    let listed = listed_tools(&prompt.instructions);
    let roles: Vec<ToolRole> = listed
        .iter()
        .filter(|t| t.name != "finish")
        .filter_map(|t| tools::classify(&t.name, &t.args))
        .collect();
    let calls: Vec<tools::PlannedCall> = expr
        .as_ref()
        .and_then(|e| tools::plan(e, &roles, false))
        .map(|rounds| rounds.into_iter().flatten().collect())
        .unwrap_or_default();
    let mut out = Map::new();
    match (calls.get(done), &expr) {
        (Some(call), Some(e)) => {
            out.insert(
                "next_thought".into(),
                json!(format!(
                    "I need to compute {e}. I will use the {} tool for the next operation.",
                    call.name
                )),
            );
            out.insert("next_tool_name".into(), json!(call.name));
            out.insert("next_tool_args".into(), call.arguments.clone());
        }
        _ => {
            let thought = if done > 0 {
                "The observations contain everything needed; I can finish."
            } else {
                "I have the information needed to answer directly."
            };
            out.insert("next_thought".into(), json!(thought));
            out.insert("next_tool_name".into(), json!("finish"));
            out.insert("next_tool_args".into(), json!({}));
        }
    }
    // Any other requested output gets a typed default.
    for f in &prompt.output_fields {
        if !out.contains_key(&f.name) {
            let s = f.kind.to_schema();
            out.insert(f.name.clone(), crate::schema::default_for(&s, &s));
        }
    }
    out
}

/// The last numeric observation of a trajectory input, if any.
pub fn last_numeric_observation(prompt: &DspyPrompt) -> Option<f64> {
    let trajectory = prompt.input("trajectory")?;
    observations(trajectory)
        .iter()
        .rev()
        .find_map(|o| arithmetic::parse_answer(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_listed_tools() {
        let instr = "When selecting the next_tool_name and its next_tool_args, the tool must be one of:\n\n(1) calculator, whose description is <desc>Evaluate an arithmetic expression.</desc>. It takes arguments {'expression': {'type': 'string'}}.\n(2) finish, whose description is <desc>Marks the task as complete.</desc>. It takes arguments {}.";
        let t = listed_tools(instr);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, "calculator");
        assert_eq!(t[0].args, vec!["expression".to_owned()]);
        assert!(t[1].args.is_empty());
    }

    #[test]
    fn finds_observations() {
        let traj = "[[ ## thought_0 ## ]]\nx\n\n[[ ## tool_name_0 ## ]]\ncalculator\n\n[[ ## tool_args_0 ## ]]\n{}\n\n[[ ## observation_0 ## ]]\n42.0";
        assert_eq!(observations(traj), vec!["42.0".to_owned()]);
        let two = format!(
            "{traj}\n\n[[ ## thought_1 ## ]]\ndone\n\n[[ ## tool_name_1 ## ]]\nfinish\n\n[[ ## tool_args_1 ## ]]\n{{}}\n\n[[ ## observation_1 ## ]]\nCompleted."
        );
        assert_eq!(
            observations(&two),
            vec!["42.0".to_owned(), "Completed.".to_owned()]
        );
    }
}
