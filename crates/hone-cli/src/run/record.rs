//! `run.json`: the run record and what it holds (scores, trials, usage), and the run
//! directory's file writes.

use std::path::{Path, PathBuf};

use hone_eval::EvaluationResult;
use hone_lm::UsageReport;
use hone_optimize::{LogEvent, RunLog};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{RedisTarget, files};
use crate::error::{Error, Result};
use crate::optimizer::OptimizerChoice;

/// Token usage and cost, summed over a run's LMs (and over resumed sessions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// LM calls (cache hits included).
    pub calls: u64,
    /// Calls answered from the cache.
    pub cached_calls: u64,
    /// Calls that failed.
    pub failed_calls: u64,
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Cost in US dollars of the calls whose model has a price.
    pub cost_usd: f64,
    /// Calls whose model has no price.
    pub unpriced_calls: u64,
}

impl UsageTotals {
    /// The totals of a usage report.
    pub fn from_report(r: &UsageReport) -> Self {
        UsageTotals {
            calls: r.calls,
            cached_calls: r.cached_calls,
            failed_calls: r.failed_calls,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            cost_usd: r.cost_usd,
            unpriced_calls: r.unpriced_calls,
        }
    }

    /// The totals of what workers reported with a distributed run's results, priced with
    /// hone's default price table (as the usage layer prices a run's own calls). A cached
    /// call costs nothing.
    pub fn of_workers(usage: &hone_eval::JobUsage) -> Self {
        let prices = hone_lm::PriceTable::with_defaults();
        let mut totals = UsageTotals::default();
        for (model, u) in &usage.0 {
            totals.calls += u.lm_calls;
            totals.cached_calls += u.cached_calls;
            totals.prompt_tokens += u.prompt_tokens;
            totals.completion_tokens += u.completion_tokens;
            let tokens = hone_lm::Usage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
                total_tokens: u.prompt_tokens + u.completion_tokens,
                ..hone_lm::Usage::default()
            };
            match prices.cost(model, &tokens) {
                Some(cost) => totals.cost_usd += cost,
                None => totals.unpriced_calls += u.lm_calls - u.cached_calls,
            }
        }
        totals
    }

    /// These totals without `o`'s (a part of them), never below zero.
    pub fn without(&self, o: &UsageTotals) -> UsageTotals {
        UsageTotals {
            calls: self.calls.saturating_sub(o.calls),
            cached_calls: self.cached_calls.saturating_sub(o.cached_calls),
            failed_calls: self.failed_calls.saturating_sub(o.failed_calls),
            prompt_tokens: self.prompt_tokens.saturating_sub(o.prompt_tokens),
            completion_tokens: self.completion_tokens.saturating_sub(o.completion_tokens),
            cost_usd: (self.cost_usd - o.cost_usd).max(0.0),
            unpriced_calls: self.unpriced_calls.saturating_sub(o.unpriced_calls),
        }
    }

    /// Adds another session's totals.
    pub fn add(&mut self, o: &UsageTotals) {
        self.calls += o.calls;
        self.cached_calls += o.cached_calls;
        self.failed_calls += o.failed_calls;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.cost_usd += o.cost_usd;
        self.unpriced_calls += o.unpriced_calls;
    }
}

/// One scored candidate, as the report charts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialPoint {
    /// The trial number (0-based, in the order the optimizer scored them).
    pub trial: u64,
    /// The candidate's id within the optimizer.
    pub candidate: u64,
    /// Its mean score.
    pub score: f64,
    /// Examples scored.
    pub examples: usize,
    /// Examples that failed (the program, the LM or the metric); absent when none did.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors: usize,
    /// Whether it was a full evaluation.
    pub full: bool,
    /// The best full-evaluation score so far (including this trial).
    pub best_so_far: Option<f64>,
    /// Seconds into the run (over all sessions) when the trial was scored (its
    /// `trial_scored` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_secs: Option<f64>,
}

/// A dev evaluation's summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreRecord {
    /// DSPy's score: mean × 100, two decimals.
    pub score: f64,
    /// The mean in `[0, 1]`.
    pub mean: f64,
    /// 95% confidence interval of the mean.
    pub ci95: [f64; 2],
    /// Examples.
    pub examples: usize,
    /// Failed examples.
    pub errors: usize,
}

impl ScoreRecord {
    pub(super) fn of(r: &EvaluationResult) -> Self {
        ScoreRecord {
            score: r.score(),
            mean: r.summary.mean,
            ci95: [r.summary.ci_low, r.summary.ci_high],
            examples: r.summary.n,
            errors: r.errors,
        }
    }
}

/// An LM as the run record shows it (no keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LmRecord {
    /// The model.
    pub model: String,
    /// The base URL, if set (credentials redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable the key is read from, if any (never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
}

impl LmRecord {
    /// The LM as a spec naming its model and base URL (what `hone resume` builds again).
    pub fn spec(&self) -> hone_lm::LmSpec {
        let mut spec = hone_lm::LmSpec::new(self.model.clone());
        spec.base_url.clone_from(&self.base_url);
        spec
    }
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Always [`RUN_FORMAT`](super::RUN_FORMAT).
    pub format: String,
    /// 1.
    pub version: u32,
    /// `running`, `done`, `interrupted` or `failed`.
    pub status: String,
    /// The program file the run was started from (absolute).
    pub program: PathBuf,
    /// `--dataset` given at the start, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_override: Option<PathBuf>,
    /// `--limit` given at the start, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// The optimizer, its concurrency and parameters.
    pub optimizer: OptimizerChoice,
    /// Set when the run's jobs go through Redis to `hone worker` processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisTarget>,
    /// The metric's name.
    pub metric: String,
    /// The LMs, by name.
    pub lms: indexmap::IndexMap<String, LmRecord>,
    /// Where the examples came from, and how many of each split.
    pub dataset: Value,
    /// SHA-256 of the train and dev examples, in order: `hone resume` refuses other data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_sha256: Option<String>,
    /// Unix time the run started.
    pub started_unix: u64,
    /// Wall time so far, over all sessions, in seconds.
    pub elapsed_secs: f64,
    /// Results the optimizer accepted.
    pub tells: u64,
    /// LM calls the optimizer's jobs reported.
    pub lm_calls: u64,
    /// Examples and jobs of the search that failed (over all sessions).
    #[serde(default)]
    pub failures: u64,
    /// The search's first failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
    /// The baseline's dev score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<ScoreRecord>,
    /// The best program's dev score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<ScoreRecord>,
    /// The trials, in order.
    #[serde(default)]
    pub trials: Vec<TrialPoint>,
    /// LM usage and cost: the calls of this machine's LMs and, in a distributed run, those
    /// workers reported with the results the run told.
    #[serde(default)]
    pub usage: UsageTotals,
    /// The workers' part of `usage` (distributed runs, over all sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_usage: Option<UsageTotals>,
    /// The optimizer's log.
    #[serde(default)]
    pub log: RunLog,
    /// What failed, when `status` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunRecord {
    /// Reads `RUN_DIR/run.json`.
    pub fn read(dir: &Path) -> Result<RunRecord> {
        let path = dir.join(files::RUN);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            crate::FileError::new(&path, format!("not a hone run record: {e}"))
                .at(e.line(), e.column())
                .hint("is this a directory written by `hone optimize --out`?")
                .into()
        })
    }

    /// Writes `RUN_DIR/run.json` (atomically).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Failed(format!("cannot serialize the run record: {e}")))?;
        write_atomic(&dir.join(files::RUN), text.as_bytes())
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("write", path, e))
}

pub(super) fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io("write", path, e))
}

/// The trials of a log with the best full-evaluation score so far. When no trial is a full
/// evaluation, every trial counts.
pub fn trial_points(log: &RunLog) -> Vec<TrialPoint> {
    let any_full = log
        .trials()
        .any(|e| matches!(e, LogEvent::Trial { full: true, .. }));
    let mut best: Option<f64> = None;
    let mut out = Vec::new();
    for (i, e) in log.trials().enumerate() {
        if let LogEvent::Trial {
            candidate,
            score,
            examples,
            errors,
            full,
            ..
        } = e
        {
            if *full || !any_full {
                best = Some(best.map_or(*score, |b| b.max(*score)));
            }
            out.push(TrialPoint {
                trial: i as u64,
                candidate: *candidate,
                score: *score,
                examples: *examples,
                errors: *errors,
                full: *full,
                best_so_far: best,
                at_secs: None,
            });
        }
    }
    out
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
