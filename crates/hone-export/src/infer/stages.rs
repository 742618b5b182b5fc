//! Predictors grouped into hone's stages by DSPy's naming (ChainOfThought, ReAct and its
//! tools).

use hone_core::Signature;
use hone_core::state::ROOT_PREDICTOR;

use super::{InferredModule, InferredStage, InferredTool, Saved};

/// ReAct's tools as its instructions list them: `(1) search_wikipedia. It takes arguments
/// {'query': {'type': 'string'}} in JSON format.`, without `finish`.
pub fn parse_react_tools(instructions: &str) -> Vec<InferredTool> {
    let mut tools = Vec::new();
    for line in instructions.lines() {
        let Some(rest) = line.strip_prefix('(') else {
            continue;
        };
        let Some((num, rest)) = rest.split_once(") ") else {
            continue;
        };
        if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let name_end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() || name == "finish" {
            continue;
        }
        let after = &rest[name_end..];
        let description = after
            .split_once("whose description is <desc>")
            .and_then(|(_, d)| d.split_once("</desc>"))
            .map(|(d, _)| d.trim().to_owned())
            .unwrap_or_default();
        let args = after
            .split_once("It takes arguments ")
            .and_then(|(_, a)| a.rsplit_once(" in JSON format"))
            .map(|(a, _)| a.trim().to_owned())
            .unwrap_or_default();
        tools.push(InferredTool {
            name: name.to_owned(),
            description,
            args,
        });
    }
    tools
}

/// Groups predictors into stages by DSPy's naming: `X.predict` with reasoning is a
/// ChainOfThought `X`; `X.react` + `X.extract.predict` a ReAct `X`.
pub(super) fn group_stages(
    all: &[Saved],
    signatures: &[(String, Signature)],
    guesses: &mut Vec<String>,
) -> Vec<InferredStage> {
    let mut stages = Vec::new();
    let mut used = vec![false; signatures.len()];
    let root_stage = |prefix: &str| {
        if prefix.is_empty() {
            ROOT_PREDICTOR.to_owned()
        } else {
            prefix.to_owned()
        }
    };
    for (i, (name, sig)) in signatures.iter().enumerate() {
        if used[i] {
            continue;
        }
        let (prefix, is_react) = match name.strip_suffix("react") {
            Some(p) if p.is_empty() || p.ends_with('.') => (p.trim_end_matches('.'), true),
            _ => ("", false),
        };
        if is_react {
            let extract = if prefix.is_empty() {
                "extract.predict".to_owned()
            } else {
                format!("{prefix}.extract.predict")
            };
            if let Some(j) = signatures.iter().position(|(n, _)| *n == extract) {
                used[i] = true;
                used[j] = true;
                let ex = &signatures[j].1;
                let mut own = ex.clone();
                own.inputs.retain(|f| f.name != "trajectory");
                own.outputs.retain(|f| f.name != "reasoning");
                own.instructions = all[j].instructions.clone();
                let tools = parse_react_tools(&all[i].instructions);
                let stage = root_stage(prefix);
                guesses.push(format!(
                    "`{name}` and `{extract}` read as one ReAct module (stage `{stage}`) with \
                     tools {}",
                    if tools.is_empty() {
                        "none found in its instructions".to_owned()
                    } else {
                        tools
                            .iter()
                            .map(|t| format!("`{}`", t.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
                stages.push(InferredStage {
                    name: stage,
                    module: InferredModule::React { tools },
                    signature: own,
                    predictors: vec![name.clone(), extract],
                });
                continue;
            }
        }
        used[i] = true;
        let cot_prefix = match name.as_str() {
            "predict" => Some(""),
            n => n.strip_suffix(".predict"),
        };
        let reasoning_first = sig.outputs.first().is_some_and(|f| f.name == "reasoning");
        if let Some(prefix) = cot_prefix
            && reasoning_first
        {
            let mut own = sig.clone();
            own.outputs.remove(0);
            stages.push(InferredStage {
                name: root_stage(prefix),
                module: InferredModule::ChainOfThought,
                signature: own,
                predictors: vec![name.clone()],
            });
            continue;
        }
        if reasoning_first {
            guesses.push(format!(
                "`{name}` has a `reasoning` output but is not named `….predict`: read as a \
                 predict whose outputs begin with `reasoning` (DSPy 2.5 and earlier saved a \
                 ChainOfThought so), which renders the same prompts"
            ));
        }
        stages.push(InferredStage {
            name: name.clone(),
            module: InferredModule::Predict,
            signature: sig.clone(),
            predictors: vec![name.clone()],
        });
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn react_tools_are_read_from_the_instructions() {
        let text = "Thought can ...:\n\n(1) search_wikipedia. It takes arguments {'query': \
                    {'type': 'string'}} in JSON format.\n(2) finish, whose description is \
                    <desc>Signals done.</desc>. It takes arguments {'kwargs': 'Any'} in JSON format.";
        let tools = parse_react_tools(text);
        assert_eq!(tools.len(), 1);
        assert_eq!(tools[0].name, "search_wikipedia");
        assert_eq!(tools[0].args, "{'query': {'type': 'string'}}");
    }
}
