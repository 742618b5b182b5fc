//! The documented parameters of every catalogue entry: name, type and one line each, in the
//! order of the config's fields. A unit test in `mod.rs` checks every table against its
//! config's fields, so a new field cannot go undocumented (or unaccepted).

use super::ParamSpec;

const fn p(name: &'static str, ty: &'static str, description: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        description,
        keys: None,
    }
}

/// A table parameter whose keys are `keys`.
const fn table(
    name: &'static str,
    ty: &'static str,
    description: &'static str,
    keys: &'static [&'static str],
) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        description,
        keys: Some(keys),
    }
}

/// The keys of [`crate::Teacher`].
const TEACHER: &[&str] = &["program", "compiled"];
/// The keys of [`crate::CallSettings`].
const SETTINGS: &[&str] = &["temperature", "rollout_id", "no_cache"];

const ROLE: &str = "\"task\" | \"teacher\" | \"proposer\"";

/// [`crate::LabeledFewShotConfig`].
pub(super) const LABELED: &[ParamSpec] = &[
    p("k", "integer", "Demos per predictor (DSPy's `k`)."),
    p(
        "sample",
        "boolean",
        "Sample `k` examples at random, or take the first `k`.",
    ),
    p(
        "seed",
        "integer",
        "Seed of the sampler (DSPy always uses 0).",
    ),
];

/// [`crate::BootstrapConfig`].
pub(super) const BOOTSTRAP: &[ParamSpec] = &[
    p(
        "metric_threshold",
        "float (optional)",
        "Accept a teacher run whose score is at least this; without it, any score above 0.",
    ),
    table(
        "teacher",
        "table (optional)",
        "A separate teacher program `{ program, compiled }`; the student teaches when absent.",
        TEACHER,
    ),
    p("teacher_lm", ROLE, "The LM the teacher runs on."),
    table(
        "teacher_settings",
        "table",
        "Sampling settings of teacher runs: `temperature`, `rollout_id`, `no_cache`.",
        SETTINGS,
    ),
    p(
        "max_bootstrapped_demos",
        "integer",
        "Maximum bootstrapped demos per predictor.",
    ),
    p(
        "max_labeled_demos",
        "integer",
        "Maximum demos per predictor in all, labeled ones filling up.",
    ),
    p("max_rounds", "integer", "Attempts per training example."),
    p(
        "max_errors",
        "integer (optional)",
        "Stop once this many program or metric failures happened (DSPy's default 10 when absent).",
    ),
    p(
        "wave_size",
        "integer (optional)",
        "Training examples attempted at once (1 is DSPy's loop; absent: twice the demos still needed).",
    ),
    p(
        "seed",
        "integer",
        "Seed of the samplers (DSPy always uses 0).",
    ),
];

/// [`crate::InferRulesConfig`].
pub(super) const INFER_RULES: &[ParamSpec] = &[
    p(
        "num_candidates",
        "integer",
        "Candidate programs, each with freshly induced rules.",
    ),
    p("num_rules", "integer", "Rules asked for per predictor."),
    p(
        "metric_threshold",
        "float (optional)",
        "Accept a teacher run whose score is at least this; without it, any score above 0.",
    ),
    table(
        "teacher",
        "table (optional)",
        "A separate teacher program `{ program, compiled }`; the student teaches when absent.",
        TEACHER,
    ),
    p("teacher_lm", ROLE, "The LM the teacher runs on."),
    table(
        "teacher_settings",
        "table",
        "Sampling settings of teacher runs and rule calls: `temperature`, `rollout_id`, `no_cache`.",
        SETTINGS,
    ),
    p(
        "max_bootstrapped_demos",
        "integer",
        "Maximum bootstrapped demos per predictor.",
    ),
    p(
        "max_labeled_demos",
        "integer",
        "Maximum demos per predictor in all, labeled ones filling up.",
    ),
    p("max_rounds", "integer", "Attempts per training example."),
    p(
        "max_errors",
        "integer (optional)",
        "Stop once this many program or metric failures happened (DSPy's default 10 when absent).",
    ),
    p(
        "wave_size",
        "integer (optional)",
        "Training examples attempted at once (1 is DSPy's loop; absent: twice the demos still needed).",
    ),
    p(
        "seed",
        "integer",
        "Seed of the bootstrap's samplers and of the rule calls' rollout ids (DSPy always uses 0).",
    ),
];

/// [`crate::OptunaConfig`].
pub(super) const OPTUNA: &[ParamSpec] = &[
    table(
        "teacher",
        "table (optional)",
        "A separate teacher program `{ program, compiled }`; the student teaches when absent.",
        TEACHER,
    ),
    p("teacher_lm", ROLE, "The LM the teacher runs on."),
    table(
        "teacher_settings",
        "table",
        "Sampling settings of teacher runs: `temperature`, `rollout_id`, `no_cache`.",
        SETTINGS,
    ),
    p(
        "max_demos",
        "integer",
        "Bootstrapped demos per predictor the trials choose one from (DSPy's `compile(max_demos=...)`).",
    ),
    p(
        "max_labeled_demos",
        "integer",
        "Maximum demos per predictor in all, labeled ones filling up (all are choices).",
    ),
    p("max_rounds", "integer", "Attempts per training example."),
    p(
        "num_candidate_programs",
        "integer",
        "Trials of the TPE study, each scored on the valset.",
    ),
    p(
        "max_errors",
        "integer (optional)",
        "Stop once this many program or metric failures happened (DSPy's default 10 when absent).",
    ),
    p(
        "wave_size",
        "integer (optional)",
        "Training examples attempted at once (1 is DSPy's loop; absent: twice the demos still needed).",
    ),
    p(
        "seed",
        "integer",
        "Seed of the bootstrap's samplers and of the TPE sampler.",
    ),
];

/// [`crate::RandomSearchConfig`].
pub(super) const RANDOM_SEARCH: &[ParamSpec] = &[
    p(
        "metric_threshold",
        "float (optional)",
        "Accept a teacher run whose score is at least this; without it, any score above 0.",
    ),
    table(
        "teacher",
        "table (optional)",
        "A separate teacher program `{ program, compiled }`; the student teaches when absent.",
        TEACHER,
    ),
    p("teacher_lm", ROLE, "The LM the teacher runs on."),
    table(
        "teacher_settings",
        "table",
        "Sampling settings of teacher runs: `temperature`, `rollout_id`, `no_cache`.",
        SETTINGS,
    ),
    p(
        "max_bootstrapped_demos",
        "integer",
        "The largest bootstrap size drawn for a candidate.",
    ),
    p(
        "max_labeled_demos",
        "integer",
        "Maximum demos per predictor in all, labeled ones filling up.",
    ),
    p("max_rounds", "integer", "Attempts per training example."),
    p(
        "num_candidate_programs",
        "integer",
        "Shuffled bootstrap candidates, besides the three fixed ones.",
    ),
    p(
        "max_errors",
        "integer (optional)",
        "Failures allowed per bootstrap and per evaluation (DSPy's default 10 when absent).",
    ),
    p(
        "stop_at_score",
        "float (optional)",
        "Stop at the first candidate whose mean score (a fraction in [0, 1]) reaches this.",
    ),
    p(
        "labeled_sample",
        "boolean",
        "Candidate -2 samples its labeled demos, or takes the first ones.",
    ),
    p(
        "restrict",
        "list of integers (optional)",
        "Only these candidate seeds (DSPy's `restrict`).",
    ),
    p(
        "wave_size",
        "integer (optional)",
        "Training examples attempted at once by each bootstrap.",
    ),
    p(
        "eval_batch_size",
        "integer",
        "Valset examples per evaluation job.",
    ),
    p(
        "seed",
        "integer",
        "Added to the shuffled candidates' seeds (0 reproduces DSPy's candidates).",
    ),
];

/// [`crate::MiproConfig`].
pub(super) const MIPRO: &[ParamSpec] = &[
    p(
        "auto",
        "\"light\" | \"medium\" | \"heavy\" (optional)",
        "Preset: light when left out, unless `num_candidates` and `num_trials` are set, which run without one (DSPy's `auto=None`).",
    ),
    p(
        "num_candidates",
        "integer (optional)",
        "Instruction and demo-set candidates per predictor (only without `auto`).",
    ),
    p(
        "num_trials",
        "integer (optional)",
        "Search trials (only without `auto`).",
    ),
    p(
        "max_bootstrapped_demos",
        "integer",
        "Bootstrapped demos per demo set.",
    ),
    p(
        "max_labeled_demos",
        "integer",
        "Labeled demos per demo set.",
    ),
    p("seed", "integer", "Seed."),
    p(
        "init_temperature",
        "float",
        "Temperature of proposer calls.",
    ),
    p(
        "metric_threshold",
        "float (optional)",
        "Bootstrap acceptance threshold.",
    ),
    p(
        "max_errors",
        "integer (optional)",
        "Errors allowed while bootstrapping (DSPy's default 10 when absent).",
    ),
    p(
        "teacher_lm",
        ROLE,
        "The LM that runs the teacher while bootstrapping.",
    ),
    p(
        "minibatch",
        "boolean",
        "Score trials on minibatches (`auto` decides by valset size).",
    ),
    p("minibatch_size", "integer", "Minibatch size."),
    p(
        "minibatch_full_eval_steps",
        "integer",
        "Minibatch trials between full evaluations.",
    ),
    p(
        "program_aware_proposer",
        "boolean",
        "Describe the program and module to the proposer.",
    ),
    p(
        "data_aware_proposer",
        "boolean",
        "Summarize the dataset for the proposer.",
    ),
    p(
        "view_data_batch_size",
        "integer",
        "Examples per dataset-summary call.",
    ),
    p(
        "sequential_data_summary",
        "boolean",
        "Summarize the dataset one observation call at a time, as DSPy does.",
    ),
    p(
        "tip_aware_proposer",
        "boolean",
        "Give the proposer a random tip.",
    ),
    p(
        "fewshot_aware_proposer",
        "boolean",
        "Show the proposer bootstrapped demos.",
    ),
    p(
        "trial_batch_size",
        "integer",
        "Trials in flight at once (independent of the executor's concurrency).",
    ),
];

/// [`crate::GepaConfig`].
pub(super) const GEPA: &[ParamSpec] = &[
    p(
        "budget",
        "table",
        "Exactly one of `{ auto = \"light\" | \"medium\" | \"heavy\" }`, `{ max_full_evals = N }`, `{ max_metric_calls = N }`.",
    ),
    p(
        "timeout_secs",
        "float (optional)",
        "Stop before the next iteration once the run took this many wall-clock seconds (the driver's clock, resumed sessions included).",
    ),
    p(
        "no_improvement_iterations",
        "integer (optional)",
        "Stop after this many iterations in a row did not raise the best mean validation score.",
    ),
    p(
        "score_threshold",
        "float (optional)",
        "Stop once the best mean validation score is at least this.",
    ),
    p(
        "max_candidates",
        "integer (optional)",
        "Stop once the pool holds this many candidates, the seed included.",
    ),
    p(
        "stop_file",
        "path (optional)",
        "Stop before the next iteration once this file exists (in a program file, relative to the file's directory).",
    ),
    p(
        "reflection_minibatch_size",
        "integer",
        "Training examples per reflection.",
    ),
    p(
        "candidate_selection_strategy",
        "\"pareto\" | \"current_best\" | \"epsilon_greedy\" | \"top_k_pareto\"",
        "Parent selection: Pareto sampling, the best candidate, epsilon-greedy, or Pareto sampling among the `top_k` best.",
    ),
    p(
        "epsilon",
        "float",
        "With `epsilon_greedy`, the probability of a uniformly drawn parent instead of the best (0 to 1).",
    ),
    p(
        "top_k",
        "integer",
        "With `top_k_pareto`, how many of the best candidates Pareto sampling keeps.",
    ),
    p(
        "skip_perfect_score",
        "boolean",
        "Skip reflecting on a minibatch where the parent is already perfect.",
    ),
    p("perfect_score", "float", "The score counted as perfect."),
    p(
        "component_selector",
        "\"round_robin\" | \"all\"",
        "Which components a mutation rewrites.",
    ),
    p(
        "frontier_type",
        "\"instance\" | \"objective\" | \"hybrid\" | \"cartesian\"",
        "The Pareto fronts parents are drawn from: per validation example, per metric objective, both, or per (example, objective); all but `instance` need a metric returning `objectives`.",
    ),
    p("use_merge", "boolean", "Try merges."),
    p(
        "max_merge_invocations",
        "integer",
        "Merges accepted at most.",
    ),
    p(
        "merge_val_overlap_floor",
        "integer",
        "Shared validation examples two candidates need before they are merged.",
    ),
    p(
        "failure_score",
        "float",
        "Score of an example whose program run or metric failed.",
    ),
    p(
        "num_parallel_proposals",
        "integer",
        "Independent (parent, minibatch) proposals per iteration.",
    ),
    p(
        "eval_batch_size",
        "integer",
        "Validation examples per evaluation job.",
    ),
    p(
        "overlap_full_evals",
        "boolean",
        "Pipeline the iterations and score candidates on the valset in the background.",
    ),
    p(
        "track_best_outputs",
        "boolean",
        "Keep each validation example's best output and the candidate that produced it (in the state's `best_outputs`).",
    ),
    p("seed", "integer", "Seed."),
];

/// [`crate::CoproConfig`].
pub(super) const COPRO: &[ParamSpec] = &[
    p(
        "breadth",
        "integer",
        "New instructions per round (must be above 1).",
    ),
    p("depth", "integer", "Rounds."),
    p(
        "init_temperature",
        "float",
        "Temperature of proposer calls.",
    ),
];

/// [`crate::SimbaConfig`].
pub(super) const SIMBA: &[ParamSpec] = &[
    p(
        "bsize",
        "integer",
        "Minibatch size (at most the trainset size).",
    ),
    p(
        "num_candidates",
        "integer",
        "Trajectories per example, and new candidates per step minus one.",
    ),
    p("max_steps", "integer", "Steps."),
    p(
        "max_demos",
        "integer",
        "Demos a predictor holds before some are dropped (0 disables `append_a_demo`).",
    ),
    p(
        "demo_input_field_maxlen",
        "integer",
        "Characters kept of an input field in a new demo.",
    ),
    p(
        "temperature_for_sampling",
        "float",
        "Softmax temperature for choosing the programs that sample trajectories.",
    ),
    p(
        "temperature_for_candidates",
        "float",
        "Softmax temperature for choosing the source program of a new candidate.",
    ),
    p(
        "teacher_lm",
        "\"task\" | \"teacher\" | \"proposer\" (optional)",
        "The LM of each example's first trajectory sample; the task LM for all when absent.",
    ),
    p("seed", "integer", "Seed."),
];

/// [`crate::knn::KnnFewShotConfig`].
pub(super) const KNN: &[ParamSpec] = &[
    p(
        "k",
        "integer",
        "Training examples nearest to the call's inputs that become its demos.",
    ),
    p(
        "max_bootstrapped_demos",
        "integer",
        "Maximum bootstrapped demos per predictor.",
    ),
    p(
        "max_labeled_demos",
        "integer",
        "Maximum demos per predictor in all, labeled ones filling up.",
    ),
    p("max_rounds", "integer", "Attempts per neighbour."),
    p(
        "use_metric",
        "boolean",
        "Keep only teacher runs the metric accepts (false: every run, DSPy's `metric=None`).",
    ),
    p(
        "metric_threshold",
        "float (optional)",
        "With `use_metric`, accept a teacher run whose score is at least this.",
    ),
    p("seed", "integer", "Seed of the bootstrap's samplers."),
];

/// [`crate::ensemble::EnsembleConfig`].
pub(super) const ENSEMBLE: &[ParamSpec] = &[
    p(
        "programs",
        "list of strings",
        "Saved programs (paths, relative to the program file) that vote; empty: the program once.",
    ),
    p(
        "size",
        "integer (optional)",
        "Programs that answer each call (DSPy's `size`); all when absent.",
    ),
    p(
        "seed",
        "integer",
        "Seed of the subset choice with `size`, mixed with the call's inputs.",
    ),
    p(
        "field",
        "string (optional)",
        "The output field the majority vote compares; the last output field when absent.",
    ),
];
