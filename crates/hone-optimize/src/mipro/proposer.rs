//! MIPROv2's grounded proposer (DSPy's `GroundedProposer`): the dataset summary, the program
//! and module descriptions, the prompting tips, and the instruction-proposal signature, with
//! DSPy's instructions and field descriptions.

use hone_core::state::PredictorState;
use hone_core::{Example, Field, FieldType, Signature};
use serde_json::Value;

/// DSPy's prompting tips (`TIPS`), in DSPy's order.
pub const TIPS: &[(&str, &str)] = &[
    ("none", ""),
    (
        "creative",
        "Don't be afraid to be creative when creating the new instruction!",
    ),
    ("simple", "Keep the instruction clear and concise."),
    (
        "description",
        "Make sure your instruction is very informative and descriptive.",
    ),
    (
        "high_stakes",
        "The instruction should include a high stakes scenario in which the LM must solve the task!",
    ),
    (
        "persona",
        "Include a persona that is relevant to the task in the instruction (ie. \"You are a ...\")",
    ),
];

fn sig(
    name: &str,
    instructions: &str,
    inputs: &[(&str, &str)],
    outputs: &[(&str, &str)],
) -> Signature {
    let field = |(n, d): &(&str, &str)| {
        let f = Field::new(*n, FieldType::Str);
        if d.is_empty() { f } else { f.desc(*d) }
    };
    Signature {
        name: name.into(),
        instructions: instructions.into(),
        inputs: inputs.iter().map(field).collect(),
        outputs: outputs.iter().map(field).collect(),
    }
}

/// DSPy's `DatasetDescriptor`.
pub fn dataset_descriptor() -> Signature {
    sig(
        "DatasetDescriptor",
        "Given several examples from a dataset please write observations about trends that hold for most or all of the samples. Some areas you may consider in your observations: topics, content, syntax, conciseness, etc. It will be useful to make an educated guess as to the nature of the task this dataset will enable. Don't be afraid to be creative",
        &[("examples", "Sample data points from the dataset")],
        &[(
            "observations",
            "Somethings that holds true for most or all of the data you observed",
        )],
    )
}

/// DSPy's `DatasetDescriptorWithPriorObservations`.
pub fn dataset_descriptor_with_prior() -> Signature {
    sig(
        "DatasetDescriptorWithPriorObservations",
        "Given several examples from a dataset please write observations about trends that hold for most or all of the samples. I will also provide you with a few observations I have already made.  Please add your own observations or if you feel the observations are comprehensive say 'COMPLETE' Some areas you may consider in your observations: topics, content, syntax, conciceness, etc. It will be useful to make an educated guess as to the nature of the task this dataset will enable. Don't be afraid to be creative",
        &[
            ("examples", "Sample data points from the dataset"),
            (
                "prior_observations",
                "Some prior observations I made about the data",
            ),
        ],
        &[(
            "observations",
            "Somethings that holds true for most or all of the data you observed or COMPLETE if you have nothing to add",
        )],
    )
}

/// DSPy's `ObservationSummarizer`.
pub fn observation_summarizer() -> Signature {
    sig(
        "ObservationSummarizer",
        "Given a series of observations I have made about my dataset, please summarize them into a brief 2-3 sentence summary which highlights only the most important details.",
        &[("observations", "Observations I have made about my dataset")],
        &[(
            "summary",
            "Two to Three sentence summary of only the most significant highlights of my observations",
        )],
    )
}

/// DSPy's `DescribeProgram`.
pub fn describe_program() -> Signature {
    sig(
        "DescribeProgram",
        "Below is some pseudo-code for a pipeline that solves tasks with calls to language models. Please describe what type of task this program appears to be designed to solve, and how it appears to work.",
        &[
            (
                "program_code",
                "Pseudocode for a language model program designed to solve a particular task.",
            ),
            ("program_example", "An example of the program in use."),
        ],
        &[(
            "program_description",
            "Describe what task the program is designed to solve, and how it goes about solving this task.",
        )],
    )
}

/// DSPy's `DescribeModule`.
pub fn describe_module() -> Signature {
    sig(
        "DescribeModule",
        "Below is some pseudo-code for a pipeline that solves tasks with calls to language models. Please describe the purpose of one of the specified module in this pipeline.",
        &[
            (
                "program_code",
                "Pseudocode for a language model program designed to solve a particular task.",
            ),
            ("program_example", "An example of the program in use."),
            (
                "program_description",
                "Summary of the task the program is designed to solve, and how it goes about solving it.",
            ),
            (
                "module",
                "The module in the program that we want to describe.",
            ),
        ],
        &[(
            "module_description",
            "Description of the module's role in the broader program.",
        )],
    )
}

/// DSPy's `GenerateSingleModuleInstruction` with the fields the settings switch on
/// (instruction history is always off in MIPROv2).
pub fn generate_instruction(dataset_summary: bool, program_aware: bool, tip: bool) -> Signature {
    let mut inputs: Vec<(&str, &str)> = Vec::new();
    if dataset_summary {
        inputs.push((
            "dataset_description",
            "A description of the dataset that we are using.",
        ));
    }
    if program_aware {
        inputs.push((
            "program_code",
            "Language model program designed to solve a particular task.",
        ));
        inputs.push((
            "program_description",
            "Summary of the task the program is designed to solve, and how it goes about solving it.",
        ));
        inputs.push(("module", "The module to create an instruction for."));
        inputs.push((
            "module_description",
            "Description of the module to create an instruction for.",
        ));
    }
    inputs.push(("task_demos", "Example inputs/outputs of our module."));
    inputs.push(("basic_instruction", "Basic instruction."));
    if tip {
        inputs.push((
            "tip",
            "A suggestion for how to go about generating the new instruction.",
        ));
    }
    sig(
        "GenerateSingleModuleInstruction",
        "Use the information below to learn about a task that we are trying to solve using calls to an LM, then generate a new instruction that will be used to prompt a Language Model to better solve the task.",
        &inputs,
        &[(
            "proposed_instruction",
            "Propose an instruction that will be used to prompt a Language Model to perform this task.",
        )],
    )
}

/// Inputs from `(name, value)` pairs, all marked as inputs.
pub fn inputs(pairs: &[(&str, String)]) -> Example {
    let mut ex = Example::new();
    for (k, v) in pairs {
        ex.insert(*k, v.clone());
    }
    ex.with_inputs(pairs.iter().map(|(k, _)| (*k).to_owned()))
}

/// A Python-style `repr` of a JSON value (`'text'`, `True`, `None`, `{'a': 1}`).
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `repr(trainset[a:b])` as DSPy's dataset summarizer shows it, input keys sorted.
pub fn examples_repr(examples: &[Example]) -> String {
    let items: Vec<String> = examples
        .iter()
        .map(|e| {
            let mut keys: Vec<String> = e.input_keys().map(<[String]>::to_vec).unwrap_or_default();
            keys.sort();
            let keys: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
            format!(
                "Example({}) (input_keys={{{}}})",
                py_repr(&Value::Object(e.fields().clone())),
                keys.join(", ")
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// Python's `str()` of a value inside DSPy's demo strings.
fn py_str(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "None".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => py_repr(other),
    }
}

/// DSPy's `create_example_string`: `"{prefix} {value}"` per signature field.
pub fn example_string(predictor: &PredictorState, demo: &Example) -> String {
    predictor
        .signature
        .inputs
        .iter()
        .chain(&predictor.signature.outputs)
        .map(|f| format!("{} {}", f.prefix, py_str(demo.get(&f.name))))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module line DSPy shows the proposer: `Predict(question) -> answer`.
pub fn module_code(predictor: &PredictorState) -> String {
    let names = |fs: &[Field]| {
        fs.iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Predict({}) -> {}",
        names(&predictor.signature.inputs),
        names(&predictor.signature.outputs)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_reprs() {
        assert_eq!(
            py_repr(&json!({"a": "it's", "b": [1, true, null]})),
            "{'a': 'it\\'s', 'b': [1, True, None]}"
        );
        let ex = Example::new()
            .with("question", "1+1?")
            .with("answer", 2)
            .with_inputs(["question"]);
        assert_eq!(
            examples_repr(&[ex]),
            "[Example({'question': '1+1?', 'answer': 2}) (input_keys={'question'})]"
        );
        let sig = generate_instruction(true, false, true);
        let names: Vec<&str> = sig.inputs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dataset_description",
                "task_demos",
                "basic_instruction",
                "tip"
            ]
        );
    }
}
