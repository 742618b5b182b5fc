//! The `[optimizer]` table: which optimizer, its parameters (the optimizer's own config keys,
//! checked against them), `seed` and `concurrency`.

use hone_core::Example;
use hone_core::state::ProgramState;
use hone_optimize::{
    BootstrapConfig, BootstrapFewShot, BootstrapFewShotWithRandomSearch, Copro, CoproConfig, Gepa,
    GepaConfig, LabeledFewShot, LabeledFewShotConfig, MiproConfig, MiproV2, Optimizer,
    RandomSearchConfig, Simba, SimbaConfig,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, did_you_mean};
use crate::program::Program;

/// The optimizers `[optimizer] kind` accepts (`random_search` is short for
/// `bootstrap_few_shot_with_random_search`).
pub const OPTIMIZER_KINDS: &[&str] = &[
    "labeled_few_shot",
    "bootstrap_few_shot",
    "random_search",
    "bootstrap_few_shot_with_random_search",
    "mipro_v2",
    "gepa",
    "copro",
    "simba",
];

/// The default driver concurrency.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// What `[optimizer]` asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerChoice {
    /// The canonical optimizer name.
    pub kind: String,
    /// LM-calling work in flight at once.
    pub concurrency: usize,
    /// The optimizer's parameters (its config keys), `seed` included.
    pub params: Map<String, Value>,
}

fn canonical(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "labeled_few_shot" | "labeled" => "labeled_few_shot",
        "bootstrap_few_shot" | "bootstrap" => "bootstrap_few_shot",
        "random_search" | "bootstrap_few_shot_with_random_search" => {
            "bootstrap_few_shot_with_random_search"
        }
        "mipro_v2" | "miprov2" | "mipro" => "mipro_v2",
        "gepa" => "gepa",
        "copro" => "copro",
        "simba" => "simba",
        _ => return None,
    })
}

fn default_keys(kind: &str) -> Vec<String> {
    fn keys<T: Default + Serialize>() -> Vec<String> {
        match serde_json::to_value(T::default()) {
            Ok(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
    let mut k = match kind {
        "labeled_few_shot" => keys::<LabeledFewShotConfig>(),
        "bootstrap_few_shot" => keys::<BootstrapConfig>(),
        "bootstrap_few_shot_with_random_search" => keys::<RandomSearchConfig>(),
        "mipro_v2" => keys::<MiproConfig>(),
        "gepa" => keys::<GepaConfig>(),
        "simba" => keys::<SimbaConfig>(),
        _ => keys::<CoproConfig>(),
    };
    // Optional keys a default config leaves out of its JSON.
    for extra in [
        "metric_threshold",
        "teacher",
        "max_errors",
        "wave_size",
        "stop_at_score",
        "restrict",
        "auto",
        "num_candidates",
        "num_trials",
    ] {
        if !k.iter().any(|x| x == extra) {
            k.push(extra.to_owned());
        }
    }
    k
}

/// Reads `[optimizer]` (default: `bootstrap_few_shot_with_random_search` with its defaults).
pub fn optimizer_choice(program: &Program) -> Result<OptimizerChoice> {
    let Some(table) = &program.optimizer else {
        return Ok(OptimizerChoice {
            kind: "bootstrap_few_shot_with_random_search".into(),
            concurrency: DEFAULT_CONCURRENCY,
            params: Map::new(),
        });
    };
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
                    "add kind = \"random_search\" (one of {})",
                    OPTIMIZER_KINDS.join(", ")
                ))
                .into());
        }
    };
    let Some(kind) = canonical(&kind_text) else {
        return Err(program
            .error_at_key(
                "optimizer",
                "kind",
                format!("unknown optimizer `{kind_text}`"),
            )
            .hint(did_you_mean(&kind_text, OPTIMIZER_KINDS))
            .into());
    };
    let known = default_keys(kind);
    let mut params = Map::new();
    let mut concurrency = DEFAULT_CONCURRENCY;
    for (key, value) in table {
        match key.as_str() {
            "kind" => {}
            "concurrency" => match value.as_integer() {
                Some(n) if n >= 1 => concurrency = n as usize,
                _ => {
                    return Err(program
                        .error_at_key("optimizer", key, "`concurrency` must be a positive integer")
                        .into());
                }
            },
            "seed" if !known.iter().any(|k| k == "seed") => {}
            _ => {
                if !known.iter().any(|k| k == key) {
                    let names: Vec<&str> = known.iter().map(String::as_str).collect();
                    return Err(program
                        .error_at_key(
                            "optimizer",
                            key,
                            format!("`{key}` is not a parameter of {kind}"),
                        )
                        .hint(did_you_mean(key, &names))
                        .into());
                }
                let json = serde_json::to_value(value).map_err(|e| {
                    program.error_at_key("optimizer", key, format!("cannot read the value: {e}"))
                })?;
                params.insert(key.clone(), json);
            }
        }
    }
    let choice = OptimizerChoice {
        kind: kind.to_owned(),
        concurrency,
        params,
    };
    // Check the parameters' types now, not when the run starts.
    check_config(program, &choice)?;
    Ok(choice)
}

fn config<T: DeserializeOwned>(program: &Program, choice: &OptimizerChoice) -> Result<T> {
    serde_json::from_value(Value::Object(choice.params.clone())).map_err(|e| {
        let key = choice
            .params
            .keys()
            .find(|k| e.to_string().contains(k.as_str()))
            .cloned()
            .unwrap_or_else(|| "kind".into());
        program
            .error_at_key(
                "optimizer",
                &key,
                format!("invalid parameters for {}: {e}", choice.kind),
            )
            .into()
    })
}

fn check_config(program: &Program, choice: &OptimizerChoice) -> Result<()> {
    match choice.kind.as_str() {
        "labeled_few_shot" => config::<LabeledFewShotConfig>(program, choice).map(drop),
        "bootstrap_few_shot" => config::<BootstrapConfig>(program, choice).map(drop),
        "bootstrap_few_shot_with_random_search" => {
            config::<RandomSearchConfig>(program, choice).map(drop)
        }
        "mipro_v2" => config::<MiproConfig>(program, choice).map(drop),
        "gepa" => config::<GepaConfig>(program, choice).map(drop),
        "simba" => config::<SimbaConfig>(program, choice).map(drop),
        _ => config::<CoproConfig>(program, choice).map(drop),
    }
}

/// Starts the chosen optimizer on `student` with demos from `train`, scored on `dev`.
pub fn make_optimizer(
    program: &Program,
    choice: &OptimizerChoice,
    student: &ProgramState,
    train: &[Example],
    dev: &[Example],
) -> Result<Box<dyn Optimizer>> {
    let failed = |e: hone_optimize::OptimizerError| crate::Error::Usage(e.to_string());
    let dev = (!dev.is_empty()).then_some(dev);
    Ok(match choice.kind.as_str() {
        "labeled_few_shot" => {
            Box::new(LabeledFewShot::new(student, train, config(program, choice)?).map_err(failed)?)
        }
        "bootstrap_few_shot" => Box::new(
            BootstrapFewShot::new(student, train, config(program, choice)?).map_err(failed)?,
        ),
        "bootstrap_few_shot_with_random_search" => Box::new(
            BootstrapFewShotWithRandomSearch::new(student, train, dev, config(program, choice)?)
                .map_err(failed)?,
        ),
        "mipro_v2" => {
            Box::new(MiproV2::new(student, train, dev, config(program, choice)?).map_err(failed)?)
        }
        "gepa" => {
            Box::new(Gepa::new(student, train, dev, config(program, choice)?).map_err(failed)?)
        }
        "simba" => Box::new(Simba::new(student, train, config(program, choice)?).map_err(failed)?),
        _ => Box::new(Copro::new(student, train, config(program, choice)?).map_err(failed)?),
    })
}
