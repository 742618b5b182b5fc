//! Reading a program file: TOML into [`ProgramFile`], then the checks serde cannot make, into a
//! resolved [`Program`]. Errors carry the file, line, column and field, and a suggestion.

use std::path::{Path, PathBuf};

use hone_core::Signature;
use hone_core::adapter::AdapterKind;
use hone_core::state::ROOT_PREDICTOR;
use toml::Spanned;

use super::checks::{is_identifier, is_stage_name, resolve_source};
use super::signature::{EnumClasses, stage_signature};
use super::spec::{
    DatasetSpec, MetricSpec, ModuleKind, ProgramFile, RewardSpec, StageSpec, ToolSpec,
};
use super::toml_error::{find_key, toml_error};
use crate::error::{Error, FileError, Result, did_you_mean, suggest};
use hone_lm::LmSpec;

/// The built-in tools a `react` stage can use.
pub const BUILTIN_TOOLS: &[&str] = &["calculator"];

/// Where a stage input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A field of the program's inputs.
    Input(String),
    /// An output field of an earlier stage.
    Stage {
        /// The stage.
        stage: String,
        /// Its output field.
        field: String,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Input(field) => write!(f, "input.{field}"),
            Source::Stage { stage, field } => write!(f, "{stage}.{field}"),
        }
    }
}

/// A checked `react` tool.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolDef {
    /// A built-in tool, by name.
    Builtin(String),
    /// A command tool.
    Command {
        /// The name.
        name: String,
        /// The description.
        description: String,
        /// Each argument's JSON Schema, by name.
        args: serde_json::Map<String, serde_json::Value>,
        /// The program and its arguments (empty: declared, not callable).
        command: Vec<String>,
    },
}

impl ToolDef {
    /// The tool's name.
    pub fn name(&self) -> &str {
        match self {
            ToolDef::Builtin(n) => n,
            ToolDef::Command { name, .. } => name,
        }
    }
}

/// One checked stage.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The name (the predictor's name).
    pub name: String,
    /// The module kind.
    pub kind: ModuleKind,
    /// For `best_of_n` / `refine`: the module attempted.
    pub inner: ModuleKind,
    /// The signature, with instructions.
    pub signature: Signature,
    /// The LM name, if the stage names one.
    pub lm: Option<Spanned<String>>,
    /// The adapter.
    pub adapter: AdapterKind,
    /// Each signature input and where it comes from, in signature order.
    pub inputs: Vec<(String, Source)>,
    /// `react` tools.
    pub tools: Vec<ToolDef>,
    /// `react` maximum steps.
    pub max_iters: Option<usize>,
    /// `react` bound on each tool call.
    pub tool_timeout: Option<std::time::Duration>,
    /// `best_of_n` / `refine` attempts.
    pub n: usize,
    /// `best_of_n` / `refine` threshold.
    pub threshold: f64,
    /// `best_of_n` / `refine` reward.
    pub reward: RewardSpec,
}

/// A checked program file.
#[derive(Debug, Clone)]
pub struct Program {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// `[program] description`: what the program does, in a sentence.
    pub description: Option<String>,
    /// The stages, in run order.
    pub stages: Vec<Stage>,
    /// `[lm.*]` tables, by name.
    pub lms: Vec<(String, Spanned<LmSpec>)>,
    /// The LM of stages that name none.
    pub default_lm: Option<Spanned<String>>,
    /// `[metric]`.
    pub metric: Option<Spanned<MetricSpec>>,
    /// `[dataset]`.
    pub dataset: Option<Spanned<DatasetSpec>>,
    /// `[optimizer]`.
    pub optimizer: Option<Spanned<toml::Table>>,
    /// The program's input fields (every `input.X` a stage reads), in first-use order.
    pub inputs: Vec<String>,
    /// The program's output fields (every stage output; later stages win), in order.
    pub outputs: Vec<String>,
}

impl Program {
    /// Reads and checks a program file.
    pub fn read(path: &Path) -> Result<Program> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        Program::parse(path, &text)
    }

    /// Parses and checks a program file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Program> {
        let file: ProgramFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        let at = |span: std::ops::Range<usize>, message: String| {
            FileError::new(path, message).at_offset(text, span.start)
        };
        let classes = EnumClasses::read(path, text, &file.enums)?;
        let default_adapter = file.program.adapter.unwrap_or(AdapterKind::Chat);
        if file.program.stages.is_empty() {
            return Err(FileError::new(path, "the program has no stages")
                .field("program.stages")
                .hint(
                    "add one: [[program.stages]] with name = \"answer\" and signature = \"question -> answer\"",
                )
                .into());
        }
        let mut stages: Vec<Stage> = Vec::new();
        let mut inputs: Vec<String> = Vec::new();
        let mut outputs: Vec<String> = Vec::new();
        for (i, spanned) in file.program.stages.iter().enumerate() {
            let spec: &StageSpec = spanned.get_ref();
            let field = |key: &str| format!("program.stages[{i}].{key}");
            let name = spec.name.get_ref().clone();
            if !is_stage_name(&name) {
                return Err(at(
                    spec.name.span(),
                    format!("stage name `{name}` is not an identifier or a dotted path of identifiers"),
                )
                .field(field("name"))
                .hint("use letters, digits and `_`, with `.` between parts as DSPy names nested predictors, e.g. `classify` or `module.analyzer`")
                .into());
            }
            if name == ROOT_PREDICTOR && file.program.stages.len() > 1 {
                return Err(at(
                    spec.name.span(),
                    "a stage named `self` is the whole program, so it must be the only stage"
                        .into(),
                )
                .field(field("name"))
                .hint("give the stage another name, e.g. `answer`")
                .into());
            }
            if stages.iter().any(|s| s.name == name) || name == "input" {
                return Err(at(
                    spec.name.span(),
                    format!("stage name `{name}` is used twice (or is the reserved `input`)"),
                )
                .field(field("name"))
                .hint("give every stage its own name")
                .into());
            }
            let kind = spec
                .module
                .as_ref()
                .map_or(ModuleKind::Predict, |m| *m.get_ref());
            let inner = spec
                .inner
                .as_ref()
                .map_or(ModuleKind::Predict, |m| *m.get_ref());
            if let Some(m) = &spec.inner
                && !matches!(
                    m.get_ref(),
                    ModuleKind::Predict | ModuleKind::ChainOfThought
                )
            {
                return Err(at(
                    m.span(),
                    "`inner` must be `predict` or `chain_of_thought`".into(),
                )
                .field(field("inner"))
                .into());
            }
            let signature = stage_signature(path, text, spec, &classes)
                .map_err(|e| e.field(field("signature")))?;
            let mut tools: Vec<ToolDef> = Vec::new();
            for t in &spec.tools {
                let def = match t.get_ref() {
                    ToolSpec::Builtin(name) => {
                        if !BUILTIN_TOOLS.contains(&name.as_str()) {
                            return Err(at(t.span(), format!("unknown tool `{name}`"))
                                .field(field("tools"))
                                .hint(format!(
                                    "{}; or describe a command tool: {{ name = \"{name}\", description = \"...\", args = {{ query = {{ type = \"string\" }} }}, command = [\"python3\", \"tool.py\"] }}",
                                    did_you_mean(name, BUILTIN_TOOLS)
                                ))
                                .into());
                        }
                        ToolDef::Builtin(name.clone())
                    }
                    ToolSpec::Command(c) => {
                        if !is_identifier(&c.name) || c.name == "finish" {
                            return Err(at(
                                t.span(),
                                format!("tool name `{}` is not an identifier (or is ReAct's own `finish`)", c.name),
                            )
                            .field(field("tools"))
                            .hint("use letters, digits and `_`, e.g. `search_wikipedia`")
                            .into());
                        }
                        let mut args = serde_json::Map::new();
                        for (arg, schema) in &c.args {
                            let schema = serde_json::to_value(schema).map_err(|e| {
                                at(
                                    t.span(),
                                    format!("tool `{}`: argument `{arg}`: {e}", c.name),
                                )
                                .field(field("tools"))
                            })?;
                            args.insert(arg.clone(), schema);
                        }
                        ToolDef::Command {
                            name: c.name.clone(),
                            description: c.description.clone(),
                            args,
                            command: c.command.clone(),
                        }
                    }
                };
                if tools.iter().any(|d| d.name() == def.name()) {
                    return Err(
                        at(t.span(), format!("tool `{}` is listed twice", def.name()))
                            .field(field("tools"))
                            .into(),
                    );
                }
                tools.push(def);
            }
            if kind == ModuleKind::React && tools.is_empty() {
                return Err(at(spanned.span(), "a `react` stage needs tools".into())
                    .field(field("tools"))
                    .hint("add tools = [\"calculator\"] or a command tool's table")
                    .into());
            }
            // Input mapping.
            let names: Vec<&str> = signature.inputs.iter().map(|f| f.name.as_str()).collect();
            for (target, src) in &spec.inputs {
                if !names.contains(&target.as_str()) {
                    let mut e = at(
                        src.span(),
                        format!(
                            "`{target}` is not an input of stage `{name}` (its inputs: {})",
                            names.join(", ")
                        ),
                    )
                    .field(field(&format!("inputs.{target}")));
                    if let Some(s) = suggest(target, names.iter().copied()) {
                        e = e.hint(format!("did you mean `{s}`?"));
                    }
                    return Err(e.into());
                }
            }
            let tool_timeout = match spec.tool_timeout_secs {
                None => None,
                Some(secs) => match std::time::Duration::try_from_secs_f64(secs) {
                    Ok(limit) if secs > 0.0 => Some(limit),
                    _ => {
                        return Err(at(
                            spanned.span(),
                            format!("`tool_timeout_secs` must be a positive number of seconds, got {secs}"),
                        )
                        .field(field("tool_timeout_secs"))
                        .hint("e.g. tool_timeout_secs = 30")
                        .into());
                    }
                },
            };
            let bad = |key: &str, message: String| -> Error {
                at(spanned.span(), message).field(field(key)).into()
            };
            if spec.n == Some(0) {
                return Err(bad("n", "`n` must be at least 1 (attempts), got 0".into()));
            }
            if spec.max_iters == Some(0) {
                return Err(bad(
                    "max_iters",
                    "`max_iters` must be at least 1, got 0".into(),
                ));
            }
            if let Some(t) = spec.threshold
                && !t.is_finite()
            {
                return Err(bad(
                    "threshold",
                    format!("`threshold` must be a finite number, got {t}"),
                ));
            }
            let mut resolved = Vec::new();
            for input in &signature.inputs {
                let source = match spec.inputs.get(&input.name) {
                    Some(src) => {
                        resolve_source(src.get_ref(), &stages).map_err(|(msg, hint)| {
                            at(src.span(), msg)
                                .field(field(&format!("inputs.{}", input.name)))
                                .maybe_hint(hint)
                        })?
                    }
                    None => stages
                        .iter()
                        .rev()
                        .find(|s| s.signature.outputs.iter().any(|o| o.name == input.name))
                        .map(|s| Source::Stage {
                            stage: s.name.clone(),
                            field: input.name.clone(),
                        })
                        .unwrap_or_else(|| Source::Input(input.name.clone())),
                };
                if let Source::Input(f) = &source
                    && !inputs.contains(f)
                {
                    inputs.push(f.clone());
                }
                resolved.push((input.name.clone(), source));
            }
            for o in &signature.outputs {
                if !outputs.contains(&o.name) {
                    outputs.push(o.name.clone());
                }
            }
            stages.push(Stage {
                name,
                kind,
                inner,
                signature,
                lm: spec.lm.clone(),
                adapter: spec.adapter.unwrap_or(default_adapter),
                inputs: resolved,
                tools,
                max_iters: spec.max_iters,
                tool_timeout,
                n: spec.n.unwrap_or(3).max(1),
                threshold: spec.threshold.unwrap_or(1.0),
                reward: spec.reward.clone().unwrap_or_default(),
            });
        }
        let program = Program {
            path: path.to_owned(),
            text: text.to_owned(),
            description: file.program.description,
            stages,
            lms: file.lm.into_iter().collect(),
            default_lm: file.program.lm,
            metric: file.metric,
            dataset: file.dataset,
            optimizer: file.optimizer,
            inputs,
            outputs,
        };
        if !program.lms.is_empty() {
            let names: Vec<String> = program.lms.iter().map(|(n, _)| n.clone()).collect();
            program.check_lm_names(&names)?;
        }
        program.check_values()?;
        Ok(program)
    }

    /// The directory relative paths of the file are resolved against.
    pub fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    /// An error at a byte span of the file.
    pub fn error_at(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> FileError {
        FileError::new(&self.path, message).at_offset(&self.text, span.start)
    }

    /// An error at the line of `key` inside the `[section]` table (or at the section).
    pub fn error_at_key(&self, section: &str, key: &str, message: impl Into<String>) -> FileError {
        let offset = find_key(&self.text, section, key);
        let e = FileError::new(&self.path, message).field(format!("{section}.{key}"));
        match offset {
            Some(o) => e.at_offset(&self.text, o),
            None => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_STAGE: &str = r#"
[lm.task]
model = "sim"

[program]
adapter = "chat"

[[program.stages]]
name = "extract"
signature = "review -> key_phrase"

[[program.stages]]
name = "classify"
module = "chain_of_thought"
signature = "review, key_phrase -> sentiment: Literal['positive', 'negative', 'neutral']"
inputs = { review = "input.review", key_phrase = "extract.key_phrase" }
"#;

    fn parse(text: &str) -> std::result::Result<Program, String> {
        Program::parse(Path::new("p.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_a_two_stage_program() {
        let p = parse(TWO_STAGE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.inputs, ["review"]);
        assert_eq!(p.outputs, ["key_phrase", "sentiment"]);
        assert_eq!(
            p.stages[1].inputs[1].1,
            Source::Stage {
                stage: "extract".into(),
                field: "key_phrase".into()
            }
        );
    }

    #[test]
    fn unknown_module_kind_is_located_and_suggested() {
        let text = TWO_STAGE.replace("\"chain_of_thought\"", "\"chain_of_thougt\"");
        let e = parse(&text).err().unwrap_or_default();
        assert!(
            e.starts_with(
                "p.toml:14:10: `program.stages[1].module`: unknown variant `chain_of_thougt`"
            ),
            "{e}"
        );
        assert!(e.contains("help: did you mean `chain_of_thought`?"), "{e}");
    }

    #[test]
    fn unknown_key_is_located_and_suggested() {
        let text = TWO_STAGE.replace("module = ", "modul = ");
        let e = parse(&text).err().unwrap_or_default();
        assert!(
            e.starts_with("p.toml:14:1: `program.stages[1].modul`: unknown field `modul`"),
            "{e}"
        );
        assert!(e.contains("did you mean `module`?"), "{e}");
    }

    #[test]
    fn an_unknown_lm_key_is_located_and_suggested() {
        let text = TWO_STAGE.replace("model = \"sim\"", "model = \"sim\"\nmax_inflight = 4");
        let e = parse(&text).err().unwrap_or_default();
        assert!(e.starts_with("p.toml:4:1: `lm.task.max_inflight`"), "{e}");
        assert!(e.contains("did you mean `max_in_flight`?"), "{e}");
    }

    #[test]
    fn lm_tables_take_every_setting_of_the_lm_spec() {
        let text = TWO_STAGE.replace(
            "model = \"sim\"",
            "model = \"sim\"\nheaders = { X-Team = \"a\" }\nnum_retries = 0\nrequests_per_minute = 60\n\
             timeout_secs = 30\nparams = { logprobs = true }\nbreaker = false",
        );
        let program = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let spec = program.lms[0].1.get_ref();
        assert_eq!(spec.headers.get("X-Team").map(String::as_str), Some("a"));
        assert_eq!(spec.num_retries, Some(0));
        assert_eq!(spec.requests_per_minute, Some(60));
        assert_eq!(spec.timeout_secs, Some(30.0));
        assert_eq!(
            spec.params.get("logprobs"),
            Some(&serde_json::Value::Bool(true))
        );
        assert_eq!(spec.breaker, Some(false));
    }

    #[test]
    fn unknown_stage_output_is_suggested() {
        let text = TWO_STAGE.replace("extract.key_phrase", "extract.keyphrase");
        let e = parse(&text).err().unwrap_or_default();
        assert!(
            e.contains("stage `extract` has no output `keyphrase`"),
            "{e}"
        );
        assert!(e.contains("did you mean `extract.key_phrase`?"), "{e}");
    }

    #[test]
    fn unknown_lm_is_suggested() {
        let text = TWO_STAGE.replace("adapter = \"chat\"", "adapter = \"chat\"\nlm = \"tsak\"");
        let e = parse(&text).err().unwrap_or_default();
        assert!(
            e.contains("p.toml:7:6: `program.lm`: unknown LM `tsak`"),
            "{e}"
        );
        assert!(e.contains("did you mean `task`?"), "{e}");
    }

    #[test]
    fn stage_names_are_dspy_predictor_paths() {
        for ok in [
            "classify",
            "module.analyzer",
            "steps[0]",
            "steps[0].answer",
            "a[1][2]",
            "self",
        ] {
            assert!(is_stage_name(ok), "{ok}");
        }
        for bad in [
            "", "a..b", ".a", "a.", "1a", "a[]", "a[x]", "a[1]b", "a b", "a-b",
        ] {
            assert!(!is_stage_name(bad), "{bad}");
        }
    }
}
