//! GEPA's settings: the budget, its `auto` presets, parent and component selection, and
//! [`GepaConfig`] with DSPy's defaults.

use serde::{Deserialize, Serialize};
/// How much GEPA may spend: exactly one of DSPy's `auto`, `max_full_evals`, `max_metric_calls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GepaBudget {
    /// DSPy's `auto`: the budget of a MIPROv2-like run with 6 (light), 12 (medium) or 18 (heavy)
    /// candidates, computed by DSPy's `auto_budget`.
    Auto(AutoLevel),
    /// Full evaluations: `max_full_evals × (|trainset| + |valset|)` metric calls (the valset
    /// counts only when given separately, as in DSPy).
    MaxFullEvals(u64),
    /// Metric calls (example runs).
    MaxMetricCalls(u64),
}

/// The `auto` presets shared by GEPA and MIPROv2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoLevel {
    /// 6 candidates.
    Light,
    /// 12 candidates.
    Medium,
    /// 18 candidates.
    Heavy,
}

impl AutoLevel {
    /// The number of candidates of the preset (DSPy's `AUTO_RUN_SETTINGS[auto]["n"]`).
    pub fn candidates(self) -> usize {
        match self {
            AutoLevel::Light => 6,
            AutoLevel::Medium => 12,
            AutoLevel::Heavy => 18,
        }
    }
}

/// DSPy's `GEPA.auto_budget`: metric calls of a run over `num_preds` components with
/// `num_candidates` candidates and a valset of `valset_size` (minibatches of 35, a full
/// evaluation every 5 trials).
pub fn auto_budget(num_preds: usize, num_candidates: usize, valset_size: usize) -> u64 {
    let (m, steps) = (35u64, 5u64);
    let n = num_candidates.max(1) as f64;
    let trials = (2.0 * (num_preds as f64 * 2.0) * n.log2()).max(1.5 * n) as u64;
    let v = valset_size as u64;
    let mut total = v + num_candidates as u64 * 5 + trials * m;
    if trials == 0 {
        return total;
    }
    let periodic = (trials + 1) / steps + 1;
    let extra = u64::from(trials < steps);
    total += (periodic + extra) * v;
    total
}

/// How the parent of a reflective mutation is chosen (DSPy's `candidate_selection_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CandidateSelection {
    /// Sample from the per-instance Pareto front (default).
    #[default]
    Pareto,
    /// Always the candidate with the best mean validation score.
    CurrentBest,
    /// gepa's `EpsilonGreedyCandidateSelector`: with probability
    /// [`epsilon`](GepaConfig::epsilon) any candidate of the pool, uniformly; otherwise the one
    /// with the best mean validation score.
    EpsilonGreedy,
    /// gepa's `TopKParetoCandidateSelector`: Pareto sampling among the
    /// [`top_k`](GepaConfig::top_k) candidates with the best mean validation scores (the best
    /// candidate when none of them stands on a front).
    TopKPareto,
}

/// What the Pareto fronts that parents and merges are drawn from are kept over (gepa's
/// `frontier_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FrontierType {
    /// One front per validation example, over its score (default).
    #[default]
    Instance,
    /// One front per objective the metric scores, over the candidates' mean objective scores.
    Objective,
    /// The per-example fronts and the per-objective fronts together.
    Hybrid,
    /// One front per (validation example, objective) pair.
    Cartesian,
}

impl FrontierType {
    /// Whether the fronts need the metric's objective scores.
    pub fn needs_objectives(self) -> bool {
        self != FrontierType::Instance
    }
}

/// Which components a reflective mutation rewrites (DSPy's `component_selector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ComponentSelection {
    /// One component per mutation, in turn per candidate (default).
    #[default]
    RoundRobin,
    /// Every component at once.
    All,
}

/// Settings of [`Gepa`](super::Gepa): DSPy's parameters and defaults, plus hone's parallelism.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GepaConfig {
    /// The budget (DSPy requires exactly one of `auto`, `max_full_evals`, `max_metric_calls`;
    /// hone's default is `auto="light"`).
    pub budget: GepaBudget,
    /// Stop once the run has taken this many wall-clock seconds (gepa's
    /// `TimeoutStopCondition`). The optimizer has no clock: the time is the driver's, handed in
    /// with [`Optimizer::observe`](crate::Optimizer::observe) and checked before each iteration;
    /// a driver that passes none never times out.
    pub timeout_secs: Option<f64>,
    /// Stop after this many iterations in a row did not raise the best mean validation score
    /// (gepa's `NoImprovementStopper`).
    pub no_improvement_iterations: Option<usize>,
    /// Stop once the best mean validation score is at least this (gepa's
    /// `ScoreThresholdStopper`).
    pub score_threshold: Option<f64>,
    /// Stop once the pool holds this many candidates, the seed included (gepa's
    /// `MaxTrackedCandidatesStopper`).
    pub max_candidates: Option<usize>,
    /// Stop once this file exists (gepa's `FileStopper`). The driver checks for it — a relative
    /// path from the driving process's working directory; `hone optimize` makes a program
    /// file's path absolute from the file's directory — and tells the optimizer a stop was
    /// requested; the optimizer itself reads no files.
    pub stop_file: Option<std::path::PathBuf>,
    /// Training examples per reflection (default 3).
    pub reflection_minibatch_size: usize,
    /// Parent selection (default Pareto).
    pub candidate_selection_strategy: CandidateSelection,
    /// With [`CandidateSelection::EpsilonGreedy`], the probability of exploring a uniformly
    /// drawn candidate instead of the best one (default 0.1, gepa's; between 0 and 1).
    pub epsilon: f64,
    /// With [`CandidateSelection::TopKPareto`], how many of the best candidates Pareto sampling
    /// keeps (default 5, gepa's; at least 1).
    pub top_k: usize,
    /// Skip reflecting on a minibatch where the parent is already perfect (default true).
    pub skip_perfect_score: bool,
    /// The score counted as perfect (default 1.0).
    pub perfect_score: f64,
    /// Component selection (default round robin).
    pub component_selector: ComponentSelection,
    /// What the Pareto fronts are kept over (default per validation example). The other
    /// kinds need a metric that returns objective scores (`objectives`) beside its score.
    pub frontier_type: FrontierType,
    /// Try merges (default true).
    pub use_merge: bool,
    /// Merges accepted at most (default 5).
    pub max_merge_invocations: usize,
    /// Shared validation examples two candidates need before they are merged (gepa's
    /// `merge_val_overlap_floor`, default 5).
    pub merge_val_overlap_floor: usize,
    /// Score of an example whose program run or metric failed (default 0.0).
    pub failure_score: f64,
    /// Independent (parent, minibatch) proposals per iteration (default 1, DSPy's behaviour;
    /// larger values are gepa's `IndependentSampling(n)` and keep the LM busier).
    pub num_parallel_proposals: usize,
    /// Validation examples per evaluation job (default 16).
    pub eval_batch_size: usize,
    /// Pipeline the iterations and score candidates on the valset in the background (default
    /// false, DSPy's order).
    ///
    /// Iterations overlap, one per stage: while one evaluates its children, the next reflects
    /// and the one after evaluates its parents. A new iteration begins while the budget would
    /// remain if no child in flight were accepted, and no merge is due (a merge waits until
    /// the pipeline is empty). The seed and accepted candidates are scored on the valset in the
    /// background; they join the pool — and can become parents or merge partners — once three
    /// iterations have begun beside their scoring (a fixed point, whatever the scoring's
    /// speed), and the budget counts their metric calls from the start. The first iterations'
    /// parent is the seed, so the first iteration begins beside the seed's scoring. If accepted children's
    /// valset scoring spends the budget, the iterations begun beside them are dropped — their
    /// issued minibatch evaluations count as spent — and the run ends where gepa's sequential
    /// budget check ends it.
    pub overlap_full_evals: bool,
    /// Keep, for every validation example, the best output any candidate produced and which
    /// candidate produced it — all of them when several tie (DSPy's `track_best_outputs`,
    /// default false); read them with [`Gepa::best_outputs`](super::Gepa::best_outputs) or
    /// from the state's `best_outputs`.
    pub track_best_outputs: bool,
    /// Seed (default 0).
    pub seed: u64,
}

impl Default for GepaConfig {
    fn default() -> Self {
        GepaConfig {
            budget: GepaBudget::Auto(AutoLevel::Light),
            timeout_secs: None,
            no_improvement_iterations: None,
            score_threshold: None,
            max_candidates: None,
            stop_file: None,
            reflection_minibatch_size: 3,
            candidate_selection_strategy: CandidateSelection::Pareto,
            epsilon: 0.1,
            top_k: 5,
            skip_perfect_score: true,
            perfect_score: 1.0,
            component_selector: ComponentSelection::RoundRobin,
            frontier_type: FrontierType::Instance,
            use_merge: true,
            max_merge_invocations: 5,
            merge_val_overlap_floor: 5,
            failure_score: 0.0,
            num_parallel_proposals: 1,
            eval_batch_size: 16,
            overlap_full_evals: false,
            track_best_outputs: false,
            seed: 0,
        }
    }
}

impl GepaConfig {
    /// Checks the settings that have a valid range; the error says which key is wrong and
    /// what it accepts.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.epsilon) {
            return Err(format!(
                "`epsilon` is {}; it is a probability, so set it between 0 and 1 (gepa's default \
                 is 0.1)",
                self.epsilon
            ));
        }
        if self.top_k == 0 {
            return Err(
                "`top_k` is 0; top_k_pareto keeps at least one candidate, so set it to \
                        1 or more (gepa's default is 5)"
                    .into(),
            );
        }
        if let Some(t) = self.timeout_secs
            && !(t.is_finite() && t > 0.0)
        {
            return Err(format!(
                "`timeout_secs` is {t}; set it to a positive number of seconds, or leave it out \
                 to run without a time limit"
            ));
        }
        if self.no_improvement_iterations == Some(0) {
            return Err(
                "`no_improvement_iterations` is 0; set it to 1 or more iterations, or \
                        leave it out to never stop for a lack of improvement"
                    .into(),
            );
        }
        if let Some(t) = self.score_threshold
            && !t.is_finite()
        {
            return Err(format!(
                "`score_threshold` is {t}; set it to a finite score, or leave it out"
            ));
        }
        if self.max_candidates == Some(0) {
            return Err(
                "`max_candidates` is 0; the seed is a candidate, so set it to 1 or \
                        more, or leave it out"
                    .into(),
            );
        }
        if self
            .stop_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return Err(
                "`stop_file` is empty; name the file whose existence stops the run, \
                        or leave it out"
                    .into(),
            );
        }
        Ok(())
    }
}
