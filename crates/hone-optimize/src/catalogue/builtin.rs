//! The entries of [`Catalogue::builtin`](super::Catalogue::builtin), in listing order.

use super::{CallTimeModule, OptimizerKind, boxed, check_as, config_as, defaults_of, params};
use crate::{
    BootstrapConfig, BootstrapFewShot, BootstrapFewShotWithOptuna,
    BootstrapFewShotWithRandomSearch, Copro, CoproConfig, Gepa, GepaConfig, InferRules,
    InferRulesConfig, LabeledFewShot, LabeledFewShotConfig, MiproConfig, MiproV2, OptunaConfig,
    RandomSearchConfig, Simba, SimbaConfig,
};

/// Every built-in entry.
pub(super) fn kinds() -> Vec<OptimizerKind> {
    vec![
        OptimizerKind {
            name: "labeled_few_shot",
            aliases: &["labeled"],
            description: "Demos drawn from the labeled training examples, no LM calls (DSPy's LabeledFewShot).",
            params: params::LABELED,
            defaults: defaults_of::<LabeledFewShotConfig>,
            check: check_as::<LabeledFewShotConfig>,
            build: Some(|i, p| {
                let c = config_as("labeled_few_shot", p)?;
                Ok(Box::new(LabeledFewShot::new(i.student, i.trainset, c)?))
            }),
            module: None,
            restore: Some(boxed::<LabeledFewShot>),
        },
        OptimizerKind {
            name: "bootstrap_few_shot",
            aliases: &["bootstrap"],
            description: "Demos from the teacher's own runs on the trainset that the metric accepts (DSPy's BootstrapFewShot).",
            params: params::BOOTSTRAP,
            defaults: defaults_of::<BootstrapConfig>,
            check: check_as::<BootstrapConfig>,
            build: Some(|i, p| {
                let c = config_as("bootstrap_few_shot", p)?;
                Ok(Box::new(BootstrapFewShot::new(i.student, i.trainset, c)?))
            }),
            module: None,
            restore: Some(boxed::<BootstrapFewShot>),
        },
        OptimizerKind {
            name: "bootstrap_few_shot_with_random_search",
            aliases: &["random_search"],
            description: "Bootstrapped demo sets of several seeds scored on the valset; the best one wins (DSPy's BootstrapFewShotWithRandomSearch).",
            params: params::RANDOM_SEARCH,
            defaults: defaults_of::<RandomSearchConfig>,
            check: check_as::<RandomSearchConfig>,
            build: Some(|i, p| {
                let c = config_as("bootstrap_few_shot_with_random_search", p)?;
                Ok(Box::new(BootstrapFewShotWithRandomSearch::new(
                    i.student, i.trainset, i.valset, c,
                )?))
            }),
            module: None,
            restore: Some(boxed::<BootstrapFewShotWithRandomSearch>),
        },
        OptimizerKind {
            name: "bootstrap_few_shot_with_optuna",
            aliases: &["optuna"],
            description: "One bootstrapped demo per predictor, chosen by a TPE study over the valset; the best trial wins (DSPy's BootstrapFewShotWithOptuna).",
            params: params::OPTUNA,
            defaults: defaults_of::<OptunaConfig>,
            check: check_as::<OptunaConfig>,
            build: Some(|i, p| {
                let c = config_as("bootstrap_few_shot_with_optuna", p)?;
                Ok(Box::new(BootstrapFewShotWithOptuna::new(
                    i.student, i.trainset, i.valset, c,
                )?))
            }),
            module: None,
            restore: Some(boxed::<BootstrapFewShotWithOptuna>),
        },
        OptimizerKind {
            name: "mipro_v2",
            aliases: &["miprov2", "mipro"],
            description: "Proposed instructions and bootstrapped demo sets searched together with TPE (DSPy's MIPROv2).",
            params: params::MIPRO,
            defaults: defaults_of::<MiproConfig>,
            check: check_as::<MiproConfig>,
            build: Some(|i, p| {
                let c = config_as("mipro_v2", p)?;
                Ok(Box::new(MiproV2::new(i.student, i.trainset, i.valset, c)?))
            }),
            module: None,
            restore: Some(boxed::<MiproV2>),
        },
        OptimizerKind {
            name: "infer_rules",
            aliases: &["inferrules"],
            description: "Natural-language rules induced from the training examples and appended to the instructions; the best of several candidates wins (DSPy's InferRules).",
            params: params::INFER_RULES,
            defaults: defaults_of::<InferRulesConfig>,
            check: check_as::<InferRulesConfig>,
            build: Some(|i, p| {
                let c = config_as("infer_rules", p)?;
                Ok(Box::new(InferRules::new(
                    i.student, i.trainset, i.valset, c,
                )?))
            }),
            module: None,
            restore: Some(boxed::<InferRules>),
        },
        OptimizerKind {
            name: "gepa",
            aliases: &[],
            description: "Instructions evolved by LM reflection on the program's failures, with a Pareto front and merges (DSPy's GEPA).",
            params: params::GEPA,
            defaults: defaults_of::<GepaConfig>,
            check: check_as::<GepaConfig>,
            build: Some(|i, p| {
                let c = config_as("gepa", p)?;
                Ok(Box::new(Gepa::new(i.student, i.trainset, i.valset, c)?))
            }),
            module: None,
            restore: Some(boxed::<Gepa>),
        },
        OptimizerKind {
            name: "copro",
            aliases: &[],
            description: "Instructions proposed and refined round by round, one predictor at a time (DSPy's COPRO).",
            params: params::COPRO,
            defaults: defaults_of::<CoproConfig>,
            check: check_as::<CoproConfig>,
            build: Some(|i, p| {
                let c = config_as("copro", p)?;
                Ok(Box::new(Copro::new(i.student, i.trainset, c)?))
            }),
            module: None,
            restore: Some(boxed::<Copro>),
        },
        OptimizerKind {
            name: "simba",
            aliases: &[],
            description: "Stochastic mini-batch ascent: hard examples become new demos and self-written rules (DSPy's SIMBA).",
            params: params::SIMBA,
            defaults: defaults_of::<SimbaConfig>,
            check: check_as::<SimbaConfig>,
            build: Some(|i, p| {
                let c = config_as("simba", p)?;
                Ok(Box::new(Simba::new(i.student, i.trainset, c)?))
            }),
            module: None,
            restore: Some(boxed::<Simba>),
        },
        OptimizerKind {
            name: "knn_few_shot",
            aliases: &["knn"],
            description: "At each call, the k training examples nearest to the inputs are bootstrapped into demos (DSPy's KNNFewShot); needs an embedder LM.",
            params: params::KNN,
            defaults: defaults_of::<crate::knn::KnnFewShotConfig>,
            check: check_as::<crate::knn::KnnFewShotConfig>,
            build: None,
            restore: None,
            module: Some(CallTimeModule::KnnFewShot),
        },
        OptimizerKind {
            name: "ensemble",
            aliases: &[],
            description: "Several saved programs answer each call and a majority vote picks the answer (DSPy's Ensemble).",
            params: params::ENSEMBLE,
            defaults: defaults_of::<crate::ensemble::EnsembleConfig>,
            check: check_as::<crate::ensemble::EnsembleConfig>,
            build: None,
            restore: None,
            module: Some(CallTimeModule::Ensemble),
        },
    ]
}
