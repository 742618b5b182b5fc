//! The candidate pool: adding scored candidates (with the log's trials and new bests), and
//! scoring accepted candidates on the valset — in the step, or in the background beside the
//! iterations that follow.

use std::collections::BTreeMap;

use hone_core::Prediction;
use serde_json::json;

use super::Gepa;
use super::state::{
    BackgroundEval, BestOutput, Child, GepaCandidate, ITERATIONS_BESIDE_BACKGROUND, Phase,
};
use crate::log::LogEvent;
use crate::protocol::JobResult;
use crate::steps::{self, Scored, mean};

impl Gepa {
    /// Adds a candidate scored on the valset (`outcomes`, in valset order) to the pool (a
    /// seed already in it, scored in the background, gets its scores) and returns its index.
    pub(super) fn add_program(&mut self, child: &Child, outcomes: &[Scored]) -> usize {
        let val_scores = self.scores_of(outcomes);
        let outputs = self.outputs_of(outcomes);
        let errors = steps::errors(outcomes);
        let val_objectives: Vec<BTreeMap<String, f64>> =
            if outcomes.iter().any(|o| !o.objectives.is_empty()) {
                outcomes.iter().map(|o| o.objectives.clone()).collect()
            } else {
                Vec::new()
            };
        let parents: Vec<usize> = match child.merge {
            Some((a, b, _)) => vec![a, b],
            None if self.programs.is_empty() || child.seed => Vec::new(),
            None => vec![child.parent],
        };
        let next_component = parents
            .iter()
            .filter_map(|&p| self.programs.get(p).map(|c| c.next_component))
            .max()
            .unwrap_or(0);
        let previous_best = if child.seed {
            None
        } else {
            self.best_index().map(|i| self.programs[i].score())
        };
        let index = if child.seed { 0 } else { self.programs.len() };
        self.track_outputs(index, &val_scores, outputs);
        self.front.add(index, &val_scores);
        let score = mean(&val_scores);
        let trial = self.log.next_trial();
        self.log.push(LogEvent::Trial {
            trial,
            candidate: index as u64,
            score,
            examples: val_scores.len(),
            errors,
            full: true,
            detail: json!({"parents": parents, "texts": child.texts, "metric_calls": self.metric_calls}),
        });
        if previous_best.is_none_or(|b| score > b) {
            self.log.push(LogEvent::NewBest {
                candidate: index as u64,
                score,
            });
        }
        if child.seed && !self.programs.is_empty() {
            let seed = &mut self.programs[0];
            seed.val_scores = val_scores;
            seed.val_objectives = val_objectives;
            seed.discovered_at = self.metric_calls;
            return 0;
        }
        self.programs.push(GepaCandidate {
            texts: child.texts.clone(),
            parents,
            val_scores,
            val_objectives,
            discovered_at: self.metric_calls,
            next_component,
        });
        index
    }

    /// Updates the best outputs with candidate `index`'s, before its scores join the front
    /// (gepa's `_update_pareto_front_for_val_id`): a higher score than the front's replaces the
    /// example's best outputs, an equal one joins them. An example without a prediction (its
    /// run failed) keeps its outputs.
    fn track_outputs(&mut self, index: usize, scores: &[f64], outputs: Vec<Option<Prediction>>) {
        let Some(best) = &mut self.best_outputs else {
            return;
        };
        let fronts = self.front.best_scores();
        for (i, (&score, output)) in scores.iter().zip(outputs).enumerate() {
            let (Some(prediction), Some(kept)) = (output, best.get_mut(i)) else {
                continue;
            };
            let output = BestOutput {
                candidate: index,
                prediction,
            };
            match fronts.get(i).copied().flatten() {
                Some(front) if score < front => {}
                Some(front) if score == front => kept.push(output),
                _ => *kept = vec![output],
            }
        }
    }

    /// Adds candidates scored on the valset (their results next in `results`) to the pool.
    pub(super) fn add_scored(
        &mut self,
        children: Vec<Child>,
        jobs: Vec<usize>,
        results: &mut impl Iterator<Item = JobResult>,
    ) {
        let mut reflective_accepted = false;
        for (child, n) in children.into_iter().zip(jobs) {
            let outcomes = self.collect_full(results, n);
            self.metric_calls += outcomes.len() as u64;
            self.add_program(&child, &outcomes);
            if child.seed {
                continue;
            }
            if child.merge.is_some() {
                self.merges_due = self.merges_due.saturating_sub(1);
                self.merges_tested += 1;
            } else {
                reflective_accepted = true;
                if self.config.use_merge && self.merges_tested < self.config.max_merge_invocations {
                    self.merges_due += 1;
                }
            }
        }
        if reflective_accepted {
            self.last_iter_found_new_program = true;
        }
    }

    /// Scores accepted candidates on the valset: in this step (DSPy's order), or with
    /// `overlap_full_evals` in the background while the next iteration runs.
    pub(super) fn score_candidates(&mut self, children: Vec<Child>) {
        if !self.config.overlap_full_evals {
            let mut jobs = Vec::new();
            for child in &children {
                let program = self.program_for(&child.texts);
                jobs.push(self.full_eval_jobs(&program, None));
            }
            self.phase = Phase::FullEval { children, jobs };
            return;
        }
        self.background_scoring(children, 0);
        self.next_iteration();
    }

    /// Scores `children` on the valset in a new background group, `iterations_beside`
    /// iterations having begun beside it already.
    pub(super) fn background_scoring(&mut self, children: Vec<Child>, iterations_beside: usize) {
        let group = self.next_group;
        self.next_group += 1;
        let mut jobs = Vec::new();
        for child in &children {
            let program = self.program_for(&child.texts);
            jobs.push(self.full_eval_jobs(&program, Some(group)));
        }
        self.backgrounds.push(BackgroundEval {
            group,
            children,
            jobs,
            iterations_beside,
        });
    }

    /// Adds the background scorings that are due — all of them with `all`, else those that ran
    /// beside [`ITERATIONS_BESIDE_BACKGROUND`] iterations — to the pool, oldest first; `false`
    /// when one of them is still running (the ones before it are in).
    pub(super) fn absorb_due(&mut self, all: bool) -> bool {
        while let Some(first) = self.backgrounds.first() {
            if !all && first.iterations_beside < ITERATIONS_BESIDE_BACKGROUND {
                return true;
            }
            if !self.book.background_complete(first.group) {
                return false;
            }
            let BackgroundEval {
                group,
                children,
                jobs,
                ..
            } = self.backgrounds.remove(0);
            let results = self.book.take_background(group);
            self.add_scored(children, jobs, &mut results.into_iter());
        }
        true
    }

    /// Metric calls the background scorings will make.
    pub(super) fn background_calls(&self) -> u64 {
        self.backgrounds
            .iter()
            .map(|b| (b.children.len() * self.valset.len()) as u64)
            .sum()
    }
}
