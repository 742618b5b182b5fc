//! SIMBA's prompts: DSPy's `OfferFeedback` signature for `append_a_rule`, the module
//! listing it shows, and JSON rendered as DSPy renders its inputs.

use hone_core::adapter::field_description_string;
use hone_core::adapter::pyfmt::{py_dedent, py_splitlines};
use hone_core::state::ProgramState;
use hone_core::{Field, FieldType, Signature};
use serde_json::Value;
/// DSPy's `OfferFeedback` instructions.
pub const OFFER_FEEDBACK_INSTRUCTIONS: &str = "You will be given two trajectories of an LLM-driven program's execution. Your goal is to help the program's modules
build up experience on how to maximize the reward value assigned to the program's outputs if it were to receive
similar inputs in the future.

The module won't see its own history. It will rely on your advice balancing being concrete and being generalizable.

In your advice:
- Avoid boilerplate. Offer advice that would change the module's behavior for the better in the future.
- Ensure that advice offered to a module M is specific to that M's specific sub-task, not the overall program.
- Rely on contrasting the behavior of the worse trajectory against the better trajectory in making recommendations.
- Ensure each unique module name appears exactly once as a key in the advice dictionary.";

/// DSPy's `OfferFeedback` signature (SIMBA's `append_a_rule`).
pub fn offer_feedback() -> Signature {
    let str_field = |name: &str, desc: &str| Field::new(name, FieldType::Str).desc(desc);
    let trajectory = "The trajectory of the program's execution, showing each module's I/O";
    let outputs = "The outputs of the program that we are analyzing";
    let reward = "The reward value assigned to the program's outputs";
    let info =
        "Additional information that might be helpful to understanding the assigned reward value.";
    Signature {
        name: "OfferFeedback".into(),
        instructions: OFFER_FEEDBACK_INSTRUCTIONS.into(),
        inputs: vec![
            str_field(
                "program_code",
                "The code of the program that we are analyzing",
            ),
            str_field(
                "modules_defn",
                "The definition of each module in the program, including its I/O",
            ),
            str_field(
                "program_inputs",
                "The inputs to the program that we are analyzing",
            ),
            str_field(
                "oracle_metadata",
                "Any (hidden) metadata about the training set instance we're analyzing",
            ),
            str_field("worse_program_trajectory", trajectory),
            str_field("worse_program_outputs", outputs),
            Field::new("worse_reward_value", FieldType::Float).desc(reward),
            str_field("worse_reward_info", info),
            str_field("better_program_trajectory", trajectory),
            str_field("better_program_outputs", outputs),
            Field::new("better_reward_value", FieldType::Float).desc(reward),
            str_field("better_reward_info", info),
            Field::new(
                "module_names",
                FieldType::List {
                    item: Box::new(FieldType::Str),
                },
            )
            .desc("The names of the modules in the program, for which we seek advice"),
        ],
        outputs: vec![
            str_field(
                "discussion",
                "Discussing blame of where each module went wrong, if it did",
            ),
            Field::new(
                "module_advice",
                FieldType::Dict {
                    key: Box::new(FieldType::Str),
                    value: Box::new(FieldType::Str),
                },
            )
            .desc(
                "For each module, describe very concretely: If the module receives ${description of input or patterns therein}, then it should ${description of content, behavior, or strategies to adopt and/or others to avoid}. Basically, your advice be such that if the module has access to your tip, it would be much more likely to act like the successful trajectory rather than the lower-scoring trajectory.",
            ),
        ],
    }
}

/// DSPy's `inspect_modules`: each module's fields and instructions, between separator lines.
pub fn inspect_modules(program: &ProgramState) -> String {
    let separator = "-".repeat(80);
    let indent = |text: &str| {
        let mut out = String::new();
        for line in py_splitlines(text) {
            out.push_str("\n\t\t");
            out.push_str(line);
        }
        out
    };
    let mut parts = vec![separator.clone()];
    for (name, predictor) in &program.predictors {
        let sig = &predictor.signature;
        parts.push(format!("Module {name}"));
        parts.push("\n\tInput Fields:".into());
        parts.push(indent(&field_description_string(&sig.inputs)));
        parts.push("\tOutput Fields:".into());
        parts.push(indent(&field_description_string(&sig.outputs)));
        parts.push(format!(
            "\tOriginal Instructions: {}",
            indent(&py_dedent(&sig.instructions))
        ));
        parts.push(separator.clone());
    }
    parts
        .iter()
        .map(|p| p.trim_matches('\n'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON as orjson's `OPT_INDENT_2` writes it (DSPy's `append_a_rule` inputs).
pub(super) fn json_text(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
