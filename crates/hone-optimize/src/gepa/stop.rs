//! The stop conditions beside the metric-call budget — gepa's stoppers, composed so that any
//! one of them stops the run — checked before each iteration, and why the run stopped.
//!
//! Conditions on the outside world (wall time, a stop file) read the [`RunSignals`] the driver
//! last handed in: the optimizer has no clock and reads no files.

use serde::{Deserialize, Serialize};

use super::Gepa;
use crate::log::LogEvent;
use crate::protocol::RunSignals;

/// Why a GEPA run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GepaStopReason {
    /// The metric-call budget is spent.
    MaxMetricCalls,
    /// A stop was requested from outside (the stop file exists).
    StopRequested,
    /// `timeout_secs` of wall time passed.
    Timeout,
    /// The best mean validation score reached `score_threshold`.
    ScoreThreshold,
    /// `no_improvement_iterations` iterations in a row did not raise the best score.
    NoImprovement,
    /// The pool holds `max_candidates` candidates.
    MaxCandidates,
}

impl std::fmt::Display for GepaStopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GepaStopReason::MaxMetricCalls => "max_metric_calls",
            GepaStopReason::StopRequested => "stop_file",
            GepaStopReason::Timeout => "timeout_secs",
            GepaStopReason::ScoreThreshold => "score_threshold",
            GepaStopReason::NoImprovement => "no_improvement_iterations",
            GepaStopReason::MaxCandidates => "max_candidates",
        })
    }
}

/// The progress of the stop conditions, kept in the state so that a resumed run stops where
/// the uninterrupted one would.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct StopProgress {
    /// The signals the driver last handed in.
    #[serde(default)]
    pub(super) signals: RunSignals,
    /// The best score seen at the last check (gepa's `NoImprovementStopper.best_score`;
    /// `None` before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) best_seen: Option<f64>,
    /// Checks in a row that found no higher best score.
    #[serde(default)]
    pub(super) without_improvement: usize,
    /// Why the run stopped, once a check found a reason (later checks keep it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) reason: Option<GepaStopReason>,
}

impl Gepa {
    /// Why the run stopped (`None` while it runs, or when it failed).
    pub fn stop_reason(&self) -> Option<GepaStopReason> {
        self.stop.reason
    }

    /// Whether the run stops before the iteration about to begin: the budget (counting the
    /// background scorings' calls) or any other stop condition. The first check that finds a
    /// reason records it and notes it in the log; later checks answer `true` without checking
    /// again, so each iteration is counted by the conditions once.
    pub(super) fn should_stop(&mut self) -> bool {
        if self.stop.reason.is_some() {
            return true;
        }
        let reason = self.stop_condition();
        if let Some(reason) = reason {
            self.stop.reason = Some(reason);
            let why = match reason {
                GepaStopReason::MaxMetricCalls => format!(
                    "the budget of {} metric calls is spent ({} spent or due)",
                    self.max_metric_calls,
                    self.metric_calls + self.background_calls()
                ),
                GepaStopReason::StopRequested => match &self.config.stop_file {
                    Some(p) => format!("the stop file {} exists", p.display()),
                    None => "a stop was requested".into(),
                },
                GepaStopReason::Timeout => format!(
                    "{:.1} s of wall time passed, over timeout_secs = {}",
                    self.stop.signals.elapsed_secs,
                    self.config.timeout_secs.unwrap_or_default()
                ),
                GepaStopReason::ScoreThreshold => format!(
                    "the best score {} reached score_threshold = {}",
                    self.best_score(),
                    self.config.score_threshold.unwrap_or_default()
                ),
                GepaStopReason::NoImprovement => format!(
                    "{} iteration(s) in a row did not raise the best score {}",
                    self.stop.without_improvement,
                    self.best_score()
                ),
                GepaStopReason::MaxCandidates => format!(
                    "the pool holds {} candidate(s), max_candidates = {}",
                    self.programs.len(),
                    self.config.max_candidates.unwrap_or_default()
                ),
            };
            self.log.push(LogEvent::Note {
                message: format!("GEPA stops ({reason}): {why}"),
            });
        }
        reason.is_some()
    }

    /// The first condition that holds, in the order the variants of [`GepaStopReason`] list
    /// them. The no-improvement count moves at every call (gepa's stopper counts every check).
    fn stop_condition(&mut self) -> Option<GepaStopReason> {
        let best = self.best_score();
        if self.stop.best_seen.is_none_or(|b| best > b) {
            self.stop.best_seen = Some(best);
            self.stop.without_improvement = 0;
        } else {
            self.stop.without_improvement += 1;
        }
        let c = &self.config;
        if self.metric_calls + self.background_calls() >= self.max_metric_calls {
            Some(GepaStopReason::MaxMetricCalls)
        } else if self.stop.signals.stop_requested {
            Some(GepaStopReason::StopRequested)
        } else if c
            .timeout_secs
            .is_some_and(|t| self.stop.signals.elapsed_secs > t)
        {
            Some(GepaStopReason::Timeout)
        } else if c.score_threshold.is_some_and(|t| best >= t) {
            Some(GepaStopReason::ScoreThreshold)
        } else if c
            .no_improvement_iterations
            .is_some_and(|n| self.stop.without_improvement >= n)
        {
            Some(GepaStopReason::NoImprovement)
        } else if c.max_candidates.is_some_and(|n| self.programs.len() >= n) {
            Some(GepaStopReason::MaxCandidates)
        } else {
            None
        }
    }

    /// The best mean validation score of the pool (0 when it is empty, as gepa's stoppers
    /// take it).
    fn best_score(&self) -> f64 {
        self.best_index()
            .map(|i| self.programs[i].score())
            .unwrap_or(0.0)
    }
}
