//! The TOML format of a declarative program, as serde types. [`super::load`] reads a file into
//! these and checks what serde cannot (LM names, field mappings, signatures).

use std::path::PathBuf;

use hone_core::adapter::AdapterKind;
use hone_lm::LmSpec;
use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// A whole program file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramFile {
    /// Named LMs (`[lm.task]`, `[lm.proposer]`, `[lm.judge]`), each hone-lm's [`LmSpec`].
    #[serde(default)]
    pub lm: IndexMap<String, Spanned<LmSpec>>,
    /// The program: its stages.
    pub program: ProgramSpec,
    /// How a prediction is scored.
    #[serde(default)]
    pub metric: Option<Spanned<MetricSpec>>,
    /// Where the examples come from.
    #[serde(default)]
    pub dataset: Option<Spanned<DatasetSpec>>,
    /// Which optimizer `hone optimize` runs, with its parameters.
    #[serde(default)]
    pub optimizer: Option<Spanned<toml::Table>>,
    /// Enum classes (`[enums.Level]`), usable as field types in the stages' signatures.
    #[serde(default)]
    pub enums: IndexMap<String, Spanned<EnumSpec>>,
}

/// An enum class: `[enums.NAME]`, as a Python `class NAME(enum.Enum)` would declare it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumSpec {
    /// The class docstring (shown in JSON schemas).
    #[serde(default)]
    pub description: Option<String>,
    /// The members in order, member name = value (`{ LOW = "low", HIGH = "high" }`).
    #[serde(default)]
    pub members: Option<IndexMap<String, toml::Value>>,
    /// The values in order, when member names equal them (`["low", "high"]`).
    #[serde(default)]
    pub values: Option<Vec<toml::Value>>,
}

/// `[program]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    /// What the program does, in a sentence: the first line of `hone report`.
    #[serde(default)]
    pub description: Option<String>,
    /// The default LM of the stages (default `task`, or the only LM defined).
    #[serde(default)]
    pub lm: Option<Spanned<String>>,
    /// The default adapter of the stages (default `chat`).
    #[serde(default)]
    pub adapter: Option<AdapterKind>,
    /// The stages, run in order.
    pub stages: Vec<Spanned<StageSpec>>,
}

/// The kinds of module a stage can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleKind {
    /// `Predict`.
    Predict,
    /// `ChainOfThought` (adds a `reasoning` output).
    ChainOfThought,
    /// `ReAct` with built-in tools.
    React,
    /// `BestOfN` over a predict (or chain-of-thought with `inner`).
    BestOfN,
    /// `Refine` over a predict (or chain-of-thought with `inner`).
    Refine,
}

impl ModuleKind {
    /// The TOML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleKind::Predict => "predict",
            ModuleKind::ChainOfThought => "chain_of_thought",
            ModuleKind::React => "react",
            ModuleKind::BestOfN => "best_of_n",
            ModuleKind::Refine => "refine",
        }
    }
}

/// `[[program.stages]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// The stage's name: its predictor's name, and how later stages refer to its outputs.
    pub name: Spanned<String>,
    /// The module kind (default `predict`).
    #[serde(default)]
    pub module: Option<Spanned<ModuleKind>>,
    /// The signature: DSPy's string form or a table.
    pub signature: Spanned<toml::Value>,
    /// Instructions (for the string form of the signature).
    #[serde(default)]
    pub instructions: Option<String>,
    /// The LM of this stage (a name from `[lm.*]`).
    #[serde(default)]
    pub lm: Option<Spanned<String>>,
    /// The adapter of this stage.
    #[serde(default)]
    pub adapter: Option<AdapterKind>,
    /// Where each input field comes from: `input.FIELD` (the program's inputs) or
    /// `STAGE.FIELD` (an earlier stage's output). Unmapped inputs come from an earlier stage's
    /// output of the same name, else from the program input of the same name.
    #[serde(default)]
    pub inputs: IndexMap<String, Spanned<String>>,
    /// Tools for `react`: a built-in tool's name (`calculator`) or a command tool's table.
    #[serde(default)]
    pub tools: Vec<Spanned<ToolSpec>>,
    /// `react`: the maximum number of tool steps (default 20).
    #[serde(default)]
    pub max_iters: Option<usize>,
    /// `react`: seconds a tool call may take before its step records an error (default: no
    /// bound).
    #[serde(default)]
    pub tool_timeout_secs: Option<f64>,
    /// `best_of_n` / `refine`: attempts (default 3).
    #[serde(default)]
    pub n: Option<usize>,
    /// `best_of_n` / `refine`: stop at the first attempt whose reward reaches this (default 1).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// `best_of_n` / `refine`: the module attempted, `predict` (default) or `chain_of_thought`.
    #[serde(default)]
    pub inner: Option<Spanned<ModuleKind>>,
    /// `best_of_n` / `refine`: how an attempt is rewarded (default: every output non-empty).
    #[serde(default)]
    pub reward: Option<RewardSpec>,
}

/// A `react` tool: a built-in's name, or a table describing a command tool.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ToolSpec {
    /// A built-in tool (`calculator`).
    Builtin(String),
    /// A tool run by a command.
    Command(CommandToolSpec),
}

/// A tool run by an external command, a long-lived process that reads one JSON line
/// `{"tool": NAME, "args": {...}}` per call on stdin and answers one line `{"result": ...}`
/// (or `{"error": "..."}`) on stdout, as the command metric does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandToolSpec {
    /// The name the LM calls the tool by.
    pub name: String,
    /// What the tool does, for the LM.
    #[serde(default)]
    pub description: String,
    /// The arguments: each argument's JSON Schema by name (`{ query = { type = "string" } }`),
    /// as DSPy lists a tool's arguments.
    #[serde(default)]
    pub args: IndexMap<String, toml::Value>,
    /// The program and its arguments, run in the program file's directory (`["python3",
    /// "search.py"]`). A tool without one is declared but cannot be called.
    #[serde(default)]
    pub command: Vec<String>,
}

/// The table form of a signature.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureTable {
    /// The instructions.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Input fields, in order.
    pub inputs: Vec<FieldSpec>,
    /// Output fields, in order.
    pub outputs: Vec<FieldSpec>,
}

/// One field of a table-form signature.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The field name.
    pub name: String,
    /// The type as a Python annotation (default `str`).
    #[serde(default, rename = "type")]
    pub ty: Option<String>,
    /// The description.
    #[serde(default, alias = "description")]
    pub desc: Option<String>,
    /// The prefix (default from the name).
    #[serde(default)]
    pub prefix: Option<String>,
}

/// How `best_of_n` / `refine` reward an attempt: 1 when every condition holds, else 0.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardSpec {
    /// The output field checked (default: all outputs must be non-empty).
    #[serde(default)]
    pub field: Option<String>,
    /// The field's value must be one of these.
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// The field's text must have at most this many characters.
    #[serde(default)]
    pub max_chars: Option<usize>,
}

/// The metric kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// DSPy's normalised exact match.
    ExactMatch,
    /// DSPy's token F1.
    F1,
    /// The label is contained in the prediction.
    Contains,
    /// Numeric equality within a tolerance.
    Numeric,
    /// Several (nested) JSON fields match.
    JsonField,
    /// An LM judge.
    Judge,
    /// An external command speaking JSON lines.
    Command,
}

/// `[metric]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// The kind.
    pub kind: Spanned<MetricKind>,
    /// The field compared (exact_match, f1, contains, numeric).
    #[serde(default)]
    pub field: Option<Spanned<String>>,
    /// The fields compared (json_field), dotted paths.
    #[serde(default)]
    pub fields: Vec<String>,
    /// exact_match: the fraction of F1 counted as a match (DSPy's `frac`).
    #[serde(default)]
    pub frac: Option<f64>,
    /// numeric: allowed absolute difference.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// numeric: allowed relative difference.
    #[serde(default)]
    pub relative: Option<f64>,
    /// json_field: compare strings exactly.
    #[serde(default)]
    pub strict: bool,
    /// command: the program and its arguments, e.g. `["python3", "metric.py"]`.
    #[serde(default)]
    pub command: Vec<String>,
    /// command: seconds one answer may take before the call fails and the process is
    /// restarted (default 60).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// judge: the LM (default `judge`, else the task LM).
    #[serde(default)]
    pub lm: Option<Spanned<String>>,
    /// judge: the judge's signature (default: `example, prediction -> feedback, score: float`).
    #[serde(default)]
    pub signature: Option<String>,
    /// judge: the output holding the score (default `score`).
    #[serde(default)]
    pub score_field: Option<String>,
    /// judge: the output holding feedback.
    #[serde(default)]
    pub feedback_field: Option<String>,
}

/// Dataset file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// `[dataset]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// One file, split into train and dev by `split`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The training file (with `dev`, instead of `path`).
    #[serde(default)]
    pub train: Option<PathBuf>,
    /// The development file.
    #[serde(default)]
    pub dev: Option<PathBuf>,
    /// The format (default from the extension).
    #[serde(default)]
    pub format: Option<DataFormat>,
    /// The input fields (default: the program inputs).
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Renames: `field = "column"`.
    #[serde(default)]
    pub map: IndexMap<String, String>,
    /// How `path` is split.
    #[serde(default)]
    pub split: Option<SplitSpec>,
    /// Read at most this many examples per file.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `split = { dev = 0.5, seed = 7 }`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// The fraction of examples in the dev set (default 0.5).
    #[serde(default = "half")]
    pub dev: f64,
    /// The shuffle seed (default 0).
    #[serde(default)]
    pub seed: u64,
}

fn half() -> f64 {
    0.5
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec { dev: 0.5, seed: 0 }
    }
}
