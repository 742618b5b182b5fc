//! The `[optimizer]` table: which optimizer (a name or alias of hone-optimize's
//! [`Catalogue`]), its parameters (checked against that optimizer's config: an unknown or
//! misplaced key is an error at its line, naming the closest valid key), and `concurrency`.

use hone_core::Example;
use hone_core::adapter::AdapterKind;
use hone_core::state::ProgramState;
use hone_optimize::{Catalogue, ConfigError, Form, Inputs, Optimizer, OptimizerKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::program::Program;

/// The default driver concurrency.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The optimizer a program without `[optimizer]` gets.
pub const DEFAULT_OPTIMIZER: &str = "bootstrap_few_shot_with_random_search";

/// What `[optimizer]` asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerChoice {
    /// The canonical optimizer name.
    pub kind: String,
    /// LM-calling work in flight at once.
    pub concurrency: usize,
    /// The adapter of the optimizer's own calls (proposed instructions, reflections, rules):
    /// `proposal_adapter` in `[optimizer]`; DSPy's `ChatAdapter` when unset. A small model
    /// that cannot follow the chat adapter's `[[ ## field ## ]]` format answers the JSON
    /// adapter's structured outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_adapter: Option<AdapterKind>,
    /// The optimizer's parameters (its config keys) as the file gives them.
    pub params: Map<String, Value>,
}

impl OptimizerChoice {
    /// The catalogue entry of [`kind`](Self::kind).
    pub fn entry(&self) -> Result<OptimizerKind> {
        Catalogue::builtin()
            .lookup(&self.kind)
            .cloned()
            .map_err(|e| crate::Error::Usage(e.to_string()))
    }

    /// The parameters as one JSON table.
    pub fn params_value(&self) -> Value {
        Value::Object(self.params.clone())
    }

    /// The parameters read as `C` (a config whose keys were checked when the file was read).
    pub fn config<C: serde::de::DeserializeOwned>(&self) -> Result<C> {
        serde_json::from_value(self.params_value())
            .map_err(|e| crate::Error::Usage(format!("invalid parameters for {}: {e}", self.kind)))
    }
}

/// Where in the file a catalogue error belongs: the key at fault, else `kind`.
fn config_error(program: &Program, error: &ConfigError) -> crate::Error {
    // A key inside a table parameter (`teacher_settings.temperatur`) sits on its table's line.
    let key = error.key().unwrap_or("kind");
    let line_key = key.split('.').next().unwrap_or(key);
    let mut e = program
        .error_at_key("optimizer", line_key, error.problem())
        .field(format!("optimizer.{key}"));
    if let Some(hint) = error.hint() {
        e = e.hint(hint);
    }
    e.into()
}

/// Reads `[optimizer]` (default: [`DEFAULT_OPTIMIZER`] with its defaults).
pub fn optimizer_choice(program: &Program) -> Result<OptimizerChoice> {
    let Some(table) = &program.optimizer else {
        return Ok(OptimizerChoice {
            kind: DEFAULT_OPTIMIZER.into(),
            concurrency: DEFAULT_CONCURRENCY,
            proposal_adapter: None,
            params: Map::new(),
        });
    };
    let catalogue = Catalogue::builtin();
    let table = table.get_ref();
    let kind_text = match table.get("kind") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(program
                .error_at_key("optimizer", "kind", "`kind` must be a string")
                .into());
        }
        None => {
            return Err(program
                .error_at_key("optimizer", "kind", "missing `kind`")
                .hint(format!(
                    "add kind = \"random_search\" (one of {}; `hone optimize --list-optimizers` describes them)",
                    catalogue.names().join(", ")
                ))
                .into());
        }
    };
    let kind = catalogue
        .lookup(&kind_text)
        .map_err(|e| config_error(program, &e))?;
    let mut params = Map::new();
    let mut concurrency = DEFAULT_CONCURRENCY;
    let mut proposal_adapter = None;
    for (key, value) in table {
        match key.as_str() {
            "kind" => {}
            "proposal_adapter" => {
                let kinds = AdapterKind::all().map(AdapterKind::as_str).join(", ");
                match value.as_str().map(str::parse::<AdapterKind>) {
                    Some(Ok(kind)) => proposal_adapter = Some(kind),
                    _ => {
                        return Err(program
                            .error_at_key(
                                "optimizer",
                                key,
                                format!("`proposal_adapter` must be one of {kinds}"),
                            )
                            .hint("e.g. proposal_adapter = \"json\" for a model that follows structured outputs")
                            .into());
                    }
                }
            }
            "concurrency" => match value.as_integer() {
                Some(n) if n >= 1 => concurrency = n as usize,
                _ => {
                    return Err(program
                        .error_at_key("optimizer", key, "`concurrency` must be a positive integer")
                        .into());
                }
            },
            _ => {
                if let Some(bad) = non_finite(value) {
                    return Err(program
                        .error_at_key(
                            "optimizer",
                            key,
                            format!("`{key}` must be a finite number, got {bad}"),
                        )
                        .into());
                }
                let mut json = serde_json::to_value(value).map_err(|e| {
                    program.error_at_key("optimizer", key, format!("cannot read the value: {e}"))
                })?;
                // A path parameter (GEPA's `stop_file`) is relative to the program file, as
                // every path of the file is; made absolute so that a resumed run finds it
                // from any directory.
                let is_path = kind
                    .params()
                    .iter()
                    .any(|p| p.name == key.as_str() && p.ty.starts_with("path"));
                if is_path && let Value::String(text) = &json {
                    let joined = program.dir().join(text);
                    let absolute = std::path::absolute(&joined).unwrap_or(joined);
                    json = Value::String(absolute.to_string_lossy().into_owned());
                }
                params.insert(key.clone(), json);
            }
        }
    }
    // Check the keys and the values' types now, not when the run starts.
    catalogue
        .parse_config(kind, &Value::Object(params.clone()))
        .map_err(|e| config_error(program, &e))?;
    Ok(OptimizerChoice {
        kind: kind.name().to_owned(),
        concurrency,
        proposal_adapter,
        params,
    })
}

/// The first NaN or infinite float in `value` (TOML has `nan` and `inf`; JSON has neither).
fn non_finite(value: &toml::Value) -> Option<f64> {
    match value {
        toml::Value::Float(f) if !f.is_finite() => Some(*f),
        toml::Value::Array(items) => items.iter().find_map(non_finite),
        toml::Value::Table(table) => table.values().find_map(non_finite),
        _ => None,
    }
}

/// Starts the chosen optimizer on `student` with demos from `train`, scored on `dev`. A
/// call-time module (`knn_few_shot`, `ensemble`) has no ask/tell optimizer: the run builds
/// the module instead (see [`crate::run`]).
pub fn make_optimizer(
    choice: &OptimizerChoice,
    student: &ProgramState,
    train: &[Example],
    dev: &[Example],
) -> Result<Box<dyn Optimizer>> {
    let kind = choice.entry()?;
    let inputs = Inputs {
        student,
        trainset: train,
        valset: (!dev.is_empty()).then_some(dev),
    };
    kind.build(&inputs, &choice.params_value())
        .map_err(|e| crate::Error::Usage(e.to_string()))
}

/// Whether the choice is a call-time module rather than an ask/tell optimizer.
pub fn is_module(choice: &OptimizerChoice) -> bool {
    choice.entry().is_ok_and(|k| k.form() == Form::Module)
}

/// The optimizers as `hone optimize --help` lists them: each kind with its aliases and
/// description and, when `params` is set, its parameters with type, default and description.
pub fn optimizers_help(params: bool) -> String {
    let mut out = String::from(
        "Optimizers ([optimizer] kind = \"NAME\", then any of its parameters; for every kind, concurrency = N and proposal_adapter = \"chat\" | \"json\" | \"xml\" | \"baml\" for the optimizer's own LM calls):\n",
    );
    for kind in Catalogue::builtin().kinds() {
        out.push('\n');
        out.push_str("  ");
        out.push_str(kind.name());
        if !kind.aliases().is_empty() {
            out.push_str(&format!(" (also {})", kind.aliases().join(", ")));
        }
        out.push_str(&format!("\n      {}\n", kind.description()));
        if !params {
            continue;
        }
        for p in kind.params() {
            // Defaults as a program file writes them (TOML), JSON if TOML cannot say it.
            let default = match &p.default {
                Value::Null => String::new(),
                v => match toml::Value::try_from(v) {
                    Ok(t) => format!(" = {t}"),
                    Err(_) => format!(" = {v}"),
                },
            };
            out.push_str(&format!(
                "      - {}: {}{default}. {}\n",
                p.name, p.ty, p.description
            ));
        }
    }
    if !params {
        out.push_str("\n`hone optimize --help` or `--list-optimizers` adds their parameters.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_kind_and_the_long_form_every_parameter() {
        let short = optimizers_help(false);
        let long = optimizers_help(true);
        let catalogue = Catalogue::builtin();
        assert_eq!(catalogue.kinds().len(), 11);
        for kind in catalogue.kinds() {
            assert!(short.contains(&format!("\n  {}", kind.name())), "{short}");
            assert!(short.contains(kind.description()));
            for p in kind.param_names() {
                assert!(
                    long.contains(&format!("      - {p}: ")),
                    "{} {p}",
                    kind.name()
                );
            }
        }
        assert!(short.contains("bootstrap_few_shot_with_random_search (also random_search)"));
        assert!(long.contains("      - k: integer = 16. Demos per predictor (DSPy's `k`).\n"));
        assert!(long.contains("      - metric_threshold: float (optional). "));
        assert!(
            long.contains("      - budget: table = { auto = \"light\" }. "),
            "{long}"
        );
        assert!(
            long.contains("      - teacher_lm: \"task\" | \"teacher\" | \"proposer\" = \"task\". ")
        );
    }

    fn program_with(optimizer: &str) -> Result<Program> {
        Program::parse(
            std::path::Path::new("p.toml"),
            &format!(
                "[program]\n[[program.stages]]\nname = \"a\"\nsignature = \"q -> a\"\n\n[optimizer]\n{optimizer}\n"
            ),
        )
    }

    #[test]
    fn proposal_adapter_names_the_adapter_of_the_optimizers_own_calls() {
        let program =
            program_with("kind = \"mipro_v2\"\nproposal_adapter = \"json\"").expect("parses");
        let choice = optimizer_choice(&program).expect("a valid choice");
        assert_eq!(choice.proposal_adapter, Some(AdapterKind::Json));
        assert!(!choice.params.contains_key("proposal_adapter"));
        let program = program_with("kind = \"mipro_v2\"").expect("parses");
        assert_eq!(
            optimizer_choice(&program)
                .expect("a valid choice")
                .proposal_adapter,
            None
        );
        let program =
            program_with("kind = \"mipro_v2\"\nproposal_adapter = \"jsno\"").expect("parses");
        let message = optimizer_choice(&program)
            .expect_err("an unknown adapter")
            .to_string();
        assert!(
            message.contains("`proposal_adapter` must be one of chat, json, xml, baml"),
            "{message}"
        );
        assert!(message.contains("p.toml:8"), "{message}");
    }

    #[test]
    fn a_stop_file_is_relative_to_the_program_file_and_made_absolute() {
        let text = "[lm.task]\nmodel = \"sim\"\n\n[[program.stages]]\nname = \"s\"\nsignature = \"q -> a\"\n\n\
                    [optimizer]\nkind = \"gepa\"\nstop_file = \"runs/gepa.stop\"\n\
                    timeout_secs = 30.0\n";
        let program = Program::parse(std::path::Path::new("examples/p.toml"), text)
            .unwrap_or_else(|e| panic!("{e}"));
        let choice = optimizer_choice(&program).unwrap_or_else(|e| panic!("{e}"));
        let expected = std::path::absolute("examples/runs/gepa.stop").expect("absolute");
        assert_eq!(
            choice.params["stop_file"],
            Value::String(expected.to_string_lossy().into_owned())
        );
        assert_eq!(choice.params["timeout_secs"], serde_json::json!(30.0));
        // Other kinds' values are kept as written.
        let text = text.replace(
            "kind = \"gepa\"\nstop_file = \"runs/gepa.stop\"\n",
            "kind = \"gepa\"\n",
        );
        let program = Program::parse(std::path::Path::new("examples/p.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}"));
        let choice = optimizer_choice(&program).unwrap_or_else(|e| panic!("{e}"));
        assert!(!choice.params.contains_key("stop_file"));
    }
}
