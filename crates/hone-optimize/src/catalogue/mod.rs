//! The optimizer catalogue: every optimizer hone knows, registered once.
//!
//! Each [`OptimizerKind`] holds an optimizer's canonical name (the one its checkpoints carry),
//! its aliases, a one-line description, its documented parameters (name, type, default,
//! description), its typed config — parsed from any serde value with unknown keys rejected —
//! and the functions that start it and restore it from a checkpoint. Whoever turns a name into
//! an optimizer reads it: the CLI's `[optimizer]` table and `hone optimize --list-optimizers`,
//! the checkpoint [`Registry`] (so `hone resume` and the Redis coordinator), the benchmarks,
//! and a Python binding.
//!
//! ```
//! use hone_optimize::catalogue::Catalogue;
//! use serde_json::json;
//!
//! let catalogue = Catalogue::builtin();
//! let kind = catalogue.lookup("mipro").expect("an alias of mipro_v2");
//! assert_eq!(kind.name(), "mipro_v2");
//! // Unknown keys are errors that name the key and the closest valid one.
//! let err = kind.parse_config(&json!({"num_trial": 5})).expect_err("a typo");
//! assert_eq!(err.key(), Some("num_trial"));
//! assert_eq!(err.suggestion(), Some("num_trials"));
//! ```
//!
//! Two entries are [`Form::Module`]s rather than ask/tell optimizers: `knn_few_shot` and
//! `ensemble` choose demos or answers at call time, so they are modules that run programs
//! (`hone_eval::KnnFewShot`, `hone_eval::Ensemble`). The catalogue holds their configs and
//! documentation; [`OptimizerKind::build`] refuses them with an error that says so.

mod builtin;
mod error;
mod params;

pub use error::{ConfigError, suggest};

use hone_core::Example;
use hone_core::state::ProgramState;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::protocol::{Optimizer, OptimizerError};
pub(crate) use crate::restore::boxed;
use crate::restore::{Registry, RestoreFn};

/// What a catalogue entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// An ask/tell [`Optimizer`]: it runs once, ahead of time, and produces a program.
    Optimizer,
    /// A module that chooses demos or answers at call time (no ask/tell run, no checkpoint).
    Module,
}

/// The call-time modules of the catalogue ([`Form::Module`] entries), for front ends that
/// build them (the modules run programs, so they live with the executors in hone-eval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallTimeModule {
    /// `knn_few_shot`: `hone_eval::KnnFewShot` with a [`KnnFewShotConfig`](crate::KnnFewShotConfig).
    KnnFewShot,
    /// `ensemble`: `hone_eval::Ensemble` with an [`EnsembleConfig`](crate::EnsembleConfig).
    Ensemble,
}

/// A parameter as its table documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The key.
    pub name: &'static str,
    /// The type, as a program file writes it (`integer`, `float (optional)`, `"a" | "b"`).
    pub ty: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// For a table the config reads with its own keys (and would otherwise ignore unknown
    /// ones in), those keys.
    pub keys: Option<&'static [&'static str]>,
}

/// A documented parameter with its default.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    /// The key.
    pub name: &'static str,
    /// The type, as a program file writes it.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// The default (`null` for an optional parameter that is absent by default).
    pub default: Value,
    /// One line on what it does.
    pub description: &'static str,
}

/// What an optimizer starts from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The program to optimize.
    pub student: &'a ProgramState,
    /// Examples to draw demos from and learn on.
    pub trainset: &'a [Example],
    /// Examples to score candidates on; optimizers that need one split the trainset without it.
    pub valset: Option<&'a [Example]>,
}

/// A function that starts an optimizer from its inputs and its (already checked) parameters.
pub type BuildFn = fn(&Inputs<'_>, &Value) -> Result<Box<dyn Optimizer>, OptimizerError>;

/// A catalogue entry: one optimizer (or call-time module) with everything needed to choose,
/// document, configure, start and restore it.
#[derive(Debug, Clone)]
pub struct OptimizerKind {
    name: &'static str,
    aliases: &'static [&'static str],
    description: &'static str,
    params: &'static [ParamSpec],
    defaults: fn() -> Value,
    check: fn(Value) -> Result<Value, String>,
    build: Option<BuildFn>,
    restore: Option<RestoreFn>,
    module: Option<CallTimeModule>,
}

fn defaults_of<C: Default + Serialize>() -> Value {
    serde_json::to_value(C::default()).unwrap_or(Value::Null)
}

fn check_as<C: DeserializeOwned + Serialize>(value: Value) -> Result<Value, String> {
    let config: C = serde_json::from_value(value).map_err(|e| e.to_string())?;
    serde_json::to_value(config).map_err(|e| e.to_string())
}

fn config_as<C: DeserializeOwned>(
    optimizer: &'static str,
    params: &Value,
) -> Result<C, OptimizerError> {
    serde_json::from_value(params.clone()).map_err(|e| OptimizerError::Config {
        optimizer,
        message: format!("the parameters do not fit: {e}"),
    })
}

impl OptimizerKind {
    /// The canonical name, the one [`Optimizer::name`] returns and checkpoints carry.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Other names a program file may use.
    pub fn aliases(&self) -> &'static [&'static str] {
        self.aliases
    }

    /// One line on what the optimizer does.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// Whether this is an ask/tell optimizer or a call-time module.
    pub fn form(&self) -> Form {
        match self.module {
            Some(_) => Form::Module,
            None => Form::Optimizer,
        }
    }

    /// Which call-time module a [`Form::Module`] entry is; `None` for an optimizer.
    pub fn module(&self) -> Option<CallTimeModule> {
        self.module
    }

    /// Whether `name` is this entry's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// The keys the config takes, in the config's order.
    pub fn param_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.params.iter().map(|p| p.name)
    }

    /// Whether the config takes `key`.
    pub fn takes(&self, key: &str) -> bool {
        self.params.iter().any(|p| p.name == key)
    }

    /// The documented parameters with their defaults.
    pub fn params(&self) -> Vec<Param> {
        let defaults = (self.defaults)();
        self.params
            .iter()
            .map(|p| Param {
                name: p.name,
                ty: p.ty,
                default: defaults.get(p.name).cloned().unwrap_or(Value::Null),
                description: p.description,
            })
            .collect()
    }

    /// The full config with every default filled in.
    pub fn defaults(&self) -> Value {
        (self.defaults)()
    }

    /// Checks `params` (a JSON or TOML table, as a serde value) against the config: every key
    /// must be one of [`param_names`](Self::param_names) and every value must have its type.
    /// Returns the full config, defaults filled in.
    pub fn parse_config(&self, params: &Value) -> Result<Value, ConfigError> {
        self.parse_config_among(params, &[])
    }

    fn parse_config_among(
        &self,
        params: &Value,
        others: &[OptimizerKind],
    ) -> Result<Value, ConfigError> {
        let table = match params {
            Value::Object(m) => m,
            Value::Null => &Map::new(),
            other => {
                return Err(ConfigError::NotATable {
                    kind: self.name,
                    found: json_type(other),
                });
            }
        };
        for key in table.keys() {
            if !self.takes(key) {
                return Err(ConfigError::UnknownKey {
                    kind: self.name,
                    key: key.clone(),
                    suggestion: suggest(key, self.param_names()),
                    taken_by: others
                        .iter()
                        .filter(|k| k.name != self.name && k.takes(key))
                        .map(|k| k.name)
                        .collect(),
                    known: self.param_names().collect(),
                });
            }
        }
        // Keys inside table parameters (e.g. `teacher_settings = { temperature = 0.7 }`).
        for spec in self.params {
            let (Some(keys), Some(Value::Object(inner))) = (spec.keys, table.get(spec.name)) else {
                continue;
            };
            if let Some(key) = inner.keys().find(|k| !keys.contains(&k.as_str())) {
                return Err(ConfigError::UnknownKey {
                    kind: self.name,
                    key: format!("{}.{key}", spec.name),
                    suggestion: suggest(key, keys.iter().copied()),
                    taken_by: Vec::new(),
                    known: keys.to_vec(),
                });
            }
        }
        (self.check)(Value::Object(table.clone())).map_err(|message| {
            // Find the one key at fault, if one alone is: every other key has a default.
            let key = table
                .iter()
                .find(|(k, v)| {
                    let mut one = Map::new();
                    one.insert((*k).clone(), (*v).clone());
                    (self.check)(Value::Object(one)).is_err()
                })
                .map(|(k, _)| k.clone());
            ConfigError::InvalidValue {
                kind: self.name,
                key,
                message,
            }
        })
    }

    /// Starts the optimizer on `inputs` with `params` (checked first, as in
    /// [`parse_config`](Self::parse_config)). A [`Form::Module`] entry cannot start here: the
    /// error says which module runs it.
    pub fn build(
        &self,
        inputs: &Inputs<'_>,
        params: &Value,
    ) -> Result<Box<dyn Optimizer>, OptimizerError> {
        self.parse_config(params)
            .map_err(|e| OptimizerError::Config {
                optimizer: self.name,
                message: e.to_string(),
            })?;
        match self.build {
            Some(build) => build(inputs, params),
            None => Err(OptimizerError::Config {
                optimizer: self.name,
                message: format!(
                    "{} chooses demos or answers at call time; it is a module \
                     (hone_eval's KnnFewShot or Ensemble), not an ask/tell optimizer",
                    self.name
                ),
            }),
        }
    }

    /// The function that restores the optimizer from its checkpoint ([`Optimizer::state`]);
    /// `None` for a [`Form::Module`].
    pub fn restore_fn(&self) -> Option<RestoreFn> {
        self.restore
    }

    /// Rebuilds the optimizer from a state it saved.
    pub fn restore(&self, state: Value) -> Result<Box<dyn Optimizer>, OptimizerError> {
        match self.restore {
            Some(restore) => restore(state),
            None => Err(OptimizerError::Restore {
                optimizer: self.name,
                message: "a call-time module has no checkpoint to restore".into(),
            }),
        }
    }

    /// The entry as JSON: name, aliases, form, description and parameters.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "aliases": self.aliases,
            "form": self.form(),
            "description": self.description,
            "params": self.params(),
        })
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

/// Every optimizer hone knows, in the order listings show them.
#[derive(Debug, Clone)]
pub struct Catalogue {
    kinds: Vec<OptimizerKind>,
}

impl Default for Catalogue {
    fn default() -> Self {
        Catalogue::builtin()
    }
}

impl Catalogue {
    /// hone's optimizers: the few-shot family, the instruction optimizers and the two
    /// call-time modules.
    pub fn builtin() -> Catalogue {
        Catalogue {
            kinds: builtin::kinds(),
        }
    }

    /// Every entry, in listing order.
    pub fn kinds(&self) -> &[OptimizerKind] {
        &self.kinds
    }

    /// The canonical names, in listing order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name).collect()
    }

    /// The entry called `name` (its canonical name or an alias).
    pub fn get(&self, name: &str) -> Option<&OptimizerKind> {
        self.kinds.iter().find(|k| k.answers_to(name))
    }

    /// The entry called `name`, or an error naming the closest known name.
    pub fn lookup(&self, name: &str) -> Result<&OptimizerKind, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::UnknownKind {
            name: name.to_owned(),
            suggestion: suggest(
                name,
                self.kinds
                    .iter()
                    .flat_map(|k| std::iter::once(k.name).chain(k.aliases.iter().copied())),
            ),
            known: self.names(),
        })
    }

    /// Checks `params` against the config of `kind`, like [`OptimizerKind::parse_config`], and
    /// names the other optimizers that take a key `kind` does not (a misplaced key).
    pub fn parse_config(&self, kind: &OptimizerKind, params: &Value) -> Result<Value, ConfigError> {
        kind.parse_config_among(params, &self.kinds)
    }

    /// A checkpoint [`Registry`] holding every entry that can be restored.
    pub fn registry(&self) -> Registry {
        let mut registry = Registry::empty();
        for kind in &self.kinds {
            if let Some(restore) = kind.restore {
                registry.register(kind.name, restore);
            }
        }
        registry
    }

    /// Rebuilds an optimizer from a checkpoint ([`Optimizer::state`]), by the optimizer name
    /// the state carries under `"optimizer"`.
    pub fn restore_state(&self, state: Value) -> Result<Box<dyn Optimizer>, OptimizerError> {
        self.registry().restore_state(state)
    }

    /// Every entry as JSON (what `hone optimize --list-optimizers --json` prints).
    pub fn to_json(&self) -> Value {
        Value::Array(self.kinds.iter().map(OptimizerKind::to_json).collect())
    }
}

#[cfg(test)]
mod tests;
